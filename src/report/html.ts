/**
 * Self-contained HTML: a page with its CSS inline, tables, and a grid that
 * lays charts side by side. Opening the file needs no network: no scripts,
 * fonts or stylesheets are fetched. Everything the caller supplies as text
 * (titles, headings, cells) is escaped; a section's `html` is markup the
 * caller built (charts, tables) and goes in as it is.
 */
import { esc, FONT, formatPercent, formatSI } from './svg.ts';

export type Cell = string | number | null;

export interface TableOptions {
  percent?: number[]; // indices of columns whose numbers are fractions, shown as 83.4%
  caption?: string;
}

/** An HTML table; numeric columns (every non-null cell a number) are right-aligned; null shows as "–". */
export function table(headers: string[], rows: Cell[][], opts: TableOptions = {}): string {
  for (const [r, row] of rows.entries()) {
    if (row.length !== headers.length) throw new RangeError(`table: row ${r} has ${row.length} cells for ${headers.length} headers`);
  }
  const percent = new Set(opts.percent ?? []);
  const numeric = headers.map((_, c) => rows.some((r) => r[c] !== null) && rows.every((r) => r[c] === null || typeof r[c] === 'number'));
  const cls = (c: number): string => (numeric[c] ? ' class="num"' : '');
  const head = headers.map((h, c) => `<th${cls(c)}>${esc(h)}</th>`).join('');
  const body = rows.map((row) => `<tr>${row.map((v, c) => `<td${cls(c)}>${esc(formatCell(v, percent.has(c)))}</td>`).join('')}</tr>`).join('\n');
  const caption = opts.caption ? `<caption>${esc(opts.caption)}</caption>` : '';
  return `<table class="fw-table">${caption}<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody></table>`;
}

/** A cell as text: integers with thousands separators below a million and SI above; other numbers to 3 figures. */
export function formatCell(v: Cell, percent = false): string {
  if (v === null) return '–';
  if (typeof v === 'string') return v;
  if (!Number.isFinite(v)) return String(v);
  if (percent) return formatPercent(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e6) return v.toLocaleString('en-US');
  return formatSI(v, 3);
}

/** Charts (or any blocks) side by side, wrapping to one column on a narrow screen. */
export function grid(...blocks: string[]): string {
  return `<div class="fw-grid">${blocks.map((b) => `<div class="fw-cell">${b}</div>`).join('')}</div>`;
}

export interface Page {
  title: string;
  subtitle?: string;
  sections: { heading: string; html: string }[];
}

/** A complete HTML document with embedded CSS. */
export function htmlPage(page: Page): string {
  const sections = page.sections
    .map((s) => `<section class="fw-section">\n<h2>${esc(s.heading)}</h2>\n${s.html}\n</section>`)
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(page.title)}</title>
<style>${CSS}</style>
</head>
<body>
<header class="fw-header">
<h1>${esc(page.title)}</h1>
${page.subtitle ? `<p class="fw-subtitle">${esc(page.subtitle)}</p>` : ''}
</header>
<main>
${sections}
</main>
<footer class="fw-footer">flywheel report · self-contained: no network needed to view</footer>
</body>
</html>
`;
}

const CSS = `
*{box-sizing:border-box}
body{margin:0;background:#f4f5f7;color:#1f2328;font:14px/1.5 ${FONT};-webkit-font-smoothing:antialiased}
.fw-header{background:#fff;border-bottom:1px solid #e3e5e8;padding:20px 32px 16px}
.fw-header h1{margin:0;font-size:22px;font-weight:650;letter-spacing:-.01em}
.fw-subtitle{margin:4px 0 0;color:#5b6169}
main{max-width:1280px;margin:0 auto;padding:20px 24px 8px}
.fw-section{background:#fff;border:1px solid #e3e5e8;border-radius:8px;padding:16px 20px 18px;margin:0 0 20px;box-shadow:0 1px 2px rgba(16,24,40,.04)}
.fw-section h2{margin:0 0 12px;font-size:15px;font-weight:600;color:#30363d}
.fw-section p{margin:6px 0;color:#444}
.fw-grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:16px}
.fw-cell{border:1px solid #eceef1;border-radius:6px;padding:4px;min-width:0}
svg.fw-chart{display:block;width:100%;height:auto}
.fw-table{border-collapse:collapse;font-size:13px;font-variant-numeric:tabular-nums;min-width:50%}
.fw-table caption{caption-side:top;text-align:left;color:#5b6169;padding:0 0 6px}
.fw-table th,.fw-table td{padding:6px 12px;border-bottom:1px solid #eceef1;text-align:left;white-space:nowrap}
.fw-table th{font-weight:600;color:#5b6169;background:#fafbfc;border-bottom:1px solid #d8dbe0}
.fw-table tbody tr:hover{background:#f6f8fa}
.fw-table .num{text-align:right}
.fw-footer{text-align:center;color:#8b949e;font-size:12px;padding:8px 0 24px}
@media (max-width:560px){.fw-grid{grid-template-columns:1fr}main{padding:12px}}
`;
