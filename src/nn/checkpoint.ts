/**
 * Training checkpoints on disk, so that a training run stopped by a crash or Ctrl-C continues from its
 * last finished epoch instead of from scratch (a full study trains for hours). A checkpoint is a hidden
 * sibling of the model directory, written as a whole after every epoch and removed once the model is
 * saved. It carries a fingerprint of the job; a checkpoint of another job is never resumed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeDirAtomic } from '../util/files';
import type { SavedTensor, TrainCheckpoint } from './train';

const STATE_FILE = 'checkpoint.json';
const TENSORS_FILE = 'tensors.bin';
const FORMAT = 'xbarsim-train-checkpoint/1';

type Group = 'modelWeights' | 'latentWeights' | 'momentum';
const GROUPS: readonly Group[] = ['modelWeights', 'latentWeights', 'momentum'];

interface StateFile {
  format: string;
  fingerprint: string;
  epoch: number;
  logs: TrainCheckpoint['logs'];
  shapes: Record<Group, number[][]>;
}

/** Where the checkpoint of the model that will be saved to `modelDir` lives. */
export function checkpointDirFor(modelDir: string): string {
  const abs = path.resolve(modelDir);
  return path.join(path.dirname(abs), `.${path.basename(abs)}.checkpoint`);
}

export async function saveCheckpoint(dir: string, fingerprint: string, c: TrainCheckpoint): Promise<void> {
  const tensors = GROUPS.flatMap((g) => c[g]);
  const total = tensors.reduce((n, t) => n + t.values.length, 0);
  const flat = new Float32Array(total);
  let at = 0;
  for (const t of tensors) {
    flat.set(t.values, at);
    at += t.values.length;
  }
  const state: StateFile = {
    format: FORMAT,
    fingerprint,
    epoch: c.epoch,
    logs: c.logs,
    shapes: {
      modelWeights: c.modelWeights.map((t) => t.shape),
      latentWeights: c.latentWeights.map((t) => t.shape),
      momentum: c.momentum.map((t) => t.shape),
    },
  };
  await writeDirAtomic(dir, async (tmp) => {
    fs.writeFileSync(path.join(tmp, TENSORS_FILE), new Uint8Array(flat.buffer));
    fs.writeFileSync(path.join(tmp, STATE_FILE), JSON.stringify(state));
  });
}

export type CheckpointLookup =
  { checkpoint: TrainCheckpoint } | { checkpoint: null; reason: 'none' | 'other-job' | 'unreadable' };

/** The checkpoint in `dir` if it belongs to the job with this fingerprint. */
export function loadCheckpoint(dir: string, fingerprint: string): CheckpointLookup {
  if (!fs.existsSync(path.join(dir, STATE_FILE))) return { checkpoint: null, reason: 'none' };
  try {
    const state = JSON.parse(fs.readFileSync(path.join(dir, STATE_FILE), 'utf8')) as StateFile;
    if (state.format !== FORMAT) return { checkpoint: null, reason: 'unreadable' };
    if (state.fingerprint !== fingerprint) return { checkpoint: null, reason: 'other-job' };
    const bytes = fs.readFileSync(path.join(dir, TENSORS_FILE));
    const flat = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    let at = 0;
    const take = (shapes: number[][]): SavedTensor[] =>
      shapes.map((shape) => {
        const n = shape.reduce((a, b) => a * b, 1);
        const values = flat.slice(at, at + n);
        if (values.length !== n) throw new Error('truncated tensors');
        at += n;
        return { shape, values };
      });
    const checkpoint: TrainCheckpoint = {
      epoch: state.epoch,
      logs: state.logs,
      modelWeights: take(state.shapes.modelWeights),
      latentWeights: take(state.shapes.latentWeights),
      momentum: take(state.shapes.momentum),
    };
    if (at !== flat.length) return { checkpoint: null, reason: 'unreadable' };
    return { checkpoint };
  } catch {
    return { checkpoint: null, reason: 'unreadable' };
  }
}

export function removeCheckpoint(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}
