/**
 * `flywheel env-server`: serve the environments over HTTP/JSON (see
 * docs/env-server.md). This file declares the flags; the server itself
 * (src/server/env_server.ts) is imported when the command runs.
 *
 * The server runs until Ctrl-C or SIGTERM, then stops listening, lets
 * requests in flight finish and exits 0; a second signal exits at once.
 */
import type { Command } from 'commander';
import { UserError } from '../util/errors.ts';
import { ENV_SERVER_DEFAULTS as D } from '../server/env_config.ts';
import { floatArg, intArg } from './args.ts';
import { untilInterrupt } from './signals.ts';

export interface EnvServerFlags {
  host: string;
  port: number;
  env: string[];
  token?: string;
  sessionTtl: number;
  maxSessions: number;
  maxBody: number;
  verifyTimeout: number;
  verifyConcurrency: number;
  schema?: boolean;
  json?: boolean;
}

const EXAMPLES = `
Examples:
  $ flywheel env-server
  $ flywheel env-server --port 0 --json                       # a free port; {"event":"listening","url":...} on stdout
  $ FLYWHEEL_ENV_TOKEN=s3cret flywheel env-server --host 0.0.0.0 --env ./examples/my_env.ts
  $ curl -s localhost:8765/envs
  $ curl -s localhost:8765/verify -d '{"items":[{"env":"addsub-v1","seed":4,"completion":"Answer: 77"}]}'
  $ python3 examples/python/reward_fn_example.py --url http://127.0.0.1:8765
  $ flywheel env-server --schema > docs/env-server.schema.json   # the message schemas, as served at GET /schema
`;

export function register(program: Command): void {
  program
    .command('env-server')
    .description('serve every environment over HTTP/JSON: tasks, verification (also in batches), multi-turn episodes, games')
    .option('--host <host>', 'interface to listen on (0.0.0.0 for every interface)', D.host)
    .option('--port <n>', 'port (0 picks a free one)', intArg(0, 65535), D.port)
    .option('--env <path>', "also serve a user's environment file (.ts or .js); repeatable", (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--token <token>', 'require "Authorization: Bearer <token>" on every route but /health (default: $FLYWHEEL_ENV_TOKEN)')
    .option('--session-ttl <seconds>', 'idle sessions expire after this long', intArg(1, 365 * 86400), D.sessionTtlSeconds)
    .option('--max-sessions <n>', 'open sessions at most (429 beyond)', intArg(1, 10_000_000), D.maxSessions)
    .option('--max-body <bytes>', 'largest request body (413 beyond)', intArg(64, 1 << 30), D.maxBodyBytes)
    .option('--verify-timeout <seconds>', 'a verification running longer gets reward 0, reason verifier_timeout', floatArg(0, 3600, { minExclusive: true }), D.verifyTimeoutSeconds)
    .option('--verify-concurrency <n>', 'verifications running at once', intArg(1, 1024), D.verifyConcurrency)
    .option('--schema', 'print the JSON Schema of every request and response (as GET /schema serves it) and exit')
    .option('--json', 'print {"event":"listening",...} and {"event":"stopped",...} lines on stdout')
    .addHelpText('after', EXAMPLES)
    .action((flags: EnvServerFlags) => run(flags));
}

async function run(flags: EnvServerFlags): Promise<void> {
  if (flags.schema) {
    const { schemaDocument } = await import('../server/env_routes.ts');
    process.stdout.write(`${JSON.stringify(schemaDocument(), null, 2)}\n`);
    return;
  }
  const token = flags.token ?? process.env.FLYWHEEL_ENV_TOKEN;
  if (token !== undefined && token.trim() === '') throw new UserError(`${flags.token !== undefined ? '--token' : 'FLYWHEEL_ENV_TOKEN'} is empty; give a token or leave it unset for no auth`);
  const { startEnvServer } = await import('../server/env_server.ts');
  const stop = untilInterrupt(); // before the environments load
  try {
    const server = await startEnvServer({
      host: flags.host,
      port: flags.port,
      envFiles: flags.env,
      token,
      sessionTtlSeconds: flags.sessionTtl,
      maxSessions: flags.maxSessions,
      maxBodyBytes: flags.maxBody,
      verifyTimeoutSeconds: flags.verifyTimeout,
      verifyConcurrency: flags.verifyConcurrency,
      onError: (err) => process.stderr.write(`env-server: internal error (the request got a 500): ${err instanceof Error ? err.stack : String(err)}\n`),
    });
    const files = flags.env.length ? ` (${flags.env.length} from files)` : '';
    process.stderr.write(
      `env-server: ${server.envs.length} environments${files} on ${server.url}; auth: ${token ? 'bearer token' : 'none'}; ` +
        `sessions expire after ${flags.sessionTtl} s idle; Ctrl-C to stop\n`,
    );
    if (flags.json) process.stdout.write(`${JSON.stringify({ event: 'listening', url: server.url, port: server.port, envs: server.envs.map((e) => e.id) })}\n`);
    await stop.stopped;
    const dropped = server.stats.sessions();
    await server.close();
    const { requests, errors } = server.stats;
    process.stderr.write(`env-server: stopped after ${requests} requests (${errors} answered with an error); ${dropped} open sessions dropped (sessions live in memory only)\n`);
    if (flags.json) process.stdout.write(`${JSON.stringify({ event: 'stopped', requests, errors, droppedSessions: dropped, signal: stop.signal })}\n`);
  } finally {
    stop.dispose();
  }
}
