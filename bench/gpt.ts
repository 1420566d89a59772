/**
 * One measurement in one process, on one backend: GPT training throughput,
 * KV-cache sampling throughput, or the backend's sgemm peak. bench/main.ts
 * runs this once per (backend, task, config), so backends never share a
 * process (kernel tables, thread pools, OpenBLAS settings read at load).
 *
 *   node --import tsx bench/gpt.ts --backend native --config small [--task train|sample|peak|info] [--quick] [--json]
 *
 * The workload is the PyTorch peer's (../shared/peers/torch_gpt_bench.py):
 * vocab 64, batch 32 x context 64, AdamW lr 1e-3 betas 0.9/0.95 wd 0.1,
 * uniformly random token ids (200k of them, windows drawn per step), fixed
 * seed. One difference: flywheel's AdamW decays rank >= 2 parameters only,
 * the peer's decays every parameter (same work per step, so the same speed).
 *
 * Timing, as the peer does it: warmup steps, then `repeats` timed runs of
 * `steps` steps; tokens/s of each run, reported as best / median / worst.
 * Steps per run adapt to the backend's speed (about 2.5 s a run, 3..20
 * steps, the peer's 20 when it fits) so slow portable backends finish.
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend, K, type BackendName, BACKEND_NAMES } from '../src/tensor/backend.ts';
import { trainStep } from '../src/algos/lm.ts';
import { GPT, GPT_PRESETS, type GPTConfig } from '../src/models/gpt.ts';
import { sample } from '../src/models/sample.ts';
import { AdamW } from '../src/nn/optim.ts';
import { Rng } from '../src/util/rng.ts';

export const VOCAB = 64, CONTEXT = 64, BATCH = 32, SEED = 0;
export type ConfigName = keyof typeof GPT_PRESETS;
export const CONFIG_NAMES = Object.keys(GPT_PRESETS) as ConfigName[];
export const TASKS = ['train', 'sample', 'peak', 'info'] as const;
export type Task = (typeof TASKS)[number];

/** Tokens/s of repeated timed runs. */
export interface Rates {
  best: number;
  median: number;
  worst: number;
}

export interface TrainResult {
  task: 'train';
  backend: BackendName;
  detail: string; // backend name and BackendInfo.detail
  config: ConfigName;
  params: number; // all parameters
  flopsPerToken: number; // 6N + 12 L C T, N without position embeddings
  warmup: number;
  steps: number; // per timed run
  repeats: number;
  tokPerSec: Rates;
  msPerStep: number; // at the median rate
  gflops: number; // at the median rate
  loss: number; // after the last step (ln 64 = 4.16 for random data)
  load: [number, number]; // 1-minute load average before, after
}

export interface SampleResult {
  task: 'sample';
  backend: BackendName;
  detail: string;
  config: ConfigName;
  sequences: number;
  newTokens: number;
  repeats: number;
  tokPerSec: Rates;
  msPerRun: number; // at the median rate
  load: [number, number];
}

export interface PeakResult {
  task: 'peak';
  backend: BackendName;
  detail: string;
  gflops: number; // best over sizes and repeats
  size: number; // n of the n x n x n product that reached it
  load: [number, number];
}

export interface InfoResult {
  task: 'info';
  auto: BackendName; // what initBackend() picks here
  available: { name: BackendName; detail: string | null; reason: string | null }[];
}

export type BenchResult = TrainResult | SampleResult | PeakResult | InfoResult;

export function loadavg(): [number, number, number] {
  try {
    const [a, b, c] = readFileSync('/proc/loadavg', 'utf8').split(' ').map(Number);
    return [a, b, c];
  } catch {
    return [NaN, NaN, NaN];
  }
}

function rates(xs: number[]): Rates {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return { best: s[s.length - 1], median: s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2, worst: s[0] };
}

export function modelConfig(name: ConfigName, blockSize = CONTEXT): GPTConfig {
  return { vocabSize: VOCAB, blockSize, ...GPT_PRESETS[name], valueHead: false };
}

// ---------------------------------------------------------------- training

export interface Budget {
  warmup: number; // warmup steps (fewer if they take longer than warmupSec)
  warmupSec: number;
  repeats: number;
  runSec: number; // target length of one timed run
  minSteps: number;
  maxSteps: number;
}

export const BUDGET: Budget = { warmup: 5, warmupSec: 4, repeats: 3, runSec: 2.5, minSteps: 3, maxSteps: 20 };
export const QUICK_BUDGET: Budget = { warmup: 2, warmupSec: 1.5, repeats: 2, runSec: 0.4, minSteps: 2, maxSteps: 5 };

