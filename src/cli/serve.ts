/**
 * `flywheel serve CHECKPOINT_OR_RUN`: a flywheel model behind an
 * OpenAI-compatible API (src/server/openai_server.ts; docs/serve.md), so the
 * `openai` clients, `flywheel eval --endpoint` and any tool that speaks the
 * API can sample it.
 *
 * Runs until Ctrl-C or SIGTERM, then stops listening, lets requests in
 * flight finish and exits 0; a second signal exits at once.
 */
import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../util/errors.ts';
import { intArg, floatArg } from './args.ts';
import { untilInterrupt } from './signals.ts';

export interface ServeFlags {
  host: string;
  port: number;
  modelName?: string;
  apiKey?: string;
  batchWindow: number;
  maxBody: number;
  seed: number;
  json?: boolean;
}

const D = { host: '127.0.0.1', port: 8000, batchWindowMs: 5, maxBodyBytes: 1 << 20 }; // as OPENAI_SERVER_DEFAULTS (kept here so --help stays fast)

const EXAMPLES = `
Examples:
  $ flywheel serve runs/sft                                  # http://127.0.0.1:8000/v1, model "sft"
  $ flywheel serve runs/grpo --port 0 --json                 # a free port; {"event":"listening","url":...} on stdout
  $ FLYWHEEL_API_KEY=s3cret flywheel serve runs/sft --host 0.0.0.0 --model-name my-model
  $ curl -s localhost:8000/v1/models
  $ curl -s localhost:8000/v1/chat/completions -H 'Content-Type: application/json' \\
      -d '{"model":"sft","messages":[{"role":"user","content":"12+30="}],"temperature":0,"max_tokens":8}'
  $ flywheel eval --endpoint http://127.0.0.1:8000/v1 --model sft --env addsub-v1 --n 100

The chat template is the one the model was trained with (docs/serve.md): each user or system
message is its text then "\\n"; each assistant message its text then <eos>; the reply ends at <eos>.
`;

export function register(program: Command): void {
  program
    .command('serve')
    .description('serve a checkpoint over the OpenAI API: /v1/chat/completions, /v1/completions (SSE streaming too), /v1/models')
    .argument('<checkpoint>', 'a checkpoint or run directory')
    .option('--host <host>', 'interface to listen on (0.0.0.0 for every interface)', D.host)
    .option('--port <n>', 'port (0 picks a free one)', intArg(0, 65535), D.port)
    .option('--model-name <name>', 'the model id clients ask for (default: the run directory\'s name)')
    .option('--api-key <key>', 'require "Authorization: Bearer <key>" (default: $FLYWHEEL_API_KEY; none when unset)')
    .option('--batch-window <ms>', 'how long a request waits for others to share its sampling call', floatArg(0, 10_000), D.batchWindowMs)
    .option('--max-body <bytes>', 'largest request body (413 beyond)', intArg(64, 1 << 30), D.maxBodyBytes)
    .option('--seed <n>', 'seed of the server\'s generator (requests without a seed draw theirs from it)', intArg(0), 0)
    .option('--json', 'print {"event":"listening",...} and {"event":"stopped",...} lines on stdout')
    .addHelpText('after', EXAMPLES)
    .action((checkpoint: string, flags: ServeFlags) => run(checkpoint, flags));
}

async function run(checkpoint: string, flags: ServeFlags): Promise<void> {
  const apiKey = flags.apiKey ?? process.env.FLYWHEEL_API_KEY;
  if (apiKey !== undefined && apiKey.trim() === '') throw new UserError(`${flags.apiKey !== undefined ? '--api-key' : 'FLYWHEEL_API_KEY'} is empty; give a key or leave it unset for no auth`);
  const stop = untilInterrupt(); // before the model loads: a signal then still stops the server cleanly (exit 0) once it is up
  try {
    await serveUntilStopped(checkpoint, flags, apiKey, stop.stopped, () => stop.signal);
  } finally {
    stop.dispose();
  }
}

async function serveUntilStopped(checkpoint: string, flags: ServeFlags, apiKey: string | undefined, stopping: Promise<void>, signal: () => NodeJS.Signals | null): Promise<void> {
  const [{ initBackend, backendLine }, { loadLM }, { LocalPolicy }, { startOpenAIServer }] = await Promise.all([
    import('../tensor/backend.ts'), import('../runs/lm_checkpoint.ts'), import('../policy/local.ts'), import('../server/openai_server.ts'),
  ]);
  const backend = await initBackend();
  const lm = loadLM(checkpoint);
  const format = lm.config.format;
  const policy = new LocalPolicy(lm.model, lm.tokenizer, { name: lm.dir, format, warn: (m) => process.stderr.write(`warning: ${m}\n`) });
  const modelName = flags.modelName ?? defaultName(checkpoint);
  const server = await startOpenAIServer({
    policy, modelName, host: flags.host, port: flags.port, apiKey, batchWindowMs: flags.batchWindow, maxBodyBytes: flags.maxBody, seed: flags.seed,
    onError: (err) => process.stderr.write(`serve: internal error (the request got a 500): ${err instanceof Error ? err.stack : String(err)}\n`),
  });
  const c = lm.model.config;
  process.stderr.write(
    `serve: ${modelName} (${lm.tokenizer.kind} tokenizer, ${c.nLayer} layers x ${c.nEmbd}, context ${c.blockSize}, ${format} format) at ${server.url}/v1; ` +
      `auth: ${apiKey ? 'API key' : 'none'}; ${backendLine(backend)}; Ctrl-C to stop\n`,
  );
  if (format === 'text') process.stderr.write('serve: warning: this is a pretrained (text-format) model; /v1/chat/completions still uses the chat template, /v1/completions continues raw text\n');
  if (flags.json) process.stdout.write(`${JSON.stringify({ event: 'listening', url: server.url, port: server.port, model: modelName })}\n`);
  await stopping;
  await server.close();
  const { requests, errors, batcher } = server.stats;
  process.stderr.write(`serve: stopped after ${requests} requests (${errors} answered with an error); ${batcher.calls} sampling calls for ${batcher.requests} requests\n`);
  if (flags.json) process.stdout.write(`${JSON.stringify({ event: 'stopped', requests, errors, batcher, signal: signal() })}\n`);
}

/** runs/sft -> "sft"; runs/sft/checkpoint -> "sft". */
function defaultName(path: string): string {
  const abs = resolve(path);
  const base = basename(abs);
  return base === 'checkpoint' ? basename(resolve(abs, '..')) : base;
}
