/**
 * QuickJsSandbox: runs a JavaScript program in QuickJS compiled to WASM
 * (quickjs-emscripten), in worker threads of this process.
 *
 * What exists inside: the ECMAScript standard library and a `console` whose
 * log/info/debug write to stdout and warn/error to stderr. Nothing else: no
 * require, process, fetch, timers, filesystem or network, so escapes have
 * nothing to call. Each run gets a fresh QuickJS instance (quickjs_engine.ts).
 *
 * Limits:
 *   - deadline at min(cpuSeconds, wallSeconds), checked by QuickJS's
 *     interrupt handler (in-process, CPU and wall time coincide); as a
 *     backstop the worker is terminated WALL_GRACE_MS after the deadline,
 *     since the handler is polled only every ~10,000 calls or jumps;
 *   - memoryMB caps the instance's WebAssembly.Memory (see quickjs_engine.ts);
 *   - a 256 KB QuickJS stack; output capped as in bwrap;
 *   - maxProcesses does not apply (no processes can be made).
 * Uncaught errors give exit code 1 with the error on stderr, like node;
 * promises are settled by draining the job queue after the script.
 *
 * Workers (at most maxConcurrent, default: the number of cores) are reused
 * between runs and unref'd while idle, so they never keep the process alive.
 * They load quickjs_engine.ts through tsx, registered inside each worker
 * (Node 20 workers do not inherit the parent's loader hooks).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { resolveLimits, type RunResult, type Sandbox, type SandboxLimits } from './sandbox.ts';
import type { RunRequest } from './quickjs_engine.ts';

/** How long after the QuickJS deadline the worker is terminated. */
const WALL_GRACE_MS = 500;
/** A worker that has not said 'ready' by then counts as failed to start. */
const START_TIMEOUT_MS = 30_000;

const BOOT = `
const { workerData } = require('node:worker_threads');
import(workerData.tsxApi)
  .then(({ tsImport }) => tsImport(workerData.engine, workerData.engine))
  .then((m) => m.serveWorker());
`;

export class QuickJsSandbox implements Sandbox {
  readonly name = 'quickjs' as const;
  private idle: Worker[] = [];
  private running = 0;
  private waiting: (() => void)[] = [];

  /** maxConcurrent: how many programs may run at once, one worker thread each (default: the number of cores). */
  constructor(private readonly maxConcurrent: number = availableParallelism()) {}

  async run(program: string, limits: Partial<SandboxLimits> = {}): Promise<RunResult> {
    const lim = resolveLimits(limits);
    if (this.running >= this.maxConcurrent) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      return await this.runOnWorker({ program, limits: lim });
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  private async runOnWorker(req: RunRequest): Promise<RunResult> {
    const started = performance.now();
    const failed = (status: RunResult['status'], why: string): RunResult => ({
      status, exitCode: null, signal: status === 'timeout' ? 'terminated' : null, stdout: '', stderr: why, truncated: false, wallMs: performance.now() - started,
    });
    let worker: Worker;
    try {
      worker = this.idle.pop() ?? (await startWorker());
    } catch (e) {
      return failed('sandbox_error', `QuickJS worker failed to start: ${String(e)}`);
    }
    worker.ref();
    const limitMs = Math.min(req.limits.cpuSeconds, req.limits.wallSeconds) * 1000 + WALL_GRACE_MS;
    const result = await new Promise<RunResult>((resolve) => {
      const finish = (r: RunResult, reusable: boolean) => {
        clearTimeout(timer);
        worker.off('message', onMessage).off('error', onError).off('exit', onExit);
        if (reusable) {
          worker.unref();
          this.idle.push(worker);
        } else void worker.terminate();
        resolve(r);
      };
      const onMessage = (r: RunResult) => finish(r, true);
      const onError = (e: Error) => finish(failed('sandbox_error', `QuickJS worker crashed: ${String(e)}`), false);
      const onExit = (code: number) => finish(failed('sandbox_error', `QuickJS worker exited with code ${code}`), false);
      const timer = setTimeout(() => finish(failed('timeout', `terminated after ${limitMs} ms`), false), limitMs);
      worker.on('message', onMessage).on('error', onError).on('exit', onExit);
      worker.postMessage(req);
    });
    return result;
  }
}

/** A worker running quickjs_engine.ts's serveWorker(), resolved once it says 'ready'. */
function startWorker(): Promise<Worker> {
  const workerData = { tsxApi: import.meta.resolve('tsx/esm/api'), engine: new URL('./quickjs_engine.ts', import.meta.url).href };
  const worker = new Worker(BOOT, { eval: true, workerData, stdout: true, stderr: true });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new Error(`no 'ready' within ${START_TIMEOUT_MS} ms`));
    }, START_TIMEOUT_MS);
    worker.once('message', (m) => {
      clearTimeout(timer);
      if (m === 'ready') resolve(worker);
      else reject(new Error(`unexpected first message ${JSON.stringify(m)}`));
    });
    worker.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}
