/**
 * `flywheel serve`: a flywheel model behind the OpenAI API, over node:http.
 *
 *   GET  /v1/models                 the one served model
 *   POST /v1/chat/completions       chat; the chat template is format.ts's (docs/serve.md)
 *   POST /v1/completions            raw text continuation (the prompt is encoded as is)
 *
 * Both POST routes take n, temperature, top_p, max_tokens, stop, seed,
 * logprobs (chat: top_logprobs too) and stream (SSE, with
 * stream_options.include_usage). Sampling goes through the Batcher
 * (openai_batch.ts): requests that arrive together share one sampling call.
 * A stream is written once its completions are sampled (the sampler
 * returns whole sequences), one chunk per token.
 *
 * Errors are OpenAI's shape and codes:
 *   { "error": { "message": "...", "type": "invalid_request_error", "param": "temperature", "code": null } }
 * 400 validation, 401 key, 404 model or route, 405 method, 413 body size,
 * 500 internal. No request crashes the server.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { z } from 'zod';
import { UserError } from '../util/errors.ts';
import { noGrad } from '../tensor/tensor.ts';
import type { LocalPolicy } from '../policy/local.ts';
import { encodeChat, encodePrompt, type Message } from '../policy/format.ts';
import type { TokenSample } from '../policy/types.ts';
import { hasBearer, HttpError, listen, parseBody, readBody, sendJson } from './env_http.ts';
import { ChatRequest, CompletionRequest, type OpenAIErrorBody } from './openai_schema.ts';
import { Batcher, type BatcherStats } from './openai_batch.ts';

export interface OpenAIServerOptions {
  policy: LocalPolicy;
  modelName: string; // the id clients ask for
  host: string;
  port: number; // 0 picks a free one
  apiKey?: string; // require "Authorization: Bearer <key>"
  batchWindowMs: number; // how long the first request of a batch waits for company
  maxBodyBytes: number;
  seed: number; // the server's generator (seeds of unseeded sampled requests)
  onError?: (err: unknown) => void; // told of internal errors (the request got a 500)
}

export const OPENAI_SERVER_DEFAULTS = { host: '127.0.0.1', port: 8000, batchWindowMs: 5, maxBodyBytes: 1 << 20, seed: 0 } as const;

export interface OpenAIServer {
  url: string; // http://host:port (the API is under /v1)
  port: number;
  stats: { requests: number; errors: number; batcher: BatcherStats };
  close(): Promise<void>; // stops listening, lets requests in flight finish
}

class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly param: string | null = null, readonly code: string | null = null, readonly type = 'invalid_request_error') {
    super(message);
  }
}

export async function startOpenAIServer(opts: OpenAIServerOptions): Promise<OpenAIServer> {
  const { policy } = opts;
  const tok = policy.tokenizer;
  const batcher = new Batcher(policy, opts.batchWindowMs, opts.seed);
  const stats = { requests: 0, errors: 0, batcher: batcher.stats };
  const created = Math.floor(Date.now() / 1000);
  let nextId = 0;

  const checkModel = (model: string): void => {
    if (model !== opts.modelName) throw new ApiError(404, `The model '${model}' does not exist; this server serves '${opts.modelName}' (GET /v1/models)`, 'model', 'model_not_found');
  };

  /** The shared sampling fields of both endpoints, checked against the model's context. */
  const sampling = (b: ChatRequest | CompletionRequest, prefixes: number[][]): Omit<Parameters<Batcher['sample']>[0], 'prefixes'> & { prefixes: number[][] } => {
    const T = policy.contextLength;
    const longest = Math.max(...prefixes.map((p) => p.length));
    if (longest >= T) throw new ApiError(400, `This model's maximum context length is ${T} tokens; the prompt has ${longest}, which leaves no room to answer`, 'messages', 'context_length_exceeded');
    const asked = ('max_completion_tokens' in b ? b.max_completion_tokens : null) ?? b.max_tokens ?? null;
    const maxTokens = Math.min(asked ?? T, T - longest);
    const stop = b.stop == null ? [] : typeof b.stop === 'string' ? [b.stop] : b.stop;
    return { prefixes, n: b.n ?? 1, maxTokens, temperature: b.temperature ?? 1, topP: b.top_p ?? 1, stop: stop.filter((s) => s !== ''), seed: b.seed ?? null };
  };

  /** One sampled completion as the API shows it: text cut at a stop text, the tokens behind that text, the finish reason. */
  const reply = (s: TokenSample, stop: readonly string[]): { text: string; tokens: number[]; logprobs: number[]; finish: 'stop' | 'length' } => {
    const eos = s.tokens.indexOf(tok.eosId);
    const body = eos < 0 ? s.tokens : s.tokens.slice(0, eos);
    let text = tok.decode(body), finish: 'stop' | 'length' = eos >= 0 ? 'stop' : s.finish;
    let cutAt = -1;
    for (const t of stop) {
      const i = text.indexOf(t);
      if (i >= 0 && (cutAt < 0 || i < cutAt)) cutAt = i;
    }
    if (cutAt >= 0) (text = text.slice(0, cutAt)), (finish = 'stop');
    let k = 0; // tokens that make up the text
    while (k < body.length && tok.decode(body.slice(0, k)).length < text.length) k++;
    return { text, tokens: body.slice(0, k), logprobs: s.logprobs.slice(0, k), finish };
  };

  /** Top alternatives at each sampled position (one forward pass over prompt + completion). */
  const topLogprobs = (prefix: number[], tokens: number[], top: number): { id: number; logprob: number }[][] => {
    if (top === 0 || tokens.length === 0) return tokens.map(() => []);
    const seq = [...prefix, ...tokens].slice(0, policy.contextLength);
    const V = policy.model.config.vocabSize;
    const { logits } = noGrad(() => policy.model.forward(Int32Array.from(seq), 1, seq.length)); // (1, T, V)
    return tokens.map((_, j) => {
      const o = (prefix.length - 1 + j) * V;
      const row = logits.data.subarray(o, o + V);
      let mx = -Infinity;
      for (const x of row) if (x > mx) mx = x;
      let z = 0;
      for (const x of row) z += Math.exp(x - mx);
      const lse = mx + Math.log(z);
      return [...row.keys()].sort((a, b) => row[b] - row[a]).slice(0, top).map((id) => ({ id, logprob: row[id] - lse }));
    });
  };

  const piece = (id: number) => {
    const token = tok.decode([id]);
    return { token, bytes: [...Buffer.from(token, 'utf8')] };
  };

  async function chat(b: ChatRequest, res: ServerResponse): Promise<void> {
    checkModel(b.model);
    const messages: Message[] = b.messages.map((m) => ({
      role: m.role === 'developer' ? 'system' : m.role,
      content: typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join(''),
    }));
    if (messages.at(-1)!.role === 'assistant') throw new ApiError(400, 'the last message must be from the user (or system): the model writes the next assistant turn', 'messages');
    if (b.top_logprobs != null && b.top_logprobs > 0 && !b.logprobs) throw new ApiError(400, 'top_logprobs needs logprobs: true', 'top_logprobs');
    const prefix = encodeChat(tok, messages, { open: true }).tokens;
    const s = sampling(b, [prefix]);
    const [samples] = await batcher.sample(s);
    const id = `chatcmpl-${nextId++}`, top = b.top_logprobs ?? 0;
    const choices = samples.map((x, index) => {
      const r = reply(x, s.stop);
      const lp = b.logprobs ? { content: logprobContent(r, topLogprobs(prefix, r.tokens, top)) } : null;
      return { index, r, lp };
    });
    const usage = { prompt_tokens: prefix.length, completion_tokens: sumTokens(samples), total_tokens: prefix.length + sumTokens(samples) };
    const head = { id, created: Math.floor(Date.now() / 1000), model: opts.modelName, system_fingerprint: 'flywheel' };
    if (!b.stream) {
      return sendJson(res, 200, {
        ...head, object: 'chat.completion',
        choices: choices.map((c) => ({ index: c.index, message: { role: 'assistant', content: c.r.text, refusal: null }, logprobs: c.lp, finish_reason: c.r.finish })),
        usage,
      });
    }
    const chunk = (choice: object) => ({ ...head, object: 'chat.completion.chunk', choices: [choice] });
    const events: object[] = [];
    for (const c of choices) {
      events.push(chunk({ index: c.index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }));
      textPieces(c.r.text, c.r.tokens).forEach((text, j) => {
        events.push(chunk({ index: c.index, delta: { content: text }, logprobs: c.lp ? { content: [c.lp.content[j]] } : null, finish_reason: null }));
      });
      events.push(chunk({ index: c.index, delta: {}, logprobs: null, finish_reason: c.r.finish }));
    }
    if (b.stream_options?.include_usage) events.push({ ...head, object: 'chat.completion.chunk', choices: [], usage });
    sendSse(res, events);
  }

  function logprobContent(r: ReturnType<typeof reply>, tops: { id: number; logprob: number }[][]) {
    return r.tokens.map((id, j) => ({ ...piece(id), logprob: r.logprobs[j], top_logprobs: tops[j].map((t) => ({ ...piece(t.id), logprob: t.logprob })) }));
  }

  async function completions(b: CompletionRequest, res: ServerResponse): Promise<void> {
    checkModel(b.model);
    const prompts = typeof b.prompt === 'string' ? [b.prompt] : b.prompt;
    const prefixes = prompts.map((p) => encodePrompt(tok, p, 'text'));
    const s = sampling(b, prefixes);
    const all = await batcher.sample(s);
    const id = `cmpl-${nextId++}`, top = b.logprobs ?? null;
    const choices = all.flatMap((samples, p) => samples.map((x, j) => {
      const r = reply(x, s.stop);
      let lp: object | null = null;
      if (top !== null) {
        const tops = topLogprobs(prefixes[p], r.tokens, top);
        const tokens = r.tokens.map((t) => piece(t).token);
        const offsets = tokens.map((_, k) => prompts[p].length + tokens.slice(0, k).join('').length);
        lp = { tokens, token_logprobs: r.logprobs, top_logprobs: tops.map((ts) => Object.fromEntries(ts.map((t) => [piece(t.id).token, t.logprob]))), text_offset: offsets };
      }
      return { index: p * s.n + j, r, lp };
    }));
    const promptTokens = prefixes.reduce((a, p) => a + p.length, 0), completionTokens = all.reduce((a, xs) => a + sumTokens(xs), 0);
    const usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
    const head = { id, created: Math.floor(Date.now() / 1000), model: opts.modelName, system_fingerprint: 'flywheel' };
    if (!b.stream) {
      return sendJson(res, 200, { ...head, object: 'text_completion', choices: choices.map((c) => ({ index: c.index, text: c.r.text, logprobs: c.lp, finish_reason: c.r.finish })), usage });
    }
    const events: object[] = [];
    for (const c of choices) {
      for (const text of textPieces(c.r.text, c.r.tokens)) events.push({ ...head, object: 'text_completion', choices: [{ index: c.index, text, logprobs: null, finish_reason: null }] });
      events.push({ ...head, object: 'text_completion', choices: [{ index: c.index, text: '', logprobs: c.lp, finish_reason: c.r.finish }] });
    }
    if (b.stream_options?.include_usage) events.push({ ...head, object: 'text_completion', choices: [], usage });
    sendSse(res, events);
  }

  /** The text in one piece per token (a piece may be empty while a multi-byte character is incomplete). */
  function textPieces(text: string, tokens: number[]): string[] {
    const out: string[] = [];
    let shown = 0;
    for (let k = 1; k <= tokens.length; k++) {
      const upTo = k === tokens.length ? text.length : Math.min(text.length, tok.decode(tokens.slice(0, k)).replace(/\uFFFD+$/, '').length);
      out.push(text.slice(shown, Math.max(shown, upTo)));
      shown = Math.max(shown, upTo);
    }
    return out;
  }

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '');
    const routes: Record<string, string> = { '/v1/models': 'GET', '/v1/chat/completions': 'POST', '/v1/completions': 'POST', '/health': 'GET' };
    const allowed = routes[path] ?? (path.startsWith('/v1/models/') ? 'GET' : undefined);
    if (allowed === undefined) throw new ApiError(404, `Unknown request URL: ${method} ${path}. This server serves GET /v1/models, POST /v1/chat/completions and POST /v1/completions`, null, 'unknown_url');
    if (method !== allowed) throw new ApiError(405, `${method} ${path}: this path takes ${allowed}`, null, 'method_not_allowed');
    if (path === '/health') return sendJson(res, 200, { ok: true, model: opts.modelName });
    if (opts.apiKey !== undefined) checkKey(req, opts.apiKey);
    const model = { id: opts.modelName, object: 'model', created, owned_by: 'flywheel' };
    if (path === '/v1/models') return sendJson(res, 200, { object: 'list', data: [model] });
    if (path.startsWith('/v1/models/')) {
      checkModel(decodeURIComponent(path.slice('/v1/models/'.length)));
      return sendJson(res, 200, model);
    }
    const body = await readBody(req, opts.maxBodyBytes);
    if (path === '/v1/chat/completions') return chat(parse(body, ChatRequest), res);
    return completions(parse(body, CompletionRequest), res);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    stats.requests++;
    try {
      await route(req, res);
    } catch (err) {
      stats.errors++;
      if (res.headersSent) return void res.destroy();
      if (err instanceof ApiError) return sendError(res, err);
      if (err instanceof HttpError) return sendError(res, new ApiError(err.status, err.message, err.field ?? null, err.status === 413 ? 'payload_too_large' : null), err.headers);
      if (err instanceof UserError) return sendError(res, new ApiError(400, err.message));
      opts.onError?.(err);
      sendError(res, new ApiError(500, `internal error: ${err instanceof Error ? err.message : String(err)}`, null, null, 'server_error'));
    }
  };

  const server = createServer((req, res) => void handle(req, res));
  server.on('clientError', (_err, socket) => socket.destroy());
  server.keepAliveTimeout = 65_000; // longer than clients' idle pools keep sockets, so a client never reuses one the server just closed
  server.headersTimeout = 66_000;
  const port = await listen(server, opts.host, opts.port);
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${host}:${port}`,
    port,
    stats,
    async close() {
      const closed = new Promise<void>((done) => server.close(() => done()));
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), 10_000);
      await closed;
      clearTimeout(force);
    },
  };
}

/** A body checked against a schema; env_http's 400 (naming the field) becomes an OpenAI error with param set. */
function parse<T extends z.ZodType>(body: Buffer, schema: T): z.output<T> {
  return parseBody(body, schema);
}

function checkKey(req: IncomingMessage, key: string): void {
  if (hasBearer(req, key)) return;
  throw new ApiError(401, /^Bearer\s+(.+)$/i.test(req.headers.authorization ?? '') ? 'Incorrect API key provided' : 'You didn\'t provide an API key: send "Authorization: Bearer <key>"', null, 'invalid_api_key', 'authentication_error');
}

function sumTokens(samples: readonly TokenSample[]): number {
  return samples.reduce((a, s) => a + s.tokens.length, 0);
}

function sendError(res: ServerResponse, err: ApiError, headers: Record<string, string> = {}): void {
  const body: OpenAIErrorBody = { error: { message: err.message, type: err.type, param: err.param, code: err.code } };
  sendJson(res, err.status, body, headers);
}

function sendSse(res: ServerResponse, events: readonly object[]): void {
  res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
  for (const e of events) res.write(`data: ${JSON.stringify(e)}\n\n`);
  res.end('data: [DONE]\n\n');
}
