/**
 * Next-token training: exact resume (2N steps == N + resume + N, bit for
 * bit), SFT masks the prompt, bad data files are clear errors, and a tiny
 * model learns from demonstrations.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../src/tensor/backend.ts';
import { CharTokenizer } from '../../src/models/tokenizer.ts';
import { trainLM, TRAIN_DEFAULTS, type LMRun } from '../../src/algos/lm.ts';
import { CorpusData, SftData } from '../../src/algos/lm_data.ts';
import { UserError } from '../../src/util/errors.ts';
import { RunDir } from '../../src/runs/run_dir.ts';

await initBackend();
const tmp = mkdtempSync(join(tmpdir(), 'flywheel-lm-'));
const corpus = 'the quick brown fox jumps over the lazy dog. '.repeat(40);
const tok = CharTokenizer.fromCorpus(corpus);
const model = { vocabSize: tok.vocabSize, blockSize: 16, nLayer: 1, nEmbd: 16, nHead: 2, valueHead: false };
const train = { ...TRAIN_DEFAULTS, steps: 12, batchSize: 4, warmup: 3, evalEvery: 5, evalBatches: 2, checkpointEvery: 4, logEvery: 1, seed: 3 };

/** A pretraining run in outDir (started afresh, or opened when resuming). */
function run(outDir: string, extra: Partial<LMRun> & { force?: boolean } = {}): LMRun {
  const { force, ...rest } = extra;
  const dir = RunDir.start(outDir, 'pretrain', { model, train }, { resume: extra.resume, force });
  return { kind: 'pretrain', run: dir, model, train, tokenizer: tok, data: new CorpusData(Int32Array.from(tok.encode(corpus)), 'corpus', 16), ...rest };
}

