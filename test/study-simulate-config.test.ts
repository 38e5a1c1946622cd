/**
 * simulateConfig computes a network's digital accuracies once per study run, however many cards it is
 * simulated under, and the memoised values are those computed afresh.
 */
import * as path from 'node:path';
import { loadDataset } from '../src/data';
import { loadNetwork } from '../src/nn/load';
import * as simulateModule from '../src/sim/simulate';
import { simulateConfig } from '../src/study/simulateConfig';
import type { StudyContext } from '../src/study/types';

const MODEL = path.join(__dirname, '..', 'models', 'reference-mlp');

function context(): StudyContext {
  const data = loadDataset('mnist', { limit: 200, testLimit: 300 });
  return {
    out: '/nonexistent',
    mode: 'quick',
    trials: 2,
    seed: 1,
    workers: 1,
    params: {},
    log: () => undefined,
    dataset: () => data,
    model: () => Promise.reject(new Error('not used')),
  };
}

test('digital accuracies are computed once per network and test set in a study run', async () => {
  const spy = jest.spyOn(simulateModule, 'digitalAccuracy');
  try {
    const ctx = context();
    const setup = { model: MODEL, circuit: 'tile128-adc8' };
    const a = await simulateConfig(ctx, 'mnist', {
      ...setup,
      device: 'hfo2-1t1r-igvva-8',
      quantize: 'quantile:8',
    });
    const b = await simulateConfig(ctx, 'mnist', {
      ...setup,
      device: 'hfo2-1t1r-mispva-4',
      quantize: 'quantile:4',
    });
    // float once; quantile:8 and quantile:4 are two other networks.
    expect(spy).toHaveBeenCalledTimes(3);
    expect(b.floatAccuracy).toBe(a.floatAccuracy);

    const test = ctx.dataset('mnist').test;
    const float = await loadNetwork(MODEL);
    expect(a.floatAccuracy).toBe(simulateModule.digitalAccuracy(float, test));

    // A new study run starts afresh.
    spy.mockClear();
    await simulateConfig(context(), 'mnist', {
      ...setup,
      device: 'hfo2-1t1r-igvva-8',
      quantize: 'quantile:8',
    });
    expect(spy).toHaveBeenCalledTimes(2);
  } finally {
    spy.mockRestore();
  }
});
