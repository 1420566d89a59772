/**
 * BwrapSandbox: runs a JavaScript program with `node` under bubblewrap.
 *
 * The command, outermost first:
 *
 *   setpriv --reuid=65534 ...   only when we are root: bwrap run by root maps
 *                               the sandbox uid to root outside, and the
 *                               kernel exempts root from RLIMIT_NPROC
 *   bwrap --unshare-all ...     new user/pid/net/ipc/uts/cgroup namespaces (no
 *                               network at all), uid 65534, read-only /usr
 *                               (+ /lib*, /bin, node's own directory), fresh
 *                               /proc and /dev, a size-capped tmpfs at /tmp as
 *                               the scratch dir, empty environment; nothing of
 *                               /etc, /home, /root or the project exists
 *   prlimit --cpu --data ...    rlimits, set inside the new user namespace so
 *                               RLIMIT_NPROC counts only this sandbox's tasks
 *   node --max-old-space-size - the program, read from stdin (no argv limit)
 *
 * The wall limit is enforced here: SIGKILL to bwrap, and --die-with-parent
 * takes everything inside down with it. Processes the program left running
 * die with the sandbox's pid namespace when its init exits: the kernel kills
 * them, shortly after run() returns. Runs are queued so at most
 * `maxConcurrent` sandboxes run at once (wall time is counted from start).
 *
 * Memory: Node cannot start under a small RLIMIT_AS (V8 reserves address
 * space), so memory is bounded by the V8 heap flag plus RLIMIT_DATA, which
 * counts only writable private mappings (heap pages, ArrayBuffers).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readlinkSync, realpathSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { OutputCapture, resolveLimits, type RunResult, type Sandbox, type SandboxLimits } from './sandbox.ts';

/** Uid and gid of the sandboxed program (and of setpriv's outer identity when we are root). */
const NOBODY = 65534;
/** Extra RLIMIT_DATA beyond memoryMB: Node's own young generation, code space and buffers. */
const DATA_HEADROOM_MB = 128;
/** Size of the /tmp scratch tmpfs. */
const SCRATCH_BYTES = 16 * 1024 * 1024;
/** RLIMIT_FSIZE: the largest file the program may write. */
const MAX_FILE_BYTES = 8 * 1024 * 1024;
/** RLIMIT_NOFILE: open file descriptors (Node needs ~20). */
const MAX_OPEN_FILES = 64;

/** The host paths the sandbox command needs, found once by probeBwrap(). */
export interface BwrapSetup {
  bwrap: string; // path of bwrap
  prlimit: string; // path of prlimit (must be visible inside the sandbox)
  setpriv: string | null; // path of setpriv when running as root, else null
  node: string; // real path of the node binary
  mountArgs: string[]; // bwrap arguments that make /usr, /lib*, node and its libraries visible read-only
}

export type BwrapProbe = { ok: true; setup: BwrapSetup } | { ok: false; reason: string };

