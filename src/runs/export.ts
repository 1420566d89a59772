/**
 * Exporting a run's rollouts (rollouts.sqlite) as data post-training tools
 * read. Four kinds, each one row shape:
 *
 *   sft         {prompt, completion}            verified successes (ok); TRL SFTTrainer's
 *                                                prompt-completion format; `flywheel sft` reads it back
 *   messages    {messages: [{role, content}]}   verified successes as chats: a multi-turn episode
 *                                                whole, a single-turn one as [user, assistant];
 *                                                TRL's conversational format; `flywheel sft` reads it back
 *   preference  {prompt, chosen, rejected}      pairs of replies to the same prompt from the same
 *                                                group, chosen reward > rejected reward; TRL DPOTrainer
 *   rollouts    every trajectory with its env, seed, difficulty, step, phase, group, reward, ok,
 *               reason, advantage, finish and token counts
 *
 * How preference pairs are chosen (deterministic: it depends only on the
 * stored rows). A group is the rows of one (phase, step, group index) with
 * the same prompt: the G replies sampled for one task by one policy. Within
 * it, replies with the same text count once (the first stored). Then:
 *   best-worst (default)  one pair per group: the highest-reward reply against the
 *                         lowest-reward one (ties go to the first stored); none when
 *                         every reply has the same reward
 *   all                   every (chosen, rejected) with chosen reward > rejected reward,
 *                         chosen by falling reward, rejected by rising reward (ties: stored order)
 * --min-reward applies to the chosen reply only. Multi-turn episodes have no
 * single reply to compare and are skipped by sft and preference (counted).
 *
 * Rows stream from SQLite to the sink: memory stays bounded by one group
 * (preference), one Parquet row group, and for --dedup one 20-byte hash per
 * distinct row. The library never prints; it returns a summary or throws a
 * UserError that says which filter left nothing to export.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { UserError } from '../util/errors.ts';
import { yieldNow } from '../util/async.ts';
import { RUN_FILES, RunDir } from './run_dir.ts';
import { RolloutStore, type RolloutQuery, type RolloutRow } from './rollouts.ts';
import { checkOutput, jsonlFile, jsonlStream, parquetFile, type Column, type Row, type RowSink } from './export_sinks.ts';

export const EXPORT_KINDS = ['sft', 'messages', 'preference', 'rollouts'] as const;
export const EXPORT_FORMATS = ['jsonl', 'parquet'] as const;
export const PAIRINGS = ['best-worst', 'all'] as const;
export const PHASES = ['train', 'eval', 'preflight', 'all'] as const;
export type ExportKind = (typeof EXPORT_KINDS)[number];
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
export type Pairing = (typeof PAIRINGS)[number];
export type Phase = (typeof PHASES)[number];

export interface ExportOptions {
  run: string; // the run directory
  kind: ExportKind;
  format: ExportFormat;
  out?: string; // the output file; without it JSONL goes to `stream`
  stream?: Writable; // where JSONL goes without `out` (the CLI passes stdout)
  force?: boolean; // replace an existing output file
  // filters
  phase?: Phase; // default: train for sft/messages/preference of an RL run (its held-out eval rows stay out), all otherwise
  env?: string; // environment id
  difficulty?: number[]; // any of these levels
  fromStep?: number; // step range, inclusive
  toStep?: number;
  minReward?: number; // rows with reward >= this (preference: the chosen reply)
  // per kind
  includeFailures?: boolean; // sft, messages: export every reply, not only verified successes
  dedup?: boolean; // sft, messages: drop rows identical to an earlier one
  pairs?: Pairing; // preference: how pairs are formed (header)
  meta?: boolean; // sft, messages, preference: add env, seed, difficulty, step, phase and reward columns
  shouldStop?: () => boolean; // polled between rows; true stops the export and removes the partial file
}

export interface ExportSummary {
  run: string;
  kind: ExportKind;
  format: ExportFormat;
  out: string | null; // null: the stream
  phase: Phase;
  rows: number; // rows written
  read: number; // rollouts that passed the filters
  skipped: { multiTurn: number; duplicates: number; sameReward: number }; // sameReward: preference groups with nothing to prefer
  interrupted: boolean; // stopped by shouldStop: nothing was written to `out`
}

/** Exports a run's rollouts; see the header for the kinds and rules. */
export async function exportRollouts(o: ExportOptions): Promise<ExportSummary> {
  const plan = prepare(o);
  const store = new RolloutStore(plan.storePath);
  const sink = openSink(o, plan.columns, plan.phase);
  const summary: ExportSummary = {
    run: o.run, kind: o.kind, format: o.format, out: o.out ?? null, phase: plan.phase, rows: 0, read: 0,
    skipped: { multiTurn: 0, duplicates: 0, sameReward: 0 }, interrupted: false,
  };
  try {
    const emit = (row: Row): Promise<void> | void => (summary.rows++, sink.write(row));
    const builder = o.kind === 'preference' ? preferenceBuilder(o, summary, emit) : rowBuilder(o, summary, emit);
    let i = 0;
    for (const r of store.rows(plan.query, { order: o.kind === 'preference' ? 'group' : 'id', blobs: false })) {
      summary.read++;
      await builder.add(r);
      if (++i % 512 === 0) {
        await yieldNow();
        if (o.shouldStop?.()) {
          summary.interrupted = true;
          break;
        }
      }
    }
    if (!summary.interrupted) await builder.end();
    if (summary.interrupted || summary.rows === 0) {
      sink.abort();
      if (summary.interrupted) return summary;
      throw new UserError(`nothing to export from ${o.run}: ${whyEmpty(o, plan, store, summary)}`);
    }
    await sink.close();
    return summary;
  } catch (err) {
    sink.abort();
    throw err;
  } finally {
    store.close();
  }
}

