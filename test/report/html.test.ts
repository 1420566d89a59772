// Tables and pages: alignment, formats, escaping, and nothing fetched from the network.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatCell, grid, htmlPage, table } from '../../src/report/html.ts';
import { lineChart } from '../../src/report/line.ts';
import { assertBalanced, elements } from './svg_helpers.ts';

test('table: numeric columns right-aligned, fractions as percents where asked, null as a dash', () => {
  const html = table(['phase', 'hard', 'samples', 'FLOPs'], [['SFT', 0.28, 5000, 1.23e12], ['RL', 0.861, null, 3.4e13]], { percent: [1], caption: 'by phase' });
  assertBalanced(html);
  const cells = elements(html).filter((e) => e.tag === 'td');
  assert.deepEqual(cells.map((c) => c.text), ['SFT', '28%', '5,000', '1.23T', 'RL', '86.1%', '–', '34T']);
  assert.deepEqual(cells.slice(0, 4).map((c) => c.attrs.class ?? ''), ['', 'num', 'num', 'num']);
  const heads = elements(html).filter((e) => e.tag === 'th');
  assert.deepEqual(heads.map((h) => h.attrs.class ?? ''), ['', 'num', 'num', 'num']);
  assert.match(html, /<caption>by phase<\/caption>/);
  assert.throws(() => table(['a', 'b'], [['x']]), /row 0 has 1 cells for 2 headers/);
});

test('formatCell: integers grouped, large numbers with SI, fractions to 3 figures', () => {
  assert.deepEqual([formatCell(412345), formatCell(1234567), formatCell(0.8345), formatCell(null), formatCell('a'), formatCell(NaN)], ['412,345', '1.23M', '0.835', '–', 'a', 'NaN']);
});

test('htmlPage: a complete document, user text escaped, section markup kept, nothing external', () => {
  const chart = lineChart({ title: 'c', x: { label: 'x' }, y: { label: 'y' }, series: [{ name: 's', points: [[0, 1], [1, 2]] }] });
  const page = htmlPage({
    title: 'run <script>alert(1)</script>',
    subtitle: 'seed 0 & more',
    sections: [{ heading: '<img src=x onerror=alert(1)>', html: grid(chart, table(['a'], [[1]])) }],
  });
  assert.match(page, /^<!DOCTYPE html>\n<html lang="en">/);
  assertBalanced(page);
  assert.doesNotMatch(page, /<script|<img/);
  assert.match(page, /<title>run &lt;script&gt;alert\(1\)&lt;\/script&gt;<\/title>/);
  assert.match(page, /<h2>&lt;img src=x onerror=alert\(1\)&gt;<\/h2>/);
  assert.match(page, /seed 0 &amp; more/);
  assert.ok(page.includes(chart), 'the chart goes in as markup');
  assert.match(page, /<style>[\s\S]*\.fw-table[\s\S]*<\/style>/);
  // self-contained: no scripts, no fetched stylesheets, fonts or images
  assert.doesNotMatch(page, /<script|<link|<img|<iframe|@import|url\(/i);
  assert.doesNotMatch(page, /<[^>]*\s(src|href)=/i);
  assert.doesNotMatch(page, /https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
});
