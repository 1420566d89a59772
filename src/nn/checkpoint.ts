/**
 * Checkpoints: one directory holding everything needed to resume a run
 * exactly, in formats other tools read (see docs/checkpoints.md).
 *
 *   <dir>/model.safetensors      parameters, F32, names chosen by the caller
 *   <dir>/config.json            model + training config (caller's object)
 *   <dir>/tokenizer.json         the tokenizer's toJSON() (absent for models without one, e.g. game networks)
 *   <dir>/optimizer.safetensors  AdamW moments 'm.<param>' and 'v.<param>' (absent when optimizer is null)
 *   <dir>/rng.json               RngState(s) of src/util/rng.ts (caller's object)
 *   <dir>/state.json             step, tokens seen, data cursor, optimizer step, ... (caller's object)
 *   <dir>/extra.safetensors      any other tensors a run must restore (a replay buffer, a frozen reference model)
 *   <dir>/checkpoint.json        manifest, written last: format version and each file's byte size
 *
 * Only model.safetensors and config.json are required: an inference
 * checkpoint (weights, config, tokenizer) loads for sampling; a training run
 * adds the optimizer, rng and state it needs to resume exactly.
 *
 * Saving is atomic. The whole directory is built as `<dir>.tmp-<pid>-<n>`
 * (every file fsynced, the manifest last), then swapped in:
 *   rename <dir> -> <dir>.old-<pid>-<n>;  rename tmp -> <dir>;  remove old.
 * Crash windows, and what loading does about them:
 *   1. while building tmp: <dir> is untouched; tmp has no manifest and is ignored.
 *   2. between the two renames: <dir> is missing; loading falls back to the
 *      newest complete sibling (a tmp with a manifest first, else an old).
 *   3. after the swap, before old is removed: <dir> is complete; old is ignored.
 * A successful save removes leftovers of earlier crashes (`<dir>.tmp-*`,
 * `<dir>.old-*`), so one checkpoint directory must have one writer at a time.
 * Loading never modifies anything on disk.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../util/errors.ts';
import { makeDirs } from '../util/fs.ts';
import { numel, parseSafetensors, serializeSafetensors, writeFileSynced, type SafeTensor } from './safetensors.ts';

export interface Checkpoint {
  params: Map<string, { shape: number[]; data: Float32Array }>;
  optimizer: { m: Map<string, Float32Array>; v: Map<string, Float32Array> } | null;
  config: object;
  tokenizer?: object;
  rng?: object;
  state?: object;
  extra?: Map<string, SafeTensor>;
}

export const FILES = {
  model: 'model.safetensors',
  optimizer: 'optimizer.safetensors',
  config: 'config.json',
  tokenizer: 'tokenizer.json',
  rng: 'rng.json',
  state: 'state.json',
  extra: 'extra.safetensors',
  manifest: 'checkpoint.json',
} as const;

const FORMAT = 'flywheel-checkpoint';
const VERSION = 1;
const JSON_FILES = ['config', 'tokenizer', 'rng', 'state'] as const;
const OPTIONAL_JSON: ReadonlySet<string> = new Set(['tokenizer', 'rng', 'state']);

interface Manifest {
  format: typeof FORMAT;
  version: number;
  files: Record<string, number>; // file name -> size in bytes
}

let saves = 0; // makes temp names unique within a process

// ---------------------------------------------------------------- saving

/** Writes `ck` to the directory `dir`, atomically replacing any checkpoint there. */
export function saveCheckpoint(dir: string, ck: Checkpoint): void {
  checkCheckpoint(ck);
  dir = trimSlashes(dir);
  const n = saves++;
  const tmp = `${dir}.tmp-${process.pid}-${n}`;
  try {
    makeDirs(dirname(dir));
    mkdirSync(tmp);
    writeDirectory(tmp, ck);
    swapIn(tmp, dir, `${dir}.old-${process.pid}-${n}`);
  } catch (err) {
    removeQuietly(tmp);
    throw asUserError(err, dir);
  }
  removeLeftovers(dir);
}

