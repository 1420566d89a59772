/**
 * Tensor: a Float32Array with a shape, plus reverse-mode autograd.
 *
 * Autograd is a tape: every op that produces a tensor requiring grad pushes
 * it onto the tape with a closure that, given the output's gradient,
 * accumulates its inputs' gradients. backward() walks the tape in reverse.
 * Gradients are allocated lazily (Float32Array zeros) the first time
 * something flows into them, and accumulate (+=) across uses.
 */
import type { Rng } from '../util/rng.ts';
import { sizeOf } from './kernels/ref.ts';
import { allocF32 } from './pool.ts';

export class Tensor {
  data: Float32Array;
  readonly shape: readonly number[];
  grad: Float32Array | null = null;
  requiresGrad: boolean;
  /** Accumulates this tensor's grad into its inputs' grads. Set by ops; cleared after backward. */
  backwardFn: (() => void) | null = null;

  constructor(data: Float32Array, shape: readonly number[], requiresGrad = false) {
    const n = sizeOf(shape);
    if (data.length !== n) throw new Error(`Tensor: data has ${data.length} elements but shape [${shape}] needs ${n}`);
    for (const d of shape) if (!Number.isInteger(d) || d < 0) throw new Error(`Tensor: bad shape [${shape}]`);
    this.data = data;
    this.shape = Object.freeze([...shape]);
    this.requiresGrad = requiresGrad;
  }

  static zeros(shape: readonly number[], requiresGrad = false): Tensor {
    return new Tensor(allocF32(sizeOf(shape)), shape, requiresGrad);
  }

  /** Uninitialized contents (inside a pool scope): for op outputs that a kernel overwrites entirely. */
  static empty(shape: readonly number[]): Tensor {
    return new Tensor(allocF32(sizeOf(shape), false), shape);
  }

  static full(shape: readonly number[], value: number, requiresGrad = false): Tensor {
    return new Tensor(allocF32(sizeOf(shape)).fill(value), shape, requiresGrad);
  }

  static from(values: ArrayLike<number>, shape?: readonly number[], requiresGrad = false): Tensor {
    return new Tensor(Float32Array.from(values), shape ?? [values.length], requiresGrad);
  }

  static scalar(value: number): Tensor {
    return new Tensor(Float32Array.of(value), []);
  }

  /** Normal(0, std) entries from a seeded generator. */
  static randn(shape: readonly number[], rng: Rng, std = 1, requiresGrad = false): Tensor {
    const t = Tensor.zeros(shape, requiresGrad);
    for (let i = 0; i < t.data.length; i++) t.data[i] = rng.normal() * std;
    return t;
  }

  get size(): number {
    return this.data.length;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.data.length !== 1) throw new Error(`item(): tensor has ${this.data.length} elements (shape [${this.shape}])`);
    return this.data[0];
  }

  /** The gradient buffer, allocated as zeros on first use. */
  gradBuf(): Float32Array {
    if (!this.grad) this.grad = allocF32(this.data.length);
    return this.grad;
  }

  /**
   * For a backward kernel that can either overwrite or accumulate: the
   * gradient buffer and whether to accumulate into it. Before any gradient
   * has flowed in, the buffer is new and uninitialised (accumulate false:
   * the kernel must write every element), which spares a pass of zeros over
   * big activations.
   */
  gradSink(): [Float32Array, boolean] {
    if (this.grad) return [this.grad, true];
    this.grad = allocF32(this.data.length, false);
    return [this.grad, false];
  }

  zeroGrad(): void {
    this.grad = null;
  }

  /** A tensor sharing no memory with this one and outside the graph. */
  clone(): Tensor {
    return new Tensor(this.data.slice(), this.shape);
  }

  /** A tensor sharing this one's data but cut from the graph. */
  detach(): Tensor {
    return new Tensor(this.data, this.shape);
  }

  toArray(): number[] {
    return Array.from(this.data);
  }

  toString(): string {
    const head = Array.from(this.data.subarray(0, 8), (x) => x.toPrecision(4)).join(', ');
    return `Tensor([${this.shape}], [${head}${this.data.length > 8 ? ', ...' : ''}])`;
  }
}

// ---------------------------------------------------------------- the tape

let tape: Tensor[] = [];
let gradEnabled = true;

/** Whether new ops record themselves for backward. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn without recording ops (inference, evaluation). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Whether an op over these inputs will be recorded (so it must keep what its backward needs). */
export function willRecord(inputs: readonly Tensor[]): boolean {
  if (!gradEnabled) return false;
  for (const t of inputs) if (t.requiresGrad) return true;
  return false;
}

/**
 * Called by ops: if any input requires grad (and grad is enabled), marks the
 * output as requiring grad, attaches its backward closure and records it.
 */
export function record(out: Tensor, inputs: readonly Tensor[], backwardFn: () => void): Tensor {
  if (!willRecord(inputs)) return out;
  out.requiresGrad = true;
  out.backwardFn = backwardFn;
  tape.push(out);
  return out;
}

/**
 * Back-propagates from `loss` (a scalar, or any tensor with an explicit
 * seed gradient) through everything recorded since the last backward, then
 * clears the tape. Leaf tensors (parameters) keep their accumulated .grad.
 */
export function backward(loss: Tensor, seed?: Float32Array): void {
  if (!loss.requiresGrad) throw new Error('backward(): the loss does not depend on any tensor that requires grad');
  if (!seed && loss.size !== 1) throw new Error(`backward(): loss has shape [${loss.shape}]; pass a seed gradient for non-scalars`);
  const g = loss.gradBuf();
  if (seed) {
    for (let i = 0; i < g.length; i++) g[i] += seed[i];
  } else {
    g[0] += 1;
  }
  const nodes = tape;
  tape = [];
  for (let i = nodes.length - 1; i >= 0; i--) {
    const t = nodes[i];
    if (t.grad && t.backwardFn) t.backwardFn();
    t.backwardFn = null; // free the closure (and the activations it holds)
    t.grad = null; // intermediate grads are not needed after this point
  }
}

/** Drops everything recorded without back-propagating (e.g. after an evaluation run with grad on). */
export function clearTape(): void {
  for (const t of tape) t.backwardFn = null;
  tape = [];
}
