// Number formats and ticks: 1-2-5 steps, SI suffixes, percents, log decades.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { esc, formatPercent, formatSI, formatTick, linearAxis, logAxis, niceStep, project } from '../../src/report/svg.ts';

test('formatSI: SI suffixes from 1k up, 3 significant figures, no exponent for ordinary numbers', () => {
  const cases: [number, string][] = [
    [0, '0'], [1, '1'], [0.25, '0.25'], [123.456, '123'], [999, '999'], [999.96, '1k'], [1000, '1k'], [1234, '1.23k'],
    [1.2e6, '1.2M'], [3.4e9, '3.4G'], [1e11, '100G'], [5.5e12, '5.5T'], [-2.5e6, '-2.5M'], [0.0001234, '1.23e-4'],
  ];
  for (const [v, s] of cases) assert.equal(formatSI(v), s, String(v));
  assert.equal(formatSI(1e11, 2), '100G'); // more integer digits than asked for still print in full
});

test('formatPercent keeps one decimal only where it says something', () => {
  assert.deepEqual([formatPercent(0.834), formatPercent(0.98), formatPercent(1), formatPercent(0)], ['83.4%', '98%', '100%', '0%']);
});

test('niceStep rounds to 1, 2 or 5 times a power of ten', () => {
  assert.deepEqual([0.37, 1300, 2.6, 0.012, 7.6].map(niceStep), [0.5, 1000, 2, 0.01, 10]);
});

test('linearAxis: 1-2-5 ticks that cover the data, labels with just enough decimals', () => {
  const a = linearAxis(0.13, 0.87);
  assert.deepEqual(a.ticks, [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(a.labels, ['0', '0.2', '0.4', '0.6', '0.8', '1.0']);
  assert.ok(a.min <= 0.13 && a.max >= 0.87);
  const flops = linearAxis(0, 2.3e9);
  assert.deepEqual(flops.labels, ['0', '500M', '1G', '1.5G', '2G', '2.5G']);
  const pct = linearAxis(0.2, 0.9, { min: 0, max: 1, percent: true });
  assert.deepEqual([pct.min, pct.max], [0, 1]);
  assert.deepEqual(pct.labels, ['0%', '20%', '40%', '60%', '80%', '100%']);
  assert.equal(formatTick(0.05, 0.05, true), '5%');
});

test('linearAxis: no data, one value, fixed ends', () => {
  const none = linearAxis(NaN, NaN);
  assert.deepEqual([none.min, none.max], [0, 1]);
  const one = linearAxis(5, 5);
  assert.ok(one.min < 5 && one.max > 5, JSON.stringify(one));
  const zero = linearAxis(0, 0);
  assert.ok(zero.min < 0 && zero.max > 0);
  const above = linearAxis(0.2, 0.3, { min: 0.5 }); // a fixed min above the data still gives an axis
  assert.ok(above.max > above.min);
  assert.throws(() => linearAxis(0, 1, { min: 1, max: 1 }), /max 1 must exceed min 1/);
});

test('logAxis: whole decades, with 2 and 5 between when few, SI labels', () => {
  const wide = logAxis(3e8, 4e13);
  assert.deepEqual(wide.labels, ['100M', '1G', '10G', '100G', '1T', '10T', '100T']);
  const narrow = logAxis(15, 800);
  assert.deepEqual(narrow.ticks, [10, 20, 50, 100, 200, 500, 1000]);
  assert.deepEqual([narrow.min, narrow.max], [10, 1000]);
  const veryWide = logAxis(1, 1e20);
  assert.ok(veryWide.ticks.length <= 11, String(veryWide.ticks.length));
  assert.deepEqual(logAxis(NaN, NaN).ticks.length > 0, true);
});

test('project maps linearly, or evenly per decade on a log axis', () => {
  const lin = linearAxis(0, 10);
  assert.deepEqual([project(lin, 0, 100, 200), project(lin, 5, 100, 200), project(lin, 10, 100, 200)], [100, 150, 200]);
  const log = logAxis(1, 1000);
  assert.deepEqual([1, 10, 100, 1000].map((v) => project(log, v, 0, 300)), [0, 100, 200, 300]);
});

test('esc escapes the five HTML specials', () => {
  assert.equal(esc(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
});
