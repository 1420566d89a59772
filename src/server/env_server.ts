/**
 * `flywheel env-server`: every registered environment (and any loaded from a
 * user's file) over HTTP/JSON, so a trainer in any language can draw tasks,
 * run episodes, play games and grade completions. The routes and their
 * schemas are in env_routes.ts and env_schema.ts; docs/env-server.md shows
 * each with an example.
 *
 *   const server = await startEnvServer({ port: 0 });
 *   // ... server.url is e.g. http://127.0.0.1:40123
 *   await server.close();
 *
 * The server never crashes on a request: bad input is a 4xx naming the field,
 * a throwing environment a 500 'env_error', a failing verifier a verdict with
 * reason verifier_error / verifier_timeout (src/envs/verifier.ts). Anything else is a
 * 500 'internal', reported through onError, and the server keeps serving.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { resolve } from 'node:path';
import type { z } from 'zod';
import { UserError } from '../util/errors.ts';
import { yieldNow } from '../util/async.ts';
import { loadEnvFile } from '../envs/load.ts';
import { envId, getEnv, listEnvs } from '../envs/registry.ts';
import type { Task } from '../envs/types.ts';
import type * as S from './env_schema.ts';
import { checkToken, HttpError, badRequest, listen, parseBody, readBody, sendError, sendJson } from './env_http.ts';
import { matchRoute, ROUTES, schemaDocument, type Route, type RouteName } from './env_routes.ts';
import { envCall, resolveDifficulty, Sessions, type ServedEnv } from './env_sessions.ts';
import { Verifier, type VerifyTarget } from '../envs/verifier.ts';
import { ENV_SERVER_DEFAULTS, type EnvServerOptions } from './env_config.ts';

export { ENV_SERVER_DEFAULTS, type EnvServerOptions };

export interface EnvServer {
  url: string; // http://host:port
  port: number;
  envs: ServedEnv[];
  stats: { requests: number; errors: number; sessions: () => number };
  /** Stops listening, lets requests in flight finish (for up to 5 s), stops the verifier workers. */
  close(): Promise<void>;
}

/** Requests of a route, as its schema outputs them (undefined for routes without a body). */
type Body<K extends RouteName> = (typeof ROUTES)[K]['request'] extends z.ZodType ? z.output<(typeof ROUTES)[K]['request']> : undefined;
type Handlers = { [K in RouteName]: (body: Body<K>, id: string) => unknown };

