/**
 * One HTTP call to an OpenAI-compatible endpoint, with what real endpoints
 * need around it: a per-request timeout, retries with exponential backoff and
 * seeded jitter on 429, 5xx, timeouts and cut-off responses (honouring
 * Retry-After), SSE stream reading, and errors that name the endpoint and say
 * what went wrong:
 *
 *   unreachable   connection refused, unknown host            (not retried)
 *   unauthorized  401 / 403: the API key                       (not retried)
 *   not_found     404: usually the model name                  (not retried)
 *   bad_request   other 4xx: the server's own message          (not retried)
 *   rate_limited  429                                          (retried, Retry-After honoured)
 *   server        5xx                                          (retried)
 *   timeout       no complete answer within timeoutMs          (retried)
 *   truncated     the body or the SSE stream ended early       (retried)
 *   malformed     a body that is not the JSON it should be     (not retried)
 *
 * Uses Node's global fetch (undici) and AbortSignal; no dependency.
 */
import { UserError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';

export type EndpointErrorKind =
  | 'unreachable' | 'unauthorized' | 'not_found' | 'bad_request' | 'rate_limited' | 'server' | 'timeout' | 'truncated' | 'malformed' | 'aborted';

const RETRYABLE: ReadonlySet<EndpointErrorKind> = new Set(['rate_limited', 'server', 'timeout', 'truncated']);

/** A failed call to an endpoint: a UserError (the CLI prints the message alone) with the details a caller can act on. */
export class EndpointError extends UserError {
  constructor(
    readonly url: string,
    readonly kind: EndpointErrorKind,
    message: string,
    readonly status: number | null = null,
    readonly retryAfterMs: number | null = null,
  ) {
    super(`${url}: ${message}`);
    this.name = 'EndpointError';
  }

  get retryable(): boolean {
    return RETRYABLE.has(this.kind);
  }
}

export interface RetryOptions {
  timeoutMs: number; // one attempt, from sending to the last byte
  retries: number; // further attempts after the first (retryable errors only)
  backoffMs: number; // first backoff; doubles each retry
  maxBackoffMs: number; // cap of the exponential backoff (Retry-After is honoured up to maxRetryAfterMs)
  maxRetryAfterMs: number; // a Retry-After longer than this is cut to it
  rng: Rng; // jitter
  signal?: AbortSignal; // aborts everything (Ctrl-C, a failed sibling request)
  onRetry?: (e: EndpointError, attempt: number, waitMs: number) => void;
}

/** The JSON body of a successful POST, or, with stream, the SSE events' JSON payloads in order. */
export async function postWithRetries(url: string, headers: Record<string, string>, body: object, stream: boolean, opts: RetryOptions): Promise<unknown[]> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await postOnce(url, headers, body, stream, opts.timeoutMs, opts.signal);
    } catch (err) {
      const e = err instanceof EndpointError ? err : new EndpointError(url, 'malformed', String((err as Error)?.message ?? err));
      if (!e.retryable || attempt >= opts.retries || opts.signal?.aborted) {
        if (e.retryable && attempt > 0) throw new EndpointError(url, e.kind, `${e.message.slice(url.length + 2)} (gave up after ${attempt + 1} attempts)`, e.status);
        throw e;
      }
      const backoff = Math.min(opts.maxBackoffMs, opts.backoffMs * 2 ** attempt) * (0.5 + 0.5 * opts.rng.float()); // equal jitter
      const wait = e.retryAfterMs !== null ? Math.min(opts.maxRetryAfterMs, Math.max(e.retryAfterMs, 0)) : backoff;
      opts.onRetry?.(e, attempt + 1, wait);
      await sleep(wait, opts.signal);
    }
  }
}

async function postOnce(url: string, headers: Record<string, string>, body: object, stream: boolean, timeoutMs: number, outer?: AbortSignal): Promise<unknown[]> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = outer ? AbortSignal.any([outer, timeout]) : timeout;
  const failed = (err: unknown, phase: string): EndpointError => {
    if (outer?.aborted) return new EndpointError(url, 'aborted', 'request cancelled');
    if (timeout.aborted) return new EndpointError(url, 'timeout', `no complete answer within ${timeoutMs} ms (${phase}; --timeout)`);
    return networkError(url, err, phase);
  };
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body), signal });
  } catch (err) {
    throw failed(err, 'waiting for the response');
  }
  if (!res.ok) {
    let text = '';
    try {
      text = await res.text();
    } catch {
      // the status says enough
    }
    throw statusError(url, res.status, text, res.headers);
  }
  if (stream) {
    try {
      return await readSse(url, res);
    } catch (err) {
      if (err instanceof EndpointError) throw err;
      throw failed(err, 'reading the stream');
    }
  }
  let text: string;
  try {
    text = await res.text();
  } catch (err) {
    const e = failed(err, 'reading the body');
    throw e.kind === 'timeout' || e.kind === 'aborted' ? e : new EndpointError(url, 'truncated', `the response body was cut off (${(err as Error).message})`);
  }
  try {
    return [JSON.parse(text)];
  } catch {
    throw new EndpointError(url, 'malformed', `the response is not JSON (HTTP ${res.status}, ${res.headers.get('content-type') ?? 'no content-type'}): ${preview(text)}`, res.status);
  }
}

