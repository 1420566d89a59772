/**
 * Learning curves: where a curve first reaches a threshold (sample
 * efficiency), smoothing for noisy curves, and the per-group statistics that
 * say whether a GRPO-style batch carries any signal.
 *
 * Crossings interpolate linearly between the last point below the threshold
 * and the first at or above it, so the answer does not jump with the spacing
 * of evaluations; `{ interpolate: false }` returns the first measured point
 * at or above the threshold instead (a conservative upper bound). A curve
 * that starts at or above the threshold crosses at its first point. Points
 * are read in the order given (the order of the run); points whose x or y is
 * not finite are skipped.
 */

export interface CrossingOptions {
  interpolate?: boolean; // default true
}

/** The first x where y >= threshold, or null if the curve never gets there. */
export function firstCrossing(points: readonly { x: number; y: number }[], threshold: number, opts: CrossingOptions = {}): number | null {
  const finite = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const hit = crossing(finite.map((p) => p.y), threshold, opts);
  if (!hit) return null;
  const { i, f } = hit, x = finite[i].x;
  return f === 1 ? x : finite[i - 1].x + f * (x - finite[i - 1].x);
}

/** One held-out evaluation of a run: the costs spent so far and the accuracy then. */
export interface CurvePoint {
  samples: number;
  flops: number;
  tokens: number;
  accuracy: number | null; // null: not measured at this point (skipped)
}

/**
 * Sample efficiency: samples, FLOPs and tokens spent when held-out accuracy
 * first reached `threshold` (each interpolated at the same crossing), or null
 * if it never did.
 */
export function sampleEfficiency(curve: readonly CurvePoint[], threshold: number, opts: CrossingOptions = {}): { samples: number; flops: number; tokens: number } | null {
  const measured = curve.filter((p) => p.accuracy !== null && Number.isFinite(p.accuracy));
  const hit = crossing(measured.map((p) => p.accuracy!), threshold, opts);
  if (!hit) return null;
  const { i, f } = hit, b = measured[i], a = measured[Math.max(0, i - 1)];
  const at = (k: 'samples' | 'flops' | 'tokens'): number => (f === 1 ? b[k] : a[k] + f * (b[k] - a[k]));
  return { samples: at('samples'), flops: at('flops'), tokens: at('tokens') };
}

/** A held-out evaluation as RL runs log it (EvalPoint in src/algos/rl.ts): cost counters and the accuracy. */
export interface CostedEval {
  samples: number;
  tokensSampled: number;
  tokensTrained: number;
  sampleFlops: number;
  trainFlops: number;
  accuracy: { overall: number | null };
}

/** sampleEfficiency of a run's logged evaluations: tokens and FLOPs are sampling plus training. */
export function runSampleEfficiency(evals: readonly CostedEval[], threshold: number): { samples: number; flops: number; tokens: number } | null {
  return sampleEfficiency(evals.map((p) => ({ samples: p.samples, tokens: p.tokensSampled + p.tokensTrained, flops: p.sampleFlops + p.trainFlops, accuracy: p.accuracy.overall })), threshold);
}

/** Index i of the first y >= threshold and the fraction f of the way from point i-1 to i where it is crossed. */
function crossing(ys: readonly number[], threshold: number, opts: CrossingOptions): { i: number; f: number } | null {
  const i = ys.findIndex((y) => y >= threshold);
  if (i < 0) return null;
  if (i === 0 || opts.interpolate === false) return { i, f: 1 };
  return { i, f: (threshold - ys[i - 1]) / (ys[i] - ys[i - 1]) }; // ys[i-1] < threshold <= ys[i]
}

/**
 * Exponential moving average with TensorBoard's debiasing: the first values
 * are not pulled toward 0. smoothing in [0, 1): 0 is no smoothing. A value
 * that is not finite gives NaN at its place and leaves the average as it was.
 */
export function ema(values: readonly number[], smoothing = 0.6): number[] {
  if (!(smoothing >= 0 && smoothing < 1)) throw new RangeError(`ema: smoothing must be in [0, 1), got ${smoothing}`);
  let acc = 0, weight = 0;
  return values.map((v) => {
    if (!Number.isFinite(v)) return NaN;
    acc = smoothing * acc + (1 - smoothing) * v;
    weight = smoothing * weight + (1 - smoothing); // = 1 - smoothing^count
    return acc / weight;
  });
}

/** Trailing mean over the last `window` values (fewer at the start); non-finite values are left out; NaN if none is left. */
export function movingAverage(values: readonly number[], window: number): number[] {
  if (!Number.isInteger(window) || window < 1) throw new RangeError(`movingAverage: window must be a positive integer, got ${window}`);
  let sum = 0, count = 0;
  return values.map((v, i) => {
    if (Number.isFinite(v)) (sum += v), count++;
    const old = values[i - window];
    if (i >= window && Number.isFinite(old)) (sum -= old), count--;
    return count > 0 ? sum / count : NaN;
  });
}

export interface GroupStats {
  groups: number;
  samples: number;
  meanReward: number | null; // over all samples
  zeroVarianceShare: number | null; // groups whose rewards are all equal: group baselines give them no gradient
  meanStd: number | null; // mean over groups of the within-group (population) standard deviation
}

/** Statistics of G rewards per prompt (one inner array per group). Throws on an empty group. */
export function groupStats(rewards: readonly (readonly number[])[]): GroupStats {
  let total = 0, samples = 0, flat = 0, stdSum = 0;
  for (const [g, rs] of rewards.entries()) {
    if (rs.length === 0) throw new RangeError(`groupStats: group ${g} is empty`);
    const mean = rs.reduce((a, r) => a + r, 0) / rs.length;
    const variance = rs.reduce((a, r) => a + (r - mean) ** 2, 0) / rs.length;
    total += mean * rs.length;
    samples += rs.length;
    if (Math.max(...rs) - Math.min(...rs) <= 1e-9) flat++;
    stdSum += Math.sqrt(variance);
  }
  const G = rewards.length;
  return {
    groups: G,
    samples,
    meanReward: samples ? total / samples : null,
    zeroVarianceShare: G ? flat / G : null,
    meanStd: G ? stdSum / G : null,
  };
}
