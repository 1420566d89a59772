/**
 * OpenAIPolicy against a small local fake server that injects faults: 429
 * with Retry-After then success, 500s, 401, 404, malformed JSON, a truncated
 * SSE stream, a server that never answers, an unreachable port, a server that
 * ignores n. Each failure is an EndpointError naming the endpoint and what
 * went wrong; retryable ones succeed once the server recovers.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { OpenAIPolicy, baseUrl } from '../../src/policy/openai.ts';
import { EndpointError } from '../../src/policy/openai_http.ts';

type Handler = (body: Record<string, unknown>, req: IncomingMessage, res: ServerResponse, call: number) => void;

let handler: Handler = () => {};
const seen: { body: Record<string, unknown>; at: number; auth: string | undefined }[] = [];
const server = createServer((req, res) => {
  let data = '';
  req.on('data', (c) => (data += c));
  req.on('end', () => {
    const body = JSON.parse(data || '{}');
    seen.push({ body, at: Date.now(), auth: req.headers.authorization });
    handler(body, req, res, seen.length);
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const URL_ = `http://127.0.0.1:${(server.address() as { port: number }).port}/v1`;
after(() => {
  server.closeAllConnections();
  server.close();
});

function serve(h: Handler): void {
  seen.length = 0;
  handler = h;
}

const json = (res: ServerResponse, status: number, v: unknown, headers: Record<string, string> = {}): void => {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(v));
};
const ok = (res: ServerResponse, texts: string[]): void => json(res, 200, {
  choices: texts.map((t, index) => ({ index, message: { role: 'assistant', content: t }, finish_reason: 'stop', logprobs: { content: [{ token: t, logprob: -0.5 }] } })),
  usage: { prompt_tokens: 3, completion_tokens: texts.length },
});

const PROMPT = [[{ role: 'user' as const, content: 'hi' }]];
const P = { n: 1, maxTokens: 4, temperature: 0, seed: 1 };
const policy = (extra: Partial<ConstructorParameters<typeof OpenAIPolicy>[0]> = {}): OpenAIPolicy =>
  new OpenAIPolicy({ baseUrl: URL_, model: 'm', apiKey: 'k', backoffMs: 20, maxBackoffMs: 50, retries: 3, timeoutMs: 2000, env: {}, ...extra });

async function failure(p: Promise<unknown>): Promise<EndpointError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof EndpointError, `expected an EndpointError, got ${err}`);
    return err;
  }
  assert.fail('expected the call to fail');
}

test('a plain answer: text, finish, logprobs, usage, the request OpenAI expects', async () => {
  serve((_b, _q, res) => ok(res, ['yes']));
  const p = policy();
  const [[c]] = await p.complete(PROMPT, { ...P, stop: ['\n'], topP: 0.9 });
  assert.deepEqual({ text: c.text, finish: c.finish, logprobs: c.logprobs, tokens: c.tokens }, { text: 'yes', finish: 'stop', logprobs: [-0.5], tokens: null });
  assert.deepEqual(p.usage, { requests: 1, retries: 0, promptTokens: 3, completionTokens: 1 });
  const b = seen[0].body;
  assert.equal(seen[0].auth, 'Bearer k');
  assert.deepEqual(b.messages, [{ role: 'user', content: 'hi' }]);
  assert.equal(b.model, 'm');
  assert.equal(b.max_tokens, 4);
  assert.equal(b.top_p, 0.9);
  assert.deepEqual(b.stop, ['\n']);
  assert.equal(b.logprobs, true);
});

test('429 with Retry-After: waits as told, then succeeds', async () => {
  serve((_b, _q, res, call) => (call === 1 ? json(res, 429, { error: { message: 'slow down' } }, { 'Retry-After': '0.4' }) : ok(res, ['x'])));
  const p = policy({ backoffMs: 1 });
  const [[c]] = await p.complete(PROMPT, P);
  assert.equal(c.text, 'x');
  assert.equal(seen.length, 2);
  assert.ok(seen[1].at - seen[0].at >= 380, `retried after ${seen[1].at - seen[0].at} ms, Retry-After said 400`);
  assert.equal(p.usage.retries, 1);
});

test('500s: retried with backoff until success; forever 500 gives up naming the endpoint', async () => {
  serve((_b, _q, res, call) => (call <= 2 ? json(res, 500, { error: { message: 'boom' } }) : ok(res, ['x'])));
  const [[c]] = await policy().complete(PROMPT, P);
  assert.equal(c.text, 'x');
  assert.equal(seen.length, 3);

  serve((_b, _q, res) => json(res, 503, { error: { message: 'overloaded' } }));
  const e = await failure(policy({ retries: 2 }).complete(PROMPT, P));
  assert.equal(e.kind, 'server');
  assert.equal(seen.length, 3, 'one attempt and two retries');
  assert.match(e.message, new RegExp(`^${URL_}/chat/completions: HTTP 503, server error: overloaded \\(gave up after 3 attempts\\)`));
});

test('401 and 404 fail at once with what to check', async () => {
  serve((_b, _q, res) => json(res, 401, { error: { message: 'Incorrect API key provided' } }));
  const e401 = await failure(policy().complete(PROMPT, P));
  assert.equal(e401.kind, 'unauthorized');
  assert.equal(seen.length, 1, 'not retried');
  assert.match(e401.message, /chat\/completions: HTTP 401, the API key was refused \(--api-key \/ OPENAI_API_KEY\): Incorrect API key/);

  serve((_b, _q, res) => json(res, 404, { error: { message: "The model 'm' does not exist" } }));
  const e404 = await failure(policy().complete(PROMPT, P));
  assert.equal(e404.kind, 'not_found');
  assert.match(e404.message, /HTTP 404: no such model or route \(check --model and --endpoint.*The model 'm' does not exist/);
});

test('malformed JSON and a wrong shape are clear errors', async () => {
  serve((_b, _q, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{"choices": [');
  });
  const e = await failure(policy().complete(PROMPT, P));
  assert.equal(e.kind, 'malformed');
  assert.match(e.message, /the response is not JSON \(HTTP 200, application\/json\): "\{\\"choices\\": \["/);

  serve((_b, _q, res) => json(res, 200, { answer: 'x' }));
  const shape = await failure(policy().complete(PROMPT, P));
  assert.match(shape.message, /unexpected response shape: expected \{"choices": \[...\]\}, got \{"answer":"x"\}/);
});

test('a truncated SSE stream is retried, and named when it keeps happening', async () => {
  const chunk = (text: string) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: text }, finish_reason: null }] })}\n\n`;
  serve((_b, _q, res, call) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    res.write(chunk('he'));
    if (call === 1) return void res.socket!.destroy(); // cut mid-stream
    res.write(chunk('llo'));
    res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'length' }] })}\n\n`);
    res.write(`data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 2, completion_tokens: 2 } })}\n\n`);
    res.end('data: [DONE]\n\n');
  });
  const p = policy({ stream: true });
  const [[c]] = await p.complete(PROMPT, P);
  assert.deepEqual({ text: c.text, finish: c.finish }, { text: 'hello', finish: 'length' });
  assert.equal(seen.length, 2);
  assert.equal(seen[1].body.stream, true);
  assert.deepEqual(p.usage, { requests: 1, retries: 1, promptTokens: 2, completionTokens: 2 });

  serve((_b, _q, res) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    res.end(chunk('he')); // ends cleanly, but without [DONE]
  });
  const e = await failure(policy({ stream: true, retries: 1 }).complete(PROMPT, P));
  assert.equal(e.kind, 'truncated');
  assert.match(e.message, /the stream ended after 1 events without "data: \[DONE\]" \(gave up after 2 attempts\)/);
});

// A hang (a timeout that never fires) fails through the test's own timeout, not a wall-clock assertion.
test('a server that never answers times out, per request, and is retried', { timeout: 60_000 }, async () => {
  serve(() => {}); // never responds
  const e = await failure(policy({ timeoutMs: 150, retries: 1 }).complete(PROMPT, P));
  assert.equal(e.kind, 'timeout');
  assert.equal(seen.length, 2);
  assert.match(e.message, /no complete answer within 150 ms/);
});

test('an unreachable endpoint fails at once, naming it', async () => {
  const dead = createServer();
  await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
  const port = (dead.address() as { port: number }).port;
  await new Promise<void>((r) => dead.close(() => r()));
  const e = await failure(new OpenAIPolicy({ baseUrl: `http://127.0.0.1:${port}`, model: 'm', env: {} }).complete(PROMPT, P));
  assert.equal(e.kind, 'unreachable');
  assert.match(e.message, new RegExp(`^http://127.0.0.1:${port}/v1/chat/completions: cannot connect \\(ECONNREFUSED\\)`));
});

test('a server that ignores n: asked again, each time with a new seed, until n completions', async () => {
  serve((b, _q, res) => ok(res, [`s${b.seed}`]));
  const p = policy();
  const [cs] = await p.complete(PROMPT, { ...P, n: 4, temperature: 1 });
  assert.equal(cs.length, 4);
  assert.equal(seen.length, 4);
  assert.deepEqual(seen.map((s) => s.body.n), [4, 3, 2, 1]);
  assert.equal(new Set(cs.map((c) => c.text)).size, 4, 'distinct seeds give distinct samples');
});

test('n is asked for in one request when the server honours it; concurrency is bounded', async () => {
  let inFlight = 0, most = 0;
  serve((b, _q, res) => {
    inFlight++;
    most = Math.max(most, inFlight);
    setTimeout(() => {
      inFlight--;
      ok(res, Array.from({ length: b.n as number }, (_, i) => `c${i}`));
    }, 30);
  });
  const p = policy({ concurrency: 2 });
  const out = await p.complete(Array.from({ length: 6 }, () => PROMPT[0]), { ...P, n: 3 });
  assert.deepEqual(out.map((cs) => cs.map((c) => c.text)), Array.from({ length: 6 }, () => ['c0', 'c1', 'c2']));
  assert.equal(seen.length, 6);
  assert.equal(most, 2);
});

test('a server that refuses logprobs is asked again without them, and not asked for them again', async () => {
  serve((b, _q, res) => (b.logprobs !== undefined ? json(res, 400, { error: { message: 'logprobs is not supported for this model' } }) : ok(res, ['x'])));
  const p = policy();
  await p.complete(PROMPT, P);
  await p.complete(PROMPT, P);
  assert.deepEqual(seen.map((s) => s.body.logprobs), [true, undefined, undefined]);
});

test('completions API: the chat in flywheel\'s text form; base URLs; missing settings', async () => {
  serve((_b, _q, res) => json(res, 200, { choices: [{ index: 0, text: 'ok', finish_reason: 'length', logprobs: { token_logprobs: [-1, -2] } }] }));
  const [[c]] = await policy({ api: 'completions' }).complete([[{ role: 'system', content: 's' }, { role: 'user', content: 'q' }]], P);
  assert.deepEqual({ text: c.text, finish: c.finish, logprobs: c.logprobs }, { text: 'ok', finish: 'length', logprobs: [-1, -2] });
  assert.equal(seen[0].body.prompt, 's\nq\n');
  assert.equal(seen[0].body.logprobs, 0);
  assert.equal(baseUrl('http://h:1'), 'http://h:1/v1');
  assert.equal(baseUrl('http://h:1/v1/'), 'http://h:1/v1');
  assert.throws(() => baseUrl('localhost:8000'), /only http:\/\/ and https:\/\//);
  assert.throws(() => new OpenAIPolicy({ model: 'm', env: {} }), /no endpoint: give --endpoint URL/);
  assert.equal(new OpenAIPolicy({ model: 'm', env: { OPENAI_BASE_URL: 'http://x:9/api' } }).url, 'http://x:9/api/chat/completions');
});