test('resume is exact: 12 steps == 6 steps + resume + 6 steps, bit for bit', async () => {
  const straight = await trainLM(run(join(tmp, 'a')));
  const half = await trainLM(run(join(tmp, 'b'), { until: 6 }));
  assert.equal(half.steps, 6);
  const resumed = await trainLM(run(join(tmp, 'b'), { resume: true }));
  assert.equal(resumed.steps, 12);
  const pa = straight.model.params(), pb = resumed.model.params();
  for (let i = 0; i < pa.length; i++) {
    const [name, a] = pa[i], b = pb[i][1];
    assert.ok(Buffer.from(a.data.buffer).equals(Buffer.from(b.data.buffer)), `${name} differs after resume`);
  }
  assert.equal(straight.finalLoss, resumed.finalLoss);
  const metrics = readFileSync(join(tmp, 'a', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(metrics.at(-1).step, 12);
  assert.ok(metrics.some((m) => typeof m.valLoss === 'number'));
});

test('stopping early (shouldStop) checkpoints where it stopped', async () => {
  let n = 0;
  const r = await trainLM(run(join(tmp, 'c'), { shouldStop: () => ++n >= 3 }));
  assert.equal(r.steps, 3);
  assert.equal(r.interrupted, true);
  assert.ok(existsSync(join(tmp, 'c', 'checkpoint', 'model.safetensors')));
});

test('a new run into a directory that holds one is refused unless forced; a forced run starts a fresh log', async () => {
  await trainLM(run(join(tmp, 'e'), { until: 2 }));
  assert.throws(() => run(join(tmp, 'e')), (e: Error) => e instanceof UserError && /already holds a pretrain run/.test(e.message));
  const again = await trainLM(run(join(tmp, 'e'), { until: 3, force: true }));
  assert.equal(again.steps, 3);
  const lines = readFileSync(join(tmp, 'e', 'metrics.jsonl'), 'utf8').trim().split('\n');
  assert.equal(JSON.parse(lines[0]).step, 1, 'the forced run starts a fresh metrics log');
});

test('resume truncates metrics to the checkpoint, so steps logged after it (then killed) appear once', async () => {
  const dir = join(tmp, 'k');
  await trainLM(run(dir, { until: 4 })); // checkpointEvery 4: saved at step 4
  const r = RunDir.open(dir);
  for (const step of [5, 6]) r.appendMetrics({ step, loss: 9 }); // logged, then killed before the next save
  await trainLM(run(dir, { resume: true }));
  const steps = r.readMetrics().map((m) => m.step);
  assert.deepEqual(steps, [...new Set(steps)], `duplicated steps: ${steps}`);
  assert.deepEqual(steps, Array.from({ length: 12 }, (_, i) => i + 1));
});

test('resume with a different model config is a clear error', async () => {
  await trainLM(run(join(tmp, 'd'), { until: 4 }));
  await assert.rejects(trainLM({ ...run(join(tmp, 'd'), { resume: true }), model: { ...model, nEmbd: 32 } }), (e: Error) => e instanceof UserError && /model\.nEmbd/.test(e.message));
  const bare = join(tmp, 'no-checkpoint');
  run(bare);
  await assert.rejects(trainLM(run(bare, { resume: true })), /no checkpoint yet/);
});

test('SFT puts loss on completion tokens and EOS only', () => {
  const t = CharTokenizer.ascii();
  const file = join(tmp, 'pairs.jsonl');
  writeFileSync(file, '{"prompt":"ab","completion":"cd"}\n\n{"prompt":"x","completion":"yz"}\n');
  const d = SftData.fromFile(file, t, 16, 0.5);
  const b = d.pack([d.trainSet[0]], 8);
  assert.equal(b.T, 5, 'a batch is as long as its longest example (inputs "ab\\ncd", targets up to EOS), not the context');
  assert.deepEqual(Array.from(b.ids), [...t.encode('ab\ncd')]);
  assert.deepEqual(Array.from(b.targets), [-1, -1, ...t.encode('cd'), t.eosId]);
  assert.equal(b.tokens, 3);
  // two examples: the shorter is padded (no loss there) to the longer; the context still caps the length
  const two = d.pack([d.trainSet[0], d.valSet[0]], 8);
  assert.deepEqual([two.B, two.T], [2, 5]);
  assert.deepEqual(Array.from(two.targets.subarray(5)), [-1, ...t.encode('yz'), t.eosId, -1]);
  assert.equal(d.pack([d.trainSet[0]], 3).T, 3);
});

test('bad data files name the file, line and field', () => {
  const t = CharTokenizer.ascii();
  const bad = (name: string, text: string | Buffer, re: RegExp): void => {
    const f = join(tmp, name);
    writeFileSync(f, text);
    assert.throws(() => SftData.fromFile(f, t, 16), (e: Error) => e instanceof UserError && re.test(e.message), name);
  };
  bad('missing.jsonl', '{"prompt":"a","completion":"b"}\n{"prompt":"a"}\n', /missing\.jsonl:2: field "completion" is missing/);
  bad('notjson.jsonl', '{"prompt":"a","completion":"b"}\n{oops\n', /notjson\.jsonl:2: not valid JSON/);
  bad('number.jsonl', '{"prompt":1,"completion":"b"}\n', /number\.jsonl:1: field "prompt" is a number/);
  bad('latin1.jsonl', Buffer.from([0x7b, 0x7d, 0x0a, 0x61, 0xe9, 0x0a]), /latin1\.jsonl:2: not valid UTF-8/);
  const f = join(tmp, 'unknown-char.jsonl');
  writeFileSync(f, '{"prompt":"ab","completion":"cd"}\n{"prompt":"a","completion":"z"}\n');
  assert.throws(() => SftData.fromFile(f, CharTokenizer.fromCorpus('abcd'), 16), /unknown-char\.jsonl:2: field "completion" has the character "z"/);
  assert.throws(() => CorpusData.fromFile(join(tmp, 'nope.txt'), t, 16), /nope\.txt: no such file/);
  const short = join(tmp, 'short.txt');
  writeFileSync(short, 'tiny');
  assert.throws(() => CorpusData.fromFile(short, t, 16), /short\.txt: the corpus has 4 tokens .* context length 16/);
});
