// JsonlWriter: atomic new files, no clobbering, write-through of special files, clear refusals.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonlWriter } from '../../src/runs/jsonl.ts';
import { UserError } from '../../src/util/errors.ts';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'flywheel-jsonl-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function writeRows(path: string, rows: object[], force = false): Promise<void> {
  const w = await JsonlWriter.open(path, { force, flag: '--out' });
  for (const r of rows) await w.write(r);
  await w.close();
}

test('a new file appears only on close, one JSON object a line', async () => {
  const p = join(dir, 'new.jsonl');
  const w = await JsonlWriter.open(p);
  for (let i = 0; i < 5000; i++) await w.write({ i, text: 'x'.repeat(20) }); // more than one 64 KiB chunk
  assert.ok(!existsSync(p), 'not visible before close');
  await w.close();
  const lines = readFileSync(p, 'utf8').trimEnd().split('\n');
  assert.equal(lines.length, 5000);
  assert.deepEqual(JSON.parse(lines[4999]), { i: 4999, text: 'x'.repeat(20) });
  assert.equal(w.lines, 5000);
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), []);
});

test('abort leaves nothing behind', async () => {
  const p = join(dir, 'aborted.jsonl');
  const w = await JsonlWriter.open(p);
  await w.write({ a: 1 });
  await w.abort();
  assert.ok(!existsSync(p));
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('aborted')), []);
});

test('an existing file is refused without force and replaced with it; through a symlink the link stays', async () => {
  const p = join(dir, 'old.jsonl');
  writeFileSync(p, 'precious\n');
  await assert.rejects(writeRows(p, [{ a: 1 }]), (e: Error) => e instanceof UserError && /--out .*old\.jsonl already exists; pass --force/.test(e.message));
  assert.equal(readFileSync(p, 'utf8'), 'precious\n');
  const link = join(dir, 'link.jsonl');
  symlinkSync(p, link);
  await writeRows(link, [{ a: 2 }], true);
  assert.ok(lstatSync(link).isSymbolicLink(), 'the symlink is not renamed over');
  assert.equal(readFileSync(p, 'utf8'), '{"a":2}\n');
});

test('a directory and a missing directory are refused with clear messages', async () => {
  const d = join(dir, 'adir');
  mkdirSync(d);
  await assert.rejects(writeRows(d, [{}]), (e: Error) => e instanceof UserError && /is a directory; give a file path/.test(e.message));
  await assert.rejects(writeRows(join(dir, 'no/such/x.jsonl'), [{}]), (e: Error) => e instanceof UserError && /directory .* does not exist/.test(e.message));
});

test('a FIFO is written through, not replaced', async () => {
  const fifo = join(dir, 'pipe');
  execFileSync('mkfifo', [fifo]);
  const reader = spawn('cat', [fifo]);
  let got = '';
  reader.stdout.on('data', (b) => (got += b));
  const closed = new Promise((r) => reader.on('close', r));
  await writeRows(fifo, [{ a: 1 }, { b: 2 }]);
  await closed;
  assert.equal(got, '{"a":1}\n{"b":2}\n');
  assert.ok(lstatSync(fifo).isFIFO());
});

test('a full device is a UserError, not a stack trace', async () => {
  if (!existsSync('/dev/full')) return;
  const w = await JsonlWriter.open('/dev/full', { flag: '--out' });
  await w.write({ a: 1 });
  await assert.rejects(w.close(), (e: Error) => e instanceof UserError && /cannot write --out \/dev\/full: no space left/.test(e.message));
  assert.ok(lstatSync('/dev/full').isCharacterDevice());
});
