/**
 * Bring your own environment: load a user's .ts or .js file, from anywhere on
 * disk, that exports a TaskFamily, MultiTurnFamily or Game (as the default
 * export, or as `family` / `game`). The kind is detected by shape and every
 * member is validated, so a mistake is one UserError naming the file and the
 * missing member rather than a crash later.
 *
 * The user's file may `import { defineTaskFamily } from 'flywheel'` (or
 * 'flywheel/envs') wherever it lives: the first load installs a small module
 * hook that resolves those specifiers to this checkout's public API, and loads
 * the user's file (and its relative imports) as ES modules even outside any
 * package. TypeScript needs the tsx loader, which the CLI launcher registers
 * (library callers run under `node --import tsx`).
 */
import { existsSync, statSync } from 'node:fs';
import { register } from 'node:module';
import { extname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { UserError } from '../util/errors.ts';
import type { EnvEntry } from './types.ts';

const EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'];
const MARK = 'flywheel-env=1'; // query on the user's modules: load them as ES modules

/** Whether a command-line argument names a file (has a slash or a .ts/.js extension) rather than a registry id. */
export function isEnvPath(idOrPath: string): boolean {
  return /[\\/]/.test(idOrPath) || /\.m?[jt]s$/.test(idOrPath);
}

/** Loads and validates the environment exported by the file at `path` (relative to `cwd`). */
export async function loadEnvFile(path: string, cwd: string = process.cwd()): Promise<EnvEntry> {
  const abs = resolve(cwd, path);
  if (!existsSync(abs)) throw new UserError(`environment file not found: ${path}`);
  if (!statSync(abs).isFile()) throw new UserError(`${path}: not a file`);
  if (!EXTENSIONS.includes(extname(abs))) throw new UserError(`${path}: expected a ${EXTENSIONS.join(', ')} file`);
  installHook();
  let mod: Record<string, unknown>;
  try {
    mod = await import(`${pathToFileURL(abs).href}?${MARK}`);
  } catch (err) {
    const lines = (err instanceof Error ? err.message : String(err)).split('\n').map((l) => l.trim()).filter(Boolean);
    const message = lines.slice(0, 3).join(' ').slice(0, 500);
    throw new UserError(`${path}: could not load: ${message}`);
  }
  const value = mod.default ?? mod.family ?? mod.game;
  if (value === undefined) {
    const names = Object.keys(mod);
    throw new UserError(
      `${path}: export your environment as the default export (or as "family" or "game"); ` +
        `the file exports ${names.length ? names.map((n) => JSON.stringify(n)).join(', ') : 'nothing'}`,
    );
  }
  return asEntry(value, path);
}

// ------------------------------------------------------------------ shape checks

type Member = [name: string, kind: 'function' | 'string' | 'number' | 'string[]' | 'number[]' | 'difficulty', hint: string];

const COMMON: Member[] = [
  ['id', 'string', "a versioned id like 'my-env-v1'"],
  ['description', 'string', 'one line'],
];
const DIFFICULTY: Member = ['difficulty', 'difficulty', '{ min, max, default } integers'];
const SHAPES: Record<EnvEntry['kind'], { label: string; members: Member[] }> = {
  task: {
    label: 'task family',
    members: [
      ...COMMON,
      DIFFICULTY,
      ['generate', 'function', '(seed, difficulty) => Task'],
      ['verify', 'function', '(task, completion) => Verdict'],
      ['solve', 'function', '(task) => string'],
      ['errorKinds', 'string[]', "e.g. ['slip', 'systematic']"],
      ['mistake', 'function', '(task, kind, rng) => string'],
      ['isHard', 'function', '(task) => boolean'],
      ['stat', 'function', '(task) => number'],
    ],
  },
  multiturn: {
    label: 'multi-turn family',
    members: [
      ...COMMON,
      DIFFICULTY,
      ['maxTurns', 'number', 'a positive integer'],
      ['create', 'function', '() => TextEpisode'],
      ['solve', 'function', '(transcript) => string'],
    ],
  },
  game: {
    label: 'game',
    members: [
      ...COMMON,
      ['numActions', 'number', 'a positive integer'],
      ['encodingShape', 'number[]', 'e.g. [2, 3, 3]'],
      ...(['initial', 'toMove', 'legalMoves', 'play', 'result', 'encode', 'render', 'key'] as const).map((f): Member => [f, 'function', 'see Game in src/envs/types.ts']),
    ],
  },
};

/** Detects the kind of environment by shape and validates its members. */
export function asEntry(value: unknown, source: string): EnvEntry {
  if (typeof value !== 'object' || value === null) {
    throw new UserError(`${source}: the exported environment is ${value === null ? 'null' : typeof value}, expected an object`);
  }
  const v = value as Record<string, unknown>;
  const kind: EnvEntry['kind'] | null = 'generate' in v ? 'task' : 'create' in v ? 'multiturn' : 'initial' in v || 'legalMoves' in v ? 'game' : null;
  if (kind === null) {
    throw new UserError(
      `${source}: the export is not an environment: expected a task family (with generate, verify, solve, ...), ` +
        `a multi-turn family (with create, solve, maxTurns) or a game (with initial, legalMoves, play, ...); it has ${Object.keys(v).join(', ') || 'no members'}`,
    );
  }
  const { label, members } = SHAPES[kind];
  const problems = members.filter(([name, type]) => !hasType(v[name], type)).map(([name, type, hint]) => describe(v, name, type, hint));
  if (kind === 'multiturn') {
    for (const [name, hint] of [['demonstrate', '(transcript, rng, teacher) => string'], ['isHard', '(firstObservation) => boolean']]) {
      if (v[name] !== undefined && typeof v[name] !== 'function') problems.push(describe(v, name, 'function', `optional; ${hint}`));
    }
  }
  if (problems.length > 0) throw new UserError(`${source}: invalid ${label}${typeof v.id === 'string' ? ` ${v.id}` : ''}: ${problems.join('; ')}`);
  if (kind === 'task') return { kind, family: value as never };
  if (kind === 'multiturn') return { kind, family: value as never };
  return { kind, game: value as never };
}

function hasType(x: unknown, type: Member[1]): boolean {
  switch (type) {
    case 'function':
      return typeof x === 'function';
    case 'string':
      return typeof x === 'string' && x.length > 0;
    case 'number':
      return Number.isInteger(x) && (x as number) > 0;
    case 'string[]':
      return Array.isArray(x) && x.length > 0 && x.every((s) => typeof s === 'string');
    case 'number[]':
      return Array.isArray(x) && x.length > 0 && x.every((n) => Number.isInteger(n) && n > 0);
    case 'difficulty': {
      const d = x as { min?: unknown; max?: unknown; default?: unknown } | null;
      return typeof d === 'object' && d !== null && [d.min, d.max, d.default].every(Number.isInteger);
    }
  }
}

function describe(v: Record<string, unknown>, name: string, type: Member[1], hint: string): string {
  const what = type === 'function' ? 'a function' : type === 'difficulty' ? 'an object' : type === 'string' ? 'a non-empty string' : type === 'number' ? 'an integer' : 'a list';
  return name in v ? `member "${name}" should be ${what} (${hint}), got ${JSON.stringify(v[name]) ?? typeof v[name]}` : `missing member "${name}" (${what}: ${hint})`;
}

// ------------------------------------------------------------------ the module hook

let hookInstalled = false;

/** Lets user files import 'flywheel' / 'flywheel/envs' from anywhere, and loads them as ES modules. */
function installHook(): void {
  if (hookInstalled) return;
  hookInstalled = true;
  const envsApi = new URL('./index.ts', import.meta.url).href;
  const rootApi = new URL('../index.ts', import.meta.url);
  const flywheel = existsSync(fileURLToPath(rootApi)) ? rootApi.href : envsApi;
  const code = `
    const MARK = ${JSON.stringify(MARK)};
    const TARGETS = { 'flywheel': ${JSON.stringify(flywheel)}, 'flywheel/envs': ${JSON.stringify(envsApi)} };
    export async function resolve(specifier, context, next) {
      if (Object.hasOwn(TARGETS, specifier)) return next(TARGETS[specifier], context);
      const r = await next(specifier, context);
      const local = context.parentURL && context.parentURL.includes(MARK) && r.url.startsWith('file:') &&
        !r.url.includes('/node_modules/') && /\\.m?[jt]s$/.test(r.url);
      return local ? { ...r, url: r.url + '?' + MARK } : r;
    }
    export async function load(url, context, next) {
      if (!url.includes(MARK)) return next(url, context);
      const r = await next(url, { ...context, format: 'module' });
      return { ...r, format: 'module' };
    }`;
  register(`data:text/javascript,${encodeURIComponent(code)}`);
}
