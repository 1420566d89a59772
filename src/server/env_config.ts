/**
 * The env server's settings and their defaults, apart from the server so
 * that `flywheel env-server --help` can show them without loading every
 * environment. The CLI's flags map one to one onto these fields.
 */
import { availableParallelism } from 'node:os';

export interface EnvServerOptions {
  host: string; // interface to listen on
  port: number; // 0 picks a free port
  envFiles: string[]; // users' environment files to serve beside the built-in ones
  token?: string; // when set, every route but /health needs "Authorization: Bearer <token>"
  sessionTtlSeconds: number; // idle sessions expire after this long
  maxSessions: number; // open sessions at most (429 beyond)
  maxBodyBytes: number; // request bodies at most (413 beyond)
  verifyTimeoutSeconds: number; // a verification running longer is reward 0, reason verifier_timeout
  verifyConcurrency: number; // verifications running at once, server-wide
  onError?: (err: unknown) => void; // internal errors (500s), e.g. to log them
  now?: () => number; // the sessions' clock in ms (tests)
}

export const ENV_SERVER_DEFAULTS = {
  host: '127.0.0.1',
  port: 8765,
  envFiles: [],
  sessionTtlSeconds: 900,
  maxSessions: 10_000,
  maxBodyBytes: 4 * 1024 * 1024,
  verifyTimeoutSeconds: 30,
  verifyConcurrency: availableParallelism(),
} satisfies EnvServerOptions;