// ---------------------------------------------------------------- checks and the query

interface Plan {
  storePath: string;
  phase: Phase;
  query: RolloutQuery;
  columns: Column[];
}

function prepare(o: ExportOptions): Plan {
  if (!(EXPORT_KINDS as readonly string[]).includes(o.kind)) throw new UserError(`unknown --kind ${JSON.stringify(o.kind)}; expected one of ${EXPORT_KINDS.join(', ')}`);
  if (!(EXPORT_FORMATS as readonly string[]).includes(o.format)) throw new UserError(`unknown --format ${JSON.stringify(o.format)}; expected one of ${EXPORT_FORMATS.join(', ')}`);
  if (o.phase !== undefined && !(PHASES as readonly string[]).includes(o.phase)) throw new UserError(`unknown --phase ${JSON.stringify(o.phase)}; expected one of ${PHASES.join(', ')}`);
  if (o.format === 'parquet' && !o.out) throw new UserError('--format parquet writes a file: give it with --out FILE.parquet');
  if (!o.out && !o.stream) throw new UserError('no output: give --out FILE');
  const chat = o.kind === 'sft' || o.kind === 'messages';
  if (o.dedup && !chat) throw new UserError(`--dedup applies to --kind sft and messages, not ${o.kind}`);
  if (o.includeFailures && !chat) throw new UserError(`--include-failures applies to --kind sft and messages (${o.kind} ${o.kind === 'preference' ? 'pairs successes with failures by design' : 'exports every rollout'})`);
  if (o.pairs !== undefined && o.kind !== 'preference') throw new UserError(`--pairs applies to --kind preference, not ${o.kind}`);
  if (o.pairs !== undefined && !(PAIRINGS as readonly string[]).includes(o.pairs)) throw new UserError(`unknown --pairs ${JSON.stringify(o.pairs)}; expected one of ${PAIRINGS.join(', ')}`);
  if (o.meta && o.kind === 'rollouts') throw new UserError('--meta applies to --kind sft, messages and preference (rollouts rows carry every field already)');
  if (o.fromStep !== undefined && o.toStep !== undefined && o.fromStep > o.toStep) throw new UserError(`--steps ${o.fromStep}:${o.toStep} is an empty range`);

  const run = RunDir.open(o.run);
  const storePath = join(o.run, RUN_FILES.rollouts);
  if (!existsSync(storePath)) {
    const hint = existsSync(join(o.run, 'rl', RUN_FILES.rollouts)) ? `; its RL phase has them: flywheel export ${join(o.run, 'rl')}` : '; runs of flywheel train and flywheel eval store them';
    throw new UserError(`${o.run} is a ${run.kind} run without rollouts (no ${RUN_FILES.rollouts})${hint}`);
  }
  if (o.out) {
    const out = resolve(o.out);
    if (Object.values(RUN_FILES).some((f) => resolve(o.run, f) === out)) throw new UserError(`--out ${o.out} is one of the run's own files; choose another name`);
    checkOutput(o.out, !!o.force, fileKind);
  }
  const phase: Phase = o.phase ?? (o.kind !== 'rollouts' && run.kind === 'rl' ? 'train' : 'all');
  const query: RolloutQuery = {
    phase: phase === 'all' ? undefined : phase, env: o.env, difficulty: o.difficulty, fromStep: o.fromStep, toStep: o.toStep,
    minReward: o.kind === 'preference' ? undefined : o.minReward, ok: chat && !o.includeFailures ? true : undefined,
  };
  return { storePath, phase, query, columns: columnsOf(o) };
}

