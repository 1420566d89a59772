// The clients when the server is not a good one: nobody listening, a server
// that accepts and never answers, one that answers with something that is
// not JSON. Each is an EnvServerError naming the method and URL, from the
// TypeScript client and from the Python client alike.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { EnvClient, EnvServerError } from '../../src/server/env_client.ts';

const PY = join(import.meta.dirname, '..', '..', 'examples', 'python');

const sockets: Socket[] = [];
const silent = createTcpServer((s) => void sockets.push(s)); // accepts, never answers
const html = createHttpServer((_, res) => res.writeHead(502, { 'Content-Type': 'text/html' }).end('<html>Bad Gateway</html>'));
const closedPort = createTcpServer();
const urls = { silent: '', html: '', closed: '' };

const listen = (s: ReturnType<typeof createTcpServer> | ReturnType<typeof createHttpServer>) =>
  new Promise<string>((resolve) => s.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(s.address() as { port: number }).port}`)));

before(async () => {
  urls.silent = await listen(silent);
  urls.html = await listen(html);
  urls.closed = await listen(closedPort);
  await new Promise((done) => closedPort.close(done)); // a port nobody listens on any more
});
after(() => {
  for (const s of sockets) s.destroy();
  silent.close();
  html.close();
});

const fails = (code: string, pattern: RegExp) => (e: unknown) => e instanceof EnvServerError && e.code === code && pattern.test(e.message);

test('TypeScript client: unreachable, silent and non-JSON servers are errors naming the URL', async () => {
  await assert.rejects(new EnvClient(urls.closed).listEnvs(), fails('unreachable', new RegExp(`^GET ${urls.closed}/envs: cannot reach the env server \\(ECONNREFUSED\\)`)));
  await assert.rejects(new EnvClient(urls.silent, { timeoutMs: 300 }).health(), fails('timeout', new RegExp(`^GET ${urls.silent}/health: no answer within 0.3 s`)));
  await assert.rejects(
    new EnvClient(urls.html).verifyBatch([{ env: 'addsub-v1', seed: 1, completion: '' }]),
    (e: unknown) => fails('bad_response', new RegExp(`^POST ${urls.html}/verify: HTTP 502 with a body that is not JSON: <html>`))(e) && (e as EnvServerError).status === 502,
  );
});

test('Python client: the same three faults raise EnvServerError naming the URL', async () => {
  const code = [
    'import json, sys',
    'from flywheel_env import EnvClient, EnvServerError',
    'out = {}',
    'for name, url in zip(["closed", "silent", "html"], sys.argv[1:]):',
    '    try:',
    '        EnvClient(url, timeout=0.3).list_envs()',
    '    except EnvServerError as err:',
    '        out[name] = {"status": err.status, "code": err.code, "message": str(err)}',
    'print(json.dumps(out))',
  ].join('\n');
  // async spawn: this process's servers must keep answering while Python runs
  const child = spawn('python3', ['-c', code, urls.closed, urls.silent, urls.html], { cwd: PY });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const status = await new Promise<number | null>((done, fail) => child.on('error', fail).on('exit', done));
  assert.equal(status, 0, stderr);
  const out = JSON.parse(stdout) as Record<string, { status: number; code: string; message: string }>;
  assert.deepEqual([out.closed.code, out.closed.status], ['unreachable', 0]);
  assert.match(out.closed.message, new RegExp(`^GET ${urls.closed}/envs: cannot reach the env server`));
  assert.deepEqual([out.silent.code, out.silent.status], ['timeout', 0]);
  assert.match(out.silent.message, new RegExp(`^GET ${urls.silent}/envs: no answer within 0.3 s`));
  assert.deepEqual([out.html.code, out.html.status], ['bad_response', 502]);
  assert.match(out.html.message, /HTTP 502 with a body that is not JSON: <html>Bad Gateway/);
});