/** Loads the environments, starts listening, and resolves once the server is ready. */
export async function startEnvServer(options: Partial<EnvServerOptions> = {}): Promise<EnvServer> {
  const opts: EnvServerOptions = { ...ENV_SERVER_DEFAULTS, ...options };
  const envs = await servedEnvs(opts.envFiles);
  const table = new Map(envs.map((e) => [e.id, e]));
  const sessions = new Sessions({ ttlMs: opts.sessionTtlSeconds * 1000, maxSessions: opts.maxSessions, now: opts.now });
  const verifier = new Verifier({ timeoutMs: opts.verifyTimeoutSeconds * 1000, concurrency: opts.verifyConcurrency });
  const stats = { requests: 0, errors: 0, sessions: () => sessions.size };

  /** The environment with this id; a 404 with close matches otherwise. */
  const lookup = (id: string, field: string): ServedEnv => {
    const env = table.get(id);
    if (!env) throw new HttpError(404, 'not_found', `field "${field}": ${unknownEnvMessage(id)}`, field);
    return env;
  };

  /** Generates the tasks of a batch (all checked before any is made), yielding now and then so other clients are served. */
  const tasksOf = async (items: readonly S.TaskRef[]): Promise<{ env: ServedEnv; task: Task }[]> => {
    const refs = items.map((item, i) => {
      const env = lookup(item.env, `items.${i}.env`);
      const e = env.entry;
      if (e.kind !== 'task') throw badRequest(`field "items.${i}.env": ${env.id} is a ${e.kind} environment; batches are for task families (use POST /sessions)`, `items.${i}.env`);
      return { env, family: e.family, seed: item.seed, difficulty: resolveDifficulty(env, item.difficulty, `items.${i}.difficulty`) as number };
    });
    const out: { env: ServedEnv; task: Task }[] = [];
    for (const [i, r] of refs.entries()) {
      out.push({ env: r.env, task: envCall(r.env, 'generate', () => r.family.generate(r.seed, r.difficulty)) });
      if (i % 64 === 63) await yieldNow();
    }
    return out;
  };

  const handlers: Handlers = {
    health: () => ({ ok: true, sessions: sessions.size, maxSessions: opts.maxSessions, envs: envs.length }),
    schema: () => schemaDocument(),
    listEnvs: () => ({ envs: envs.map(envInfo) }),
    createSession: (b) => sessions.create(lookup(b.env, 'env'), b.seed, b.difficulty),
    getSession: (_, id) => sessions.get(id),
    step: (b, id) => sessions.step(id, b.action),
    verifySession: (b, id) => {
      const { env, task } = sessions.task(id);
      return verifier.verify(target(env), task, b.completion);
    },
    play: (b, id) => sessions.play(id, b.move),
    closeSession: (_, id) => sessions.close(id),
    tasks: async (b) => ({ tasks: (await tasksOf(b.items)).map(({ task }) => ({ env: task.env, seed: task.seed, difficulty: task.difficulty, prompt: task.prompt })) }),
    verify: async (b) => {
      const tasks = await tasksOf(b.items);
      const results: S.Verdict[] = [];
      for (let i = 0; i < tasks.length; i += 32) {
        const chunk = tasks.slice(i, i + 32).map(({ env, task }, j) => verifier.verify(target(env), task, b.items[i + j].completion));
        results.push(...(await Promise.all(chunk)));
        await yieldNow();
      }
      return { results };
    },
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    stats.requests++;
    try {
      const method = req.method ?? 'GET';
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      const match = matchRoute(method, path);
      if (match === null) throw new HttpError(404, 'not_found', `no route ${method} ${path}; GET /schema lists the routes`);
      if ('allowed' in match) {
        throw new HttpError(405, 'method_not_allowed', `${method} ${path}: this path takes ${match.allowed.join(', ')}`, undefined, { Allow: match.allowed.join(', ') });
      }
      const route: Route = ROUTES[match.name];
      if (opts.token !== undefined && !route.public) checkToken(req, opts.token);
      const body = route.request ? parseBody(await readBody(req, opts.maxBodyBytes), route.request) : undefined;
      const handler = handlers[match.name] as (body: unknown, id: string) => unknown;
      sendJson(res, 200, await handler(body, match.id ?? ''));
    } catch (err) {
      stats.errors++;
      if (err instanceof HttpError) return sendError(res, err);
      opts.onError?.(err);
      sendError(res, new HttpError(500, 'internal', `internal error: ${err instanceof Error ? err.message : String(err)}`));
    }
  };

  const server = createServer((req, res) => void handle(req, res));
  server.on('clientError', (_err, socket) => socket.destroy()); // a malformed HTTP request line: nothing to answer
  const port = await listen(server, opts.host, opts.port);
  const sweeper = setInterval(() => sessions.sweep(), Math.min(opts.sessionTtlSeconds * 500, 30_000));
  sweeper.unref();
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;

  return {
    url: `http://${host}:${port}`,
    port,
    envs,
    stats,
    async close() {
      clearInterval(sweeper);
      const closed = new Promise<void>((done) => server.close(() => done()));
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), 5000);
      await closed;
      clearTimeout(force);
      await verifier.close();
    },
  };
}

/** The built-in environments, then the users' files (a user's id may not shadow a built-in one). */
function target(env: ServedEnv): VerifyTarget {
  if (env.entry.kind !== 'task') throw new Error(`env server: ${env.id} is a ${env.entry.kind} environment, it has no verify()`);
  return { family: env.entry.family, source: env.source };
}

async function servedEnvs(files: readonly string[]): Promise<ServedEnv[]> {
  const envs: ServedEnv[] = listEnvs().map((entry) => ({ id: envId(entry), entry, source: 'builtin' }));
  for (const file of files) {
    const entry = await loadEnvFile(file);
    const id = envId(entry);
    const clash = envs.find((e) => e.id === id);
    if (clash) throw new UserError(`--env ${file}: its id ${id} is already served (${clash.source === 'builtin' ? 'a built-in environment' : `from ${clash.source}`}); give it another id`);
    envs.push({ id, entry, source: resolve(file) });
  }
  return envs;
}

function envInfo(env: ServedEnv): S.EnvInfo {
  const head = { id: env.id, source: env.source };
  const e = env.entry;
  if (e.kind === 'game') return { ...head, kind: 'game', description: e.game.description, difficulty: null, numActions: e.game.numActions, encodingShape: [...e.game.encodingShape] };
  const info: S.EnvInfo = { ...head, kind: e.kind, description: e.family.description, difficulty: { ...e.family.difficulty } };
  if (e.kind === 'multiturn') info.maxTurns = e.family.maxTurns;
  return info;
}

/** The registry's message for an unknown id (with close matches). */
function unknownEnvMessage(id: string): string {
  try {
    getEnv(id);
  } catch (err) {
    if (err instanceof UserError) return err.message.replace(/ \(`flywheel envs list`.*\)$/, ' (GET /envs lists them)');
  }
  return `unknown environment ${JSON.stringify(id)} (GET /envs lists them)`;
}
