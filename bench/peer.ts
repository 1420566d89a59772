/**
 * The PyTorch peer (../shared/peers/torch_gpt_bench.py from the repo root):
 * find it, run it at its best on this machine (OpenMP OpenBLAS chosen per
 * process by blas-env.sh, 2 threads), and parse its lines. Nothing here
 * prints; bench/main.ts does.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Rates } from './gpt.ts';

export const PYTHON = '/usr/bin/python3'; // Debian's, where python3-torch lives (not whatever python3 is on PATH)
export const INSTALL_HINT = 'apt-get install -y python3-torch python3-numpy libopenblas0-openmp';
export const PEER_THREADS = 2;

export type PeerStatus =
  | { ok: true; dir: string; torch: string }
  | { ok: false; reason: string; hint: string };

/** Whether the peer can run here: its folder beside the repo, and torch importable by /usr/bin/python3. */
export function findPeer(repoRoot: string): PeerStatus {
  const dir = join(repoRoot, '..', 'shared', 'peers');
  for (const f of ['torch_gpt_bench.py', 'blas-env.sh']) {
    if (!existsSync(join(dir, f))) {
      return { ok: false, reason: `${join(dir, f)} is missing`, hint: 'the peer lives in ../shared/peers relative to the repo root' };
    }
  }
  const r = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) {
    const why = r.error ? r.error.message : (r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`);
    return { ok: false, reason: `${PYTHON} cannot import torch (${why})`, hint: `install it (root): ${INSTALL_HINT}` };
  }
  return { ok: true, dir, torch: r.stdout.trim() };
}

export interface PeerTrain {
  config: string;
  params: number;
  tokPerSec: Rates;
  msPerStep: number;
  gflops: number; // at the median rate
}

export interface PeerSample {
  mode: string; // 'kv-cache' | 'no-cache'
  tokPerSec: Rates;
}

export interface PeerRun {
  ok: boolean;
  error?: string;
  command: string;
  env: string; // blas-env.sh's "# env: ..." line
  header: string; // the peer's "# torch ..." line
  train: PeerTrain[];
  sample: PeerSample[];
  seconds: number;
}

const num = (s: string): number => Number(s);

/** Parses the peer's output lines (the format of torch_gpt_bench.py's print statements). */
export function parsePeerOutput(text: string): Pick<PeerRun, 'env' | 'header' | 'train' | 'sample'> {
  const out: Pick<PeerRun, 'env' | 'header' | 'train' | 'sample'> = { env: '', header: '', train: [], sample: [] };
  for (const line of text.split('\n')) {
    if (line.startsWith('# env:')) out.env = line.slice(2);
    else if (line.startsWith('# torch')) out.header = line.slice(2);
    let m = /^train (\w+)\s.*?params=(\d+).*?tok\/s best=(\d+) median=(\d+) worst=(\d+) ms\/step\(median\)=([\d.]+).*?GFLOP\/s best=[\d.]+ median=([\d.]+)/.exec(line);
    if (m) {
      out.train.push({
        config: m[1], params: num(m[2]), tokPerSec: { best: num(m[3]), median: num(m[4]), worst: num(m[5]) },
        msPerStep: num(m[6]), gflops: num(m[7]),
      });
      continue;
    }
    m = /^sample \w+ ([\w-]+):.*?tok\/s best=(\d+) median=(\d+) worst=(\d+)/.exec(line);
    if (m) out.sample.push({ mode: m[1], tokPerSec: { best: num(m[2]), median: num(m[3]), worst: num(m[4]) } });
  }
  return out;
}

/**
 * Runs the peer once: `train` on the given configs, or `sample`. quick: 5
 * steps x 2 repeats instead of the peer's 20 x 3 (training only; sampling
 * has no knobs).
 */
export function runPeer(dir: string, mode: 'train' | 'sample', opts: { configs?: string[]; quick?: boolean } = {}): PeerRun {
  const args = [join(dir, 'blas-env.sh'), PYTHON, join(dir, 'torch_gpt_bench.py'), mode, '--threads', String(PEER_THREADS)];
  if (mode === 'train' && opts.configs) args.push('--configs', opts.configs.join(','));
  if (mode === 'train' && opts.quick) args.push('--steps', '5', '--repeats', '2');
  const command = `BLASV=openmp NT=${PEER_THREADS} ${args.join(' ')}`;
  const t0 = performance.now();
  const r = spawnSync('bash', args, {
    encoding: 'utf8', timeout: 15 * 60_000,
    env: { ...process.env, BLASV: 'openmp', NT: String(PEER_THREADS) },
  });
  const seconds = (performance.now() - t0) / 1000;
  const parsed = parsePeerOutput(r.stdout ?? '');
  const ok = r.status === 0 && (mode === 'train' ? parsed.train.length > 0 : parsed.sample.length > 0);
  const error = ok ? undefined : (r.error?.message ?? `exit ${r.status}: ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`);
  return { ok, error, command, seconds, ...parsed };
}

/** The GRPO peer's --json object (the fields bench/main.ts reads). */
export interface PeerGrpo {
  config: string;
  steps_per_s: Rates;
  gen_tok_per_s: Rates;
  ms_median: { sample: number; reward: number; train: number; step: number };
  reward_first: number;
  reward_last: number;
}

export interface PeerGrpoRun {
  ok: boolean;
  error?: string;
  command: string;
  result: PeerGrpo | null;
  seconds: number;
}

/** Runs ../shared/peers/torch_grpo_bench.py once (its defaults: the README's workload), as runPeer runs the GPT peer. */
export function runGrpoPeer(dir: string, opts: { config?: string; quick?: boolean } = {}): PeerGrpoRun {
  const args = [join(dir, 'blas-env.sh'), PYTHON, join(dir, 'torch_grpo_bench.py'), '--threads', String(PEER_THREADS), '--json'];
  if (opts.config) args.push('--config', opts.config);
  if (opts.quick) args.push('--steps', '3');
  const command = `BLASV=openmp NT=${PEER_THREADS} ${args.join(' ')}`;
  const t0 = performance.now();
  const r = spawnSync('bash', args, { encoding: 'utf8', timeout: 15 * 60_000, env: { ...process.env, BLASV: 'openmp', NT: String(PEER_THREADS) } });
  const seconds = (performance.now() - t0) / 1000;
  const last = (r.stdout ?? '').trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (r.status === 0 && last) return { ok: true, command, result: JSON.parse(last) as PeerGrpo, seconds };
  return { ok: false, command, result: null, seconds, error: r.error?.message ?? `exit ${r.status}: ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}` };
}
