// Line charts read back: points land where the axes say, in order; gaps, empty and single-point series; legend; escaping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lineChart, type LineChart } from '../../src/report/line.ts';
import { assertBalanced, byClass, subpaths } from './svg_helpers.ts';

const base = (over: Partial<LineChart> = {}): LineChart => ({
  title: 'accuracy', x: { label: 'samples' }, y: { label: 'accuracy', percent: true, min: 0, max: 1 },
  series: [{ name: 'SFT', points: [[0, 0.1], [1000, 0.4], [2500, 0.55]] }, { name: 'RL', points: [[2500, 0.55], [4000, 0.7], [6000, 0.9]], dashed: true }],
  ...over,
});

/** Pixel position of the gridline at the tick labelled `label` on axis 'x' or 'y'. */
function tickAt(svg: string, axis: 'x' | 'y', label: string): number {
  const t = byClass(svg, `tick ${axis}`).find((e) => e.text === label);
  assert.ok(t, `no ${axis} tick labelled ${label}: ${byClass(svg, `tick ${axis}`).map((e) => e.text)}`);
  return Number(axis === 'x' ? t.attrs.x : t.attrs.y) - (axis === 'y' ? 4 : 0);
}

test('each series is one path whose points map monotonically and linearly to pixels', () => {
  const svg = lineChart(base());
  assertBalanced(svg);
  const paths = byClass(svg, 'series');
  assert.deepEqual(paths.map((p) => p.attrs['data-series']), ['SFT', 'RL']);
  const [sft, rl] = paths.map((p) => subpaths(p.attrs.d));
  assert.equal(sft.length, 1);
  assert.equal(sft[0].length, 3);
  for (const pts of [sft[0], rl[0]]) {
    for (let i = 1; i < pts.length; i++) {
      assert.ok(pts[i][0] > pts[i - 1][0], 'x grows to the right');
      assert.ok(pts[i][1] < pts[i - 1][1], 'a higher accuracy is higher up (smaller pixel y)');
    }
  }
  assert.deepEqual(rl[0][0], sft[0][2]); // the same data point lands on the same pixel
  // linear: 1000 samples is a fifth of the way from the 0 tick to the 5k tick; 0.4 is 2/10 of the way from 20% to 60%
  const x0 = tickAt(svg, 'x', '0'), x5k = tickAt(svg, 'x', '5k');
  assert.ok(Math.abs(sft[0][1][0] - (x0 + (x5k - x0) / 5)) < 0.02);
  const y20 = tickAt(svg, 'y', '20%'), y60 = tickAt(svg, 'y', '60%');
  assert.ok(Math.abs(sft[0][1][1] - (y20 + (y60 - y20) / 2)) < 0.02);
  assert.match(svg, /data-series="RL"[^>]*stroke-dasharray/);
});

test('tick labels, axis labels, title and a legend entry per series', () => {
  const svg = lineChart(base());
  assert.deepEqual(byClass(svg, 'tick y').map((e) => e.text), ['0%', '20%', '40%', '60%', '80%', '100%']);
  assert.deepEqual(byClass(svg, 'tick x').map((e) => e.text), ['0', '1k', '2k', '3k', '4k', '5k', '6k']);
  assert.deepEqual(byClass(svg, 'legend').length, 2);
  assert.match(svg, />SFT<\/text>/);
  assert.equal(byClass(svg, 'title')[0].text, 'accuracy');
  assert.equal(byClass(svg, 'label x')[0].text, 'samples');
  assert.equal(byClass(svg, 'point').length, 6); // few points: each gets a dot
});

test('NaN and Infinity are skipped and break the line; a log axis drops x <= 0 and spaces decades evenly', () => {
  const svg = lineChart(base({ series: [{ name: 'gap', points: [[0, 0.1], [1, NaN], [2, 0.3], [3, Infinity], [4, 0.5]] }] }));
  const parts = subpaths(byClass(svg, 'series')[0].attrs.d);
  assert.deepEqual(parts.map((p) => p.length), [1, 1, 1]);
  assert.doesNotMatch(svg, /NaN|Infinity/);

  const log = lineChart(base({ x: { label: 'FLOPs', log: true }, series: [{ name: 'f', points: [[0, 0.1], [1e9, 0.2], [1e10, 0.3], [1e11, 0.4]] }] }));
  const [pts] = subpaths(byClass(log, 'series')[0].attrs.d);
  assert.equal(pts.length, 3); // x = 0 has no logarithm
  assert.ok(Math.abs((pts[1][0] - pts[0][0]) - (pts[2][0] - pts[1][0])) < 0.02, 'equal steps per decade');
  assert.deepEqual(byClass(log, 'tick x').map((e) => e.text), ['1G', '2G', '5G', '10G', '20G', '50G', '100G']); // two decades: 2 and 5 between
});

test('empty and single-point series render; an empty chart says so', () => {
  const svg = lineChart(base({ series: [{ name: 'none', points: [] }, { name: 'one', points: [[3, 0.5]] }] }));
  assertBalanced(svg);
  assert.deepEqual(byClass(svg, 'series').map((p) => subpaths(p.attrs.d).flat().length), [1]); // only 'one' has a path
  assert.equal(byClass(svg, 'point').length, 1);
  assert.equal(byClass(svg, 'legend').length, 2);
  assert.equal(byClass(svg, 'empty').length, 0);
  const empty = lineChart(base({ y: { label: 'loss' }, series: [{ name: 'none', points: [[NaN, 1]] }] }));
  assert.equal(byClass(empty, 'empty')[0].text, 'no data');
  assert.ok(byClass(empty, 'tick y').length >= 2);
});

test('reference lines and many-point series: lines drawn with labels, no dots beyond 30 points', () => {
  const many = Array.from({ length: 200 }, (_, i): [number, number] => [i, 0.5 + 0.4 * Math.sin(i / 10)]);
  const svg = lineChart(base({ series: [{ name: 'reward', points: many }], hlines: [{ y: 0.62, label: 'teacher 62%' }, { y: 2, label: 'off the axis' }], vlines: [{ x: 50, label: 'RL starts' }] }));
  assert.equal(byClass(svg, 'point').length, 0);
  assert.equal(byClass(svg, 'hline').length, 1);
  assert.match(svg, />teacher 62%<\/text>/);
  assert.doesNotMatch(svg, /off the axis/);
  assert.match(svg, />RL starts<\/text>/);
});

test('user text is escaped everywhere: title, series names, labels', () => {
  const evil = '<script>alert("x")</script>';
  const svg = lineChart(base({ title: evil, x: { label: evil }, series: [{ name: evil, points: [[0, 0.5], [1, 0.6]] }], hlines: [{ y: 0.5, label: evil }] }));
  assert.doesNotMatch(svg, /<script/);
  assert.match(svg, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;/);
  assertBalanced(svg);
  assert.equal(byClass(svg, 'series')[0].attrs['data-series'], evil); // round-trips through the attribute
});
