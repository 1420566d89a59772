/**
 * Where exported rows go: JSONL (one JSON object a line) to a stream or a
 * file, or Parquet to a file. Both write rows as they come, so an export
 * never holds the whole store in memory: JSONL in chunks of ~64 KB, Parquet
 * one row group (ROW_GROUP rows) at a time.
 *
 * A file is written under a temporary name beside its destination and
 * renamed into place when complete: an interrupted or failed export leaves
 * the old file (or none), never half a file.
 *
 * Parquet columns have real types (see Column): strings are UTF8 byte
 * arrays, numbers DOUBLE, INT32 or INT64, flags BOOLEAN; chat messages are a
 * nested LIST of STRUCT(role, content), which DuckDB reads as
 * STRUCT(role VARCHAR, content VARCHAR)[] and pandas/pyarrow as a list of
 * dicts (the shape TRL's conversational datasets expect).
 */
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { ParquetWriter, fileWriter, type SchemaElement } from 'hyparquet-writer';
import { UserError } from '../util/errors.ts';

export type ColumnType = 'string' | 'double' | 'int32' | 'int64' | 'bool' | 'messages';

/** One exported column: its name (the JSONL key), its Parquet type, and whether it may be null. */
export interface Column {
  name: string;
  type: ColumnType;
  nullable?: boolean;
}

/** A row: values keyed by column name (int64 values as JS numbers; converted for Parquet). */
export type Row = Record<string, unknown>;

export interface RowSink {
  write(row: Row): Promise<void> | void;
  /** Writes what is buffered and puts the file in place. */
  close(): Promise<void>;
  /** Drops the partial output (the temporary file); the destination is left as it was. */
  abort(): void;
}

/** Rows per Parquet row group: bounded memory, and large enough for good compression. */
export const ROW_GROUP = 10_000;
const JSONL_CHUNK = 1 << 16;

/** The temporary name a file is written under before it is renamed to `file`. */
export function partialName(file: string): string {
  return join(dirname(file), `.${basename(file)}.partial-${process.pid}`);
}

// ---------------------------------------------------------------- JSONL

/** JSONL to a stream (stdout), with backpressure; the stream is not ended. */
export function jsonlStream(stream: Writable): RowSink {
  let failure: Error | null = null;
  stream.on('error', (err) => (failure ??= err));
  return chunked(async (chunk) => {
    if (failure) throw failure;
    if (!stream.write(chunk)) await drained(stream);
    if (failure) throw failure;
  }, () => {}, () => {});
}

/** JSONL to a file, written (synchronously) as a temporary file and renamed in on close. */
export function jsonlFile(file: string): RowSink {
  const tmp = partialName(file);
  let fd: number | null = openSync(tmp, 'w');
  const shut = (): void => {
    if (fd !== null) closeSync(fd);
    fd = null;
  };
  return chunked((chunk) => void writeSync(fd!, chunk), () => (shut(), renameSync(tmp, file)), () => (shut(), rmSync(tmp, { force: true })));
}

/** Joins lines into ~64 KB chunks for `put`; `done` after the last chunk, `drop` on abort. */
function chunked(put: (chunk: string) => Promise<void> | void, done: () => void, drop: () => void): RowSink {
  let buf: string[] = [];
  let size = 0;
  const flush = async (): Promise<void> => {
    if (buf.length === 0) return;
    const chunk = buf.join('');
    buf = [];
    size = 0;
    await put(chunk);
  };
  return {
    async write(row) {
      const line = JSON.stringify(row) + '\n';
      buf.push(line);
      size += line.length;
      if (size >= JSONL_CHUNK) await flush();
    },
    async close() {
      await flush();
      done();
    },
    abort() {
      buf = [];
      drop();
    },
  };
}

function drained(stream: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      stream.off('drain', ok);
      stream.off('error', done);
      stream.off('close', ok);
      if (err) reject(err);
      else resolve();
    };
    const ok = (): void => done();
    stream.once('drain', ok);
    stream.once('error', done);
    stream.once('close', ok);
  });
}

// ---------------------------------------------------------------- Parquet

