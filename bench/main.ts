/**
 * `npm run bench`: flywheel's GPT training, sampling and GRPO-step
 * throughput beside the PyTorch peers', on the peers' workloads
 * (bench/gpt.ts and bench/grpo.ts have the details).
 *
 *   npm run bench -- [--configs tiny,small,medium] [--backends native,js,wasm] [--quick] [--no-peer] [--json]
 *
 * What runs, one measurement at a time (2 cores: never two at once), each
 * in its own process so backends share no state:
 *   1. the sgemm peak of every backend benchmarked; the first backend's is
 *      "the machine's peak" that %peak refers to (measured in this run);
 *   2. training on each config with the first backend (the automatic
 *      choice unless --backends says otherwise), each followed by the peer
 *      on the same config so both see similar machine load;
 *   3. sampling (small config, 64 sequences x 64 new tokens, KV cache), then the peer's;
 *   3b. one GRPO step (small config, 16 prompts x 8 samples, 16 + 16 tokens, one
 *      clipped-ratio update; bench/grpo.ts) through LocalPolicy + pgUpdate, then the
 *      peer's (torch_grpo_bench.py), then flywheel's again without prefix sharing
 *      (the same work as the peer), with the time of a step phase by phase;
 *   4. the portable path: the other backends (default js and wasm) on the
 *      small config, against TF.js wasm's shipped figure (a constant);
 *   5. self-play (bench/selfplay.ts): policy-value network inference and MCTS simulations/s.
 * The machine is shared, so the load average is printed before and after,
 * and recorded around every measurement.
 */
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CONFIG_NAMES, loadavg, type BenchResult, type ConfigName, type InfoResult, type PeakResult, type Rates, type SampleResult, type TrainResult } from './gpt.ts';
import { findPeer, runGrpoPeer, runPeer, INSTALL_HINT, type PeerGrpoRun, type PeerRun, type PeerStatus } from './peer.ts';
import { formatPhases, type GrpoBench } from './grpo.ts';
import { BACKEND_NAMES, type BackendName } from '../src/tensor/backend.ts';
import { formatSelfPlay, type SelfPlayBench } from './selfplay.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const GPT_SCRIPT = join(ROOT, 'bench', 'gpt.ts');
const GRPO_SCRIPT = join(ROOT, 'bench', 'grpo.ts');

/** Targets from the issue. */
const TARGET_TRAIN = 1.0; // flywheel / PyTorch training tokens/s, every config
const TARGET_SAMPLE = 3.0; // flywheel / PyTorch sampling tokens/s
const TARGET_GRPO = 2.0; // flywheel / PyTorch GRPO steps/s
const TFJS_WASM_SMALL = 660; // TF.js wasm, small config, tokens/s as shipped (from the issue; not measured here)
const TARGET_PORTABLE = 5.0; // portable backend / TF.js wasm
/** The peer's median tokens/s on a quiet machine of this kind (../shared/peers/README.md), printed for context only. */
const PEER_README = { tiny: 157_000, small: 40_000, medium: 10_000, sample: 30_000 };

type Failed = { error: string };

// ---------------------------------------------------------------- options

const { values: opt } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    'no-peer': { type: 'boolean', default: false },
    configs: { type: 'string', default: CONFIG_NAMES.join(',') },
    backends: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opt.help) {
  console.log('usage: npm run bench -- [--configs tiny,small,medium] [--backends native,js,wasm] [--quick] [--no-peer] [--json]');
  process.exit(0);
}
const configs = opt.configs.split(',').filter(Boolean) as ConfigName[];
for (const c of configs) if (!CONFIG_NAMES.includes(c)) fail(`--configs: unknown config "${c}" (known: ${CONFIG_NAMES.join(', ')})`);
const wanted = opt.backends?.split(',').filter(Boolean);
for (const b of wanted ?? []) if (!(BACKEND_NAMES as readonly string[]).includes(b)) fail(`--backends: unknown backend "${b}" (known: ${BACKEND_NAMES.join(', ')})`);

function fail(msg: string): never {
  console.error(`bench: ${msg}`);
  process.exit(2);
}

