/**
 * GPT checkpoints: a hand-made inference checkpoint (what docs/checkpoints.md
 * tells a PyTorch user to write) loads; a run directory stands for its
 * checkpoint; bad configs are clear errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../src/tensor/backend.ts';
import { GPT } from '../../src/models/gpt.ts';
import { CharTokenizer } from '../../src/models/tokenizer.ts';
import { serializeSafetensors, type SafeTensor } from '../../src/nn/safetensors.ts';
import { lmCheckpoint, loadLM, resolveModelDir } from '../../src/runs/lm_checkpoint.ts';
import { RunDir } from '../../src/runs/run_dir.ts';
import { UserError } from '../../src/util/errors.ts';

await initBackend();
const tmp = mkdtempSync(join(tmpdir(), 'flywheel-lmck-'));
const tok = CharTokenizer.fromCorpus('abc ');
const cfg = { vocabSize: tok.vocabSize, blockSize: 8, nLayer: 1, nEmbd: 8, nHead: 2, valueHead: false };

test('a checkpoint written by hand from the documented files loads (the nanoGPT import path)', () => {
  const src = new GPT(cfg, 4);
  const dir = join(tmp, 'hand');
  mkdirSync(dir);
  const tensors = new Map<string, SafeTensor>(src.params().map(([n, p]) => [n, { dtype: 'F32', shape: [...p.shape], data: p.data }]));
  const files: Record<string, Uint8Array> = {
    'model.safetensors': serializeSafetensors(tensors, { format: 'pt' }),
    'config.json': new TextEncoder().encode(JSON.stringify({ kind: 'pretrain', model: cfg, format: 'text' })),
    'tokenizer.json': new TextEncoder().encode(JSON.stringify(tok.toJSON())),
  };
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
  const sizes = Object.fromEntries(Object.entries(files).map(([n, b]) => [n, b.length]));
  writeFileSync(join(dir, 'checkpoint.json'), JSON.stringify({ format: 'flywheel-checkpoint', version: 1, files: sizes }));
  const { model, tokenizer, config } = loadLM(dir);
  assert.equal(config.format, 'text');
  assert.equal(tokenizer.vocabSize, tok.vocabSize);
  assert.deepEqual(model.params().map(([, p]) => [...p.data]), src.params().map(([, p]) => [...p.data]));
});

test('a run directory stands for its checkpoint; older configs get a format from their kind', () => {
  const run = RunDir.start(join(tmp, 'run'), 'sft', {});
  const m = new GPT(cfg, 1);
  run.saveCheckpoint(lmCheckpoint(m, tok, { kind: 'sft', model: cfg, format: 'chat' }));
  assert.equal(resolveModelDir(run.dir), run.checkpointDir);
  assert.equal(resolveModelDir(run.checkpointDir), run.checkpointDir);
  assert.equal(loadLM(run.dir).config.format, 'chat');
  const old = RunDir.start(join(tmp, 'old'), 'sft', {});
  old.saveCheckpoint({ ...lmCheckpoint(m, tok, { kind: 'sft', model: cfg, format: 'chat' }), config: { kind: 'sft', model: cfg } });
  assert.equal(loadLM(old.dir).config.format, 'chat');
  const bad = RunDir.start(join(tmp, 'bad'), 'sft', {});
  bad.saveCheckpoint({ ...lmCheckpoint(m, tok, { kind: 'sft', model: cfg, format: 'chat' }), config: { kind: 'selfplay', net: {} } });
  assert.throws(() => loadLM(bad.dir), (e: unknown) => e instanceof UserError && /no "model" section \(not a GPT checkpoint\)/.test((e as Error).message));
});
