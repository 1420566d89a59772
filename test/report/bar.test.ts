// Grouped bar charts read back: bar heights proportional to values, order, missing values, the reference line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { barChart, type BarChart } from '../../src/report/bar.ts';
import { assertBalanced, byClass } from './svg_helpers.ts';

const phases = (over: Partial<BarChart> = {}): BarChart => ({
  title: 'verified accuracy', groups: ['teacher', 'SFT', 'RL'],
  series: [{ name: 'easy', values: [0.98, 0.95, 0.99] }, { name: 'hard', values: [0.3, 0.28, 0.86] }, { name: 'overall', values: [0.62, 0.6, 0.93] }],
  y: { label: 'accuracy', percent: true, min: 0, max: 1 }, hlines: [{ y: 0.62, label: 'teacher 62%' }],
  ...over,
});

test('one bar per group and series, heights proportional to values, from a common baseline, left to right', () => {
  const svg = barChart(phases());
  assertBalanced(svg);
  const bars = byClass(svg, 'bar');
  assert.equal(bars.length, 9);
  assert.deepEqual(bars.slice(0, 3).map((b) => b.attrs['data-series']), ['easy', 'hard', 'overall']);
  assert.deepEqual(bars.map((b) => b.attrs['data-group']), ['teacher', 'teacher', 'teacher', 'SFT', 'SFT', 'SFT', 'RL', 'RL', 'RL']);
  const perUnit = Number(bars[0].attrs.height) / 0.98;
  for (const b of bars) {
    const v = Number(b.attrs['data-value']);
    assert.ok(Math.abs(Number(b.attrs.height) - v * perUnit) < 0.05, `${b.attrs['data-group']}/${b.attrs['data-series']}`);
    assert.ok(Math.abs(Number(b.attrs.y) + Number(b.attrs.height) - (Number(bars[0].attrs.y) + Number(bars[0].attrs.height))) < 0.02, 'same baseline');
  }
  const xs = bars.map((b) => Number(b.attrs.x));
  assert.deepEqual(xs, [...xs].sort((a, b) => a - b));
  assert.deepEqual(byClass(svg, 'group').map((e) => e.text), ['teacher', 'SFT', 'RL']);
  assert.deepEqual(byClass(svg, 'value').slice(0, 3).map((e) => e.text), ['98%', '30%', '62%']);
});

test('the reference line sits at its value and is named in the legend', () => {
  const svg = barChart(phases());
  const line = svg.match(/<g class="hline"><line [^>]*y1="([\d.]+)"/)!;
  const y60 = Number(byClass(svg, 'tick y').find((e) => e.text === '60%')!.attrs.y) - 4;
  const y80 = Number(byClass(svg, 'tick y').find((e) => e.text === '80%')!.attrs.y) - 4;
  assert.ok(Math.abs(Number(line[1]) - (y60 + (y80 - y60) * 0.1)) < 0.05);
  assert.deepEqual(byClass(svg, 'legend').length, 4); // three series and the reference
  assert.match(svg, />teacher 62%<\/text>/);
});

test('missing values get no bar; values beyond a fixed axis are clipped to it; negatives grow down', () => {
  const svg = barChart(phases({ series: [{ name: 'hard', values: [0.3, null, NaN] }] }));
  assert.equal(byClass(svg, 'bar').length, 1);
  assert.equal(byClass(svg, 'value missing').length, 2);
  const tall = barChart(phases({ series: [{ name: 'x', values: [0.5, 1.5, 1] }], hlines: [] }));
  const [, over, full] = byClass(tall, 'bar');
  assert.equal(over.attrs.height, full.attrs.height);
  const neg = barChart({ title: 'advantage', groups: ['a', 'b'], series: [{ name: 'mean', values: [-1, 2] }], y: { label: 'A' } });
  const [down, up] = byClass(neg, 'bar');
  assert.ok(Number(down.attrs.y) > Number(up.attrs.y) + Number(up.attrs.height) - 0.01, 'the negative bar starts at the baseline');
  assert.ok(Math.abs(Number(up.attrs.height) / Number(down.attrs.height) - 2) < 0.01);
  assert.throws(() => barChart(phases({ series: [{ name: 's', values: [1] }] })), /series "s" has 1 values for 3 groups/);
});

test('an empty chart says so; names are escaped', () => {
  const svg = barChart({ title: '<b>x</b>', groups: ['<i>'], series: [{ name: '<script>', values: [null] }], y: { label: 'y' } });
  assertBalanced(svg);
  assert.equal(byClass(svg, 'empty')[0].text, 'no data');
  assert.doesNotMatch(svg, /<script>|<b>|<i>/);
});
