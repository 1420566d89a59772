/**
 * The rollout store: every rollout of a run in one SQLite database
 * (<run>/rollouts.sqlite), a real database a user can open with `sqlite3`.
 * The schema is documented in docs/rl.md; one row is one trajectory
 * (a single-turn completion, or a whole multi-turn episode).
 *
 * Writes go in one transaction per call, so a crash (kill -9 included)
 * leaves whole steps or nothing. On resume the run deletes the rows of steps
 * after its checkpoint and samples them again, exactly.
 *
 * A cap bounds the number of training rows kept: past it, the oldest
 * training rows are deleted (evaluation rows are always kept).
 */
import Database from 'better-sqlite3';
import { UserError } from '../util/errors.ts';

const SCHEMA_VERSION = 1;

export const ROLLOUT_SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rollouts (
  id INTEGER PRIMARY KEY,           -- insertion order
  step INTEGER NOT NULL,            -- the training step that drew it (0 before training)
  phase TEXT NOT NULL,              -- 'train', 'eval', 'preflight'
  env TEXT NOT NULL,                -- environment id
  seed INTEGER NOT NULL,            -- task seed
  difficulty INTEGER NOT NULL,
  hard INTEGER NOT NULL,            -- 1 if the family deems the task hard
  grp INTEGER NOT NULL,             -- group (task) index within the step: rows of one group share a prompt
  prompt TEXT NOT NULL,             -- the task prompt (multi-turn: the first observation)
  completion TEXT NOT NULL,         -- the policy's reply (multi-turn: its actions joined by newlines)
  messages TEXT,                    -- multi-turn: the whole episode as JSON chat messages
  reward REAL NOT NULL,
  ok INTEGER NOT NULL,              -- 1 if fully correct
  reason TEXT NOT NULL,             -- the verdict's reason ('correct', 'wrong', 'verifier_timeout', ...)
  advantage REAL,                   -- the advantage the update used (null when not trained on)
  finish TEXT NOT NULL,             -- 'stop' or 'length' (truncated)
  turns INTEGER NOT NULL,           -- policy turns in the trajectory
  prompt_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  tokens BLOB,                      -- the whole token sequence, int32 little-endian
  action_mask BLOB,                 -- one byte per token: 1 where the policy sampled it
  logprobs BLOB,                    -- float32 per token: log p under the sampling policy (0 off the mask)
  sampling TEXT NOT NULL            -- JSON: temperature, top_p, top_k, max_tokens, seed
);
CREATE INDEX IF NOT EXISTS rollouts_step ON rollouts (step);
`;

export interface RolloutRow {
  step: number;
  phase: 'train' | 'eval' | 'preflight';
  env: string;
  seed: number;
  difficulty: number;
  hard: boolean;
  group: number;
  prompt: string;
  completion: string;
  messages?: { role: string; content: string }[] | null;
  reward: number;
  ok: boolean;
  reason: string;
  advantage?: number | null;
  finish: 'stop' | 'length';
  turns: number;
  promptTokens: number;
  completionTokens: number;
  tokens?: readonly number[] | null;
  actionMask?: Uint8Array | null;
  logprobs?: Float32Array | null;
  sampling: object;
}

export interface RolloutQuery {
  phase?: string;
  env?: string;
  minReward?: number;
  difficulty?: number | readonly number[]; // one level, or any of several
  fromStep?: number;
  toStep?: number;
  ok?: boolean; // only verified successes (true) or only failures (false)
}

export interface RowOptions {
  order?: 'id' | 'group'; // insertion order, or grouped: by phase, step, group index, then insertion order
  blobs?: boolean; // decode the token, mask and log-prob blobs (default true); false skips reading them
}

/** Columns a tally can count by. */
export type TallyColumn = 'phase' | 'env' | 'difficulty' | 'step' | 'ok';

/** The store's columns without the blobs (what a reader that never looks at tokens selects). */
const LIGHT_COLUMNS = 'id, step, phase, env, seed, difficulty, hard, grp, prompt, completion, messages, reward, ok, reason, advantage, finish, turns, prompt_tokens, completion_tokens, sampling';

export class RolloutStore {
  private readonly db: Database.Database;
  private readonly insertStmt: Database.Statement;

  /** Opens (or creates) the store at `path`; `cap` bounds the training rows kept (0 = no cap). */
  constructor(readonly path: string, readonly cap = 0) {
    try {
      this.db = new Database(path);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.exec(ROLLOUT_SCHEMA);
    } catch (err) {
      throw new UserError(`${path}: cannot open the rollout database (${(err as Error).message})`);
    }
    const v = this.db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: string } | undefined;
    if (v === undefined) this.db.prepare("INSERT INTO meta VALUES ('schema_version', ?)").run(String(SCHEMA_VERSION));
    else if (Number(v.value) !== SCHEMA_VERSION) throw new UserError(`${path}: rollout schema version ${v.value}; this flywheel reads ${SCHEMA_VERSION}`);
    this.insertStmt = this.db.prepare(`INSERT INTO rollouts (step, phase, env, seed, difficulty, hard, grp, prompt, completion, messages, reward, ok, reason,
      advantage, finish, turns, prompt_tokens, completion_tokens, tokens, action_mask, logprobs, sampling)
      VALUES (@step, @phase, @env, @seed, @difficulty, @hard, @grp, @prompt, @completion, @messages, @reward, @ok, @reason,
      @advantage, @finish, @turns, @prompt_tokens, @completion_tokens, @tokens, @action_mask, @logprobs, @sampling)`);
  }

  /** Stores rows in one transaction; then applies the cap. */
  insert(rows: readonly RolloutRow[]): void {
    const tx = this.db.transaction((rs: readonly RolloutRow[]) => {
      for (const r of rs) this.insertStmt.run(toSql(r));
      if (this.cap > 0) {
        const n = (this.db.prepare("SELECT COUNT(*) AS n FROM rollouts WHERE phase = 'train'").get() as { n: number }).n;
        if (n > this.cap) this.db.prepare("DELETE FROM rollouts WHERE id IN (SELECT id FROM rollouts WHERE phase = 'train' ORDER BY id LIMIT ?)").run(n - this.cap);
      }
    });
    try {
      tx(rows);
    } catch (err) {
      throw new UserError(`${this.path}: cannot store rollouts (${(err as Error).message})`);
    }
  }

  /** Deletes the rows of steps after `step` (on resume from a checkpoint at `step`). */
  deleteAfter(step: number): number {
    return this.db.prepare('DELETE FROM rollouts WHERE step > ?').run(step).changes;
  }

  count(q: RolloutQuery = {}): number {
    const { where, params } = filter(q);
    return (this.db.prepare(`SELECT COUNT(*) AS n FROM rollouts ${where}`).get(params) as { n: number }).n;
  }

  /** Rows matching the query, in insertion order unless told otherwise (token blobs decoded unless blobs is false). */
  *rows(q: RolloutQuery = {}, opts: RowOptions = {}): Generator<RolloutRow & { id: number }> {
    const { where, params } = filter(q);
    const cols = opts.blobs === false ? LIGHT_COLUMNS : '*';
    const order = opts.order === 'group' ? 'phase, step, grp, id' : 'id';
    for (const raw of this.db.prepare(`SELECT ${cols} FROM rollouts ${where} ORDER BY ${order}`).iterate(params)) yield fromSql(raw as Record<string, unknown>);
  }

  /** How many matching rows hold each value of a column, by value. */
  tally(column: TallyColumn, q: RolloutQuery = {}): Map<string | number, number> {
    const { where, params } = filter(q);
    const out = new Map<string | number, number>();
    for (const r of this.db.prepare(`SELECT ${column} AS v, COUNT(*) AS n FROM rollouts ${where} GROUP BY ${column} ORDER BY ${column}`).iterate(params)) {
      const { v, n } = r as { v: string | number; n: number };
      out.set(v, n);
    }
    return out;
  }

  close(): void {
    this.db.close();
  }
}

function filter(q: RolloutQuery): { where: string; params: Record<string, unknown> } {
  const parts: string[] = [];
  const params: Record<string, unknown> = {};
  if (q.phase !== undefined) (parts.push('phase = @phase'), (params.phase = q.phase));
  if (q.env !== undefined) (parts.push('env = @env'), (params.env = q.env));
  if (q.minReward !== undefined) (parts.push('reward >= @minReward'), (params.minReward = q.minReward));
  if (typeof q.difficulty === 'number') (parts.push('difficulty = @difficulty'), (params.difficulty = q.difficulty));
  else if (q.difficulty !== undefined) {
    const names = q.difficulty.map((d, i) => ((params[`difficulty${i}`] = d), `@difficulty${i}`));
    parts.push(names.length ? `difficulty IN (${names.join(', ')})` : '0');
  }
  if (q.fromStep !== undefined) (parts.push('step >= @fromStep'), (params.fromStep = q.fromStep));
  if (q.toStep !== undefined) (parts.push('step <= @toStep'), (params.toStep = q.toStep));
  if (q.ok !== undefined) (parts.push('ok = @ok'), (params.ok = q.ok ? 1 : 0));
  return { where: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
}

function toSql(r: RolloutRow): Record<string, unknown> {
  return {
    step: r.step, phase: r.phase, env: r.env, seed: r.seed, difficulty: r.difficulty, hard: r.hard ? 1 : 0, grp: r.group,
    prompt: r.prompt, completion: r.completion, messages: r.messages ? JSON.stringify(r.messages) : null,
    reward: r.reward, ok: r.ok ? 1 : 0, reason: r.reason, advantage: r.advantage ?? null, finish: r.finish, turns: r.turns,
    prompt_tokens: r.promptTokens, completion_tokens: r.completionTokens,
    tokens: r.tokens ? Buffer.from(Int32Array.from(r.tokens).buffer) : null,
    action_mask: r.actionMask ? Buffer.from(r.actionMask) : null,
    logprobs: r.logprobs ? Buffer.from(r.logprobs.buffer, r.logprobs.byteOffset, r.logprobs.byteLength) : null,
    sampling: JSON.stringify(r.sampling),
  };
}

function fromSql(x: Record<string, unknown>): RolloutRow & { id: number } {
  const blob = (v: unknown): Buffer | null => (v instanceof Buffer ? v : null);
  const tokens = blob(x.tokens), mask = blob(x.action_mask), lp = blob(x.logprobs);
  return {
    id: x.id as number, step: x.step as number, phase: x.phase as RolloutRow['phase'], env: x.env as string, seed: x.seed as number,
    difficulty: x.difficulty as number, hard: x.hard === 1, group: x.grp as number, prompt: x.prompt as string, completion: x.completion as string,
    messages: typeof x.messages === 'string' ? JSON.parse(x.messages) : null, reward: x.reward as number, ok: x.ok === 1, reason: x.reason as string,
    advantage: x.advantage as number | null, finish: x.finish as 'stop' | 'length', turns: x.turns as number,
    promptTokens: x.prompt_tokens as number, completionTokens: x.completion_tokens as number,
    tokens: tokens ? [...new Int32Array(tokens.buffer.slice(tokens.byteOffset, tokens.byteOffset + tokens.byteLength))] : null,
    actionMask: mask ? new Uint8Array(mask) : null,
    logprobs: lp ? new Float32Array(lp.buffer.slice(lp.byteOffset, lp.byteOffset + lp.byteLength)) : null,
    sampling: JSON.parse(x.sampling as string),
  };
}