/** What is at a path, without following a symlink there (its parent directory may be one). */
function fileKind(f: string): 'file' | 'dir' | 'other' | null {
  const st = lstatSync(f, { throwIfNoEntry: false });
  if (!st) return null;
  if (st.isSymbolicLink()) return statSync(f, { throwIfNoEntry: false })?.isDirectory() ? 'dir' : 'other';
  return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other';
}

function openSink(o: ExportOptions, columns: Column[], phase: Phase): RowSink {
  if (o.format === 'parquet') {
    const meta = { flywheel: JSON.stringify({ run: o.run, kind: o.kind, phase, env: o.env, difficulty: o.difficulty, steps: [o.fromStep, o.toStep], minReward: o.minReward, pairs: o.kind === 'preference' ? (o.pairs ?? 'best-worst') : undefined }) };
    return parquetFile(o.out!, columns, meta);
  }
  return o.out ? jsonlFile(o.out) : jsonlStream(o.stream!);
}

// ---------------------------------------------------------------- columns and rows, by kind

const META: Column[] = [
  { name: 'env', type: 'string' }, { name: 'seed', type: 'int64' }, { name: 'difficulty', type: 'int32' },
  { name: 'step', type: 'int32' }, { name: 'phase', type: 'string' },
];

export const ROLLOUT_COLUMNS: Column[] = [
  { name: 'id', type: 'int64' }, { name: 'step', type: 'int32' }, { name: 'phase', type: 'string' }, { name: 'env', type: 'string' },
  { name: 'seed', type: 'int64' }, { name: 'difficulty', type: 'int32' }, { name: 'hard', type: 'bool' }, { name: 'group', type: 'int32' },
  { name: 'prompt', type: 'string' }, { name: 'completion', type: 'string' }, { name: 'messages', type: 'messages', nullable: true },
  { name: 'reward', type: 'double' }, { name: 'ok', type: 'bool' }, { name: 'reason', type: 'string' }, { name: 'advantage', type: 'double', nullable: true },
  { name: 'finish', type: 'string' }, { name: 'turns', type: 'int32' }, { name: 'prompt_tokens', type: 'int32' }, { name: 'completion_tokens', type: 'int32' },
  { name: 'sampling', type: 'string' },
];

