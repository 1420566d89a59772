/**
 * OpenAIPolicy: any OpenAI-compatible server (OpenAI, vLLM, SGLang, Ollama,
 * `flywheel serve`) as a Policy, over POST {base}/chat/completions (the
 * default) or {base}/completions.
 *
 *   const policy = new OpenAIPolicy({ baseUrl: 'http://127.0.0.1:8000/v1', model: 'm' });
 *   const [[c]] = await policy.complete([[{ role: 'user', content: '2+2=' }]], { n: 1, maxTokens: 8, temperature: 0, seed: 0 });
 *
 * - Base URL, model and key come from the options, else OPENAI_BASE_URL and
 *   OPENAI_API_KEY. A base URL without a path gets "/v1".
 * - At most `concurrency` requests are in flight across all calls.
 * - n samples per prompt are asked for in one request; where a server returns
 *   fewer choices (it ignores n), the rest are asked for again, each request
 *   with its own seed so a seeded server does not repeat itself.
 * - Each prompt's seed is derived from the call's seed and the prompt's index,
 *   so a prompt sent again (a resumed evaluation) gets the same seed.
 * - logprobs are asked for; a server that refuses them (400 naming logprobs)
 *   is asked again without, once, and never again.
 * - Retries, timeouts and errors: openai_http.ts. `usage` counts the tokens
 *   the server reports, requests and retries, for the run's metrics.
 *
 * The completions API gets the chat rendered in flywheel's text form
 * (format.ts): each turn's content followed by "\n". For remote policies
 * Completion.tokens is null: a remote server's token ids are not ours.
 */
