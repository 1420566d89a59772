/**
 * The safetensors file format (https://github.com/huggingface/safetensors),
 * written and read byte for byte as the reference implementation does, so a
 * file made here loads in Python's `safetensors`, PyTorch and numpy.
 *
 * Layout:
 *   [0, 8)        N: the header length, an unsigned 64-bit little-endian integer
 *   [8, 8 + N)    the header: UTF-8 JSON, padded with spaces so 8 + N is a multiple of 8
 *                 { "__metadata__": { "k": "v", ... },          (optional, string values only)
 *                   "<name>": { "dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end] }, ... }
 *   [8 + N, EOF)  the data: each tensor's elements row-major, little-endian, at
 *                 [begin, end) relative to the start of the data section.
 *
 * We write tensors sorted by name, packed back to back with no gaps. We read
 * any order, reject overlaps and sizes that disagree with shape x dtype, and
 * name the file, the tensor and the problem in a UserError. Data is always
 * copied into fresh, aligned typed arrays, byte for byte (NaN payloads, -0 and
 * denormals survive).
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { UserError } from '../util/errors.ts';

export type Dtype = 'F32' | 'I32' | 'I64' | 'U8';
export type TensorData = Float32Array | Int32Array | BigInt64Array | Uint8Array;

export interface SafeTensor {
  dtype: Dtype;
  shape: number[];
  data: TensorData;
}

export interface SafetensorsFile {
  tensors: Map<string, SafeTensor>;
  metadata: Record<string, string>;
}

/** Bytes per element, and the typed array that holds each dtype. */
const DTYPES = {
  F32: { size: 4, make: (n: number) => new Float32Array(n) },
  I32: { size: 4, make: (n: number) => new Int32Array(n) },
  I64: { size: 8, make: (n: number) => new BigInt64Array(n) },
  U8: { size: 1, make: (n: number) => new Uint8Array(n) },
} satisfies Record<Dtype, { size: number; make: (n: number) => TensorData }>;

/** The reference implementation refuses headers above 100 MB; so do we. */
const MAX_HEADER = 100_000_000;
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

// ---------------------------------------------------------------- writing

/** Encodes tensors (and optional string metadata) as a safetensors file in memory. */
export function serializeSafetensors(tensors: Map<string, SafeTensor>, metadata?: Record<string, string>): Uint8Array {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new TypeError(`safetensors metadata "${k}" must be a string, got ${typeof v}`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    checkTensor(name, t);
    const nbytes = t.data.byteLength;
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + nbytes] };
    offset += nbytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLen = Math.ceil(json.length / 8) * 8; // 8 + headerLen stays a multiple of 8
  const out = new Uint8Array(8 + headerLen + offset); // (8 + N + data bytes)
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLen), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLen); // space padding
  let pos = 8 + headerLen;
  for (const name of names) {
    const data = tensors.get(name)!.data;
    out.set(toLittleEndianBytes(data), pos);
    pos += data.byteLength;
  }
  return out;
}

/** Writes a safetensors file atomically: a temp file beside it, fsync, rename. */
export function writeSafetensors(path: string, tensors: Map<string, SafeTensor>, metadata?: Record<string, string>): void {
  writeFileAtomic(path, serializeSafetensors(tensors, metadata));
}

/**
 * Writes `path + '.tmp-<pid>'`, fsyncs it, and renames it over `path`, so a
 * reader sees either the old file or the whole new one, never half of one.
 */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSynced(tmp, bytes);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Writes a whole file and fsyncs it before returning. */