/** The columns of a kind, in order (the JSONL keys, the Parquet schema). */
export function columnsOf(o: Pick<ExportOptions, 'kind' | 'meta'>): Column[] {
  const meta = o.meta ? META : [];
  switch (o.kind) {
    case 'sft':
      return [{ name: 'prompt', type: 'string' }, { name: 'completion', type: 'string' }, ...meta, ...(o.meta ? [{ name: 'reward', type: 'double' } as Column] : [])];
    case 'messages':
      return [{ name: 'messages', type: 'messages' }, ...meta, ...(o.meta ? [{ name: 'reward', type: 'double' } as Column] : [])];
    case 'preference':
      return [{ name: 'prompt', type: 'string' }, { name: 'chosen', type: 'string' }, { name: 'rejected', type: 'string' }, ...meta,
        ...(o.meta ? [{ name: 'chosen_reward', type: 'double' }, { name: 'rejected_reward', type: 'double' }] as Column[] : [])];
    case 'rollouts':
      return ROLLOUT_COLUMNS;
  }
}

type StoredRow = RolloutRow & { id: number };

interface Builder {
  add(r: StoredRow): Promise<void> | void;
  end(): Promise<void> | void;
}

function metaOf(r: StoredRow): Row {
  return { env: r.env, seed: r.seed, difficulty: r.difficulty, step: r.step, phase: r.phase };
}

/** The single-turn chat a prompt and its reply make. */
function chatOf(r: StoredRow): { role: string; content: string }[] {
  return r.messages ?? [{ role: 'user', content: r.prompt }, { role: 'assistant', content: r.completion }];
}

/** sft, messages, rollouts: one stored row in, at most one row out. */
function rowBuilder(o: ExportOptions, s: ExportSummary, emit: (row: Row) => Promise<void> | void): Builder {
  const seen = new Set<string>();
  const fresh = (key: string): boolean => {
    if (!o.dedup) return true;
    const h = createHash('sha1').update(key).digest('base64');
    if (seen.has(h)) return (s.skipped.duplicates++, false);
    seen.add(h);
    return true;
  };
  return {
    add(r) {
      if (o.kind === 'rollouts') {
        return emit({
          id: r.id, step: r.step, phase: r.phase, env: r.env, seed: r.seed, difficulty: r.difficulty, hard: r.hard, group: r.group,
          prompt: r.prompt, completion: r.completion, messages: r.messages ?? null, reward: r.reward, ok: r.ok, reason: r.reason,
          advantage: r.advantage ?? null, finish: r.finish, turns: r.turns, prompt_tokens: r.promptTokens, completion_tokens: r.completionTokens,
          sampling: JSON.stringify(r.sampling),
        });
      }
      const extra = o.meta ? { ...metaOf(r), reward: r.reward } : {};
      if (o.kind === 'sft') {
        if (r.messages) return void s.skipped.multiTurn++;
        if (!fresh(`${r.prompt}\u0000${r.completion}`)) return;
        return emit({ prompt: r.prompt, completion: r.completion, ...extra });
      }
      const messages = chatOf(r);
      if (!fresh(JSON.stringify(messages))) return;
      return emit({ messages, ...extra });
    },
    end() {},
  };
}

/** preference: rows arrive grouped (phase, step, group, id); each group becomes pairs when the next begins. */
function preferenceBuilder(o: ExportOptions, s: ExportSummary, emit: (row: Row) => Promise<void> | void): Builder {
  let key = '';
  let group: StoredRow[] = [];
  const flush = async (): Promise<void> => {
    const byPrompt = new Map<string, StoredRow[]>();
    for (const r of group) byPrompt.set(r.prompt, [...(byPrompt.get(r.prompt) ?? []), r]);
    for (const rows of byPrompt.values()) {
      const pairs = pairsOf(rows, o.pairs ?? 'best-worst', o.minReward);
      if (pairs.length === 0) s.skipped.sameReward++;
      for (const [c, r] of pairs) {
        const extra = o.meta ? { ...metaOf(c), chosen_reward: c.reward, rejected_reward: r.reward } : {};
        await emit({ prompt: c.prompt, chosen: c.completion, rejected: r.completion, ...extra });
      }
    }
    group = [];
  };
  return {
    async add(r) {
      if (r.messages) return void s.skipped.multiTurn++;
      const k = `${r.phase}\u0000${r.step}\u0000${r.group}`;
      if (k !== key) await flush();
      key = k;
      group.push(r);
    },
    end: flush,
  };
}