export function trainBench(backend: BackendName, detail: string, config: ConfigName, b: Budget): TrainResult {
  const load0 = loadavg()[0];
  const model = new GPT(modelConfig(config), SEED);
  const opt = new AdamW(model.params(), { lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
  const rng = new Rng(SEED);
  const data = new Int32Array(200_000).map(() => rng.int(VOCAB));
  const x = new Int32Array(BATCH * CONTEXT), y = new Int32Array(BATCH * CONTEXT); // (B, T)
  let loss = NaN;
  const step = (): void => {
    for (let r = 0; r < BATCH; r++) {
      const i = rng.int(data.length - CONTEXT - 1);
      x.set(data.subarray(i, i + CONTEXT), r * CONTEXT);
      y.set(data.subarray(i + 1, i + 1 + CONTEXT), r * CONTEXT);
    }
    // the same step trainLM takes (pooled buffers); no clipping, like the peer
    loss = trainStep(model, opt, { ids: x, targets: y, B: BATCH, T: CONTEXT, tokens: BATCH * CONTEXT }, 1e-3, 0).loss;
  };

  let warmup = 0, stepSec = Infinity;
  const w0 = performance.now();
  while (warmup < b.warmup && (warmup < 2 || performance.now() - w0 < b.warmupSec * 1000)) {
    const t0 = performance.now();
    step();
    stepSec = (performance.now() - t0) / 1000;
    warmup++;
  }
  const steps = Math.max(b.minSteps, Math.min(b.maxSteps, Math.round(b.runSec / stepSec)));
  const tokens = BATCH * CONTEXT * steps, perRun: number[] = [];
  for (let r = 0; r < b.repeats; r++) {
    const t0 = performance.now();
    for (let s = 0; s < steps; s++) step();
    perRun.push(tokens / ((performance.now() - t0) / 1000));
  }
  const tokPerSec = rates(perRun), fpt = model.flopsPerToken(CONTEXT);
  return {
    task: 'train', backend, detail, config, params: model.numParams(), flopsPerToken: fpt, warmup, steps, repeats: b.repeats,
    tokPerSec, msPerStep: (1000 * BATCH * CONTEXT) / tokPerSec.median, gflops: (tokPerSec.median * fpt) / 1e9, loss,
    load: [load0, loadavg()[0]],
  };
}

// ---------------------------------------------------------------- sampling

/**
 * 64 sequences x 64 new tokens from a 1-token prompt, temperature 1, KV
 * cache. The peer feeds positions 0..63 and keeps the 64th new token;
 * flywheel's sample() stops when prompt + new tokens fill blockSize, so the
 * model gets blockSize 65 (one unused position row): the same 64 decode
 * steps over the same attention lengths.
 */
export function sampleBench(backend: BackendName, detail: string, config: ConfigName, repeats: number): SampleResult {
  const load0 = loadavg()[0];
  const sequences = 64, newTokens = 64;
  const model = new GPT(modelConfig(config, newTokens + 1), SEED);
  const prompts = Array.from({ length: sequences }, () => [0]);
  const run = (seed: number): void => {
    const r = sample(model, prompts, { maxNewTokens: newTokens, temperature: 1, rng: new Rng(seed) });
    for (const t of r.tokens) if (t.length !== newTokens) throw new Error(`sampleBench: a sequence got ${t.length} tokens, expected ${newTokens}`);
  };
  run(SEED); // warmup
  const perRun: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    run(SEED + 1 + r);
    perRun.push((sequences * newTokens) / ((performance.now() - t0) / 1000));
  }
  const tokPerSec = rates(perRun);
  return {
    task: 'sample', backend, detail, config, sequences, newTokens, repeats, tokPerSec,
    msPerRun: (1000 * sequences * newTokens) / tokPerSec.median, load: [load0, loadavg()[0]],
  };
}

// ---------------------------------------------------------------- sgemm peak

/**
 * The best GFLOP/s of square n^3 products C = A B on the active kernels
 * (sizes large enough to reach the kernel's ceiling; the slow portable
 * backends get smaller ones), each timed as the best of a few calls.
 */
export function peakBench(backend: BackendName, detail: string, quick: boolean): PeakResult {
  const load0 = loadavg()[0];
  const sizes = backend === 'native' || backend === 'wasm' ? (quick ? [1024] : [1024, 2048]) : backend === 'js' ? [512] : [128];
  const rng = new Rng(SEED);
  let gflops = 0, size = 0;
  for (const n of sizes) {
    const A = new Float32Array(n * n).map(() => rng.normal()), B = new Float32Array(n * n).map(() => rng.normal());
    const C = new Float32Array(n * n);
    const call = (): number => {
      const t0 = performance.now();
      K.matmul(A, B, C, 1, n, n, n, false, false, false, 0, 0);
      return (performance.now() - t0) / 1000;
    };
    const first = call();
    const calls = Math.max(3, Math.min(20, Math.round((quick ? 0.3 : 1) / first)));
    for (let i = 0; i < calls; i++) {
      const g = (2 * n * n * n) / call() / 1e9;
      if (g > gflops) [gflops, size] = [g, n];
    }
  }
  return { task: 'peak', backend, detail, gflops, size, load: [load0, loadavg()[0]] };
}

// ---------------------------------------------------------------- backend availability

async function info(): Promise<InfoResult> {
  const available: InfoResult['available'] = [];
  for (const name of BACKEND_NAMES) {
    try {
      available.push({ name, detail: (await initBackend(name)).detail, reason: null });
    } catch (e) {
      available.push({ name, detail: null, reason: (e as Error).message });
    }
  }
  // what the automatic choice would be: the first available in preference order (backend.ts)
  const auto = available.find((a) => a.detail !== null)!.name;
  return { task: 'info', auto, available };
}

// ---------------------------------------------------------------- the command

function describe(r: BenchResult): string {
  const k = (x: number) => `${(x / 1000).toFixed(2)}k`;
  switch (r.task) {
    case 'train':
      return `train ${r.config} on ${r.backend}: ${r.params} params, ${r.steps} steps x ${r.repeats} (warmup ${r.warmup}), tok/s best ${k(r.tokPerSec.best)} median ${k(r.tokPerSec.median)} worst ${k(r.tokPerSec.worst)}, ${r.msPerStep.toFixed(1)} ms/step, ${r.gflops.toFixed(1)} GFLOP/s, loss ${r.loss.toFixed(3)}, load ${r.load.join(' -> ')}`;
    case 'sample':
      return `sample ${r.config} on ${r.backend}: ${r.sequences} seqs x ${r.newTokens} new tokens, tok/s best ${k(r.tokPerSec.best)} median ${k(r.tokPerSec.median)} worst ${k(r.tokPerSec.worst)}, ${r.msPerRun.toFixed(0)} ms/run, load ${r.load.join(' -> ')}`;
    case 'peak':
      return `sgemm peak on ${r.backend}: ${r.gflops.toFixed(1)} GFLOP/s (${r.size}^3), load ${r.load.join(' -> ')}`;
    case 'info':
      return r.available.map((a) => `${a.name}${a.name === r.auto ? ' (auto)' : ''}: ${a.detail ?? `unavailable: ${a.reason}`}`).join('\n');
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backend: { type: 'string' }, config: { type: 'string', default: 'small' }, task: { type: 'string', default: 'train' },
      quick: { type: 'boolean', default: false }, json: { type: 'boolean', default: false },
    },
  });
  const task = values.task as Task;
  if (!TASKS.includes(task)) throw new Error(`--task ${values.task}: expected one of ${TASKS.join(', ')}`);
  const config = values.config as ConfigName;
  if (!CONFIG_NAMES.includes(config)) throw new Error(`--config ${values.config}: expected one of ${CONFIG_NAMES.join(', ')}`);
  let result: BenchResult;
  if (task === 'info') {
    result = await info();
  } else {
    const bi = await initBackend(values.backend); // undefined: the automatic choice (or FLYWHEEL_BACKEND)
    if (bi.name === 'wasm') await (await import('../src/tensor/kernels/wasm.ts')).wasmThreadsReady();
    const detail = `${bi.name} — ${bi.detail}`; // not backendLine(): it says "forced by FLYWHEEL_BACKEND" for --backend too
    if (!values.json) console.log(detail);
    result = task === 'train' ? trainBench(bi.name, detail, config, values.quick ? QUICK_BUDGET : BUDGET)
      : task === 'sample' ? sampleBench(bi.name, detail, config, values.quick ? 3 : 9)
      : peakBench(bi.name, detail, values.quick);
  }
  console.log(values.json ? JSON.stringify(result) : describe(result));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: Error) => {
    console.error(`bench/gpt.ts: ${e.message}`);
    process.exit(1);
  });
}
