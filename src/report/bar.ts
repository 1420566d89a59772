/**
 * Grouped bar charts as inline SVG: one cluster per group (a phase, say),
 * one bar per series inside it (easy / hard / overall), the value written on
 * each bar, and dashed reference lines (a teacher's accuracy), named in the
 * legend so their labels never sit on the bars.
 *
 * Each bar is `<rect class="bar" data-group="G" data-series="S" data-value="V">`;
 * a missing value (null, NaN) gets no bar and a "–" at the baseline.
 */
import { colour, esc, formatPercent, formatSI, frame, hlines, linearAxis, project, REFERENCE, svgRoot, textWidth } from './svg.ts';

export interface BarChart {
  title: string;
  groups: string[]; // clusters along x, in order
  series: { name: string; values: (number | null)[] }[]; // values[g] is the bar in groups[g]
  y: { label: string; min?: number; max?: number; percent?: boolean }; // percent: values are fractions, labelled as %
  x?: { label: string };
  hlines?: { y: number; label: string }[];
}

export function barChart(chart: BarChart): string {
  for (const s of chart.series) {
    if (s.values.length !== chart.groups.length) throw new RangeError(`barChart: series "${s.name}" has ${s.values.length} values for ${chart.groups.length} groups`);
  }
  const finite = (v: number | null): v is number => v !== null && Number.isFinite(v);
  const values = chart.series.flatMap((s) => s.values.filter(finite)).concat((chart.hlines ?? []).map((h) => h.y).filter(Number.isFinite));
  const lo = Math.min(0, ...values), hi = values.length ? Math.max(0, ...values) : NaN; // bars grow from 0
  const yAxis = linearAxis(lo, hi, { min: chart.y.min, max: chart.y.max, percent: chart.y.percent });
  const f = frame({
    title: chart.title, y: yAxis, yLabel: chart.y.label, xLabel: chart.x?.label ?? '',
    legend: [
      ...chart.series.map((s, i) => ({ name: s.name, colour: colour(i), bar: true })),
      ...(chart.hlines ?? []).map((h) => ({ name: h.label, colour: REFERENCE, dashed: true })),
    ],
  });
  const py = (v: number): number => project(yAxis, Math.min(yAxis.max, Math.max(yAxis.min, v)), f.bottom, f.top);
  const base = py(Math.min(yAxis.max, Math.max(yAxis.min, 0)));
  const slot = (f.right - f.left) / Math.max(1, chart.groups.length);
  const S = Math.max(1, chart.series.length), barW = Math.min(56, (slot * 0.78) / S);
  const label = (v: number): string => (chart.y.percent ? formatPercent(v) : formatSI(v));

  const body: string[] = [f.svg];
  for (const [g, name] of chart.groups.entries()) {
    const x0 = f.left + slot * g + (slot - barW * S) / 2;
    body.push(`<text class="group" x="${f.left + slot * (g + 0.5)}" y="${f.bottom + 17}" font-size="12" fill="#444" text-anchor="middle">${esc(name)}</text>`);
    for (const [i, s] of chart.series.entries()) {
      const v = s.values[g], x = Number((x0 + i * barW).toFixed(2)), cx = x + barW / 2;
      if (!finite(v)) {
        body.push(`<text class="value missing" x="${cx}" y="${base - 4}" font-size="11" fill="#999" text-anchor="middle">–</text>`);
        continue;
      }
      const y = Math.min(py(v), base), h = Math.abs(base - py(v));
      const text = label(v), fits = textWidth(text, 10) <= barW + 8;
      body.push(`<rect class="bar" data-group="${esc(name)}" data-series="${esc(s.name)}" data-value="${v}" x="${x + 1}" y="${y}" width="${Math.max(1, barW - 2).toFixed(2)}" height="${h.toFixed(2)}" rx="2" fill="${colour(i)}">` +
        `<title>${esc(`${name} · ${s.name}: ${text}`)}</title></rect>`);
      if (fits) body.push(`<text class="value" x="${cx}" y="${(v >= 0 ? y - 4 : y + h + 12).toFixed(2)}" font-size="10" fill="#333" text-anchor="middle">${esc(text)}</text>`);
    }
  }
  body.push(`<line x1="${f.left}" y1="${base}" x2="${f.right}" y2="${base}" stroke="#999"/>`);
  body.push(hlines(chart.hlines ?? [], yAxis, f, false));
  if (values.length === 0) body.push(`<text class="empty" x="${(f.left + f.right) / 2}" y="${(f.top + f.bottom) / 2}" font-size="13" fill="#999" text-anchor="middle">no data</text>`);
  return svgRoot(chart.title, body.join(''), 'fw-bar');
}