/** The (chosen, rejected) pairs of one group's replies to one prompt (rows in stored order); the rule is in the header. */
export function pairsOf<T extends { id: number; completion: string; reward: number }>(rows: readonly T[], how: Pairing, minReward?: number): [T, T][] {
  const seen = new Set<string>();
  const distinct = rows.filter((r) => !seen.has(r.completion) && (seen.add(r.completion), true));
  const down = [...distinct].sort((a, b) => b.reward - a.reward || a.id - b.id);
  const up = [...distinct].sort((a, b) => a.reward - b.reward || a.id - b.id);
  const good = (c: T): boolean => minReward === undefined || c.reward >= minReward;
  if (how === 'best-worst') return down.length >= 2 && down[0].reward > up[0].reward && good(down[0]) ? [[down[0], up[0]]] : [];
  const out: [T, T][] = [];
  for (const c of down) if (good(c)) for (const r of up) if (r.reward < c.reward) out.push([c, r]);
  return out;
}

// ---------------------------------------------------------------- why nothing was exported

/** Names the first filter that left no rollout (or the kind's own rule), with what the run does hold. */
function whyEmpty(o: ExportOptions, plan: Plan, store: RolloutStore, s: ExportSummary): string {
  const q = plan.query;
  const listOf = (m: Map<string | number, number>): string => [...m].map(([v, n]) => `${v} (${n})`).join(', ');
  const steps: [boolean, string, RolloutQuery, (before: RolloutQuery) => string][] = [
    [q.phase !== undefined, `--phase ${q.phase}`, { phase: q.phase }, (b) => `phases there: ${listOf(store.tally('phase', b))}${o.phase === undefined ? ` (train is the default for --kind ${o.kind} of an RL run; --phase all takes every phase)` : ''}`],
    [q.env !== undefined, `--env ${q.env}`, { env: q.env }, (b) => `environments there: ${listOf(store.tally('env', b))}`],
    [q.difficulty !== undefined, `--difficulty ${o.difficulty?.join(',')}`, { difficulty: q.difficulty }, (b) => `difficulties there: ${listOf(store.tally('difficulty', b))}`],
    [q.fromStep !== undefined || q.toStep !== undefined, `--steps ${q.fromStep ?? ''}:${q.toStep ?? ''}`, { fromStep: q.fromStep, toStep: q.toStep }, (b) => {
      const st = [...store.tally('step', b).keys()] as number[];
      return `their steps run from ${st[0]} to ${st.at(-1)}`;
    }],
    [q.minReward !== undefined, `--min-reward ${q.minReward}`, { minReward: q.minReward }, () => 'no reward is that high'],
    [q.ok !== undefined, 'verified successes only (ok)', { ok: q.ok }, () => 'none is a verified success; --include-failures exports every reply'],
  ];
  let before: RolloutQuery = {};
  const total = store.count(before);
  if (total === 0) return `its ${RUN_FILES.rollouts} holds no rollouts yet`;
  for (const [active, label, add, hint] of steps) {
    if (!active) continue;
    const next = { ...before, ...add };
    if (store.count(next) === 0) return `${label} matches none of the ${store.count(before)} rollouts${Object.keys(before).length ? ' left by the filters before it' : ''}; ${hint(before)}`;
    before = next;
  }
  if (s.skipped.multiTurn === s.read) return `all ${s.read} matching rollouts are multi-turn episodes, which have no single reply to ${o.kind === 'sft' ? 'export as a completion; --kind messages exports them whole' : 'compare'}`;
  if (o.kind === 'preference') return `none of the ${s.skipped.sameReward} groups (the replies to one prompt at one step) among the ${s.read} matching rollouts has two different replies with different rewards${o.minReward !== undefined ? ` where the better one has reward >= ${o.minReward}` : ''}: nothing to prefer`;
  return `all ${s.read} matching rollouts were dropped (${s.skipped.duplicates} duplicates)`;
}
