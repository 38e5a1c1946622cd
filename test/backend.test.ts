/**
 * Backend selection with tfjs-node absent. Its loader plays "not installed", so the test means the same
 * on a machine where its native install succeeded.
 */
import * as tf from '@tensorflow/tfjs';
import { activeBackendName, getTf, initBackend, setTfjsNodeLoader } from '../src/nn/backend';
import { InputError } from '../src/util/errors';

/** [[1, 2], [3, 4]] x [[5], [6]] = [[17], [39]] on whatever backend is active. */
function matMulWorks(): number[] {
  return Array.from(tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([5, 6], [2, 1])).dataSync());
}

beforeAll(() =>
  setTfjsNodeLoader(() => {
    const err = new Error(
      "Cannot find module '@tensorflow/tfjs-node'\nRequire stack: ...",
    ) as NodeJS.ErrnoException;
    err.code = 'MODULE_NOT_FOUND';
    throw err;
  }),
);
afterAll(() => setTfjsNodeLoader(null));

describe('backend selection without tfjs-node', () => {
  test('auto falls back to wasm, silently', async () => {
    const warn = jest.spyOn(console, 'warn');
    const backend = await initBackend('auto');
    expect(backend.name).toBe('wasm');
    expect(backend.description).toMatch(/^wasm \((no )?SIMD, \d+ threads?\)$/);
    expect(tf.getBackend()).toBe('wasm');
    expect(activeBackendName()).toBe('wasm');
    expect(getTf().getBackend()).toBe('wasm');
    expect(matMulWorks()).toEqual([17, 39]);
    expect(warn).not.toHaveBeenCalled();
    warn.mockRestore();
  });

  test('--backend node is a clear input error naming the flag; the active backend stays', async () => {
    const attempt = initBackend('node');
    await expect(attempt).rejects.toThrow(InputError);
    await expect(attempt).rejects.toThrow(
      /^--backend node needs @tensorflow\/tfjs-node, but it is not installed; use --backend auto, wasm or cpu$/,
    );
    expect(tf.getBackend()).toBe('wasm');
  });

  test('cpu and wasm can be forced, and a repeated choice reuses the backend', async () => {
    expect((await initBackend('cpu')).name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(matMulWorks()).toEqual([17, 39]);
    const wasm = await initBackend('wasm');
    expect(wasm.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    // Someone switching TF.js behind our back is undone by the next initBackend.
    await tf.setBackend('cpu');
    expect((await initBackend('wasm')) === wasm).toBe(true);
    expect(tf.getBackend()).toBe('wasm');
    // 'auto' after an explicit choice keeps it.
    expect((await initBackend('auto')).name).toBe('wasm');
  });

  test('the wasm backend has our Conv2DBackpropFilter kernel', async () => {
    await initBackend('wasm');
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
  });

  test('an unknown backend names the flag and the choices', async () => {
    await expect(initBackend('gpu' as 'auto')).rejects.toThrow(
      /^--backend gpu: unknown backend, allowed values are auto, node, wasm, cpu$/,
    );
  });
});