function writeDirectory(tmp: string, ck: Checkpoint): void {
  const files: Record<string, number> = {};
  const modelTensors = new Map<string, SafeTensor>();
  for (const [name, p] of ck.params) modelTensors.set(name, { dtype: 'F32', shape: p.shape, data: p.data });
  files[FILES.model] = writeBytes(join(tmp, FILES.model), serializeSafetensors(modelTensors, { format: 'pt' }));

  if (ck.optimizer !== null) {
    const moments = new Map<string, SafeTensor>();
    for (const [name, p] of ck.params) {
      moments.set(`m.${name}`, { dtype: 'F32', shape: p.shape, data: ck.optimizer.m.get(name)! });
      moments.set(`v.${name}`, { dtype: 'F32', shape: p.shape, data: ck.optimizer.v.get(name)! });
    }
    files[FILES.optimizer] = writeBytes(join(tmp, FILES.optimizer), serializeSafetensors(moments));
  }

  if (ck.extra !== undefined) files[FILES.extra] = writeBytes(join(tmp, FILES.extra), serializeSafetensors(ck.extra));
  for (const key of JSON_FILES) {
    if (ck[key] !== undefined) files[FILES[key]] = writeBytes(join(tmp, FILES[key]), jsonBytes(ck[key]));
  }
  const manifest: Manifest = { format: FORMAT, version: VERSION, files };
  writeBytes(join(tmp, FILES.manifest), jsonBytes(manifest)); // last: its presence marks the directory complete
  fsyncPath(tmp);
}

/** Writes and fsyncs a file; returns its size for the manifest. */
function writeBytes(path: string, bytes: Uint8Array): number {
  writeFileSynced(path, bytes);
  return bytes.length;
}

function jsonBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value, null, 2) + '\n');
}

function swapIn(tmp: string, dir: string, old: string): void {
  if (!existsSync(dir)) {
    renameSync(tmp, dir);
    fsyncPath(dirname(dir));
    return;
  }
  renameSync(dir, old);
  try {
    renameSync(tmp, dir);
  } catch (err) {
    renameSync(old, dir); // put the previous checkpoint back
    throw err;
  }
  fsyncPath(dirname(dir));
  removeQuietly(old); // the new checkpoint is in place; a leftover old one is removed by the next save
}

/** Removes `<dir>.tmp-<pid>-<n>` and `<dir>.old-<pid>-<n>` left by earlier crashes. */
function removeLeftovers(dir: string): void {
  for (const name of siblings(dir)) removeQuietly(join(dirname(dir), name));
}

/** Best-effort cleanup that never hides the error being reported. */
function removeQuietly(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch {
    // nothing was created there, or it is not ours to report
  }
}

