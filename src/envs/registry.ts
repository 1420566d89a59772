/**
 * The environment registry: every built-in environment under a versioned id
 * in Gymnasium style ('name-vN'; a changed task distribution gets a new N, so
 * results stay comparable across versions).
 *
 *   listEnvs()           all entries, in registry order
 *   getEnv(id)           one entry; an unknown id is a UserError naming close matches
 *   registerEnv(entry)   add one (a duplicate or unversioned id throws)
 *   resolveEnv(x)        an id, or a path to a user's .ts/.js file (see load.ts)
 *
 * Importing this module loads every built-in environment.
 */
import { UserError } from '../util/errors.ts';
import { ID_PATTERN } from './conformance_base.ts';
import { isEnvPath, loadEnvFile } from './load.ts';
import type { EnvEntry } from './types.ts';
import { TASK_FAMILIES } from './tasks/index.ts';
import { CODE_FAMILIES } from './code/index.ts';
import { MULTITURN_FAMILIES } from './multiturn/index.ts';
import { GAMES } from './games/index.ts';

const entries = new Map<string, EnvEntry>();

/** The id of any kind of entry. */
export function envId(entry: EnvEntry): string {
  return entry.kind === 'game' ? entry.game.id : entry.family.id;
}

export function registerEnv(entry: EnvEntry): void {
  const id = envId(entry);
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) throw new Error(`registerEnv: id ${JSON.stringify(id)} is not a versioned id like 'name-v1'`);
  if (entries.has(id)) throw new Error(`registerEnv: an environment with id ${JSON.stringify(id)} is already registered`);
  entries.set(id, entry);
}

for (const family of [...TASK_FAMILIES, ...CODE_FAMILIES]) registerEnv({ kind: 'task', family });
for (const family of MULTITURN_FAMILIES) registerEnv({ kind: 'multiturn', family });
for (const game of GAMES) registerEnv({ kind: 'game', game });

export function listEnvs(): EnvEntry[] {
  return [...entries.values()];
}

export function getEnv(id: string): EnvEntry {
  const entry = entries.get(id);
  if (entry) return entry;
  const near = closeMatches(id, [...entries.keys()]);
  const hint = near.length ? `; did you mean ${near.join(', ')}?` : '';
  throw new UserError(`unknown environment ${JSON.stringify(id)}${hint} (\`flywheel envs list\` shows them all)`);
}

/** A registry id, or a path to a user's environment file. */
export async function resolveEnv(idOrPath: string): Promise<EnvEntry> {
  return isEnvPath(idOrPath) ? loadEnvFile(idOrPath) : getEnv(idOrPath);
}

/** Up to three ids that share the query's base name or are within a few edits of it. */
function closeMatches(query: string, ids: string[]): string[] {
  const base = (s: string) => s.toLowerCase().replace(/-v\d+$/, '');
  const q = base(query);
  return ids
    .map((id) => ({ id, d: base(id) === q ? 0 : base(id).includes(q) && q.length >= 3 ? 1 : editDistance(q, base(id)) }))
    .filter((m) => m.d <= Math.max(2, Math.floor(q.length / 3)))
    .sort((a, b) => a.d - b.d || a.id.localeCompare(b.id))
    .slice(0, 3)
    .map((m) => m.id);
}

/** Levenshtein distance, two rows. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}
