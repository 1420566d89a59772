/**
 * The messages of `flywheel env-server`, as zod schemas: the server validates
 * every request body with them, `GET /schema` and docs/env-server.schema.json
 * are generated from them (see env_routes.ts), and the TypeScript client's
 * types are inferred from them, so the three cannot drift apart.
 *
 * Conventions: ids and text are strings; seeds are non-negative integers;
 * difficulty is an integer in the environment's range (omit it for the
 * environment's default; games have none). Unknown fields are refused, so a
 * misspelt field is a 400 naming it rather than silently ignored.
 */
import { z } from 'zod';

/** The most items one batch request (POST /verify, POST /tasks) may carry. */
export const MAX_BATCH = 4096;

const envId = z.string().min(1).max(200).describe("an environment id from GET /envs, e.g. 'addsub-v1'");
const seed = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).describe('the task or episode seed; the same seed gives the same task');
const difficulty = z.number().int().describe("an integer in the environment's difficulty range; omit for its default");
const sessionId = z.string().describe('the id returned by POST /sessions');
const json = z.unknown().describe('any JSON value');

export const DifficultyRange = z.strictObject({
  min: z.number().int(),
  max: z.number().int(),
  default: z.number().int(),
});

// ------------------------------------------------------------------ environments

export const EnvInfo = z.strictObject({
  id: z.string(),
  kind: z.enum(['task', 'multiturn', 'game']).describe('task: single-turn, verify a completion; multiturn: step actions; game: play moves'),
  description: z.string(),
  source: z.string().describe("'builtin', or the file the environment was loaded from (--env PATH)"),
  difficulty: DifficultyRange.nullable().describe('null for games'),
  maxTurns: z.number().int().optional().describe('multiturn: an episode ends after at most this many actions'),
  numActions: z.number().int().optional().describe('game: moves are integers in [0, numActions)'),
  encodingShape: z.array(z.number().int()).optional().describe('game: the shape of a state encoding, e.g. [2, 6, 7]'),
});

export const EnvList = z.strictObject({ envs: z.array(EnvInfo) });

export const Health = z.strictObject({
  ok: z.literal(true),
  sessions: z.number().int().describe('open sessions'),
  maxSessions: z.number().int(),
  envs: z.number().int().describe('environments served'),
});

// ------------------------------------------------------------------ sessions

export const CreateSession = z.strictObject({
  env: envId,
  seed: seed.default(0),
  difficulty: difficulty.optional(),
});

const sessionHead = {
  session: sessionId,
  env: z.string(),
  seed: z.number().int(),
  difficulty: z.number().int().nullable().describe('null for games'),
};

export const TaskView = z.strictObject({
  ...sessionHead,
  kind: z.literal('task'),
  prompt: z.string().describe('what the policy sees; the answer is never sent'),
});

export const EpisodeView = z.strictObject({
  ...sessionHead,
  kind: z.literal('multiturn'),
  observation: z.string().describe("the latest observation ('' once done)"),
  turn: z.number().int().describe('actions taken so far'),
  maxTurns: z.number().int(),
  done: z.boolean(),
  totalReward: z.number().describe('sum of step rewards so far'),
});

export const GameView = z.strictObject({
  ...sessionHead,
  kind: z.literal('game'),
  board: z.string().describe('the position rendered as text'),
  toMove: z.union([z.literal(0), z.literal(1)]).describe('player to move (0 moves first)'),
  legalMoves: z.array(z.number().int()).describe('empty once the game is over'),
  moves: z.array(z.number().int()).describe('moves played so far, in order'),
  encoding: z.array(z.number()).describe('the encoding from the perspective of the player to move, flattened row-major (encodingShape)'),
  encodingShape: z.array(z.number().int()),
  result: z.number().nullable().describe('null while the game goes on; +1 player 0 won, -1 player 1 won, 0 draw'),
});

export const SessionView = z.discriminatedUnion('kind', [TaskView, EpisodeView, GameView]);