function siblings(dir: string): string[] {
  const base = basename(dir);
  const re = new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(tmp|old)-\\d+-\\d+$`);
  let names: string[];
  try {
    names = readdirSync(dirname(dir));
  } catch {
    return [];
  }
  return names.filter((name) => re.test(name));
}

/** Programmer errors in the checkpoint the caller asked us to save. */
function checkCheckpoint(ck: Checkpoint): void {
  for (const key of JSON_FILES) {
    if (ck[key] === undefined && OPTIONAL_JSON.has(key)) continue;
    if (typeof ck[key] !== 'object' || ck[key] === null) throw new Error(`saveCheckpoint: ${key} must be an object, got ${String(ck[key])}`);
  }
  for (const [name, p] of ck.params) {
    if (!(p.data instanceof Float32Array) || p.data.length !== numel(p.shape)) {
      throw new Error(`saveCheckpoint: param "${name}" has shape [${p.shape.join(', ')}] but ${p.data?.length} elements`);
    }
    if (ck.optimizer === null) continue;
    for (const key of ['m', 'v'] as const) {
      const moment = ck.optimizer[key].get(name);
      if (!(moment instanceof Float32Array) || moment.length !== p.data.length) {
        throw new Error(`saveCheckpoint: optimizer ${key} for "${name}" has ${moment?.length} elements, param has ${p.data.length}`);
      }
    }
  }
  if (ck.optimizer !== null) {
    for (const key of ['m', 'v'] as const) {
      for (const name of ck.optimizer[key].keys()) {
        if (!ck.params.has(name)) throw new Error(`saveCheckpoint: optimizer ${key} has "${name}", which is not a param`);
      }
    }
  }
}

// ---------------------------------------------------------------- loading

/**
 * The directory a load of `dir` reads: `dir` itself if it exists, else the
 * newest complete leftover of an interrupted save (crash window 2 above).
 */
export function resolveCheckpointDir(dir: string): string {
  dir = trimSlashes(dir);
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new UserError(`${dir}: not a directory (a checkpoint is a directory)`);
    return dir;
  }
  const complete = siblings(dir)
    .map((name) => join(dirname(dir), name))
    .filter((path) => existsSync(join(path, FILES.manifest)))
    .map((path) => ({ path, tmp: basename(path).includes('.tmp-') ? 1 : 0, time: statSync(join(path, FILES.manifest)).mtimeMs }))
    .sort((a, b) => b.tmp - a.tmp || b.time - a.time);
  if (complete.length === 0) throw new UserError(`${dir}: checkpoint directory does not exist`);
  return complete[0].path;
}

/** Reads and validates a checkpoint directory; every defect is a UserError naming the file. */
export function loadCheckpoint(dir: string): Checkpoint {
  const root = resolveCheckpointDir(dir);
  const manifest = readManifest(root);
  const read = (file: string): Buffer => {
    const path = join(root, file);
    if (!(file in manifest.files)) throw new UserError(`${join(root, FILES.manifest)}: does not list ${file}`);
    if (!existsSync(path)) throw new UserError(`${path}: missing from the checkpoint`);
    const bytes = readFileSync(path);
    const want = manifest.files[file];
    if (bytes.length !== want) {
      const hint = file.endsWith('.json') ? `; if you edited it on purpose, set its size in ${FILES.manifest} to ${bytes.length}` : '';
      throw new UserError(`${path}: size mismatch: ${bytes.length} bytes, but ${FILES.manifest} records ${want} (changed or truncated after the checkpoint was saved${hint})`);
    }
    return bytes;
  };

  const params = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, t] of parseSafetensors(read(FILES.model), join(root, FILES.model)).tensors) {
    if (t.dtype !== 'F32') throw new UserError(`${join(root, FILES.model)}: tensor "${name}" is ${t.dtype}, expected F32`);
    params.set(name, { shape: t.shape, data: t.data as Float32Array });
  }

  let optimizer: Checkpoint['optimizer'] = null;
  if (FILES.optimizer in manifest.files) {
    optimizer = readMoments(read(FILES.optimizer), join(root, FILES.optimizer), params);
  }

  const ck: Checkpoint = { params, optimizer, config: parseJsonObject(read(FILES.config), join(root, FILES.config)) };
  for (const key of ['tokenizer', 'rng', 'state'] as const) {
    if (FILES[key] in manifest.files) ck[key] = parseJsonObject(read(FILES[key]), join(root, FILES[key]));
  }
  if (FILES.extra in manifest.files) ck.extra = parseSafetensors(read(FILES.extra), join(root, FILES.extra)).tensors;
  return ck;
}

function readManifest(root: string): Manifest {
  const path = join(root, FILES.manifest);
  if (!existsSync(path)) throw new UserError(`${path}: missing; ${root} is not a complete flywheel checkpoint`);
  const m = parseJsonObject(readFileSync(path), path) as Partial<Manifest>;
  if (m.format !== FORMAT) throw new UserError(`${path}: format is ${JSON.stringify(m.format)}, expected "${FORMAT}"`);
  if (m.version !== VERSION) throw new UserError(`${path}: version ${JSON.stringify(m.version)} is not supported (this flywheel reads ${VERSION})`);
  const files = m.files;
  if (typeof files !== 'object' || files === null || !Object.values(files).every((s) => Number.isSafeInteger(s) && s >= 0)) {
    throw new UserError(`${path}: "files" must map file names to byte sizes`);
  }
  for (const key of ['model', 'config'] as const) {
    if (!(FILES[key] in files)) throw new UserError(`${path}: does not list required file ${FILES[key]}`);
  }
  return m as Manifest;
}

/** AdamW moments: exactly 'm.<p>' and 'v.<p>' for every param p, F32, same shape. */
function readMoments(bytes: Uint8Array, path: string, params: Checkpoint['params']): NonNullable<Checkpoint['optimizer']> {
  const { tensors } = parseSafetensors(bytes, path);
  const out = { m: new Map<string, Float32Array>(), v: new Map<string, Float32Array>() };
  for (const [name, p] of params) {
    for (const key of ['m', 'v'] as const) {
      const t = tensors.get(`${key}.${name}`);
      if (t === undefined) throw new UserError(`${path}: missing tensor "${key}.${name}" for parameter "${name}"`);
      if (t.dtype !== 'F32') throw new UserError(`${path}: tensor "${key}.${name}" is ${t.dtype}, expected F32`);
      if (!sameShape(t.shape, p.shape)) {
        throw new UserError(`${path}: tensor "${key}.${name}" has shape [${t.shape.join(', ')}] but parameter "${name}" has [${p.shape.join(', ')}]`);
      }
      out[key].set(name, t.data as Float32Array);
    }
  }
  for (const name of tensors.keys()) {
    const param = name.replace(/^[mv]\./, '');
    if (param === name || !params.has(param)) throw new UserError(`${path}: unexpected tensor "${name}" (no parameter "${param}" in ${FILES.model})`);
  }
  return out;
}

function parseJsonObject(bytes: Uint8Array, path: string): object {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    throw new UserError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  if (typeof value !== 'object' || value === null) throw new UserError(`${path}: expected a JSON object, got ${JSON.stringify(value)}`);
  return value;
}

// ---------------------------------------------------------------- checking

/**
 * Throws a UserError listing every tensor that is missing, unexpected, or
 * wrong-shaped compared to `expected` (name -> shape), so loading a
 * checkpoint made for a different model config fails clearly.
 */
export function validateAgainst(ck: Checkpoint, expected: Map<string, number[]>, where = 'checkpoint'): void {
  const problems: string[] = [];
  for (const [name, shape] of expected) {
    const p = ck.params.get(name);
    if (p === undefined) problems.push(`missing "${name}" [${shape.join(', ')}]`);
    else if (!sameShape(p.shape, shape)) problems.push(`"${name}" has shape [${p.shape.join(', ')}], the model expects [${shape.join(', ')}]`);
  }
  for (const name of ck.params.keys()) if (!expected.has(name)) problems.push(`unexpected "${name}"`);
  if (problems.length === 0) return;
  const shown = problems.slice(0, 10).join('; ') + (problems.length > 10 ? `; and ${problems.length - 10} more` : '');
  throw new UserError(`${where}: does not match the model (${problems.length} problem${problems.length > 1 ? 's' : ''}): ${shown}`);
}

/** 'runs/x/ck/' -> 'runs/x/ck', so sibling names land beside the directory, not inside it. */
function trimSlashes(dir: string): string {
  return dir.replace(/(?<=.)[\\/]+$/, '');
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** fsync a directory so renames and new entries in it are durable (best effort off Linux). */
function fsyncPath(path: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    fsyncSync(fd);
  } catch {
    // some platforms cannot fsync a directory; the rename is still atomic
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** File system failures (permissions, disk full) are the user's to fix; others are bugs. */
function asUserError(err: unknown, dir: string): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return new UserError(`${dir}: cannot write checkpoint (${(err as Error).message})`);
  return err;
}