/** Where probeBwrap looks for its tools by default: $PATH, then the usual system directories. */
export function defaultSearchPath(): string[] {
  return [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/bin', '/usr/sbin', '/bin', '/sbin'];
}

/** Finds the tools in `searchPath` and makes one smoke run; ok only if node really runs as uid 65534 inside. */
export function probeBwrap(searchPath: readonly string[] = defaultSearchPath()): BwrapProbe {
  const which = (cmd: string) => searchPath.map((dir) => join(dir, cmd)).find((p) => existsSync(p)) ?? null;
  const bwrap = which('bwrap');
  if (!bwrap) return { ok: false, reason: 'bwrap not found (Debian package "bubblewrap")' };
  const prlimit = which('prlimit');
  if (!prlimit) return { ok: false, reason: 'prlimit not found (Debian package "util-linux")' };
  const root = process.getuid?.() === 0;
  const setpriv = root ? which('setpriv') : null;
  if (root && !setpriv) return { ok: false, reason: 'running as root but setpriv not found (needed to drop to uid 65534)' };
  const node = realpathSync(process.execPath);
  const setup: BwrapSetup = { bwrap, prlimit, setpriv, node, mountArgs: mountArgs([node, realpathSync(prlimit)]) };
  const argv = commandLine(setup, resolveLimits({ cpuSeconds: 5, wallSeconds: 10 }));
  const res = spawnSync(argv[0], argv.slice(1), { input: 'process.stdout.write(String(process.getuid()))', timeout: 10_000, encoding: 'utf8' });
  if (res.error) return { ok: false, reason: `bwrap smoke run failed to start: ${res.error.message}` };
  if (res.stdout !== String(NOBODY)) {
    const why = (res.stderr || `exit ${res.status}, stdout ${JSON.stringify(res.stdout)}`).trim().split('\n')[0];
    return { ok: false, reason: `bwrap smoke run failed: ${why.slice(0, 200)}` };
  }
  return { ok: true, setup };
}

export class BwrapSandbox implements Sandbox {
  readonly name = 'bwrap' as const;
  private running = 0;
  private waiting: (() => void)[] = [];

  /** maxConcurrent: how many sandboxes may run at once (default: the number of cores). */
  constructor(
    private readonly setup: BwrapSetup,
    private readonly maxConcurrent: number = availableParallelism(),
  ) {}

  async run(program: string, limits: Partial<SandboxLimits> = {}): Promise<RunResult> {
    const lim = resolveLimits(limits);
    if (this.running >= this.maxConcurrent) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      return await runOnce(commandLine(this.setup, lim), program, lim);
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}

/** The full argv: [setpriv ...] bwrap ... -- prlimit ... -- node ... - */
export function commandLine(s: BwrapSetup, lim: SandboxLimits): string[] {
  const dataBytes = (lim.memoryMB + DATA_HEADROOM_MB) * 1024 * 1024;
  const outer = s.setpriv ? [s.setpriv, `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--'] : [];
  return [
    ...outer,
    s.bwrap,
    '--unshare-all', '--unshare-user', '--disable-userns', '--die-with-parent', '--new-session',
    '--uid', String(NOBODY), '--gid', String(NOBODY),
    ...s.mountArgs,
    '--proc', '/proc', '--dev', '/dev',
    '--size', String(SCRATCH_BYTES), '--tmpfs', '/tmp', '--chdir', '/tmp',
    '--clearenv', '--setenv', 'PATH', '/usr/bin:/bin', '--setenv', 'HOME', '/tmp',
    '--',
    s.prlimit, `--cpu=${Math.ceil(lim.cpuSeconds)}:${Math.ceil(lim.cpuSeconds) + 1}`, `--data=${dataBytes}`, `--nproc=${lim.maxProcesses}`,
    `--fsize=${MAX_FILE_BYTES}`, `--nofile=${MAX_OPEN_FILES}`, '--core=0', '--',
    s.node, `--max-old-space-size=${Math.ceil(lim.memoryMB)}`, '-',
  ];
}

/** Read-only binds for /usr, the top-level /bin, /lib* links or dirs, and the directories of `binaries` and their shared libraries. */
function mountArgs(binaries: string[]): string[] {
  const args = ['--ro-bind', '/usr', '/usr'];
  const bound = ['/usr'];
  for (const top of ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32']) {
    if (!existsSync(top)) continue;
    const st = lstatSync(top);
    if (st.isSymbolicLink()) args.push('--symlink', readlinkSync(top), top);
    else if (st.isDirectory()) {
      args.push('--ro-bind', top, top);
      bound.push(top);
    }
  }
  const dirs = new Set<string>();
  for (const bin of binaries) {
    dirs.add(dirname(bin));
    for (const lib of sharedLibraries(bin)) dirs.add(dirname(realpathSync(lib)));
  }
  for (const dir of [...dirs].sort()) {
    if (bound.some((b) => dir === b || dir.startsWith(b + '/'))) continue;
    args.push('--ro-bind', dir, dir);
    bound.push(dir);
  }
  return args;
}

/** Absolute paths of the shared libraries `ldd` resolves for a binary ([] when ldd is unavailable or the binary is static). */
function sharedLibraries(bin: string): string[] {
  const res = spawnSync('ldd', [bin], { encoding: 'utf8', timeout: 5000 });
  if (res.status !== 0 || typeof res.stdout !== 'string') return [];
  const out: string[] = [];
  for (const m of res.stdout.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)) if (existsSync(m[1])) out.push(m[1]);
  return out;
}

/** Patterns on stderr that mean the program ran out of memory (V8 heap, RLIMIT_DATA in C++). */
const OOM_PATTERN = /heap out of memory|std::bad_alloc|Fatal process out of memory|Array buffer allocation failed/;

function runOnce(argv: string[], program: string, lim: SandboxLimits): Promise<RunResult> {
  return new Promise((resolve) => {
    const started = performance.now();
    const stdout = new OutputCapture(lim.outputBytes);
    const stderr = new OutputCapture(lim.outputBytes);
    let timedOut = false;
    let spawnError: Error | null = null;
    const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, lim.wallSeconds * 1000);
    child.stdout.on('data', (b: Buffer) => stdout.push(b));
    child.stderr.on('data', (b: Buffer) => stderr.push(b));
    child.stdin.on('error', () => {}); // EPIPE when the program exits before reading all of itself
    child.stdin.end(program);
    child.on('error', (e) => {
      spawnError = e;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const out = stdout.text();
      const err = stderr.text();
      const base = { exitCode: code, signal, stdout: out, stderr: err, truncated: stdout.truncated || stderr.truncated, wallMs: performance.now() - started };
      // bwrap reports a signal death of the program as exit 128 + signo.
      const sig = signal ?? (code !== null && code > 128 ? signalName(code - 128) : null);
      let status: RunResult['status'];
      if (spawnError) status = 'sandbox_error';
      else if (timedOut || sig === 'SIGXCPU' || sig === 'SIGKILL') status = 'timeout'; // RLIMIT_CPU: SIGXCPU at soft, SIGKILL at hard
      else if (OOM_PATTERN.test(err)) status = 'memory_limit';
      else if (code === 1 && /^bwrap: /.test(err)) status = 'sandbox_error';
      else if (sig && sig !== 'SIGTERM' && code !== 0) status = 'killed';
      else status = 'exited';
      resolve({ status, ...base, stderr: spawnError ? String(spawnError) : err });
    });
  });
}

const SIGNALS: Record<number, string> = { 4: 'SIGILL', 6: 'SIGABRT', 7: 'SIGBUS', 8: 'SIGFPE', 9: 'SIGKILL', 11: 'SIGSEGV', 13: 'SIGPIPE', 15: 'SIGTERM', 24: 'SIGXCPU', 25: 'SIGXFSZ' };

function signalName(n: number): string | null {
  return SIGNALS[n] ?? null;
}
