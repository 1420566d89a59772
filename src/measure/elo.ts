/**
 * Elo ratings by a maximum-likelihood Bradley-Terry fit (Hunter 2004's
 * model, as BayesElo fits it): P(a beats b) = 1 / (1 + 10^((R_b - R_a) / 400)),
 * a draw counting half a win for each side. Anchors keep fixed ratings
 * (their scale then pins everyone else's); the free ratings maximize the
 * likelihood of all games, by Newton's method on the natural log-odds scale
 * (steps capped at one unit, so a start far from the optimum cannot overshoot).
 *
 * A player that won (or lost) every game would have an infinite rating, so
 * every pair that met gets `virtualDraws` extra drawn games (BayesElo's prior
 * does the same); this pulls ratings together a little and keeps them finite.
 * Standard errors come from the inverse of the negative Hessian (the
 * curvature of the log-likelihood), in Elo points.
 */

/** The games between two players: `score` is a's total (win 1, draw 0.5) over `games`. */
export interface PairResult {
  a: string;
  b: string;
  score: number;
  games: number;
}

export interface EloFit {
  ratings: Record<string, number>; // every player, anchors included
  stderr: Record<string, number>; // free players only (anchors are exact by definition)
}

const SCALE = 400 / Math.LN10; // Elo points per unit of natural log-odds
const MAX_STEP = 1; // largest Newton step, in natural log-odds (about 174 Elo)

/** Fits the free players' ratings; each must be linked by games, directly or not, to an anchor. */
export function fitElo(results: readonly PairResult[], anchors: Readonly<Record<string, number>>, opts: { virtualDraws?: number; iterations?: number } = {}): EloFit {
  const vd = opts.virtualDraws ?? 1;
  const names = [...new Set(results.flatMap((r) => [r.a, r.b]))];
  const free = names.filter((n) => !(n in anchors));
  const index = new Map(free.map((n, i) => [n, i]));
  for (const r of results) {
    if (r.a === r.b) throw new RangeError(`fitElo: ${r.a} cannot play itself`);
    if (!(r.games > 0 && r.score >= 0 && r.score <= r.games)) throw new RangeError(`fitElo: ${r.a} vs ${r.b}: score ${r.score} of ${r.games} games`);
  }
  checkLinked(results, free, anchors);
  const theta = new Float64Array(free.length); // free ratings / SCALE
  const rating = (n: string): number => (n in anchors ? anchors[n] / SCALE : theta[index.get(n)!]);
  let H: number[][] = [];
  for (let it = 0; it < (opts.iterations ?? 200); it++) {
    const g = new Float64Array(free.length);
    H = free.map(() => new Array(free.length).fill(0)); // negative Hessian (positive definite)
    for (const r of results) {
      const n = r.games + 2 * vd, s = r.score + vd; // virtual draws: vd wins for each side
      const p = 1 / (1 + Math.exp(rating(r.b) - rating(r.a)));
      const ia = index.get(r.a), ib = index.get(r.b), w = n * p * (1 - p);
      if (ia !== undefined) {
        g[ia] += s - n * p;
        H[ia][ia] += w;
      }
      if (ib !== undefined) {
        g[ib] -= s - n * p;
        H[ib][ib] += w;
      }
      if (ia !== undefined && ib !== undefined) {
        H[ia][ib] -= w;
        H[ib][ia] -= w;
      }
    }
    const step = solve(H, g);
    let biggest = 0;
    for (let i = 0; i < free.length; i++) biggest = Math.max(biggest, Math.abs(step[i]));
    const damp = Math.min(1, MAX_STEP / biggest); // far from the optimum a full Newton step can overshoot
    for (let i = 0; i < free.length; i++) theta[i] += damp * step[i];
    if (biggest < 1e-10) break;
  }
  const ratings: Record<string, number> = {}, stderr: Record<string, number> = {};
  for (const n of names) ratings[n] = rating(n) * SCALE;
  for (const [n, a] of Object.entries(anchors)) ratings[n] ??= a;
  free.forEach((n, i) => {
    const e = new Float64Array(free.length);
    e[i] = 1;
    stderr[n] = Math.sqrt(solve(H, e)[i]) * SCALE;
  });
  return { ratings, stderr };
}

/** Expected score of a against b from their Elo ratings. */
export function expectedScore(ra: number, rb: number): number {
  return 1 / (1 + Math.pow(10, (rb - ra) / 400));
}

/** Every free player must reach an anchor through games, or its rating is not determined. */
function checkLinked(results: readonly PairResult[], free: readonly string[], anchors: Readonly<Record<string, number>>): void {
  const reached = new Set(Object.keys(anchors));
  for (let grew = true; grew; ) {
    grew = false;
    for (const r of results) {
      if (reached.has(r.a) !== reached.has(r.b)) {
        reached.add(r.a);
        reached.add(r.b);
        grew = true;
      }
    }
  }
  const lost = free.filter((n) => !reached.has(n));
  if (lost.length > 0) throw new RangeError(`fitElo: no games link ${lost.join(', ')} to an anchor (${Object.keys(anchors).join(', ') || 'none given'})`);
}

/** Solves H x = g by Gaussian elimination with partial pivoting (H small and positive definite). */
function solve(H: readonly number[][], g: ArrayLike<number>): Float64Array {
  const n = g.length, M = H.map((row, i) => [...row, g[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r;
    [M[c], M[p]] = [M[p], M[c]];
    for (let r = c + 1; r < n; r++) {
      const f = M[r][c] / M[c][c];
      for (let k = c; k <= n; k++) M[r][k] -= f * M[c][k];
    }
  }
  const x = new Float64Array(n);
  for (let r = n - 1; r >= 0; r--) {
    let s = M[r][n];
    for (let k = r + 1; k < n; k++) s -= M[r][k] * x[k];
    x[r] = s / M[r][r];
  }
  return x;
}
