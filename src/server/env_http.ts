/**
 * The HTTP plumbing of the env server, over node:http: reading a bounded JSON
 * body, validating it, bearer-token checks, and writing JSON. Every failure a
 * client can cause is an HttpError, which the server turns into
 *
 *   { "error": { "status": 400, "code": "bad_request", "message": "...", "field": "seed" } }
 *
 * and never into a crash.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { z } from 'zod';
import { UserError } from '../util/errors.ts';
import type { ErrorResponse } from './env_schema.ts';

export type ErrorCode = ErrorResponse['error']['code'];

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const badRequest = (message: string, field?: string): HttpError => new HttpError(400, 'bad_request', message, field);
export const notFound = (message: string): HttpError => new HttpError(404, 'not_found', message);

/** Reads the body, refusing more than maxBytes with a 413 (an over-long body is drained, not buffered). */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const tooLarge = () => new HttpError(413, 'payload_too_large', `request body is over the limit of ${maxBytes} bytes (--max-body)`, undefined, { Connection: 'close' });
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      drain(req, maxBytes);
      reject(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) return void chunks.push(chunk);
      req.off('data', onData);
      drain(req, maxBytes);
      reject(tooLarge());
    };
    req.on('data', onData);
    req.on('end', () => size <= maxBytes && resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Discards the rest of a refused body so the client can read the 413; a body far beyond the limit gets its connection cut. */
function drain(req: IncomingMessage, maxBytes: number): void {
  let discarded = 0;
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > 16 * maxBytes + (1 << 20)) req.socket.destroy();
  });
  req.resume();
}

/** The body as JSON, checked against a schema; a 400 names the first offending field. */
export function parseBody<T extends z.ZodType>(body: Buffer, schema: T): z.output<T> {
  let value: unknown;
  const text = body.toString('utf8');
  if (text.trim() === '') throw badRequest('request body is empty; expected a JSON object');
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw badRequest(`request body is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  if (issue.code === 'unrecognized_keys') {
    const field = [...issue.path, issue.keys[0]].map(String).join('.');
    throw badRequest(`field "${field}": unknown field (GET /schema lists the fields of every request)`, field);
  }
  const field = issue.path.map(String).join('.');
  const got = field ? valueAt(value, issue.path) : value;
  const where = field ? `field "${field}"` : 'body';
  throw badRequest(`${where}: ${issue.message}, got ${preview(got)}`, field || undefined);
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let v = value;
  for (const key of path) v = typeof v === 'object' && v !== null ? (v as Record<PropertyKey, unknown>)[key] : undefined;
  return v;
}

function preview(v: unknown): string {
  const s = v === undefined ? 'nothing' : JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** Whether the request carries `Authorization: Bearer <token>` (compared in constant time). */
export function hasBearer(req: IncomingMessage, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
  const given = Buffer.from(m ? m[1].trim() : ''), want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

/** Throws a 401 unless the request carries `Authorization: Bearer <token>`. */
export function checkToken(req: IncomingMessage, token: string): void {
  if (hasBearer(req, token)) return;
  const header = req.headers.authorization ?? '';
  const m = /^Bearer\s+(.+)$/i.exec(header);
  const why = header === '' ? 'missing Authorization header' : m ? 'wrong token' : 'Authorization header is not "Bearer <token>"';
  throw new HttpError(401, 'unauthorized', `${why}: this server needs "Authorization: Bearer <token>" (--token / FLYWHEEL_ENV_TOKEN)`, undefined, {
    'WWW-Authenticate': 'Bearer',
  });
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

export function sendError(res: ServerResponse, err: HttpError): void {
  const error: ErrorResponse['error'] = { status: err.status, code: err.code, message: err.message };
  if (err.field !== undefined) error.field = err.field;
  sendJson(res, err.status, { error }, err.headers);
}

/** Listens on host:port (0 picks a free port) and gives the port; the usual failures are UserErrors saying what to change. */
export function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((done, fail) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') fail(new UserError(`port ${port} on ${host} is in use; pick another with --port (0 picks a free one)`));
      else if (err.code === 'EACCES') fail(new UserError(`not allowed to listen on ${host}:${port} (ports below 1024 need root); pick another with --port`));
      else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') fail(new UserError(`--host ${host}: no such interface on this machine`));
      else fail(err);
    });
    server.listen(port, host, () => {
      const addr = server.address();
      done(typeof addr === 'object' && addr ? addr.port : port);
    });
  });
}