/** Progress goes to stderr so --json leaves stdout machine-readable. */
function progress(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

/** Runs one measurement, saying what and how long it took. */
function timed<T>(label: string, fn: () => T): T {
  const t0 = performance.now();
  progress(`${label} ...`);
  const r = fn();
  progress(`${label}: ${((performance.now() - t0) / 1000).toFixed(1)} s, load ${loadavg()[0]}`);
  return r;
}

// ---------------------------------------------------------------- running the measurements

function child<T extends BenchResult | SelfPlayBench | GrpoBench>(args: string[], script = GPT_SCRIPT): T | Failed {
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, ...args, '--json', ...(opt.quick ? ['--quick'] : [])], {
    cwd: ROOT, encoding: 'utf8', timeout: 15 * 60_000, maxBuffer: 16 << 20,
  });
  const last = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  if (r.status === 0 && last.startsWith('{')) return JSON.parse(last) as T;
  return { error: r.error?.message ?? `exit ${r.status}: ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}` };
}

/** A measurement that did not fail (children report failures as { error }). */
function isOk<T extends object>(x: T | Failed): x is Exclude<T, Failed> {
  return !('error' in x);
}
const started = performance.now();
const loadBefore = loadavg();
progress(`load before: ${loadBefore.join(' ')} (${cpus().length} CPUs)`);

const info = child<InfoResult>(['--task', 'info']);
if (!isOk(info)) fail(`cannot list backends: ${info.error}`);
const avail = new Map(info.available.map((a) => [a.name, a]));
const requested: BackendName[] = (wanted as BackendName[] | undefined) ?? [info.auto, 'js', 'wasm'];
const backends = [...new Set(requested)].filter((b) => avail.get(b)?.detail);
// every backend this machine lacks right now (a native addon being rebuilt shows up here), requested or not
const unavailable = info.available.filter((a) => !a.detail).map((a) => ({ name: a.name, requested: requested.includes(a.name), reason: a.reason ?? 'unknown' }));
if (backends.length === 0) fail(`none of the backends ${requested.join(', ')} is available`);
const main = backends[0], portable = backends.slice(1);
const portableConfig: ConfigName = configs.includes('small') || configs.length === 0 ? 'small' : configs[0];

let peer: PeerStatus = opt['no-peer'] ? { ok: false, reason: '--no-peer given', hint: '' } : findPeer(ROOT);
if (!peer.ok && !opt['no-peer']) progress(`PyTorch peer skipped: ${peer.reason}; ${peer.hint}`);

const peaks: (PeakResult | (Failed & { backend: BackendName }))[] = [];
for (const b of backends) {
  const r = timed(`sgemm peak on ${b}`, () => child<PeakResult>(['--task', 'peak', '--backend', b]));
  peaks.push(isOk(r) ? r : { ...r, backend: b });
}
const machinePeak = peaks[0] && isOk(peaks[0]) ? (peaks[0] as PeakResult) : null;

const peerRuns: PeerRun[] = [];
function peerRun(mode: 'train' | 'sample', configs?: string[]): PeerRun | null {
  if (!peer.ok) return null;
  const dir = peer.dir;
  const r = timed(`PyTorch peer ${mode}${configs ? ` ${configs.join(',')}` : ''}`, () => runPeer(dir, mode, { configs, quick: opt.quick }));
  peerRuns.push(r);
  if (!r.ok) progress(`PyTorch peer ${mode} failed: ${r.error}`);
  return r;
}

interface Row {
  result: TrainResult | SampleResult | (Failed & { backend: BackendName; config: ConfigName });
  peer: Rates | null; // the peer's tokens/s on the same work
  ratio: number | null; // flywheel median / peer median
}
const train: Row[] = [];
for (const c of configs) {
  const r = timed(`train ${c} on ${main}`, () => child<TrainResult>(['--task', 'train', '--backend', main, '--config', c]));
  const p = peerRun('train', [c])?.train.find((t) => t.config === c)?.tokPerSec ?? null;
  train.push(row(isOk(r) ? r : { ...r, backend: main, config: c }, p));
}

const s = timed(`sample small on ${main}`, () => child<SampleResult>(['--task', 'sample', '--backend', main, '--config', 'small']));
const ps = peerRun('sample')?.sample.find((x) => x.mode === 'kv-cache')?.tokPerSec ?? null;
const sampling = row(isOk(s) ? s : { ...s, backend: main, config: 'small' }, ps);

