/**
 * One QuickJS run in the current thread: a fresh QuickJS WASM instance per
 * program, with its own bounded WebAssembly.Memory. QuickJsSandbox
 * (quickjs.ts) calls this inside a worker thread (serveWorker), so a run that
 * overshoots its deadline can be terminated from outside.
 *
 * Why a fresh instance with its own memory: in this emscripten build QuickJS
 * cannot measure its allocations (malloc_usable_size is unavailable), so
 * JS_SetMemoryLimit only refuses single allocations larger than the limit and
 * counts 8 bytes for any other; growing many arrays would run the WASM heap
 * to 2 GB. Capping the WebAssembly.Memory at memoryMB (+ QuickJS's own 16 MB)
 * makes malloc fail for real ('InternalError: out of memory'), and dropping
 * the instance afterwards frees everything with no leak checks to trip.
 * Instantiation from the compiled module costs ~4 ms.
 *
 * Why a worker: the interrupt handler is polled only every ~10,000 calls or
 * jumps, so a loop around a slow builtin (indexOf on a 10 MB string) can
 * overshoot the deadline by minutes. The worker is terminated at the wall
 * limit instead.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parentPort } from 'node:worker_threads';
import { RELEASE_SYNC, newQuickJSWASMModuleFromVariant, newVariant, type QuickJSContext, type QuickJSHandle } from 'quickjs-emscripten';
import { OutputCapture, type RunResult, type SandboxLimits } from './sandbox.ts';

/** QuickJS's own stack limit. Larger values let deep recursion overflow the host's native stack first (measured: 512 KB does, 256 KB does not). */
const STACK_BYTES = 256 * 1024;
/** QuickJS's static data, stack and initial heap (emscripten's INITIAL_MEMORY), on top of memoryMB. */
const BASE_MB = 16;
const PAGE_BYTES = 64 * 1024;

/** Installs console on top of a native write(fd, text) and then hides the native function. */
const PRELUDE = `(function (write) {
  const fmt = (args) => args.map((a) => {
    if (typeof a === 'string') return a;
    try { const j = JSON.stringify(a); return j === undefined ? String(a) : j; } catch (e) { return String(a); }
  }).join(' ') + '\\n';
  const out = (...a) => write(1, fmt(a));
  const err = (...a) => write(2, fmt(a));
  globalThis.console = { log: out, info: out, debug: out, warn: err, error: err };
})(globalThis.__write);
delete globalThis.__write;`;

// The WebAssembly global, typed here (tsconfig's lib has no DOM types).
type WasmModule = object;
const WA = (globalThis as unknown as {
  WebAssembly: {
    compile(bytes: Uint8Array): Promise<WasmModule>;
    Memory: new (d: { initial: number; maximum: number }) => object;
  };
}).WebAssembly;

let compiled: Promise<WasmModule> | null = null;

/** The QuickJS WASM binary, compiled once per thread. */
function wasmModule(): Promise<WasmModule> {
  const path = createRequire(import.meta.url).resolve('@jitl/quickjs-wasmfile-release-sync/wasm');
  compiled ??= WA.compile(readFileSync(path));
  return compiled;
}

/** Runs `program` in a fresh QuickJS instance under `lim` (already resolved). Never throws. */
export async function runQuickJs(program: string, lim: SandboxLimits): Promise<RunResult> {
  const started = performance.now();
  const stdout = new OutputCapture(lim.outputBytes);
  const stderr = new OutputCapture(lim.outputBytes);
  const done = (status: RunResult['status'], exitCode: number | null, err?: string): RunResult => ({
    status,
    exitCode,
    signal: null,
    stdout: stdout.text(),
    stderr: err ?? stderr.text(),
    truncated: stdout.truncated || stderr.truncated,
    wallMs: performance.now() - started,
  });
  let vm: QuickJSContext;
  let interrupted = false; // the deadline struck, whether or not the program saw the error
  const deadline = Date.now() + Math.min(lim.cpuSeconds, lim.wallSeconds) * 1000;
  try {
    const memory = new WA.Memory({ initial: (BASE_MB * 1024 * 1024) / PAGE_BYTES, maximum: Math.ceil(((BASE_MB + lim.memoryMB) * 1024 * 1024) / PAGE_BYTES) });
    const quiet = () => {};
    const emscriptenModule = { print: quiet, printErr: quiet } as Record<string, unknown>; // emscripten's own prints: library code does not print
    const qjs = await newQuickJSWASMModuleFromVariant(newVariant(RELEASE_SYNC, { wasmModule: await wasmModule(), wasmMemory: memory, emscriptenModule }));
    const rt = qjs.newRuntime();
    rt.setMemoryLimit(lim.memoryMB * 1024 * 1024);
    rt.setMaxStackSize(STACK_BYTES);
    rt.setInterruptHandler(() => {
      if (Date.now() < deadline) return false;
      interrupted = true;
      return true;
    });
    vm = rt.newContext();
  } catch (e) {
    return done('sandbox_error', null, `QuickJS failed to start: ${String(e)}`);
  }
  let uncaught: string | null = null;
  try {
    const write = vm.newFunction('__write', (fdH, textH) => {
      (vm.getNumber(fdH) === 2 ? stderr : stdout).push(vm.getString(textH));
    });
    vm.setProp(vm.global, '__write', write);
    write.dispose();
    const pre = vm.evalCode(PRELUDE, 'prelude.js');
    if (pre.error) return done('sandbox_error', null, `prelude failed: ${describe(vm, pre.error)}`);
    pre.value.dispose();
    const res = vm.evalCode(program, 'program.js');
    if (res.error) uncaught = describe(vm, res.error);
    else uncaught = drainJobs(vm);
  } catch (e) {
    // The host side failed (e.g. its own stack overflowed inside WASM); the instance is dropped either way.
    return done('sandbox_error', null, String(e));
  }
  if (uncaught !== null) stderr.push(uncaught + '\n');
  if (interrupted) return done('timeout', 1);
  if (uncaught === null) return done('exited', 0);
  if (/out of memory/i.test(uncaught)) return done('memory_limit', 1);
  return done('exited', 1);
}

/** Runs pending promise jobs until none are left; returns the first uncaught error as text, or null. */
function drainJobs(vm: QuickJSContext): string | null {
  for (;;) {
    const r = vm.runtime.executePendingJobs();
    if (r.error) return describe(r.error.context, r.error);
    if (r.value === 0) return null;
  }
}

/** 'Name: message' plus the stack when there is one. */
function describe(vm: QuickJSContext, h: QuickJSHandle): string {
  try {
    const e = vm.dump(h) as unknown;
    if (e && typeof e === 'object') {
      const o = e as { name?: unknown; message?: unknown; stack?: unknown };
      const head = `${String(o.name ?? 'Error')}: ${String(o.message ?? '')}`;
      return typeof o.stack === 'string' && o.stack ? `${head}\n${o.stack}` : head;
    }
    return `Uncaught ${String(e)}`;
  } catch {
    return 'Uncaught (unprintable error)';
  }
}

/** Messages between QuickJsSandbox and its workers. */
export interface RunRequest {
  program: string;
  limits: SandboxLimits;
}

/** The worker's loop: one RunRequest in, one RunResult out, until terminated. */
export function serveWorker(): void {
  const port = parentPort;
  if (!port) throw new Error('serveWorker: not in a worker thread');
  port.on('message', (req: RunRequest) => {
    void runQuickJs(req.program, req.limits).then((result) => port.postMessage(result));
  });
  port.postMessage('ready');
}