export const StepRequest = z.strictObject({ action: z.string().describe("the policy's turn, e.g. 'Answer: 42'") });

export const StepResponse = z.strictObject({
  observation: z.string().describe("text for the policy's next turn ('' when done)"),
  reward: z.number(),
  done: z.boolean(),
  info: z.record(z.string(), json).describe("environment-specific, e.g. { reason: 'wrong' }"),
  turn: z.number().int(),
  totalReward: z.number(),
});

export const PlayRequest = z.strictObject({ move: z.number().int().describe('one of legalMoves') });

export const VerifyRequest = z.strictObject({ completion: z.string() });

export const Verdict = z.strictObject({
  reward: z.number().describe('in [0, 1]'),
  ok: z.boolean().describe('fully correct'),
  reason: z.string().describe("'correct', 'wrong', 'no_answer', 'malformed', environment-specific, or verifier_error / verifier_timeout"),
  detail: z.string().optional(),
});

export const Closed = z.strictObject({ session: sessionId, closed: z.literal(true) });

// ------------------------------------------------------------------ batches (no sessions)

export const TaskRef = z.strictObject({ env: envId, seed, difficulty: difficulty.optional() });

export const TasksRequest = z.strictObject({ items: z.array(TaskRef).min(1).max(MAX_BATCH) });

export const TasksResponse = z.strictObject({
  tasks: z.array(z.strictObject({ env: z.string(), seed: z.number().int(), difficulty: z.number().int(), prompt: z.string() })).describe('in the order of items'),
});

export const VerifyItem = TaskRef.extend({ completion: z.string() });

export const VerifyBatchRequest = z.strictObject({ items: z.array(VerifyItem).min(1).max(MAX_BATCH) });

export const VerifyBatchResponse = z.strictObject({ results: z.array(Verdict).describe('in the order of items') });

// ------------------------------------------------------------------ errors and the schema document

export const ErrorResponse = z.strictObject({
  error: z.strictObject({
    status: z.number().int().describe('the HTTP status, repeated'),
    code: z.enum(['bad_request', 'unauthorized', 'not_found', 'method_not_allowed', 'payload_too_large', 'too_many_sessions', 'env_error', 'internal']),
    message: z.string().describe('one line naming the field, value, session or environment'),
    field: z.string().optional().describe("the offending request field, as a dotted path, e.g. 'items.3.seed'"),
  }),
});

export const SchemaDocument = z.strictObject({
  name: z.literal('flywheel env-server'),
  routes: z.array(
    z.strictObject({
      name: z.string(),
      method: z.enum(['GET', 'POST', 'DELETE']),
      path: z.string(),
      summary: z.string(),
      request: z.record(z.string(), json).nullable().describe('JSON Schema of the body; null when there is none'),
      response: z.record(z.string(), json).describe('JSON Schema of a 200 response'),
    }),
  ),
  error: z.record(z.string(), json).describe('JSON Schema of every non-200 response'),
});

export type EnvInfo = z.infer<typeof EnvInfo>;
export type EnvList = z.infer<typeof EnvList>;
export type Health = z.infer<typeof Health>;
export type CreateSession = z.input<typeof CreateSession>;
export type TaskView = z.infer<typeof TaskView>;
export type EpisodeView = z.infer<typeof EpisodeView>;
export type GameView = z.infer<typeof GameView>;
export type SessionView = z.infer<typeof SessionView>;
export type StepResponse = z.infer<typeof StepResponse>;
export type Verdict = z.infer<typeof Verdict>;
export type Closed = z.infer<typeof Closed>;
export type TaskRef = z.input<typeof TaskRef>;
export type TasksResponse = z.infer<typeof TasksResponse>;
export type VerifyItem = z.input<typeof VerifyItem>;
export type VerifyBatchResponse = z.infer<typeof VerifyBatchResponse>;
export type ErrorResponse = z.infer<typeof ErrorResponse>;
export type SchemaDocument = z.infer<typeof SchemaDocument>;
