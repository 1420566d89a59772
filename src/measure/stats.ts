/**
 * Small statistics over numbers: entropy and KL of distributions given by
 * logits (in nats, computed through log-sum-exp so large logits neither
 * overflow nor lose the small probabilities), sampled KL estimates from
 * per-token log-probs, mean, standard deviation and percentiles.
 * Empty inputs give null; non-finite values are programmer errors and throw.
 */

/** log(sum(exp(x))), shifted by the max so it cannot overflow. */
export function logSumExp(logits: ArrayLike<number>): number {
  if (logits.length === 0) throw new RangeError('logSumExp: empty logits');
  let mx = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    if (Number.isNaN(logits[i]) || logits[i] === Infinity) throw new RangeError(`logSumExp: logit ${i} is ${logits[i]}`);
    if (logits[i] > mx) mx = logits[i];
  }
  if (mx === -Infinity) throw new RangeError('logSumExp: every logit is -Infinity');
  let z = 0;
  for (let i = 0; i < logits.length; i++) z += Math.exp(logits[i] - mx);
  return mx + Math.log(z);
}

/**
 * Entropy of softmax(logits): H = -sum p log p = lse(x) - sum p x.
 * Logits of -Infinity (masked tokens) contribute nothing.
 */
export function entropy(logits: ArrayLike<number>): number {
  const lse = logSumExp(logits);
  let px = 0;
  for (let i = 0; i < logits.length; i++) {
    const x = logits[i];
    if (x === -Infinity) continue;
    px += Math.exp(x - lse) * x;
  }
  return Math.max(0, lse - px); // >= 0 up to rounding
}

/** KL(P || Q) = sum p (log p - log q) for P = softmax(p), Q = softmax(q) over the same tokens. */
export function klDivergence(logitsP: ArrayLike<number>, logitsQ: ArrayLike<number>): number {
  if (logitsP.length !== logitsQ.length) throw new RangeError(`klDivergence: ${logitsP.length} vs ${logitsQ.length} logits`);
  const lp = logSumExp(logitsP), lq = logSumExp(logitsQ);
  let kl = 0;
  for (let i = 0; i < logitsP.length; i++) {
    if (logitsP[i] === -Infinity) continue;
    const logp = logitsP[i] - lp;
    kl += Math.exp(logp) * (logp - (logitsQ[i] - lq)); // Infinity where Q rules out what P allows
  }
  return Math.max(0, kl);
}

/**
 * KL(policy || reference) estimated from tokens sampled by the policy, given
 * both models' log-probs of those tokens (Schulman 2020, "Approximating KL
 * divergence"): with r = logRef - logPolicy, k1 = mean(-r) is unbiased but
 * noisy and can go negative; k3 = mean(e^r - r - 1) is unbiased and always
 * >= 0 (the estimator GRPO's KL penalty uses). null for no tokens.
 */
export function klEstimate(logPolicy: ArrayLike<number>, logRef: ArrayLike<number>): { k1: number; k3: number } | null {
  if (logPolicy.length !== logRef.length) throw new RangeError(`klEstimate: ${logPolicy.length} vs ${logRef.length} log-probs`);
  if (logPolicy.length === 0) return null;
  let k1 = 0, k3 = 0;
  for (let i = 0; i < logPolicy.length; i++) {
    const r = logRef[i] - logPolicy[i];
    k1 -= r;
    k3 += Math.expm1(r) - r; // e^r - 1 - r, accurate for small r
  }
  return { k1: k1 / logPolicy.length, k3: k3 / logPolicy.length };
}

export function mean(xs: ArrayLike<number>): number | null {
  checkFinite(xs, 'mean');
  if (xs.length === 0) return null;
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s / xs.length;
}

/** Population standard deviation (divides by n, as GRPO's group normalization does). */
export function std(xs: ArrayLike<number>): number | null {
  const m = mean(xs);
  if (m === null) return null;
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += (xs[i] - m) ** 2;
  return Math.sqrt(s / xs.length);
}

/**
 * The k-th percentile (k in [0, 100]), interpolating linearly between the
 * two nearest ranks (numpy's default): percentile(xs, 50) is the median.
 */
export function percentile(xs: ArrayLike<number>, k: number): number | null {
  if (!(k >= 0 && k <= 100)) throw new RangeError(`percentile: k must be in [0, 100], got ${k}`);
  checkFinite(xs, 'percentile');
  if (xs.length === 0) return null;
  const sorted = Float64Array.from(xs).sort(); // typed-array sort is numeric
  const pos = ((sorted.length - 1) * k) / 100, lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}

function checkFinite(xs: ArrayLike<number>, where: string): void {
  for (let i = 0; i < xs.length; i++) {
    if (!Number.isFinite(xs[i])) throw new RangeError(`${where}: value ${i} is ${xs[i]}`);
  }
}
