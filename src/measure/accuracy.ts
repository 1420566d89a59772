/**
 * Verified accuracy of graded rollouts: overall, on easy and hard cases, per
 * difficulty, with Wilson 95% intervals, plus the verdict reasons counted and
 * the mean reward. Fractions are in [0, 1]; a group with no items is null,
 * never NaN, so a JSON reader can tell "no hard cases" from "0% on them".
 */

/** One graded rollout, as a verifier and its task describe it. */
export interface Graded {
  ok: boolean;
  reward: number;
  reason: string; // the verifier's machine-readable verdict ('correct', 'wrong', 'no_answer', ...)
  difficulty: number;
  hard: boolean; // the task family deems the task a hard case
}

export type Interval = [lo: number, hi: number];

export interface Accuracy {
  n: number;
  overall: number | null;
  easy: number | null;
  hard: number | null;
  byDifficulty: Record<string, number>; // difficulty -> accuracy, in ascending difficulty
  reasons: Record<string, number>; // reason -> count, most frequent first
  meanReward: number | null;
  counts: { easy: number; hard: number; byDifficulty: Record<string, number> }; // items behind each share
  intervals: { overall: Interval | null; easy: Interval | null; hard: Interval | null }; // Wilson 95%
}

export function accuracyOf(items: readonly Graded[]): Accuracy {
  const easy = items.filter((t) => !t.hard), hard = items.filter((t) => t.hard);
  const difficulties = [...new Set(items.map((t) => t.difficulty))].sort((a, b) => a - b);
  const byDifficulty: Record<string, number> = {}, perDifficulty: Record<string, number> = {};
  for (const d of difficulties) {
    const group = items.filter((t) => t.difficulty === d);
    byDifficulty[d] = share(group)!;
    perDifficulty[d] = group.length;
  }
  const reasons = new Map<string, number>();
  for (const t of items) reasons.set(t.reason, (reasons.get(t.reason) ?? 0) + 1);
  const byCount = [...reasons].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  return {
    n: items.length,
    overall: share(items),
    easy: share(easy),
    hard: share(hard),
    byDifficulty,
    reasons: Object.fromEntries(byCount),
    meanReward: items.length ? items.reduce((s, t) => s + t.reward, 0) / items.length : null,
    counts: { easy: easy.length, hard: hard.length, byDifficulty: perDifficulty },
    intervals: { overall: wilsonOf(items), easy: wilsonOf(easy), hard: wilsonOf(hard) },
  };
}

function share(xs: readonly Graded[]): number | null {
  return xs.length ? okCount(xs) / xs.length : null;
}

function okCount(xs: readonly Graded[]): number {
  let k = 0;
  for (const t of xs) if (t.ok) k++;
  return k;
}

function wilsonOf(xs: readonly Graded[]): Interval | null {
  return wilson(okCount(xs), xs.length);
}

/**
 * Wilson score interval for k successes in n trials (Wilson 1927): unlike
 * p ± z·sqrt(p(1-p)/n) it stays inside [0, 1] and does not collapse to a
 * point at p = 0 or 1. z = 1.96 gives 95%. null when n = 0.
 */
export function wilson(k: number, n: number, z = 1.96): Interval | null {
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 0 || k > n) throw new RangeError(`wilson: need integers 0 <= k <= n, got k=${k} n=${n}`);
  if (n === 0) return null;
  const p = k / n, z2 = z * z;
  const center = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return [Math.max(0, center - half), Math.min(1, center + half)];
}
