/**
 * Same seed, same numbers, whatever FLYWHEEL_THREADS says: a few steps of
 * pretraining, sampling with the KV cache and an RL update with shared
 * prompts packed (threads_run.ts), each in a child process on 1, 2 and 3
 * threads, give the same losses, grad norms, tokens, log-probs and weights,
 * bit for bit, on the native and the wasm backend (the js and ref kernels
 * run on one thread). Three threads on two cores is fine: this is about
 * results, not speed.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadNativeKernels } from '../../src/tensor/kernels/native.ts';
import { loadWasmKernels } from '../../src/tensor/kernels/wasm.ts';

const SCRIPT = fileURLToPath(new URL('./threads_run.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const THREADS = [1, 2, 3];

/** Runs threads_run.ts on a backend and thread count; resolves to its parsed output line. */
function run(backend: string, threads: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT], {
      cwd: ROOT, env: { ...process.env, FLYWHEEL_BACKEND: backend, FLYWHEEL_THREADS: String(threads) },
    });
    let out = '', err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`${backend} on ${threads} threads exited with ${code}: ${err}`));
      else resolve(JSON.parse(out) as Record<string, unknown>);
    });
  });
}

const native = loadNativeKernels();
const wasm = loadWasmKernels();
const backends: [string, string | false][] = [
  ['native', native.kernels ? false : `native backend unavailable: ${native.info.reason}`],
  ['wasm', wasm.kernels ? false : `wasm backend unavailable: ${wasm.reason}`],
];

describe('results do not depend on the thread count', () => {
  // start every child at once; each test awaits its own
  const runs = new Map(backends.filter(([, skip]) => !skip).map(([b]) => {
    const all = Promise.all(THREADS.map((t) => run(b, t)));
    all.catch(() => {}); // handled where its test awaits it
    return [b, all];
  }));
  for (const [backend, skip] of backends) {
    it(`${backend}: pretraining, sampling and an RL update on ${THREADS.join(', ')} threads`, { skip, timeout: 120_000 }, async () => {
      const [first, ...rest] = await runs.get(backend)!;
      const { detail: _, threads: __, ...want } = first;
      for (const [i, r] of rest.entries()) {
        assert.match(String(r.detail), new RegExp(`\\b${THREADS[i + 1]} thread`), `${backend} ran on ${THREADS[i + 1]} threads`);
        const { detail: _d, threads: _t, ...got } = r;
        assert.deepEqual(got, want, `${backend}: ${THREADS[i + 1]} threads against ${THREADS[0]}`);
      }
    });
  }
});
