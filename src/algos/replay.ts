/**
 * The replay buffer of AlphaZero-style training: positions with their
 * policy target (an expert's one-hot move, or MCTS visit shares) and value
 * target (the game's outcome for the player to move), in a ring that keeps
 * the newest `capacity`. Minibatches are drawn uniformly, each position
 * mirrored left-right with probability 1/2 when the game has that symmetry.
 * The buffer saves to and loads from checkpoint tensors, so resume is exact.
 */
import type { Game } from '../envs/types.ts';
import type { Rng } from '../util/rng.ts';
import type { SafeTensor } from '../nn/safetensors.ts';
import type { PVBatch } from '../models/pvnet.ts';

export class ReplayBuffer {
  readonly inputs: Float32Array; // (capacity, I)
  readonly legal: Uint8Array; // (capacity, A)
  readonly policy: Float32Array; // (capacity, A)
  readonly value: Float32Array; // (capacity)
  size = 0; // positions held
  next = 0; // ring index of the next write
  added = 0; // positions ever added

  constructor(readonly capacity: number, readonly I: number, readonly A: number, private readonly mirror: Mirror | null) {
    this.inputs = new Float32Array(capacity * I);
    this.legal = new Uint8Array(capacity * A);
    this.policy = new Float32Array(capacity * A);
    this.value = new Float32Array(capacity);
  }

  /** Adds one position: its encoding, legal moves, policy target (numActions) and value target. */
  push(input: Float32Array, legal: readonly number[], policy: ArrayLike<number>, value: number): void {
    const i = this.next, A = this.A;
    this.inputs.set(input, i * this.I);
    this.legal.fill(0, i * A, (i + 1) * A);
    for (const m of legal) this.legal[i * A + m] = 1;
    for (let a = 0; a < A; a++) this.policy[i * A + a] = policy[a];
    this.value[i] = value;
    this.next = (i + 1) % this.capacity;
    this.size = Math.min(this.size + 1, this.capacity);
    this.added++;
  }

  /** B positions drawn uniformly with replacement (each mirrored with probability 1/2 when the game allows). */
  sample(B: number, rng: Rng): PVBatch {
    if (this.size === 0) throw new Error('ReplayBuffer.sample: the buffer is empty');
    const { I, A } = this;
    const batch: PVBatch = { B, inputs: new Float32Array(B * I), legal: new Uint8Array(B * A), policy: new Float32Array(B * A), value: new Float32Array(B) };
    for (let b = 0; b < B; b++) {
      const i = rng.int(this.size);
      const flip = this.mirror !== null && rng.bool(0.5);
      const src = { input: this.inputs.subarray(i * I, (i + 1) * I), legal: this.legal.subarray(i * A, (i + 1) * A), policy: this.policy.subarray(i * A, (i + 1) * A) };
      const dst = { input: batch.inputs.subarray(b * I, (b + 1) * I), legal: batch.legal.subarray(b * A, (b + 1) * A), policy: batch.policy.subarray(b * A, (b + 1) * A) };
      if (flip) this.mirror!(src, dst);
      else {
        dst.input.set(src.input);
        dst.legal.set(src.legal);
        dst.policy.set(src.policy);
      }
      batch.value[b] = this.value[i];
    }
    return batch;
  }

  /** The buffer as checkpoint tensors (names prefixed), plus the counters for state.json. */
  toTensors(prefix: string): { tensors: [string, SafeTensor][]; counters: { size: number; next: number; added: number } } {
    const { capacity: n, I, A } = this;
    return {
      tensors: [
        [`${prefix}.inputs`, { dtype: 'F32', shape: [n, I], data: this.inputs }],
        [`${prefix}.legal`, { dtype: 'U8', shape: [n, A], data: this.legal }],
        [`${prefix}.policy`, { dtype: 'F32', shape: [n, A], data: this.policy }],
        [`${prefix}.value`, { dtype: 'F32', shape: [n], data: this.value }],
      ],
      counters: { size: this.size, next: this.next, added: this.added },
    };
  }

  /** Restores a buffer saved by toTensors; false if the tensors do not fit this buffer. */
  load(tensors: Map<string, SafeTensor>, prefix: string, counters: { size: number; next: number; added: number }): boolean {
    const parts = [['inputs', this.inputs], ['legal', this.legal], ['policy', this.policy], ['value', this.value]] as const;
    for (const [name, dst] of parts) {
      const t = tensors.get(`${prefix}.${name}`);
      if (!t || t.data.length !== dst.length || t.data.constructor !== dst.constructor) return false;
    }
    for (const [name, dst] of parts) dst.set(tensors.get(`${prefix}.${name}`)!.data as never);
    if (!(counters.size >= 0 && counters.size <= this.capacity && counters.next >= 0 && counters.next < this.capacity)) return false;
    Object.assign(this, { size: counters.size, next: counters.next, added: counters.added });
    return true;
  }
}

/** Writes the left-right mirror image of one position (input planes, legal mask, policy) into dst. */
export type Mirror = (src: { input: Float32Array; legal: Uint8Array; policy: Float32Array }, dst: { input: Float32Array; legal: Uint8Array; policy: Float32Array }) => void;

/**
 * The left-right mirror of a board game whose encoding is planes (P, H, W)
 * and whose moves are columns (numActions = W, as in Connect Four) or cells
 * (numActions = H x W, as in tic-tac-toe), or null for other games. Both
 * built-in games are symmetric under it; a game with other rules would need
 * to say so itself.
 */
export function boardMirror(game: Game<unknown>): Mirror | null {
  if (game.encodingShape.length !== 3) return null;
  const [P, H, W] = game.encodingShape, A = game.numActions;
  const actionMap = A === W ? (a: number) => W - 1 - a : A === H * W ? (a: number) => Math.floor(a / W) * W + (W - 1 - (a % W)) : null;
  if (!actionMap) return null;
  return (src, dst) => {
    for (let p = 0; p < P; p++) {
      for (let r = 0; r < H; r++) {
        const o = (p * H + r) * W;
        for (let c = 0; c < W; c++) dst.input[o + c] = src.input[o + W - 1 - c];
      }
    }
    for (let a = 0; a < A; a++) {
      dst.legal[actionMap(a)] = src.legal[a];
      dst.policy[actionMap(a)] = src.policy[a];
    }
  };
}
