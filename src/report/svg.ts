/**
 * What every chart shares: escaping, the palette, number formats (1-2-5
 * ticks, SI suffixes, percents, log ticks), scales, and the frame around a
 * plot (title, legend, y grid and labels, reference lines). Pure functions
 * returning strings; nothing here reads a file or a clock.
 */

/** Escapes text for HTML and SVG content and attribute values. */
export function esc(s: string | number): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Tableau 10: distinct hues that stay apart for the colour-blind and in grey. */
export const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

export const colour = (i: number): string => PALETTE[i % PALETTE.length];

export const FONT = 'system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif';

const SI: [number, string][] = [[1e18, 'E'], [1e15, 'P'], [1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];

/** Drops trailing zeros after a decimal point: "1.50" -> "1.5", "2.0" -> "2", "100" stays. */
function trim(s: string): string {
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

/** A number in `digits` significant figures with an SI suffix from 1k up: 1200000 -> "1.2M", 3.4e9 -> "3.4G", 0.25 -> "0.25". */
export function formatSI(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const r = Number(v.toPrecision(digits)); // rounded first, so 999.96 becomes "1k", not "1e+3"
  const [unit, suffix] = SI.find(([u]) => Math.abs(r) >= u) ?? [1, ''];
  const x = r / unit;
  if (Math.abs(x) < 1e-3) {
    const [m, e] = x.toExponential(digits - 1).split('e');
    return `${trim(m)}e${e}`;
  }
  return trim(x.toPrecision(Math.max(digits, Math.floor(Math.log10(Math.abs(x))) + 1))) + suffix; // 100 stays "100", not "1.0e+2"
}

/** A fraction as a percent with up to `decimals` places: 0.834 -> "83.4%", 0.98 -> "98%". */
export function formatPercent(v: number, decimals = 1): string {
  return `${trim((v * 100).toFixed(decimals))}%`;
}

/** A tick label with just enough decimals to tell ticks `step` apart. */
export function formatTick(t: number, step: number, percent = false): string {
  const e = Math.floor(Math.log10(step * (percent ? 100 : 1)) + 1e-9); // exponent of the step
  if (Math.abs(t) < step * 1e-9) return percent ? '0%' : '0';
  if (percent) return `${(t * 100).toFixed(Math.max(0, -e))}%`;
  const [unit, suffix] = SI.find(([u]) => Math.abs(t) >= u) ?? [1, ''];
  if (suffix === '') return t.toFixed(Math.max(0, -e));
  return trim((t / unit).toFixed(Math.max(0, Math.log10(unit) - e))) + suffix;
}

/** An axis: its domain, the tick positions and their labels. */
export interface Axis {
  min: number;
  max: number;
  log: boolean;
  ticks: number[];
  labels: string[];
}

/** The 1-2-5 step nearest to `raw` on a log scale (d3's thresholds √2, √10, √50): 0.37 -> 0.5, 1300 -> 1000, 2.6 -> 2. */
export function niceStep(raw: number): number {
  const e = Math.floor(Math.log10(raw)), f = raw / 10 ** e;
  return (f < Math.SQRT2 ? 1 : f < Math.sqrt(10) ? 2 : f < Math.sqrt(50) ? 5 : 10) * 10 ** e;
}

/**
 * A linear axis over [lo, hi] (the data's extent; NaN when there is none)
 * with about `target` ticks at 1-2-5 steps, widened to whole steps unless an
 * end is fixed. A flat extent is padded so the data sits mid-axis.
 */
export function linearAxis(lo: number, hi: number, opts: { min?: number; max?: number; percent?: boolean; target?: number } = {}): Axis {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) [lo, hi] = [0, 1];
  lo = opts.min ?? lo;
  hi = opts.max ?? hi;
  if (opts.min !== undefined && opts.max !== undefined && opts.max <= opts.min) throw new RangeError(`axis: max ${opts.max} must exceed min ${opts.min}`);
  if (hi <= lo) {
    const pad = lo === hi && lo !== 0 ? Math.abs(lo) * 0.1 : 1;
    if (opts.min === undefined) lo -= pad;
    if (opts.max === undefined || hi <= lo) hi = lo + 2 * pad;
  }
  const step = niceStep((hi - lo) / (opts.target ?? 5));
  const min = opts.min ?? Math.floor(lo / step + 1e-9) * step, max = opts.max ?? Math.ceil(hi / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let k = Math.ceil(min / step - 1e-9); k * step <= max + step * 1e-9; k++) ticks.push(Number((k * step).toPrecision(12)));
  return { min, max, log: false, ticks, labels: ticks.map((t) => formatTick(t, step, opts.percent)) };
}

/** A log axis over positive [lo, hi], whole decades; 2 and 5 in between when it spans few decades. */
export function logAxis(lo: number, hi: number): Axis {
  if (!(lo > 0 && hi > 0 && Number.isFinite(lo) && Number.isFinite(hi))) [lo, hi] = [1, 10];
  let d0 = Math.floor(Math.log10(lo) + 1e-9), d1 = Math.ceil(Math.log10(hi) - 1e-9);
  if (d1 === d0) d1++;
  const every = Math.ceil((d1 - d0) / 8); // at most ~8 decade labels
  const ticks: number[] = [];
  for (let d = d0; d <= d1; d++) {
    if ((d - d0) % every === 0) ticks.push(10 ** d);
    if (d1 - d0 <= 2 && d < d1) ticks.push(2 * 10 ** d, 5 * 10 ** d);
  }
  ticks.sort((a, b) => a - b);
  return { min: 10 ** d0, max: 10 ** d1, log: true, ticks, labels: ticks.map((t) => formatSI(t, 2)) };
}

/** Maps v on the axis to a pixel between a (at min) and b (at max). */
export function project(axis: Axis, v: number, a: number, b: number): number {
  const f = axis.log
    ? (Math.log10(v) - Math.log10(axis.min)) / (Math.log10(axis.max) - Math.log10(axis.min))
    : (v - axis.min) / (axis.max - axis.min);
  return Number((a + f * (b - a)).toFixed(2));
}

/** Rough width of a label in px (no fonts to measure with): good enough for layout. */
export function textWidth(s: string, size: number): number {
  return s.length * size * 0.58;
}

export interface LegendItem {
  name: string;
  colour: string;
  dashed?: boolean;
  bar?: boolean; // a square swatch instead of a line
}

export interface Frame {
  left: number; // the plot area, in px of the W x H picture
  top: number;
  right: number;
  bottom: number;
  svg: string; // title, legend, y grid, y tick labels, axis labels
}

export const W = 640, H = 340;

/** Lays out a chart and draws what is not the data: everything above and left of the plot, and the y grid. */
export function frame(opts: { title: string; legend: LegendItem[]; y: Axis; yLabel: string; xLabel: string; xTickRoom?: number }): Frame {
  const out: string[] = [`<text class="title" x="16" y="24" font-size="15" font-weight="600" fill="#222">${esc(opts.title)}</text>`];
  let x = 16, y = 46;
  for (const item of opts.legend) {
    const w = 26 + textWidth(item.name, 12) + 16;
    if (x + w > W - 16 && x > 16) (x = 16), (y += 18);
    const swatch = item.bar
      ? `<rect x="${x}" y="${y - 9}" width="12" height="10" rx="2" fill="${item.colour}"/>`
      : `<line x1="${x}" y1="${y - 4}" x2="${x + 20}" y2="${y - 4}" stroke="${item.colour}" stroke-width="${item.dashed ? 1.6 : 2.5}"${item.dashed ? ' stroke-dasharray="5 3"' : ''}/>`;
    out.push(`<g class="legend">${swatch}<text x="${x + (item.bar ? 17 : 26)}" y="${y}" font-size="12" fill="#444">${esc(item.name)}</text></g>`);
    x += w;
  }
  const top = opts.legend.length ? y + 16 : 44;
  const left = 30 + Math.max(...opts.y.labels.map((l) => textWidth(l, 11)), 10) + 8, right = W - 24, bottom = H - 28 - (opts.xTickRoom ?? 16);
  for (const [i, t] of opts.y.ticks.entries()) {
    const py = project(opts.y, t, bottom, top);
    out.push(`<line class="grid" x1="${left}" y1="${py}" x2="${right}" y2="${py}" stroke="#e8e8e8"/>`);
    out.push(`<text class="tick y" x="${left - 6}" y="${py + 4}" font-size="11" fill="#666" text-anchor="end">${esc(opts.y.labels[i])}</text>`);
  }
  out.push(`<text class="label y" transform="translate(16 ${(top + bottom) / 2}) rotate(-90)" font-size="12" fill="#555" text-anchor="middle">${esc(opts.yLabel)}</text>`);
  out.push(`<text class="label x" x="${(left + right) / 2}" y="${H - 10}" font-size="12" fill="#555" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  out.push(`<line x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="#999"/>`);
  return { left, top, right, bottom, svg: out.join('') };
}

export const REFERENCE = '#555'; // colour of reference lines

/** Dashed horizontal reference lines, labelled at their right end unless the legend names them (lines off the axis are left out). */
export function hlines(lines: readonly { y: number; label: string }[], y: Axis, f: Frame, labelled = true): string {
  return lines
    .filter((l) => Number.isFinite(l.y) && l.y >= y.min && l.y <= y.max)
    .map((l) => {
      const py = project(y, l.y, f.bottom, f.top);
      const line = `<line x1="${f.left}" y1="${py}" x2="${f.right}" y2="${py}" stroke="${REFERENCE}" stroke-width="1.2" stroke-dasharray="5 3"/>`;
      if (!labelled) return `<g class="hline">${line}<title>${esc(l.label)}</title></g>`;
      return `<g class="hline">${line}` +
        `<text x="${f.right - 4}" y="${py - 5}" font-size="11" fill="#444" text-anchor="end" paint-order="stroke" stroke="#fff" stroke-width="3">${esc(l.label)}</text></g>`;
    })
    .join('');
}

/** The outer <svg> element: scales to its container, keeps its aspect ratio. */
export function svgRoot(title: string, body: string, cls: string): string {
  return `<svg class="fw-chart ${cls}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="${esc(title)}" font-family="${FONT}">` +
    `<rect width="${W}" height="${H}" fill="#fff"/>${body}</svg>`;
}