import { UserError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';
import { TURN_SUFFIX, type Message } from './format.ts';
import type { Completion, Policy, SamplingParams } from './types.ts';
import { EndpointError, postWithRetries, type RetryOptions } from './openai_http.ts';

export type OpenAIApi = 'chat' | 'completions';

export interface OpenAIPolicyOptions {
  baseUrl?: string; // e.g. http://127.0.0.1:8000/v1 (default $OPENAI_BASE_URL)
  model: string; // the server's model name
  apiKey?: string; // sent as "Authorization: Bearer"; default $OPENAI_API_KEY (none when unset)
  api?: OpenAIApi; // default 'chat'
  concurrency?: number; // requests in flight at once; default 8
  timeoutMs?: number; // per request; default 120 s
  retries?: number; // per request, on 429 / 5xx / timeout / cut-off; default 6
  backoffMs?: number; // first backoff, doubling; default 500 ms
  maxBackoffMs?: number; // default 30 s
  stream?: boolean; // read answers as SSE streams; default false
  logprobs?: boolean; // ask for per-token logprobs; default true
  seed?: number; // seed of the retry jitter; default 0
  signal?: AbortSignal; // cancels every request
  onRetry?: (e: EndpointError, attempt: number, waitMs: number) => void;
  env?: Record<string, string | undefined>; // where OPENAI_* are read from; default process.env
}

export interface Usage {
  requests: number; // answered requests
  retries: number;
  promptTokens: number; // as the server reported them (0 when it reports none)
  completionTokens: number;
}

/** What one choice of a response became. */
interface Choice {
  text: string;
  finish: string | null;
  logprobs: number[] | null;
}

export class OpenAIPolicy implements Policy {
  readonly name: string;
  readonly url: string; // the endpoint requests go to
  readonly model: string;
  readonly api: OpenAIApi;
  readonly usage: Usage = { requests: 0, retries: 0, promptTokens: 0, completionTokens: 0 };
  private readonly headers: Record<string, string>;
  private readonly retry: RetryOptions;
  private readonly stream: boolean;
  private wantLogprobs: boolean;
  private readonly limit: Semaphore;

  constructor(opts: OpenAIPolicyOptions) {
    const env = opts.env ?? process.env;
    const base = opts.baseUrl ?? env.OPENAI_BASE_URL;
    if (!base) throw new UserError('no endpoint: give --endpoint URL (e.g. http://127.0.0.1:8000/v1) or set OPENAI_BASE_URL');
    if (!opts.model) throw new UserError('no model: give --model NAME (the server lists its models at GET /v1/models)');
    this.api = opts.api ?? 'chat';
    this.url = `${baseUrl(base)}/${this.api === 'chat' ? 'chat/completions' : 'completions'}`;
    this.model = opts.model;
    this.name = `openai:${baseUrl(base)} ${opts.model}`;
    const key = opts.apiKey ?? env.OPENAI_API_KEY;
    this.headers = key ? { Authorization: `Bearer ${key}` } : {};
    this.stream = opts.stream ?? false;
    this.wantLogprobs = opts.logprobs ?? true;
    this.limit = new Semaphore(opts.concurrency ?? 8);
    this.retry = {
      timeoutMs: opts.timeoutMs ?? 120_000, retries: opts.retries ?? 6, backoffMs: opts.backoffMs ?? 500, maxBackoffMs: opts.maxBackoffMs ?? 30_000,
      maxRetryAfterMs: 120_000, rng: new Rng(`openai-jitter:${opts.seed ?? 0}`), signal: opts.signal,
      onRetry: (e, attempt, wait) => {
        this.usage.retries++;
        opts.onRetry?.(e, attempt, wait);
      },
    };
  }

  async complete(prompts: readonly (readonly Message[])[], params: SamplingParams & { n: number }): Promise<Completion[][]> {
    return Promise.all(prompts.map((messages, i) => this.completeOne(messages, params, promptSeed(params.seed, i))));
  }

  /** n completions of one prompt: one request, then more while the server returns fewer choices than asked. */
  private async completeOne(messages: readonly Message[], params: SamplingParams & { n: number }, seed: number): Promise<Completion[]> {
    const out: Completion[] = [];
    for (let r = 0; out.length < params.n; r++) {
      const want = params.n - out.length;
      const { choices, promptTokens, completionTokens } = await this.limit.run(() => this.request(messages, params, want, (seed + r * 7919) >>> 0));
      if (choices.length === 0) throw new EndpointError(this.url, 'malformed', `the response has no choices (asked for n=${want})`);
      const per = Math.round(completionTokens / choices.length);
      for (const c of choices.slice(0, want)) {
        out.push({
          text: c.text, finish: c.finish === 'length' ? 'length' : 'stop', tokens: null, logprobs: c.logprobs,
          promptTokens, completionTokens: c.logprobs?.length ?? per,
        });
      }
    }
    return out;
  }

  private async request(messages: readonly Message[], p: SamplingParams, n: number, seed: number): Promise<{ choices: Choice[]; promptTokens: number; completionTokens: number }> {
    const body: Record<string, unknown> = { model: this.model, n, max_tokens: p.maxTokens, temperature: p.temperature, seed };
    if (p.topP !== undefined && p.topP < 1) body.top_p = p.topP;
    if (p.stop?.length) body.stop = [...p.stop];
    if (this.api === 'chat') body.messages = messages.map((m) => ({ role: m.role, content: m.content }));
    else body.prompt = messages.map((m) => m.content + TURN_SUFFIX).join('');
    if (this.stream) (body.stream = true), (body.stream_options = { include_usage: true });
    const asked = this.wantLogprobs;
    if (asked) body.logprobs = this.api === 'chat' ? true : 0;
    let events: unknown[];
    try {
      events = await postWithRetries(this.url, this.headers, body, this.stream, this.retry);
    } catch (err) {
      if (asked && err instanceof EndpointError && err.kind === 'bad_request' && /logprob/i.test(err.message)) {
        this.wantLogprobs = false; // this server does not do logprobs: ask without from now on
        return this.request(messages, p, n, seed);
      }
      throw err;
    }
    this.usage.requests++;
    const parsed = this.stream ? this.fromStream(events) : this.fromBody(events[0]);
    this.usage.promptTokens += parsed.promptTokens;
    this.usage.completionTokens += parsed.completionTokens;
    return parsed;
  }

  /** A non-streamed response: { choices: [{ index, message | text, logprobs, finish_reason }], usage }. */
  private fromBody(v: unknown): { choices: Choice[]; promptTokens: number; completionTokens: number } {
    const body = v as { choices?: unknown; usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } };
    if (!body || typeof body !== 'object' || !Array.isArray(body.choices)) throw this.malformed(`expected {"choices": [...]}, got ${preview(v)}`);
    const choices = (body.choices as Record<string, unknown>[]).map((c, i) => {
      const text = this.api === 'chat' ? (c?.message as { content?: unknown } | undefined)?.content : c?.text;
      if (typeof text !== 'string' && text !== null) throw this.malformed(`choice ${i} has no ${this.api === 'chat' ? 'message.content' : 'text'}: ${preview(c)}`);
      return { index: typeof c.index === 'number' ? c.index : i, text: text ?? '', finish: (c.finish_reason as string) ?? null, logprobs: this.logprobsOf(c.logprobs) };
    });
    choices.sort((a, b) => a.index - b.index);
    return { choices, promptTokens: num(body.usage?.prompt_tokens), completionTokens: num(body.usage?.completion_tokens) };
  }

  /** Stream chunks: { choices: [{ index, delta.content | text, logprobs, finish_reason }] } and a last one with usage. */
  private fromStream(events: unknown[]): { choices: Choice[]; promptTokens: number; completionTokens: number } {
    const acc = new Map<number, Choice>();
    let promptTokens = 0, completionTokens = 0;
    for (const e of events) {
      const ev = e as { choices?: unknown; usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } | null };
      if (!ev || typeof ev !== 'object') throw this.malformed(`a stream event is not an object: ${preview(e)}`);
      if (ev.usage) (promptTokens = num(ev.usage.prompt_tokens)), (completionTokens = num(ev.usage.completion_tokens));
      if (!Array.isArray(ev.choices)) continue;
      for (const c of ev.choices as Record<string, unknown>[]) {
        const index = typeof c.index === 'number' ? c.index : 0;
        const ch = acc.get(index) ?? { text: '', finish: null, logprobs: null };
        const piece = this.api === 'chat' ? (c.delta as { content?: unknown } | undefined)?.content : c.text;
        if (typeof piece === 'string') ch.text += piece;
        const lp = this.logprobsOf(c.logprobs);
        if (lp) ch.logprobs = [...(ch.logprobs ?? []), ...lp];
        if (typeof c.finish_reason === 'string') ch.finish = c.finish_reason;
        acc.set(index, ch);
      }
    }
    const choices = [...acc.entries()].sort((a, b) => a[0] - b[0]).map(([, c]) => c);
    return { choices, promptTokens, completionTokens };
  }

  /** Chat: { content: [{ token, logprob }] }; completions: { token_logprobs: [..] }; null otherwise. */
  private logprobsOf(v: unknown): number[] | null {
    const lp = v as { content?: { logprob?: unknown }[] | null; token_logprobs?: unknown[] } | null | undefined;
    if (!lp || typeof lp !== 'object') return null;
    const xs = Array.isArray(lp.content) ? lp.content.map((t) => t?.logprob) : Array.isArray(lp.token_logprobs) ? lp.token_logprobs : null;
    if (!xs || !xs.every((x) => typeof x === 'number')) return null;
    return xs as number[];
  }

  private malformed(what: string): EndpointError {
    return new EndpointError(this.url, 'malformed', `unexpected response shape: ${what}`);
  }
}

/** The base URL without a trailing slash; "/v1" when it has no path. */
export function baseUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new UserError(`--endpoint ${JSON.stringify(raw)} is not a URL (e.g. http://127.0.0.1:8000/v1)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new UserError(`--endpoint ${raw}: only http:// and https:// endpoints`);
  const path = u.pathname.replace(/\/+$/, '');
  return `${u.origin}${path === '' ? '/v1' : path}`;
}

/** The seed of prompt i of a call: stable, so the same prompt at the same index is asked with the same seed. */
export function promptSeed(seed: number, i: number): number {
  return (Math.imul(seed >>> 0, 1_000_003) + i * 1009) >>> 1;
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function preview(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

/** At most `n` tasks at once; the rest wait in order. */
class Semaphore {
  private active = 0;
  private readonly queue: (() => void)[] = [];
  constructor(private readonly n: number) {
    if (!(n >= 1)) throw new UserError(`concurrency must be at least 1, got ${n}`);
  }

  async run<T>(f: () => Promise<T>): Promise<T> {
    if (this.active >= this.n) await new Promise<void>((resolve) => this.queue.push(resolve)); // the slot is handed over
    else this.active++;
    try {
      return await f();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.active--;
    }
  }
}
