/**
 * The routes of `flywheel env-server`, as data: method, path, request and
 * response schema, one line of summary. The server dispatches on this table
 * (its handlers are keyed by route name), `GET /schema` serves it as JSON
 * Schema, and docs/env-server.schema.json is this same document (a test
 * regenerates it and compares), so code, endpoint and docs agree.
 *
 * Paths hold `:id` for a session id. Every route but GET /health needs the
 * bearer token when the server has one.
 */
import { z } from 'zod';
import * as S from './env_schema.ts';

export interface Route {
  method: 'GET' | 'POST' | 'DELETE';
  path: string; // e.g. '/sessions/:id/step'
  summary: string;
  request: z.ZodType | null; // the JSON body, or null when there is none
  response: z.ZodType; // a 200 response
  public?: true; // needs no token
}

export const ROUTES = {
  health: { method: 'GET', path: '/health', summary: 'liveness and load; needs no token', request: null, response: S.Health, public: true },
  schema: { method: 'GET', path: '/schema', summary: 'this document: a JSON Schema for every request and response', request: null, response: S.SchemaDocument },
  listEnvs: { method: 'GET', path: '/envs', summary: 'every environment served: id, kind, description, difficulty range; games: numActions, encodingShape', request: null, response: S.EnvList },
  createSession: {
    method: 'POST',
    path: '/sessions',
    summary: 'start a session: a task (its prompt), an episode (its first observation) or a game (the initial position)',
    request: S.CreateSession,
    response: S.SessionView,
  },
  getSession: { method: 'GET', path: '/sessions/:id', summary: "a session's prompt, observation or position", request: null, response: S.SessionView },
  step: { method: 'POST', path: '/sessions/:id/step', summary: 'multiturn: act; returns the next observation, reward, done, info', request: S.StepRequest, response: S.StepResponse },
  verifySession: { method: 'POST', path: '/sessions/:id/verify', summary: "task: grade a completion of the session's task", request: S.VerifyRequest, response: S.Verdict },
  play: { method: 'POST', path: '/sessions/:id/play', summary: 'game: play a move for the player to move; returns the new position (result set once over)', request: S.PlayRequest, response: S.GameView },
  closeSession: { method: 'DELETE', path: '/sessions/:id', summary: 'end a session (idle sessions also expire)', request: null, response: S.Closed },
  tasks: { method: 'POST', path: '/tasks', summary: 'prompts of many tasks at once, without sessions (to build a dataset)', request: S.TasksRequest, response: S.TasksResponse },
  verify: {
    method: 'POST',
    path: '/verify',
    summary: "grade many completions at once, without sessions: a trainer's reward function",
    request: S.VerifyBatchRequest,
    response: S.VerifyBatchResponse,
  },
} as const satisfies Record<string, Route>;

export type RouteName = keyof typeof ROUTES;

/** The route for a method and path, with the session id when the path has one. */
export function matchRoute(method: string, pathname: string): { name: RouteName; id?: string } | { allowed: string[] } | null {
  const parts = pathname.split('/').filter(Boolean);
  const allowed: string[] = [];
  for (const [name, route] of Object.entries(ROUTES) as [RouteName, Route][]) {
    const pattern = route.path.split('/').filter(Boolean);
    if (pattern.length !== parts.length) continue;
    let id: string | undefined;
    const same = pattern.every((p, i) => (p === ':id' ? ((id = decodeSegment(parts[i])), true) : p === parts[i]));
    if (!same) continue;
    if (route.method === method) return { name, id };
    allowed.push(route.method);
  }
  return allowed.length ? { allowed } : null;
}

/** A path segment with %-escapes decoded ('%zz' stays as it is: it is just an id no session has). */
function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The schema document served at GET /schema and written to docs/env-server.schema.json. */
export function schemaDocument(): S.SchemaDocument {
  const toJson = (schema: z.ZodType, io: 'input' | 'output') => z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return {
    name: 'flywheel env-server',
    routes: (Object.entries(ROUTES) as [RouteName, Route][]).map(([name, r]) => ({
      name,
      method: r.method,
      path: r.path,
      summary: r.summary,
      request: r.request ? toJson(r.request, 'input') : null,
      response: toJson(r.response, 'output'),
    })),
    error: toJson(S.ErrorResponse, 'output'),
  } as S.SchemaDocument;
}
