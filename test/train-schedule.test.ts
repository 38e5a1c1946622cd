/** The learning-rate schedule: linear warm-up, then constant or a half cosine to 0. */
import { scheduledRate, warmupSteps } from '../src/nn/train';

test('warm-up rises linearly to the full rate, then cosine decays to 0', () => {
  const lr = 0.1;
  const total = 110;
  const warm = 10;
  expect(scheduledRate(lr, 'cosine', 0, total, warm)).toBeCloseTo(0.01, 12);
  expect(scheduledRate(lr, 'cosine', 4, total, warm)).toBeCloseTo(0.05, 12);
  expect(scheduledRate(lr, 'cosine', 9, total, warm)).toBeCloseTo(0.1, 12);
  // Decay: step 10 is the top of the cosine, halfway through the 100 decay steps it is lr / 2.
  expect(scheduledRate(lr, 'cosine', 10, total, warm)).toBeCloseTo(0.1, 12);
  expect(scheduledRate(lr, 'cosine', 60, total, warm)).toBeCloseTo(0.05, 12);
  expect(scheduledRate(lr, 'cosine', 85, total, warm)).toBeCloseTo(0.05 * (1 + Math.cos(0.75 * Math.PI)), 12);
  expect(scheduledRate(lr, 'cosine', 109, total, warm)).toBeCloseTo(
    0.05 * (1 + Math.cos(0.99 * Math.PI)),
    12,
  );
  // Constant after the warm-up; no warm-up at all.
  expect(scheduledRate(lr, 'constant', 4, total, warm)).toBeCloseTo(0.05, 12);
  expect(scheduledRate(lr, 'constant', 50, total, warm)).toBe(lr);
  expect(scheduledRate(lr, 'constant', 0, total, 0)).toBe(lr);
  expect(scheduledRate(lr, 'cosine', 0, total, 0)).toBe(lr);
});

test('the rate never rises after the warm-up and stays positive', () => {
  let last = Infinity;
  for (let s = 7; s < 500; s++) {
    const r = scheduledRate(0.1, 'cosine', s, 500, 7);
    expect(r).toBeLessThanOrEqual(last);
    expect(r).toBeGreaterThan(0);
    last = r;
  }
});

test('warm-up lasts the given epochs, at most a quarter of the run', () => {
  expect(warmupSteps(1, 1688, 30 * 1688)).toBe(1688);
  expect(warmupSteps(0, 1688, 30 * 1688)).toBe(0);
  expect(warmupSteps(0.5, 100, 3000)).toBe(50);
  expect(warmupSteps(1, 100, 200)).toBe(50); // a 2-epoch run warms up for half an epoch
  expect(warmupSteps(1, 100, 100)).toBe(25);
});
