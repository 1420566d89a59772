/**
 * A client of `flywheel env-server`: one typed method per route (see
 * env_routes.ts), over the global fetch.
 *
 *   const envs = new EnvClient('http://127.0.0.1:8765', { token, timeoutMs: 10_000 });
 *   const s = await envs.createSession({ env: 'addsub-v1', seed: 4 });
 *   if (s.kind === 'task') console.log(s.prompt, await envs.verify(s.session, 'Answer: 53'));
 *   const { results } = await envs.verifyBatch([{ env: 'addsub-v1', seed: 4, completion: 'Answer: 53' }]);
 *
 * Every failure is an EnvServerError whose message names the method and URL:
 * the server's own error (status, code, message, field) for a 4xx/5xx, or
 * status 0 with code 'unreachable' / 'timeout' / 'bad_response' when no usable
 * answer came back. Only types are imported from the schemas, so the client
 * loads no validation library.
 */
import type * as S from './env_schema.ts';

export interface EnvClientOptions {
  token?: string; // sent as "Authorization: Bearer <token>"
  timeoutMs?: number; // per request; default 30 s (a batch of sandboxed programs can take a while)
}

export class EnvServerError extends Error {
  constructor(
    message: string,
    readonly url: string, // the request's URL
    readonly status: number, // HTTP status; 0 when there was no HTTP answer
    readonly code: S.ErrorResponse['error']['code'] | 'unreachable' | 'timeout' | 'bad_response',
    readonly field?: string, // the request field the server refused
  ) {
    super(message);
    this.name = 'EnvServerError';
  }
}

export class EnvClient {
  readonly url: string;
  private readonly token?: string;
  private readonly timeoutMs: number;

  constructor(url: string, opts: EnvClientOptions = {}) {
    this.url = url.replace(/\/+$/, '');
    this.token = opts.token;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  health(): Promise<S.Health> {
    return this.call('GET', '/health');
  }

  schema(): Promise<S.SchemaDocument> {
    return this.call('GET', '/schema');
  }

  async listEnvs(): Promise<S.EnvInfo[]> {
    return (await this.call<S.EnvList>('GET', '/envs')).envs;
  }

  /** A session: a task's prompt, an episode's first observation or a game's initial position. */
  createSession(req: S.CreateSession): Promise<S.SessionView> {
    return this.call('POST', '/sessions', req);
  }

  getSession(session: string): Promise<S.SessionView> {
    return this.call('GET', `/sessions/${encodeURIComponent(session)}`);
  }

  /** Multi-turn: one action. */
  step(session: string, action: string): Promise<S.StepResponse> {
    return this.call('POST', `/sessions/${encodeURIComponent(session)}/step`, { action });
  }

  /** Single-turn: grade a completion of the session's task. */
  verify(session: string, completion: string): Promise<S.Verdict> {
    return this.call('POST', `/sessions/${encodeURIComponent(session)}/verify`, { completion });
  }

  /** Games: play a move for the player to move. */
  play(session: string, move: number): Promise<S.GameView> {
    return this.call('POST', `/sessions/${encodeURIComponent(session)}/play`, { move });
  }

  close(session: string): Promise<S.Closed> {
    return this.call('DELETE', `/sessions/${encodeURIComponent(session)}`);
  }

  /** Prompts of many tasks, without sessions. */
  async tasks(items: S.TaskRef[]): Promise<S.TasksResponse['tasks']> {
    return (await this.call<S.TasksResponse>('POST', '/tasks', { items })).tasks;
  }

  /** Verdicts of many completions, without sessions, in the order given. */
  verifyBatch(items: S.VerifyItem[]): Promise<S.VerifyBatchResponse> {
    return this.call('POST', '/verify', { items });
  }

  private async call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const url = `${this.url}${path}`;
    const where = `${method} ${url}`;
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (this.token !== undefined) headers.Authorization = `Bearer ${this.token}`;
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(this.timeoutMs) });
      text = await res.text();
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      if (e.name === 'TimeoutError') throw new EnvServerError(`${where}: no answer within ${this.timeoutMs / 1000} s`, url, 0, 'timeout');
      const why = e.cause?.code ?? e.cause?.message ?? e.message;
      throw new EnvServerError(`${where}: cannot reach the env server (${why})`, url, 0, 'unreachable');
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new EnvServerError(`${where}: HTTP ${res.status} with a body that is not JSON: ${text.slice(0, 120)}`, url, res.status, 'bad_response');
    }
    if (res.ok) return value as T;
    const error = (value as Partial<S.ErrorResponse>).error;
    if (!error || typeof error.message !== 'string') throw new EnvServerError(`${where}: HTTP ${res.status}: ${text.slice(0, 200)}`, url, res.status, 'bad_response');
    throw new EnvServerError(`${where}: ${res.status} ${error.code}: ${error.message}`, url, res.status, error.code, error.field);
  }
}
