/**
 * The training-step buffer pool: inside withPool, allocations of nearby
 * lengths share size classes, so a loop whose batch length changes from
 * step to step (RL replies, SFT batches padded to their longest example)
 * reuses memory instead of keeping buffers for every length it ever saw;
 * reused buffers come back zeroed unless asked not to.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allocF32, drainPool, sizeClass, withPool } from '../../src/tensor/pool.ts';

test('size classes: exact up to 1024 floats, then at most 25% spare, never less than asked', () => {
  assert.equal(sizeClass(1000), 1000);
  for (let n = 1025; n < 1 << 22; n = Math.ceil(n * 1.37)) {
    const c = sizeClass(n);
    assert.ok(c >= n && c <= n * 1.25 + 1, `${n} -> ${c}`);
    assert.equal(sizeClass(c), c, `a class is its own class: ${c}`);
  }
});

test('a step whose lengths change reuses the previous step\'s buffers, zeroed', () => {
  drainPool();
  const lengths = [5000, 5100, 4900, 5050]; // one size class (4608 < n <= 5120)
  const seen = new Set<ArrayBufferLike>();
  for (const n of lengths) {
    withPool(() => {
      const a = allocF32(n);
      assert.equal(a.length, n);
      assert.equal(a.byteOffset, 0);
      assert.ok(a.every((x) => x === 0), 'zeroed');
      a.fill(7);
      const b = allocF32(n, false); // a second buffer in the same step: not the first one
      assert.notEqual(b.buffer, a.buffer);
      seen.add(a.buffer);
      seen.add(b.buffer);
    });
  }
  assert.equal(seen.size, 2, 'two buffers served all four steps');
  // outside a scope: plain arrays of the exact length
  const plain = allocF32(5000);
  assert.equal(plain.buffer.byteLength, 5000 * 4);
  drainPool();
});