const g = timed(`GRPO step small on ${main}`, () => child<GrpoBench>(['--backend', main, '--config', 'small'], GRPO_SCRIPT));
let grpoPeer: PeerGrpoRun | null = null;
if (peer.ok) {
  const dir = peer.dir;
  grpoPeer = timed('PyTorch peer GRPO step small', () => runGrpoPeer(dir, { config: 'small', quick: opt.quick }));
  if (!grpoPeer.ok) progress(`PyTorch GRPO peer failed: ${grpoPeer.error}`);
}
// the same step with every row doing all of its own work, as the peer does (no prefix sharing): how much of the ratio is the engine
const gSame = timed(`GRPO step small on ${main}, no prefix sharing`, () => child<GrpoBench>(['--backend', main, '--config', 'small', '--no-share'], GRPO_SCRIPT));
const vsPeer = (r: typeof g): number | null => (isOk(r) && grpoPeer?.result ? (r as GrpoBench).stepsPerSec.median / grpoPeer.result.steps_per_s.median : null);
const grpoRatio = vsPeer(g), sameWorkRatio = vsPeer(gSame);
const grpo = { result: g, peer: grpoPeer, ratio: grpoRatio, sameWork: { result: gSame, ratio: sameWorkRatio } };

const portableRows: Row[] = [];
for (const b of portable) {
  const r = timed(`train ${portableConfig} on ${b} (portable path)`, () => child<TrainResult>(['--task', 'train', '--backend', b, '--config', portableConfig]));
  const p = train.find((t) => t.result.config === portableConfig)?.peer ?? null;
  portableRows.push(row(isOk(r) ? r : { ...r, backend: b, config: portableConfig }, p));
}
const selfplay = timed('self-play: MCTS with the policy-value network', () => child<SelfPlayBench>([], join(ROOT, 'bench', 'selfplay.ts')));
const loadAfter = loadavg();
const seconds = (performance.now() - started) / 1000;

function row(result: Row['result'], p: Rates | null): Row {
  const ratio = isOk(result) && p ? (result as TrainResult | SampleResult).tokPerSec.median / p.median : null;
  return { result, peer: p, ratio };
}

// ---------------------------------------------------------------- report

const targets = {
  train: configs.map((c) => {
    const r = train.find((t) => t.result.config === c)!;
    return { config: c, target: TARGET_TRAIN, ratio: r.ratio, met: r.ratio === null ? null : r.ratio >= TARGET_TRAIN };
  }),
  sample: { target: TARGET_SAMPLE, ratio: sampling.ratio, met: sampling.ratio === null ? null : sampling.ratio >= TARGET_SAMPLE },
  grpo: {
    target: TARGET_GRPO, ratio: grpoRatio, met: grpoRatio === null ? null : grpoRatio >= TARGET_GRPO,
    sameWork: { ratio: sameWorkRatio, met: sameWorkRatio === null ? null : sameWorkRatio >= TARGET_GRPO }, // without prefix sharing
  },
  portable: portableRows.map((r) => {
    const tps = isOk(r.result) ? (r.result as TrainResult).tokPerSec.median : null;
    const ratio = tps !== null && r.result.config === 'small' ? tps / TFJS_WASM_SMALL : null;
    return { backend: r.result.backend, target: TARGET_PORTABLE, vsTfjsWasm: ratio, met: ratio === null ? null : ratio >= TARGET_PORTABLE };
  }),
};

if (opt.json) {
  console.log(JSON.stringify({
    date: new Date().toISOString(), node: process.version, cpus: cpus().length, quick: opt.quick, seconds,
    load: { before: loadBefore, after: loadAfter },
    backends: { main, portable, unavailable, detail: Object.fromEntries(backends.map((b) => [b, avail.get(b)!.detail])) },
    peak: machinePeak && { backend: machinePeak.backend, gflops: machinePeak.gflops, size: machinePeak.size, note: 'best sgemm GFLOP/s of a large square matmul on the first backend, measured in this run' },
    peaks, train, sampling, grpo, portable: portableRows, selfplay,
    peerReadme: { ...PEER_README, note: "the peer's README figures on a quiet machine, for context; ratios use this run's" },
    tfjsWasmSmall: { tokPerSec: TFJS_WASM_SMALL, note: 'constant from the issue (TF.js wasm as shipped), not measured here' },
    peer: peer.ok ? { torch: peer.torch, runs: peerRuns } : { skipped: peer.reason, hint: peer.hint },
    targets,
  }, null, 1));
} else {
  report();
}

