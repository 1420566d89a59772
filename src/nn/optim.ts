/**
 * AdamW (Loshchilov & Hutter: decoupled weight decay), global-norm gradient
 * clipping, and the warmup + cosine learning-rate schedule.
 *
 * Weight decay applies to matrices and embeddings (rank >= 2) only, not to
 * biases and LayerNorm gains, as in nanoGPT. The moments are plain
 * Float32Arrays keyed by parameter name so checkpoints can save them.
 */
import { K } from '../tensor/backend.ts';
import type { Tensor } from '../tensor/tensor.ts';
import type { NamedParams } from './modules.ts';

export interface AdamWConfig {
  lr: number; // peak learning rate
  beta1: number; // first-moment decay
  beta2: number; // second-moment decay
  eps: number; // denominator fuzz
  weightDecay: number; // decoupled decay for rank >= 2 params
}

export const ADAMW_DEFAULTS: AdamWConfig = { lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };

export class AdamW {
  readonly config: AdamWConfig;
  readonly params: NamedParams;
  m = new Map<string, Float32Array>();
  v = new Map<string, Float32Array>();
  step = 0; // number of updates taken

  constructor(params: NamedParams, config: Partial<AdamWConfig> = {}) {
    this.config = { ...ADAMW_DEFAULTS, ...config };
    this.params = params;
    for (const [name, p] of params) {
      this.m.set(name, new Float32Array(p.size));
      this.v.set(name, new Float32Array(p.size));
    }
  }

  /** One update at learning rate lr (defaults to the configured peak); parameters without grad are skipped. */
  update(lr = this.config.lr): void {
    this.step++;
    const { beta1, beta2, eps, weightDecay } = this.config;
    for (const [name, p] of this.params) {
      if (!p.grad) continue;
      const wd = p.rank >= 2 ? weightDecay : 0;
      K.adamw(p.data, p.grad, this.m.get(name)!, this.v.get(name)!, lr, beta1, beta2, eps, wd, this.step);
    }
  }

  zeroGrad(): void {
    for (const [, p] of this.params) p.zeroGrad();
  }
}

/** Scales all gradients so their global L2 norm is at most maxNorm; returns the norm before clipping. */
export function clipGradNorm(params: readonly Tensor[] | NamedParams, maxNorm: number): number {
  const ts = params.map((p) => (Array.isArray(p) ? p[1] : p)) as Tensor[];
  let sq = 0;
  for (const t of ts) if (t.grad) for (let i = 0; i < t.grad.length; i++) sq += t.grad[i] * t.grad[i];
  const norm = Math.sqrt(sq);
  if (maxNorm > 0 && norm > maxNorm) {
    const s = maxNorm / (norm + 1e-6);
    for (const t of ts) if (t.grad) K.scale(t.grad, s, t.grad);
  }
  return norm;
}

/** Linear warmup to lr over warmup steps, then cosine decay to minLr at totalSteps. step is 0-based. */
export function cosineSchedule(step: number, opts: { lr: number; warmup: number; totalSteps: number; minLr?: number }): number {
  const minLr = opts.minLr ?? opts.lr * 0.1;
  if (step < opts.warmup) return (opts.lr * (step + 1)) / opts.warmup;
  if (step >= opts.totalSteps) return minLr;
  const progress = (step - opts.warmup) / Math.max(1, opts.totalSteps - opts.warmup);
  return minLr + 0.5 * (opts.lr - minLr) * (1 + Math.cos(Math.PI * progress));
}
