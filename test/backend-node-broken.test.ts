/**
 * tfjs-node installed but its native library fails to load (a common failed install), played by its
 * loader so the test means the same everywhere.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, setTfjsNodeLoader } from '../src/nn/backend';

beforeAll(() =>
  setTfjsNodeLoader(() => {
    throw new Error(
      'The Node.js native addon module (tfjs_binding.node) can not be found at path: /x/lib/napi-v8/tfjs_binding.node. \nPlease run command ...',
    );
  }),
);
afterAll(() => setTfjsNodeLoader(null));

test('auto falls back to wasm when tfjs-node fails to load', async () => {
  expect((await initBackend('auto')).name).toBe('wasm');
  expect(tf.getBackend()).toBe('wasm');
});

test('--backend node reports the load failure on one line', async () => {
  await expect(initBackend('node')).rejects.toThrow(
    /^--backend node needs @tensorflow\/tfjs-node, but it failed to load \(The Node.js native addon module \(tfjs_binding.node\) can not be found at path: \/x\/lib\/napi-v8\/tfjs_binding.node.\); use --backend auto, wasm or cpu$/,
  );
});
