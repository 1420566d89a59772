/**
 * Line charts as inline SVG: one polyline per series (a gap where a point is
 * not finite, or not positive on a log axis), point markers with hover
 * titles when a series has few points, dashed reference lines, a legend.
 *
 * Structure a reader (or a test) can rely on: each series is
 * `<path class="series" data-series="NAME" d="M x,y L x,y ...">`, tick labels
 * are `<text class="tick x|y">`, legend entries `<g class="legend">`.
 */
import { colour, esc, frame, hlines, linearAxis, logAxis, project, svgRoot, textWidth, type Axis } from './svg.ts';

export interface LineChart {
  title: string;
  x: { label: string; log?: boolean };
  y: { label: string; min?: number; max?: number; percent?: boolean }; // percent: values are fractions, labelled as %
  series: { name: string; points: [number, number][]; dashed?: boolean }[];
  hlines?: { y: number; label: string }[];
  vlines?: { x: number; label: string }[];
}

const MARKERS_UP_TO = 30; // series with at most this many points show a dot at each

export function lineChart(chart: LineChart): string {
  const logX = chart.x.log === true;
  const usable = (x: number, y: number): boolean => Number.isFinite(x) && Number.isFinite(y) && (!logX || x > 0);
  const series = chart.series.map((s) => ({ ...s, kept: s.points.filter(([x, y]) => usable(x, y)) }));
  const xs = series.flatMap((s) => s.kept.map((p) => p[0])).concat((chart.vlines ?? []).map((v) => v.x).filter((x) => Number.isFinite(x) && (!logX || x > 0)));
  const ys = series.flatMap((s) => s.kept.map((p) => p[1])).concat((chart.hlines ?? []).map((h) => h.y).filter(Number.isFinite));
  const xAxis = logX ? logAxis(min(xs), max(xs)) : linearAxis(min(xs), max(xs), { target: 6 });
  const yAxis = linearAxis(min(ys), max(ys), { min: chart.y.min, max: chart.y.max, percent: chart.y.percent });
  const f = frame({
    title: chart.title, y: yAxis, yLabel: chart.y.label, xLabel: chart.x.label,
    legend: chart.series.map((s, i) => ({ name: s.name, colour: colour(i), dashed: s.dashed })),
  });
  const px = (x: number): number => project(xAxis, x, f.left, f.right);
  const py = (y: number): number => project(yAxis, y, f.bottom, f.top);

  const body: string[] = [f.svg, xTicks(xAxis, f, px)];
  for (const v of chart.vlines ?? []) {
    if (!(Number.isFinite(v.x) && v.x >= xAxis.min && v.x <= xAxis.max)) continue;
    const x = px(v.x);
    body.push(`<g class="vline"><line x1="${x}" y1="${f.top}" x2="${x}" y2="${f.bottom}" stroke="#777" stroke-dasharray="3 4"/>` +
      `<text x="${x + 4}" y="${f.top + 11}" font-size="11" fill="#555" paint-order="stroke" stroke="#fff" stroke-width="3">${esc(v.label)}</text></g>`);
  }
  body.push(hlines(chart.hlines ?? [], yAxis, f));

  // the data, clipped to the plot area (grown by a few px so dots on the edge stay whole)
  const pad = 5, data: string[] = [];
  for (const [i, s] of series.entries()) {
    const d = pathData(s.points, usable, px, py);
    const c = colour(i), dash = s.dashed ? ' stroke-dasharray="7 4"' : '';
    if (d) data.push(`<path class="series" data-series="${esc(s.name)}" d="${d}" fill="none" stroke="${c}" stroke-width="2" stroke-linejoin="round" stroke-linecap="round"${dash}/>`);
    if (s.kept.length > MARKERS_UP_TO) continue;
    for (const [x, y] of s.kept) {
      data.push(`<circle class="point" cx="${px(x)}" cy="${py(y)}" r="3.2" fill="${c}" stroke="#fff" stroke-width="1"><title>${esc(`${s.name}: ${x}, ${y}`)}</title></circle>`);
    }
  }
  const [cx, cy, cw, ch] = [f.left - pad, f.top - pad, f.right - f.left + 2 * pad, f.bottom - f.top + 2 * pad];
  body.push(`<svg x="${cx}" y="${cy}" width="${cw}" height="${ch}" viewBox="${cx} ${cy} ${cw} ${ch}" overflow="hidden">${data.join('')}</svg>`);
  if (xs.length === 0 && ys.length === 0) {
    body.push(`<text class="empty" x="${(f.left + f.right) / 2}" y="${(f.top + f.bottom) / 2}" font-size="13" fill="#999" text-anchor="middle">no data</text>`);
  }
  return svgRoot(chart.title, body.join(''), 'fw-line');
}

/** "M x,y L x,y ..." over the usable points, starting a new subpath after each unusable one; "" if none. */
function pathData(points: [number, number][], usable: (x: number, y: number) => boolean, px: (x: number) => number, py: (y: number) => number): string {
  const parts: string[] = [];
  let pen = false;
  for (const [x, y] of points) {
    if (!usable(x, y)) {
      pen = false;
      continue;
    }
    parts.push(`${pen ? 'L' : 'M'}${px(x)},${py(y)}`);
    pen = true;
  }
  return parts.join(' ');
}

/** Vertical grid lines and labels at the x ticks; labels that would overlap the previous one are left out. */
function xTicks(axis: Axis, f: { left: number; top: number; bottom: number }, px: (x: number) => number): string {
  const out: string[] = [];
  let lastEnd = -Infinity;
  for (const [i, t] of axis.ticks.entries()) {
    const x = px(t), label = axis.labels[i], w = textWidth(label, 11);
    out.push(`<line class="grid" x1="${x}" y1="${f.top}" x2="${x}" y2="${f.bottom}" stroke="#f0f0f0"/>`);
    out.push(`<line x1="${x}" y1="${f.bottom}" x2="${x}" y2="${f.bottom + 4}" stroke="#999"/>`);
    if (x - w / 2 < lastEnd + 6) continue;
    out.push(`<text class="tick x" x="${x}" y="${f.bottom + 17}" font-size="11" fill="#666" text-anchor="middle">${esc(label)}</text>`);
    lastEnd = x + w / 2;
  }
  return out.join('');
}

const min = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => Math.min(a, b)) : NaN);
const max = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => Math.max(a, b)) : NaN);