function report(): void {
  const k = (x: number) => (x >= 10_000 ? `${(x / 1000).toFixed(1)}k` : `${(x / 1000).toFixed(2)}k`);
  const ratioStr = (r: number | null) => (r === null ? '—' : `${r.toFixed(2)}x`);
  const verdict = (met: boolean | null) => (met === null ? 'n/a' : met ? 'met' : 'NOT met');
  const table = (header: string[], rows: string[][]) => {
    const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
    console.log(line(header));
    for (const r of rows) console.log(line(r));
  };

  console.log(`flywheel GPT benchmark (${opt.quick ? 'quick' : 'full'}) — node ${process.version}, ${cpus().length} CPUs, ${new Date().toISOString()}`);
  console.log(`load average before: ${loadBefore.join(' ')}  (the machine is shared: numbers move with the load)`);
  const busiest = Math.max(loadBefore[0], loadAfter[0], ...[...train, sampling, ...portableRows].flatMap((r) => (isOk(r.result) ? r.result.load : [])),
    ...[grpo.result, grpo.sameWork.result].flatMap((r) => (isOk(r) ? (r as GrpoBench).load : [])));
  if (busiest > cpus().length) {
    console.log(`WARNING: the 1-minute load reached ${busiest.toFixed(1)} on ${cpus().length} CPUs: other processes competed for the cores, so absolute figures`);
    console.log('         are low and the ratios to PyTorch are not representative (its OpenMP threads busy-wait and suffer most from oversubscription).');
  }
  for (const b of backends) console.log(`backend ${b}: ${avail.get(b)!.detail}`);
  for (const u of unavailable) console.log(`backend ${u.name}: unavailable${u.requested ? ' (requested, skipped)' : ''}: ${u.reason}`);
  console.log(`peak: ${machinePeak ? `${machinePeak.gflops.toFixed(1)} GFLOP/s = the best sgemm (${machinePeak.size}^3) on ${machinePeak.backend}, measured in this run; %peak below is relative to it` : 'not measured'}`);
  console.log(`sgemm per backend: ${peaks.map((p) => (isOk(p) ? `${p.backend} ${(p as PeakResult).gflops.toFixed(1)} GFLOP/s (${(p as PeakResult).size}^3)` : `${p.backend} failed: ${(p as Failed).error}`)).join(', ')}`);
  if (peer.ok) console.log(`PyTorch peer: torch ${peer.torch}, ${peerRuns[0]?.env ?? ''}`);
  else console.log(`PyTorch peer: skipped, ${peer.reason}${peer.hint ? `; ${peer.hint}` : ''}`);
  console.log(`PyTorch peer on a quiet machine (its README, for context; ratios below use this run's figures): ${Object.entries(PEER_README).map(([c, v]) => `${c} ${k(v)}`).join(', ')} tok/s`);

  const trainRow = (r: Row): string[] => {
    if (!isOk(r.result)) return [r.result.backend, r.result.config, 'failed', (r.result as Failed).error, '', '', '', '', '', ''];
    const t = r.result as TrainResult;
    const pct = machinePeak ? `${((100 * t.gflops) / machinePeak.gflops).toFixed(1)}%` : '—';
    return [t.backend, t.config, k(t.tokPerSec.median), `${k(t.tokPerSec.worst)}-${k(t.tokPerSec.best)}`, t.msPerStep.toFixed(1), t.gflops.toFixed(1), pct,
      r.peer ? k(r.peer.median) : '—', ratioStr(r.ratio), `${t.steps}x${t.repeats}`, t.load.map((x) => x.toFixed(1)).join('->')];
  };
  const header = ['backend', 'config', 'tok/s', 'worst-best', 'ms/step', 'GFLOP/s', '%peak', 'torch tok/s', 'ratio', 'steps', 'load'];

  console.log(`\ntraining: batch ${32} x context ${64}, vocab 64, AdamW (lr 1e-3, betas 0.9/0.95, wd 0.1; flywheel decays rank>=2 params only, the peer all), FLOP/token = 6N + 12LCT; tok/s = median of runs; target flywheel/PyTorch >= ${TARGET_TRAIN.toFixed(1)}x`);
  table(header, train.map(trainRow).map((r) => (r.length === 10 ? [...r, ''] : r)));
  for (const t of targets.train) console.log(`  ${t.config}: ${ratioStr(t.ratio)} vs target >= ${TARGET_TRAIN.toFixed(1)}x: ${verdict(t.met)}`);

  console.log(`\nsampling: small config, 64 sequences x 64 new tokens from a 1-token prompt, KV cache, temperature 1; target flywheel/PyTorch >= ${TARGET_SAMPLE.toFixed(1)}x`);
  if (isOk(sampling.result)) {
    const r = sampling.result as SampleResult;
    console.log(`  ${r.backend}: ${k(r.tokPerSec.median)} tok/s (${k(r.tokPerSec.worst)}-${k(r.tokPerSec.best)}, ${r.msPerRun.toFixed(0)} ms a run, load ${r.load.join('->')}); PyTorch ${sampling.peer ? `${k(sampling.peer.median)} tok/s` : '—'}; ratio ${ratioStr(sampling.ratio)}: ${verdict(targets.sample.met)}`);
  } else console.log(`  ${sampling.result.backend}: failed: ${(sampling.result as Failed).error}`);

  console.log(`\nGRPO step: small config, 16 prompts x 8 samples, 16-token prompts, 16 new tokens, one clipped-ratio update (LocalPolicy sampling + pgUpdate); steps/s = median of 10 steps; target flywheel/PyTorch >= ${TARGET_GRPO.toFixed(1)}x`);
  if (isOk(grpo.result)) {
    const r = grpo.result as GrpoBench;
    const p = grpo.peer?.result ?? null;
    console.log(`  ${r.backend}: ${r.stepsPerSec.median.toFixed(2)} steps/s (${r.stepsPerSec.worst.toFixed(2)}-${r.stepsPerSec.best.toFixed(2)}, ${k(r.genTokPerSec.median)} new tok/s, load ${r.load.join('->')}); PyTorch ${p ? `${p.steps_per_s.median.toFixed(2)} steps/s` : '—'}; ratio ${ratioStr(grpo.ratio)}: ${verdict(targets.grpo.met)}`);
    console.log(`  flywheel, where a step goes (median ms): ${formatPhases(r.msMedian)}`);
    if (p) console.log(`  PyTorch, where a step goes (median ms): sample ${p.ms_median.sample.toFixed(1)}, reward+adv ${p.ms_median.reward.toFixed(1)}, fwd+bwd+opt ${p.ms_median.train.toFixed(1)}; step ${p.ms_median.step.toFixed(1)}`);
  } else console.log(`  failed: ${(grpo.result as Failed).error}`);
  if (isOk(grpo.sameWork.result)) {
    const r = grpo.sameWork.result as GrpoBench;
    console.log(`  the same work as the peer (flywheel runs a prompt its group shares once, in prefill and in the update's forward; here every row runs its own):`);
    console.log(`    ${r.backend}: ${r.stepsPerSec.median.toFixed(2)} steps/s (load ${r.load.join('->')}); ratio ${ratioStr(grpo.sameWork.ratio)}: ${verdict(targets.grpo.sameWork.met)}; ${formatPhases(r.msMedian)}`);
  } else console.log(`  no prefix sharing: failed: ${(grpo.sameWork.result as Failed).error}`);
  if (grpo.peer && !grpo.peer.ok) console.log(`  PyTorch GRPO peer failed (${grpo.peer.command}): ${grpo.peer.error}`);

  if (portableRows.length) {
    console.log(`\nportable path (${portableConfig} config); TF.js wasm small = ${k(TFJS_WASM_SMALL)} tok/s, a constant from the issue (as shipped), not measured here; target >= ${TARGET_PORTABLE.toFixed(0)}x it`);
    table(header, portableRows.map(trainRow).map((r) => (r.length === 10 ? [...r, ''] : r)));
    for (const t of targets.portable) console.log(`  ${t.backend}: ${ratioStr(t.vsTfjsWasm)} TF.js wasm: ${verdict(t.met)}`);
  }
  for (const r of peerRuns) if (!r.ok) console.log(`\nPyTorch peer failed (${r.command}): ${r.error}`);
  if (!peer.ok && !opt['no-peer']) console.log(`\nTo compare with PyTorch, install the peer's packages (root): ${INSTALL_HINT}`);
  console.log('\n' + (isOk(selfplay) ? formatSelfPlay(selfplay as SelfPlayBench).join('\n') : `self-play: failed: ${(selfplay as Failed).error}`));
  console.log(`\nload average after: ${loadAfter.join(' ')}; ${seconds.toFixed(0)} s in all`);
}