export function writeFileSynced(path: string, bytes: Uint8Array): void {
  const fd = openSync(path, 'w');
  try {
    let done = 0;
    while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Programmer errors in what the caller asked us to write. */
function checkTensor(name: string, t: SafeTensor): void {
  if (name === '' || name === '__metadata__') throw new Error(`safetensors: invalid tensor name "${name}"`);
  const spec = DTYPES[t.dtype];
  if (spec === undefined) throw new Error(`safetensors: tensor "${name}" has unknown dtype ${String(t.dtype)}`);
  if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new Error(`safetensors: tensor "${name}" has invalid shape ${JSON.stringify(t.shape)}`);
  }
  const expectedType = spec.make(0).constructor;
  if (t.data?.constructor !== expectedType) {
    throw new Error(`safetensors: tensor "${name}" has dtype ${t.dtype} but data is ${t.data?.constructor?.name}, expected ${expectedType.name}`);
  }
  const n = numel(t.shape);
  if (t.data.length !== n) {
    throw new Error(`safetensors: tensor "${name}" has shape [${t.shape.join(', ')}] (${n} elements) but ${t.data.length} data elements`);
  }
}

// ---------------------------------------------------------------- reading

/** Reads and validates a safetensors file. Any defect is a UserError naming the file. */
export function readSafetensors(path: string): SafetensorsFile {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(`${path}: cannot read safetensors file (${code ?? (err as Error).message})`);
  }
  return parseSafetensors(buf, path);
}

/** Parses a safetensors file held in memory; `name` labels errors (usually the path). */
export function parseSafetensors(bytes: Uint8Array, name: string): SafetensorsFile {
  const fail = (problem: string): never => {
    throw new UserError(`${name}: ${problem}`);
  };
  if (bytes.length < 8) fail(`file too short for a safetensors header (${bytes.length} bytes, need at least 8)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(bytes.length - 8)) fail(`header length ${n} runs past the end of the file (${bytes.length} bytes); truncated or not a safetensors file`);
  if (n > BigInt(MAX_HEADER)) fail(`header length ${n} exceeds the ${MAX_HEADER}-byte limit`);
  const headerLen = Number(n);

  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch (err) {
    fail(`header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');

  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: { name: string; dtype: Dtype; shape: number[]; begin: number; end: number }[] = [];
  for (const [key, value] of Object.entries(header as Record<string, unknown>)) {
    if (key === '__metadata__') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('"__metadata__" is not an object');
      for (const [mk, mv] of Object.entries(value as Record<string, unknown>)) {
        if (typeof mv !== 'string') fail(`"__metadata__" value "${mk}" is not a string`);
        metadata[mk] = mv as string;
      }
      continue;
    }
    const at = `tensor "${key}"`;
    if (typeof value !== 'object' || value === null) fail(`${at}: entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
    if (typeof dtype !== 'string' || !(dtype in DTYPES)) fail(`${at}: unsupported dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(DTYPES).join(', ')})`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`${at}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
      fail(`${at}: data_offsets ${JSON.stringify(offsets)} is not [begin, end] with 0 <= begin <= end`);
    }
    const [begin, end] = offsets as number[];
    if (end > dataLen) fail(`${at}: data_offsets [${begin}, ${end}] run past the end of the data (${dataLen} bytes); truncated file?`);
    const expected = numel(shape as number[]) * DTYPES[dtype as Dtype].size;
    if (end - begin !== expected) fail(`${at}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes but ${dtype} [${(shape as number[]).join(', ')}] needs ${expected}`);
    entries.push({ name: key, dtype: dtype as Dtype, shape: shape as number[], begin, end });
  }

  const byOffset = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < byOffset.length; i++) {
    const prev = byOffset[i - 1];
    const cur = byOffset[i];
    if (cur.begin < prev.end) fail(`tensor "${cur.name}" data [${cur.begin}, ${cur.end}] overlaps tensor "${prev.name}" [${prev.begin}, ${prev.end}]`);
  }

  const tensors = new Map<string, SafeTensor>();
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const spec = DTYPES[e.dtype];
    const data = spec.make((e.end - e.begin) / spec.size);
    const raw = new Uint8Array(data.buffer, 0, data.byteLength);
    raw.set(bytes.subarray(dataStart + e.begin, dataStart + e.end));
    if (!LITTLE_ENDIAN_HOST) swapBytes(raw, spec.size);
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data });
  }
  return { tensors, metadata };
}

// ---------------------------------------------------------------- helpers

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** A little-endian byte view of a typed array (a copy only on big-endian hosts). */
function toLittleEndianBytes(data: TensorData): Uint8Array {
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (LITTLE_ENDIAN_HOST) return raw;
  const copy = raw.slice();
  swapBytes(copy, data.BYTES_PER_ELEMENT);
  return copy;
}

function swapBytes(raw: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i < raw.length; i += size) raw.subarray(i, i + size).reverse();
}
