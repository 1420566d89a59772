/**
 * Layers: Linear, Embedding, LayerNorm, MLP, causal self-attention, in the
 * order a GPT block uses them. A module holds its parameters as Tensors and
 * lists them by dotted name (PyTorch's state_dict names), which is how
 * checkpoints and optimizers find them.
 */
import type { Rng } from '../util/rng.ts';
import { Tensor } from '../tensor/tensor.ts';
import * as O from '../tensor/ops.ts';

export type NamedParams = [string, Tensor][];

/**
 * B sequences of T positions laid out as R packed rows, some shared by
 * several sequences (equal prefixes: src/models/shared_prefix.ts). Row-wise
 * layers run on the R rows; attention reads each sequence whole.
 */
export interface PackedRows {
  B: number;
  T: number;
  rows: number; // R
  ids: Int32Array; // (R) token of each row
  pos: Int32Array; // (R) position of each row
  rowOf: Int32Array; // (B*T) the row holding sequence b's position t
  // the sequences again in group order, as ops.causalAttentionRows takes them: slot s is sequence seq[s]
  seq: Int32Array; // (B)
  slotRows: Int32Array; // (B*T) the row holding slot s's position t
  q0: Int32Array; // (B) slot s's first own position: 0 for a group's first, the shared prefix's length for the rest
}

function param(shape: number[], rng: Rng | null, std: number): Tensor {
  return rng && std > 0 ? Tensor.randn(shape, rng, std, true) : Tensor.zeros(shape, true);
}

/** y = x Wᵀ + b, W stored (out, in) as in PyTorch. Init N(0, std), bias 0. */
export class Linear {
  readonly weight: Tensor; // (out, in)
  readonly bias: Tensor | null; // (out)
  constructor(nIn: number, nOut: number, rng: Rng, opts: { bias?: boolean; std?: number } = {}) {
    this.weight = param([nOut, nIn], rng, opts.std ?? 0.02);
    this.bias = opts.bias === false ? null : param([nOut], null, 0);
  }
  forward(x: Tensor): Tensor {
    return O.linear(x, this.weight, this.bias);
  }
  params(prefix: string): NamedParams {
    const out: NamedParams = [[`${prefix}.weight`, this.weight]];
    if (this.bias) out.push([`${prefix}.bias`, this.bias]);
    return out;
  }
}

/** A lookup table (n, dim). Init N(0, std). */
export class Embedding {
  readonly weight: Tensor; // (n, dim)
  constructor(n: number, dim: number, rng: Rng, std = 0.02) {
    this.weight = param([n, dim], rng, std);
  }
  forward(ids: Int32Array, shape: readonly number[]): Tensor {
    return O.embedding(this.weight, ids, shape);
  }
  params(prefix: string): NamedParams {
    return [[`${prefix}.weight`, this.weight]];
  }
}

/** LayerNorm over the last dim, weight 1 and bias 0 at init. */
export class LayerNorm {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(dim: number, readonly eps = 1e-5) {
    this.weight = Tensor.full([dim], 1, true);
    this.bias = Tensor.zeros([dim], true);
  }
  forward(x: Tensor): Tensor {
    return O.layernorm(x, this.weight, this.bias, this.eps);
  }
  params(prefix: string): NamedParams {
    return [[`${prefix}.weight`, this.weight], [`${prefix}.bias`, this.bias]];
  }
}

/** Linear(C, 4C) -> GELU -> Linear(4C, C); the first linear and the GELU run as one op (ops.linearGelu). */
export class MLP {
  readonly c_fc: Linear;
  readonly c_proj: Linear;
  constructor(dim: number, rng: Rng, hidden = 4 * dim, projStd = 0.02) {
    this.c_fc = new Linear(dim, hidden, rng);
    this.c_proj = new Linear(hidden, dim, rng, { std: projStd });
  }
  forward(x: Tensor): Tensor {
    const fc = this.c_fc;
    return this.c_proj.forward(fc.bias ? O.linearGelu(x, fc.weight, fc.bias) : O.gelu(fc.forward(x)));
  }
  params(prefix: string): NamedParams {
    return [...this.c_fc.params(`${prefix}.c_fc`), ...this.c_proj.params(`${prefix}.c_proj`)];
  }
}

/** Causal multi-head self-attention: packed qkv projection, fused attention, output projection. */
export class CausalSelfAttention {
  readonly c_attn: Linear; // (3C, C)
  readonly c_proj: Linear; // (C, C)
  constructor(dim: number, readonly nHead: number, rng: Rng, projStd = 0.02) {
    if (dim % nHead !== 0) throw new Error(`CausalSelfAttention: width ${dim} is not divisible by ${nHead} heads`);
    this.c_attn = new Linear(dim, 3 * dim, rng);
    this.c_proj = new Linear(dim, dim, rng, { std: projStd });
  }
  /** x (B, T, C) -> (B, T, C); or packed rows x (R, C) -> (R, C). */
  forward(x: Tensor, packed?: PackedRows | null): Tensor {
    const qkv = this.c_attn.forward(x); // (B, T, 3C) or (R, 3C)
    if (!packed) return this.c_proj.forward(O.causalAttention(qkv, this.nHead));
    return this.c_proj.forward(O.causalAttentionRows(qkv, this.nHead, packed.slotRows, packed.q0, packed.B, packed.T));
  }
  params(prefix: string): NamedParams {
    return [...this.c_attn.params(`${prefix}.c_attn`), ...this.c_proj.params(`${prefix}.c_proj`)];
  }
}
