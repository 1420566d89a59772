/**
 * The sandbox interface for running model-written JavaScript, its limits, and
 * the choice of implementation.
 *
 * A sandbox runs one program (JavaScript source, executed as a script; what
 * it prints with console.log is its stdout) under explicit limits and reports
 * what happened. Two implementations:
 *
 *   - BwrapSandbox (bwrap.ts): `node` under bubblewrap. Kernel isolation: new
 *     namespaces (no network, own pid space), uid 65534, read-only /usr, the
 *     project and home invisible, a small tmpfs scratch dir, rlimits on CPU,
 *     data memory, processes, file size and open files, SIGKILL at the wall
 *     limit. Full Node (require, process) is available inside, but the world
 *     it can reach is empty. ~40-100 ms a run (mostly node's start-up).
 *   - QuickJsSandbox (quickjs.ts): QuickJS compiled to WASM, in worker
 *     threads of this process. Pure JS only: no require, process, fetch or
 *     timers exist inside. A deadline (interrupt handler, and termination of
 *     the worker as a backstop) and a capped WASM memory. ~5 ms a run, ~9x
 *     slower than V8 at running code.
 *
 * detect.ts chooses between them (bubblewrap when it works, else QuickJS).
 */

/** Resource limits of one run. Every field is enforced by both sandboxes unless noted. */
export interface SandboxLimits {
  /** CPU seconds. bwrap: RLIMIT_CPU (rounded up to whole seconds; SIGXCPU kills). QuickJS: folded into the deadline. */
  cpuSeconds: number;
  /** Wall-clock seconds from start to SIGKILL (bwrap) or interrupt (QuickJS). */
  wallSeconds: number;
  /** Memory in MB. bwrap: V8 heap (--max-old-space-size) and RLIMIT_DATA (this + 128 MB headroom for Node itself). QuickJS: runtime memory limit. */
  memoryMB: number;
  /** bwrap only: RLIMIT_NPROC inside the sandbox's user namespace. Counts threads: Node itself needs ~12. */
  maxProcesses: number;
  /** stdout and stderr are each kept to this many bytes (head and tail; the middle is dropped). */
  outputBytes: number;
}

export const DEFAULT_LIMITS: Readonly<SandboxLimits> = Object.freeze({
  cpuSeconds: 2,
  wallSeconds: 4,
  memoryMB: 128,
  maxProcesses: 32,
  outputBytes: 64 * 1024,
});

/**
 * How a run ended.
 *   'exited'        the program finished (exitCode may be non-zero: an uncaught error)
 *   'timeout'       killed at the CPU or wall limit
 *   'memory_limit'  ran out of its memory allowance
 *   'killed'        killed by another signal (e.g. SIGSEGV, SIGXFSZ)
 *   'sandbox_error' the sandbox itself failed to start (not the program's fault)
 */
export type RunStatus = 'exited' | 'timeout' | 'memory_limit' | 'killed' | 'sandbox_error';

export interface RunResult {
  status: RunStatus;
  exitCode: number | null; // null when killed by a signal
  signal: string | null; // e.g. 'SIGKILL', 'SIGXCPU'
  stdout: string;
  stderr: string;
  truncated: boolean; // some output was dropped (see SandboxLimits.outputBytes)
  wallMs: number;
}

export type SandboxName = 'bwrap' | 'quickjs';

export interface Sandbox {
  readonly name: SandboxName;
  /** Runs `program` (JavaScript source) under limits (defaults: DEFAULT_LIMITS). Never throws on the program's behaviour. */
  run(program: string, limits?: Partial<SandboxLimits>): Promise<RunResult>;
}

/** Fills in defaults and checks a limits object; a bad value is a programmer error. */
export function resolveLimits(limits: Partial<SandboxLimits> = {}): SandboxLimits {
  const out = { ...DEFAULT_LIMITS, ...limits };
  for (const [k, v] of Object.entries(out)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new RangeError(`SandboxLimits.${k} must be a positive number, got ${v}`);
  }
  if (!Number.isInteger(out.maxProcesses)) throw new RangeError(`SandboxLimits.maxProcesses must be an integer, got ${out.maxProcesses}`);
  return out;
}

/**
 * Collects one output stream up to a byte budget, keeping the first and the
 * last half of the budget so a program's final line survives a flood.
 */
export class OutputCapture {
  private head: Buffer[] = [];
  private headBytes = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  truncated = false;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer | string): void {
    let buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    const half = Math.floor(this.limit / 2);
    if (this.headBytes < half) {
      const take = Math.min(half - this.headBytes, buf.length);
      this.head.push(buf.subarray(0, take));
      this.headBytes += take;
      buf = buf.subarray(take);
    }
    if (buf.length === 0) return;
    const tailLimit = this.limit - half;
    this.tail.push(buf);
    this.tailBytes += buf.length;
    while (this.tailBytes > tailLimit) {
      this.truncated = true;
      const first = this.tail[0];
      const excess = this.tailBytes - tailLimit;
      if (first.length <= excess) {
        this.tail.shift();
        this.tailBytes -= first.length;
      } else {
        this.tail[0] = first.subarray(excess);
        this.tailBytes -= excess;
      }
    }
  }

  text(): string {
    const head = Buffer.concat(this.head).toString('utf8');
    const tail = Buffer.concat(this.tail).toString('utf8');
    return this.truncated ? `${head}\n[... output truncated ...]\n${tail}` : head + tail;
  }
}
