/**
 * Scaling fits for "skill vs compute" plots: y = a · x^b, fitted by ordinary
 * least squares on log y = log a + b · log x (as Kaplan et al. 2020 fit their
 * loss-vs-compute laws), with R² measured in that log-log space.
 *
 * Least squares in log space weights every point's relative error equally,
 * which suits quantities that span decades (FLOPs, samples). Points with
 * x <= 0 or y <= 0 have no logarithm: they are left out and counted in
 * `skipped`, as are points that are not finite.
 */

export interface PowerLawFit {
  a: number; // y at x = 1
  b: number; // exponent: y grows by 10^b per decade of x
  r2: number; // coefficient of determination of the log-log fit, in (-inf, 1]; 1 when the points are on the line
  n: number; // points fitted
  skipped: number; // points left out (x or y <= 0, or not finite)
}

/** The least-squares power law through the points; null with fewer than two usable points or a single x. */
export function fitPowerLaw(points: readonly { x: number; y: number }[]): PowerLawFit | null {
  const lx: number[] = [], ly: number[] = [];
  for (const { x, y } of points) {
    if (!(Number.isFinite(x) && Number.isFinite(y) && x > 0 && y > 0)) continue;
    lx.push(Math.log(x));
    ly.push(Math.log(y));
  }
  const n = lx.length, skipped = points.length - n;
  if (n < 2) return null;
  const mx = lx.reduce((s, v) => s + v, 0) / n, my = ly.reduce((s, v) => s + v, 0) / n;
  let sxx = 0, sxy = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = lx[i] - mx, dy = ly[i] - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (sxx <= 1e-300) return null; // every x the same: no slope to fit
  const b = sxy / sxx, logA = my - b * mx;
  let ssRes = 0;
  for (let i = 0; i < n; i++) ssRes += (ly[i] - (logA + b * lx[i])) ** 2;
  const r2 = syy > 1e-300 ? 1 - ssRes / syy : 1; // a flat y fitted by a flat line is exact
  return { a: Math.exp(logA), b, r2, n, skipped };
}

/** y of a fitted power law at x. */
export function powerLaw(fit: { a: number; b: number }, x: number): number {
  return fit.a * Math.pow(x, fit.b);
}
