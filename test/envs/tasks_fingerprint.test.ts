// Every built-in task family and multi-turn environment still generates
// exactly what it did when the golden fingerprints were written (see
// fingerprint.ts): same seeds, same tasks, bit for bit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fingerprints } from './fingerprint.ts';

const golden = JSON.parse(readFileSync(new URL('./golden/fingerprints.json', import.meta.url), 'utf8')) as Record<string, string>;

test('every built-in environment generates the same tasks as the golden fingerprints', async () => {
  const now = await fingerprints();
  assert.deepEqual(Object.keys(now).sort(), Object.keys(golden).sort(), 'the set of fingerprinted environments changed');
  for (const id of Object.keys(golden)) assert.equal(now[id], golden[id], `${id} generates different tasks than before`);
});
