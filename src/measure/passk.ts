/**
 * pass@k: the probability that at least one of k completions drawn for a task
 * is correct, estimated without bias from n >= k samples of which c are
 * correct (Chen et al. 2021, "Evaluating Large Language Models Trained on
 * Code", eq. 1):
 *
 *     pass@k = 1 - C(n - c, k) / C(n, k)
 *
 * i.e. one minus the chance that a k-subset of the n samples, chosen
 * uniformly, holds no correct one. The binomials overflow for modest n, so we
 * use the paper's product form:
 *
 *     C(n - c, k) / C(n, k) = prod_{i = n-c+1}^{n} (1 - k / i)
 *
 * Estimating with 1 - (1 - c/n)^k instead is biased low for k > 1.
 */

export interface PassCount {
  n: number; // samples drawn for the task
  c: number; // of them correct
}

/** Unbiased pass@k from n samples with c correct. Throws on counts that are not 0 <= c <= n, 1 <= k <= n. */
export function passAtK(n: number, c: number, k: number): number {
  if (!Number.isInteger(n) || !Number.isInteger(c) || !Number.isInteger(k) || c < 0 || c > n || k < 1 || k > n) {
    throw new RangeError(`passAtK: need integers 0 <= c <= n and 1 <= k <= n, got n=${n} c=${c} k=${k}`);
  }
  if (n - c < k) return 1; // every k-subset holds a correct sample
  let allWrong = 1; // C(n-c, k) / C(n, k)
  for (let i = n - c + 1; i <= n; i++) allWrong *= 1 - k / i;
  return 1 - allWrong;
}

/** Mean pass@k over tasks; null when there are no tasks. */
export function meanPassAtK(counts: readonly PassCount[], k: number): number | null {
  if (counts.length === 0) return null;
  let sum = 0;
  for (const { n, c } of counts) sum += passAtK(n, c, k);
  return sum / counts.length;
}

/**
 * Mean pass@k for each k in ks, keyed by k as a string ({"1": .., "8": ..}),
 * the shape `flywheel eval --json` prints. Every task needs n >= max(ks).
 */
export function passAtKs(counts: readonly PassCount[], ks: readonly number[]): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const k of ks) out[k] = meanPassAtK(counts, k);
  return out;
}
