/**
 * Writing a JSONL file (one JSON object a line) to a path a user named,
 * without ever losing data or clobbering what is there:
 *
 *   new path            written to '<path>.tmp-<pid>' and renamed into place on
 *                       close, so a reader never sees half a file and an
 *                       interrupted write leaves nothing behind
 *   existing file       refused unless `force`; with force, replaced the same
 *                       atomic way (through a symlink: its target is replaced,
 *                       the link stays)
 *   special file        /dev/stdout (written to descriptor 1 itself, whatever
 *                       stdout is), a FIFO, a character device: written
 *                       through as it is, never renamed over
 *   directory           refused, with a message that says so
 *
 * Writes are asynchronous (a FIFO without a reader must not block the event
 * loop: Ctrl-C still works) and buffered into 64 KiB chunks. File system
 * errors become UserErrors naming the path and what went wrong.
 *
 *   const w = await JsonlWriter.open('data/demos.jsonl', { force: false, flag: '--out' });
 *   try { for (const row of rows) await w.write(row); await w.close(); } catch (e) { await w.abort(); throw e; }
 */
import { lstatSync, realpathSync, rmSync, statSync, write as fsWrite, type Stats } from 'node:fs';
import { open, rm, rename, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { UserError } from '../util/errors.ts';

export interface JsonlOptions {
  force?: boolean; // replace an existing regular file
  flag?: string; // how the user named the path, for messages (e.g. '--out'); default 'output'
}

const CHUNK = 1 << 16;

export class JsonlWriter {
  private buffer = '';
  private closed = false;
  /** Lines written so far. */
  lines = 0;

  private constructor(
    readonly path: string, // as the user gave it
    private readonly handle: Sink,
    private readonly tmp: string | null, // renamed to `target` on close; null when writing through
    private readonly target: string,
    private readonly label: string,
  ) {
    // A second Ctrl-C exits at once (src/cli/signals.ts): still leave no temporary file behind.
    if (tmp) process.once('exit', this.cleanup);
  }

  private readonly cleanup = (): void => {
    if (this.tmp) rmSync(this.tmp, { force: true });
  };

  static async open(path: string, opts: JsonlOptions = {}): Promise<JsonlWriter> {
    const label = `${opts.flag ?? 'output'} ${path}`;
    const abs = resolve(path);
    const st = statOrNull(abs);
    const fd = stdFd(abs);
    if (fd !== null && st) return new JsonlWriter(path, fdSink(fd), null, abs, label); // our own stdout, even when it is a file: write to the fd itself
    if (st?.isDirectory()) throw new UserError(`${label} is a directory; give a file path (for example ${path.replace(/\/+$/, '')}/demos.jsonl)`);
    if (st && !st.isFile()) return new JsonlWriter(path, await openOrExplain(abs, label, 'a'), null, abs, label); // device, FIFO, socket: write through
    if (st === null && isSymlink(abs)) return new JsonlWriter(path, await openOrExplain(abs, label), null, abs, label); // dangling link: create its target
    if (st && !opts.force) throw new UserError(`${label} already exists; pass --force to overwrite it, or choose another path`);
    const target = st ? realpathSync(abs) : abs;
    const dir = dirname(target);
    const dst = statOrNull(dir);
    if (dst === null) throw new UserError(`${label}: directory ${dir} does not exist`);
    if (!dst.isDirectory()) throw new UserError(`${label}: ${dir} is not a directory`);
    const tmp = `${target}.tmp-${process.pid}`;
    return new JsonlWriter(path, await openOrExplain(tmp, label), tmp, target, label);
  }

  /** Appends one row as a line. */
  async write(row: unknown): Promise<void> {
    this.buffer += `${JSON.stringify(row)}\n`;
    this.lines++;
    if (this.buffer.length >= CHUNK) await this.flush();
  }

  /** Flushes, closes and (for a regular file) renames into place. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    await this.handle.close();
    if (this.tmp) {
      process.off('exit', this.cleanup);
      try {
        await rename(this.tmp, this.target);
      } catch (err) {
        await rm(this.tmp, { force: true });
        throw explain(err, this.label);
      }
    }
  }

  /** Closes and removes the temporary file; a special file is left as it is. Safe to call after close(). */
  async abort(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      await this.handle.close().catch(() => undefined);
    }
    if (this.tmp) {
      process.off('exit', this.cleanup);
      await rm(this.tmp, { force: true });
    }
  }

  private async flush(): Promise<void> {
    if (this.buffer === '') return;
    const chunk = this.buffer;
    this.buffer = '';
    try {
      await this.handle.write(chunk);
    } catch (err) {
      throw explain(err, this.label);
    }
  }
}

function statOrNull(p: string): Stats | null {
  try {
    return statSync(p);
  } catch {
    return null;
  }
}

function isSymlink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** The descriptor a path names when it is one of this process's open streams (/dev/stdout, /dev/fd/N, /proc/self/fd/N), else null. */
function stdFd(p: string): number | null {
  const m = p.match(/^\/(?:dev\/(stdout|stderr|fd\/(\d+))|proc\/self\/fd\/(\d+))$/);
  if (!m) return null;
  return m[1] === 'stdout' ? 1 : m[1] === 'stderr' ? 2 : Number(m[2] ?? m[3]);
}

/** Writes to an already open descriptor (shared offset with whoever else writes to it); close leaves it open. */
function fdSink(fd: number): Sink {
  return {
    async write(chunk) {
      let buf = Buffer.from(chunk);
      while (buf.length > 0) {
        const n = await new Promise<number>((ok, ko) => fsWrite(fd, buf, (err, written) => (err ? ko(err) : ok(written))));
        buf = buf.subarray(n);
      }
    },
    async close() {},
  };
}

/** Where the bytes go: a file handle, or an inherited descriptor. */
interface Sink {
  write(chunk: string): Promise<unknown>;
  close(): Promise<void>;
}

async function openOrExplain(p: string, label: string, flags: 'w' | 'a' = 'w'): Promise<FileHandle> {
  try {
    return await open(p, flags);
  } catch (err) {
    throw explain(err, label);
  }
}

const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EISDIR: 'is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  ENOENT: 'no such file or directory',
  EPIPE: 'the reader closed the pipe',
  EFBIG: 'file too large',
};

/** A file system error as a UserError naming the path; anything else unchanged. */
function explain(err: unknown, label: string): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (typeof code === 'string' && code in REASONS) return new UserError(`cannot write ${label}: ${REASONS[code]} (${code})`);
  return err;
}
