/**
 * Where a training step's time goes, per kernel: the GRPO bench's update
 * (pgUpdate on 16 prompts x 8 samples of 16 + 16 tokens; --task grpo, the
 * default) or the train row's step (trainStep on 32 x 64 random tokens;
 * --task train), with every kernel of the active table wrapped in a timer;
 * matmuls are split by shape. --plain times whole steps with no timers
 * inside and prints one JSON line (for alternating A/B runs of two builds).
 *
 *   node --import tsx bench/profile_update.ts [--task grpo|train] [--config small] [--steps 20] [--backend native] [--plain]
 */
import { parseArgs } from 'node:util';
import { initBackend, K, useKernels } from '../src/tensor/backend.ts';
import type { Kernels } from '../src/tensor/kernels/types.ts';
import { GPT } from '../src/models/gpt.ts';
import { CharTokenizer } from '../src/models/tokenizer.ts';
import { AdamW } from '../src/nn/optim.ts';
import { LocalPolicy } from '../src/policy/local.ts';
import { pgUpdate, type PGItem } from '../src/algos/pg.ts';
import { trainStep } from '../src/algos/lm.ts';
import type { Trajectory } from '../src/algos/rollout.ts';
import { Rng } from '../src/util/rng.ts';
import { BATCH, CONTEXT, modelConfig, VOCAB, type ConfigName } from './gpt.ts';
import { GRPO } from './grpo.ts';

const { values } = parseArgs({ options: { config: { type: 'string', default: 'small' }, steps: { type: 'string', default: '20' }, backend: { type: 'string' }, plain: { type: 'boolean', default: false }, task: { type: 'string', default: 'grpo' } } });
await initBackend(values.backend);
if (values.task !== 'grpo' && values.task !== 'train') throw new Error(`--task ${values.task}: expected grpo or train`);
const model = new GPT(modelConfig(values.config as ConfigName, values.task === 'grpo' ? GRPO.ctx : CONTEXT), 0);
const tok = new CharTokenizer(Array.from({ length: VOCAB - 3 }, (_, i) => String.fromCharCode(48 + i)));
const policy = new LocalPolicy(model, tok, { format: 'text' });
const opt = new AdamW(policy.params(), { lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
const rng = new Rng(7);
const L = GRPO.promptLen + GRPO.genLen;
const prompts = Array.from({ length: GRPO.prompts }, () => Array.from({ length: GRPO.promptLen }, () => rng.int(VOCAB)));
const items: PGItem[] = Array.from({ length: GRPO.prompts * GRPO.group }, (_, r) => {
  // rows r*G .. r*G+G-1 share a prompt, as in the bench
  const tokens = [...prompts[Math.floor(r / GRPO.group)], ...Array.from({ length: GRPO.genLen }, () => rng.int(VOCAB))];
  const logprobs = new Float32Array(L).map((_, j) => (j >= GRPO.promptLen ? -4 + 0.1 * rng.normal() : 0));
  const traj = { tokens, mask: new Uint8Array(L).fill(1, GRPO.promptLen), logprobs } as unknown as Trajectory;
  const a = rng.normal();
  return { traj, advantages: new Float32Array(L).map((_, j) => (j >= GRPO.promptLen ? a : 0)) };
});
const cfg = { normalization: 'token' as const, clipLow: 0.2, clipHigh: 0.2, klCoef: 0, vfCoef: 0, maxTokens: GRPO.genLen };
// the train row's step: fresh random windows each step, as bench/gpt.ts draws them
const data = new Int32Array(200_000).map(() => rng.int(VOCAB));
const x = new Int32Array(BATCH * CONTEXT), y = new Int32Array(BATCH * CONTEXT); // (B, T)
const update = values.task === 'grpo' ? () => void pgUpdate(policy, opt, items, cfg, 1e-3, 1) : () => {
  for (let r = 0; r < BATCH; r++) {
    const i = rng.int(data.length - CONTEXT - 1);
    x.set(data.subarray(i, i + CONTEXT), r * CONTEXT);
    y.set(data.subarray(i + 1, i + 1 + CONTEXT), r * CONTEXT);
  }
  trainStep(model, opt, { ids: x, targets: y, B: BATCH, T: CONTEXT, tokens: BATCH * CONTEXT }, 1e-3, 0);
};

const times = new Map<string, { ms: number; n: number }>();
const base = K;
const wrapped = { ...base } as Record<string, unknown>;
for (const [name, fn] of Object.entries(base)) {
  if (typeof fn !== 'function') continue;
  wrapped[name] = (...args: unknown[]) => {
    let key = name;
    if (name === 'matmul') key = `matmul M${args[4]} N${args[5]} K${args[6]} tA${+!!args[7]} tB${+!!args[8]} acc${+!!args[9]} b${args[3]}`;
    if (name === 'unary' || name === 'unaryBackward' || name === 'binary') key = `${name} ${args[0]}`;
    const t0 = performance.now();
    const r = (fn as (...a: unknown[]) => unknown)(...args);
    const e = times.get(key) ?? { ms: 0, n: 0 };
    e.ms += performance.now() - t0;
    e.n++;
    times.set(key, e);
    return r;
  };
}
const steps = Number(values.steps);
for (let i = 0; i < 3; i++) update();
if (values.plain) {
  // --plain: median ms of the whole update, forward and rest, with no timers inside (A/B runs)
  // cpu: the process's CPU time per update (all threads): steadier than wall time on a shared machine with 1 thread
  const ms: number[] = [], cpu: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now(), c0 = process.cpuUsage();
    update();
    const c = process.cpuUsage(c0);
    ms.push(performance.now() - t0);
    cpu.push((c.user + c.system) / 1000);
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  console.log(JSON.stringify({ update: +med(ms).toFixed(1), best: +Math.min(...ms).toFixed(1), cpu: +med(cpu).toFixed(1) }));
  process.exit(0);
}
useKernels(wrapped as unknown as Kernels);

let total = 0;
for (let i = 0; i < steps; i++) {
  const t0 = performance.now();
  update();
  total += performance.now() - t0;
}
useKernels(base);
let inK = 0;
const rows = [...times].sort((a, b) => b[1].ms - a[1].ms);
for (const [, v] of rows) inK += v.ms;
console.log(`update ${(total / steps).toFixed(1)} ms/step, in kernels ${(inK / steps).toFixed(1)}, outside ${((total - inK) / steps).toFixed(1)}`);
for (const [k, v] of rows) console.log(`${(v.ms / steps).toFixed(2).padStart(7)} ms  ${(v.n / steps).toFixed(0).padStart(3)} calls  ${k}`);