/** Parquet to a file: one row group per ROW_GROUP rows; `meta` goes into the file's key-value metadata. */
export function parquetFile(file: string, columns: readonly Column[], meta: Record<string, string> = {}, rowGroup = ROW_GROUP): RowSink {
  return new ParquetSink(file, columns, meta, rowGroup);
}

class ParquetSink implements RowSink {
  private readonly tmp: string;
  private readonly writer: ParquetWriter;
  private data: unknown[][];
  private n = 0;

  constructor(private readonly file: string, private readonly columns: readonly Column[], meta: Record<string, string>, private readonly rowGroup: number) {
    this.tmp = partialName(file);
    this.writer = new ParquetWriter({
      writer: fileWriter(this.tmp),
      schema: parquetSchema(columns),
      kvMetadata: Object.entries(meta).map(([key, value]) => ({ key, value })),
      createdBy: 'flywheel export (hyparquet-writer)',
    });
    this.data = columns.map(() => []);
  }

  write(row: Row): void {
    this.columns.forEach((c, j) => this.data[j].push(toParquet(c, row[c.name])));
    if (++this.n >= this.rowGroup) this.flush();
  }

  private flush(): void {
    if (this.n === 0) return;
    const columnData = this.columns.map((c, j) => ({ name: c.name, data: this.data[j] }));
    void this.writer.write({ columnData, rowGroupSize: this.n }); // fileWriter is synchronous: no promise to await
    this.data = this.columns.map(() => []);
    this.n = 0;
  }

  async close(): Promise<void> {
    this.flush();
    await this.writer.finish();
    renameSync(this.tmp, this.file);
  }

  abort(): void {
    rmSync(this.tmp, { force: true });
  }
}

function toParquet(c: Column, v: unknown): unknown {
  if (v === null || v === undefined) {
    if (!c.nullable) throw new Error(`column ${c.name} is not nullable but a row has no value`); // a bug in a row builder, not a user mistake
    return null;
  }
  return c.type === 'int64' ? BigInt(v as number) : v;
}

/** The Parquet schema of the columns (a flat root; messages as a 3-level LIST of STRUCT). */
export function parquetSchema(columns: readonly Column[]): SchemaElement[] {
  const out: SchemaElement[] = [{ name: 'root', num_children: columns.length }];
  for (const c of columns) {
    const repetition_type = c.nullable ? 'OPTIONAL' : 'REQUIRED';
    if (c.type === 'messages') {
      out.push(
        { name: c.name, repetition_type, converted_type: 'LIST', num_children: 1 },
        { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
        { name: 'element', repetition_type: 'REQUIRED', num_children: 2 },
        { name: 'role', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
        { name: 'content', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
      );
    } else out.push({ name: c.name, repetition_type, ...PRIMITIVE[c.type] });
  }
  return out;
}

const PRIMITIVE: Record<Exclude<ColumnType, 'messages'>, Pick<SchemaElement, 'type' | 'converted_type'>> = {
  string: { type: 'BYTE_ARRAY', converted_type: 'UTF8' },
  double: { type: 'DOUBLE' },
  int32: { type: 'INT32' },
  int64: { type: 'INT64' },
  bool: { type: 'BOOLEAN' },
};

/**
 * An output file the export may write: a new file, or with force an existing
 * regular file. Anything else (a directory, a device such as /dev/null, a
 * FIFO, a symlink) is refused: the file is renamed into place, which would
 * replace it rather than write through it.
 */
export function checkOutput(file: string, force: boolean, kind: (f: string) => 'file' | 'dir' | 'other' | null): void {
  const what = kind(file);
  if (what === 'dir') throw new UserError(`${file} is a directory; --out takes a file name`);
  if (what === 'other') throw new UserError(`${file} is not a regular file (a device, FIFO or symlink); --out writes a new file and renames it into place (for JSONL on stdout leave out --out)`);
  if (what === 'file' && !force) throw new UserError(`${file} already exists; pass --force to replace it, or choose another --out`);
  if (kind(dirname(file)) !== 'dir') throw new UserError(`${dirname(file)}: no such directory (for --out ${file})`);
}