/** The payloads of `data:` events until `data: [DONE]`; a stream that ends without it is truncated. */
async function readSse(url: string, res: Response): Promise<unknown[]> {
  if (!res.body) throw new EndpointError(url, 'truncated', 'the stream has no body');
  const events: unknown[] = [];
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true }).replace(/\r\n/g, '\n');
    let cut: number;
    while ((cut = buf.indexOf('\n\n')) >= 0) {
      const event = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      const data = event.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, '')).join('\n');
      if (data === '') continue; // a comment or keep-alive
      if (data === '[DONE]') return events;
      try {
        const value = JSON.parse(data);
        if (value && typeof value === 'object' && 'error' in value) throw statusError(url, 500, data, new Headers());
        events.push(value);
      } catch (err) {
        if (err instanceof EndpointError) throw err;
        throw new EndpointError(url, 'malformed', `a stream event is not JSON: ${preview(data)}`);
      }
    }
  }
  throw new EndpointError(url, 'truncated', `the stream ended after ${events.length} events without "data: [DONE]"`);
}

function statusError(url: string, status: number, text: string, headers: Headers): EndpointError {
  const said = serverMessage(text);
  const detail = said ? `: ${said}` : '';
  if (status === 401 || status === 403) return new EndpointError(url, 'unauthorized', `HTTP ${status}, the API key was refused (--api-key / OPENAI_API_KEY)${detail}`, status);
  if (status === 404) return new EndpointError(url, 'not_found', `HTTP 404: no such model or route (check --model and --endpoint; GET /v1/models lists the models)${detail}`, status);
  if (status === 429) return new EndpointError(url, 'rate_limited', `HTTP 429, rate limited${detail}`, status, retryAfterMs(headers));
  if (status >= 500) return new EndpointError(url, 'server', `HTTP ${status}, server error${detail}`, status, retryAfterMs(headers));
  return new EndpointError(url, 'bad_request', `HTTP ${status}${detail || ' (no message)'}`, status);
}

/** The message of an OpenAI-shaped error body, or the body's start. */
function serverMessage(text: string): string {
  try {
    const v = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    if (typeof v.error === 'string') return v.error;
    if (v.error && typeof v.error.message === 'string') return v.error.message;
    if (typeof v.message === 'string') return v.message;
  } catch {
    // not JSON
  }
  return preview(text.trim());
}

/** Retry-After (seconds or an HTTP date) or retry-after-ms, in milliseconds; null when absent. */
export function retryAfterMs(headers: Headers, now = Date.now()): number | null {
  const ms = Number(headers.get('retry-after-ms'));
  if (headers.get('retry-after-ms') !== null && Number.isFinite(ms)) return ms;
  const v = headers.get('retry-after');
  if (v === null) return null;
  const s = Number(v);
  if (Number.isFinite(s)) return s * 1000;
  const t = Date.parse(v);
  return Number.isFinite(t) ? Math.max(0, t - now) : null;
}

/** Connection failures worth a retry: the server or the network dropped a connection that had worked. */
const TRANSIENT = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

function networkError(url: string, err: unknown, phase: string): EndpointError {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  const code = cause?.code ?? '';
  if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL'].includes(code)) {
    return new EndpointError(url, 'unreachable', `cannot connect (${code}): is the server running, and is --endpoint right?`);
  }
  const why = cause?.message ?? (err as Error)?.message ?? String(err);
  if (!TRANSIENT.has(code)) return new EndpointError(url, 'unreachable', `the request failed while ${phase} (${code || why}): is --endpoint right?`);
  return new EndpointError(url, 'truncated', `the connection failed while ${phase} (${code})`);
}

function preview(s: string): string {
  const one = s.replace(/\s+/g, ' ');
  return one.length > 120 ? `${JSON.stringify(one.slice(0, 117))}...` : JSON.stringify(one);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
