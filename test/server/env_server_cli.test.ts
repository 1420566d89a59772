// `flywheel env-server` as a user runs it: a user's environment file served
// beside the built-in ones (its verifier in a worker thread), Ctrl-C stopping
// it cleanly, and the mistakes a user makes on the command line as one clear
// line on stderr and exit 1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { loadEnvFile } from '../../src/envs/load.ts';
import { EnvClient } from '../../src/server/env_client.ts';

const REPO = join(import.meta.dirname, '..', '..');
const BIN = join(REPO, 'bin', 'flywheel.js');
const MY_ENV = join(REPO, 'examples', 'my_env.ts');

function userError(args: string[], pattern: RegExp, env: Record<string, string> = {}): void {
  const r = spawnSync(process.execPath, [BIN, 'env-server', ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

test('--env serves a user\'s file: its tasks verify like the family; Ctrl-C stops the server with exit 0', async () => {
  const child = spawn(process.execPath, [BIN, 'env-server', '--port', '0', '--json', '--env', MY_ENV], { cwd: REPO });
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const listening = await new Promise<{ url: string; envs: string[] }>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
      if (stdout.includes('\n')) resolve(JSON.parse(stdout.split('\n')[0]));
    });
    void exited.then((code) => reject(new Error(`exited ${code}: ${stderr}`)));
  });
  try {
    assert.ok(listening.envs.includes('digit-sum-v1') && listening.envs.includes('addsub-v1'));
    const entry = await loadEnvFile(MY_ENV);
    assert.ok(entry.kind === 'task');
    const f = entry.family;
    const client = new EnvClient(listening.url);
    const info = (await client.listEnvs()).find((e) => e.id === 'digit-sum-v1');
    assert.equal(info?.source, MY_ENV);
    const items = [1, 2, 3].map((seed) => ({ env: f.id, seed, completion: f.solve(f.generate(seed, f.difficulty.default)) }));
    items.push({ env: f.id, seed: 1, completion: 'Answer: -1' });
    assert.deepEqual((await client.verifyBatch(items)).results.map((r) => r.reward), [1, 1, 1, 0]);
  } finally {
    child.kill('SIGINT');
  }
  assert.equal(await exited, 0, stderr);
  assert.match(stderr, /SIGINT: stopping/);
  assert.equal(JSON.parse(stdout.trim().split('\n').at(-1)!).event, 'stopped');
});

test('command-line mistakes: a port in use, a clashing --env file, an empty token', async () => {
  const taken = createServer();
  const port = await new Promise<number>((resolve) => taken.listen(0, '127.0.0.1', () => resolve((taken.address() as { port: number }).port)));
  try {
    userError(['--port', String(port)], new RegExp(`port ${port} on 127.0.0.1 is in use; pick another with --port`));
  } finally {
    taken.close();
  }
  userError(['--env', MY_ENV, '--env', MY_ENV, '--port', '0'], /its id digit-sum-v1 is already served/);
  userError([], /FLYWHEEL_ENV_TOKEN is empty/, { FLYWHEEL_ENV_TOKEN: ' ' });
});
