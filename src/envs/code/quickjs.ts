/**
 * QuickJsSandbox: runs a JavaScript program in QuickJS compiled to WASM,
 * inside this process (quickjs-emscripten).
 *
 * What exists inside: the ECMAScript standard library and a `console` whose
 * log/info/debug write to stdout and warn/error to stderr. Nothing else: no
 * require, process, fetch, timers, filesystem or network, so escapes have
 * nothing to call. Each run gets a fresh runtime (~0.2 ms).
 *
 * Limits: a deadline at min(cpuSeconds, wallSeconds) through the interrupt
 * handler (the run is in-process, so CPU and wall time coincide), a memory
 * limit of memoryMB on the runtime, a 1 MB stack, and output capped like the
 * bwrap sandbox. maxProcesses does not apply (no processes can be made).
 *
 * Departures from bwrap: the run is synchronous and blocks the event loop
 * until it finishes or hits the deadline; promises are settled by draining
 * the job queue after the script; uncaught errors give exit code 1 with the
 * error on stderr, like node.
 */
import {
  RELEASE_SYNC,
  newQuickJSWASMModuleFromVariant,
  newVariant,
  shouldInterruptAfterDeadline,
  type QuickJSContext,
  type QuickJSHandle,
  type QuickJSWASMModule,
} from 'quickjs-emscripten';
import { OutputCapture, resolveLimits, type RunResult, type Sandbox, type SandboxLimits } from './sandbox.ts';

const STACK_BYTES = 256 * 1024;

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

/**
 * One WASM module instance shared by all runs; replaced after a run that
 * broke it (an emscripten abort, e.g. a failed leak check on dispose after an
 * interrupted allocation). Emscripten's own prints are silenced: library code
 * does not print.
 */
let instance: Promise<QuickJSWASMModule> | null = null;

function loadModule(): Promise<QuickJSWASMModule> {
  const quiet = () => {};
  const emscriptenModule = { print: quiet, printErr: quiet } as Record<string, unknown>;
  instance ??= newQuickJSWASMModuleFromVariant(newVariant(RELEASE_SYNC, { emscriptenModule }));
  return instance;
}

export class QuickJsSandbox implements Sandbox {
  readonly name = 'quickjs' as const;

  async run(program: string, limits: Partial<SandboxLimits> = {}): Promise<RunResult> {
    const lim = resolveLimits(limits);
    let qjs: QuickJSWASMModule;
    try {
      qjs = await loadModule();
    } catch (e) {
      instance = null;
      return { status: 'sandbox_error', exitCode: null, signal: null, stdout: '', stderr: `QuickJS failed to load: ${String(e)}`, truncated: false, wallMs: 0 };
    }
    const { result, broken } = runOnce(qjs, program, lim);
    if (broken) instance = null;
    return result;
  }
}

/** One run on a fresh runtime; broken means the module instance must not be reused. */
function runOnce(qjs: QuickJSWASMModule, program: string, lim: SandboxLimits): { result: RunResult; broken: boolean } {
  const started = performance.now();
  const deadline = Date.now() + Math.min(lim.cpuSeconds, lim.wallSeconds) * 1000;
  const stdout = new OutputCapture(lim.outputBytes);
  const stderr = new OutputCapture(lim.outputBytes);
  const rt = qjs.newRuntime();
  rt.setMemoryLimit(lim.memoryMB * 1024 * 1024);
  rt.setMaxStackSize(STACK_BYTES);
  rt.setInterruptHandler(shouldInterruptAfterDeadline(deadline));
  const vm = rt.newContext();
  let uncaught: string | null = null;
  let sandboxError: string | null = null;
  let broken = false;
  try {
    const write = vm.newFunction('__write', (fdH, textH) => {
      const text = vm.getString(textH);
      (vm.getNumber(fdH) === 2 ? stderr : stdout).push(text);
    });
    vm.setProp(vm.global, '__write', write);
    write.dispose();
    const pre = vm.evalCode(PRELUDE, 'prelude.js');
    if (pre.error) {
      sandboxError = `prelude failed: ${describe(vm, pre.error)}`;
      pre.error.dispose();
    } else {
      pre.value.dispose();
      const res = vm.evalCode(program, 'program.js');
      if (res.error) {
        uncaught = describe(vm, res.error);
        res.error.dispose();
      } else {
        res.value.dispose();
        uncaught = drainJobs(rt);
      }
    }
  } catch (e) {
    // The host side failed (e.g. the host's own stack overflowed inside WASM).
    sandboxError = String(e);
    broken = true;
  }
  try {
    vm.dispose();
    rt.dispose();
  } catch {
    // A runtime stopped mid-allocation can fail its leak check on dispose; the memory goes with the module instance.
    broken = true;
  }
  if (uncaught !== null) stderr.push(uncaught + '\n');
  const timedOut = Date.now() >= deadline && uncaught !== null && /interrupted/.test(uncaught);
  const oom = uncaught !== null && /out of memory/i.test(uncaught);
  const result: RunResult = {
    status: sandboxError ? 'sandbox_error' : timedOut ? 'timeout' : oom ? 'memory_limit' : 'exited',
    exitCode: sandboxError ? null : uncaught === null ? 0 : 1,
    signal: null,
    stdout: stdout.text(),
    stderr: sandboxError ?? stderr.text(),
    truncated: stdout.truncated || stderr.truncated,
    wallMs: performance.now() - started,
  };
  return { result, broken };
}

/** Runs pending promise jobs until none are left; returns the first uncaught error as text, or null. */
function drainJobs(rt: ReturnType<QuickJSWASMModule['newRuntime']>): string | null {
  for (;;) {
    const r = rt.executePendingJobs();
    if (r.error) {
      const text = describe(r.error.context, r.error);
      r.error.dispose();
      return text;
    }
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
