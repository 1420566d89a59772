// The env server's docs cannot drift from the code: docs/env-server.schema.json
// is what the code generates, every route has a section in
// docs/env-server.md, and the examples there are replayed, in order, against
// a fresh server and must give the answers printed (session ids mapped).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { matchRoute, ROUTES, schemaDocument } from '../../src/server/env_routes.ts';
import { startEnvServer, type EnvServer } from '../../src/server/env_server.ts';
import * as S from '../../src/server/env_schema.ts';

const doc = (name: string) => readFileSync(fileURLToPath(new URL(`../../docs/${name}`, import.meta.url)), 'utf8');

let server: EnvServer;
before(async () => {
  server = await startEnvServer({ port: 0 });
});
after(() => server.close());

test('docs/env-server.schema.json is the schema document the code generates (and GET /schema serves)', async () => {
  const generated = `${JSON.stringify(schemaDocument(), null, 2)}\n`;
  assert.equal(doc('env-server.schema.json'), generated, 'regenerate with: ./flywheel env-server --schema > docs/env-server.schema.json');
  assert.deepEqual(await (await fetch(`${server.url}/schema`)).json(), JSON.parse(generated));
});

test('every route has a section in docs/env-server.md', () => {
  const md = doc('env-server.md');
  for (const r of Object.values(ROUTES)) assert.ok(md.includes(`### \`${r.method} ${r.path}\``), `no section for ${r.method} ${r.path}`);
});

interface Example {
  method: string;
  path: string;
  body?: string;
  status: number; // the documented status
  answer: unknown; // the documented JSON answer
}

/** Each ```http request block (`METHOD PATH`, then the body) with the ```http answer block right after it (`HTTP/1.1 STATUS`, then JSON). */
function examples(md: string): Example[] {
  const out: Example[] = [];
  const re = /```http\n(.*)\n([\s\S]*?)```\n```http\nHTTP\/1\.1 (\d+) [^\n]*\n([\s\S]*?)\n```/g;
  for (const m of md.matchAll(re)) {
    const line = /^(GET|POST|DELETE) (\S+)$/.exec(m[1]);
    assert.ok(line, `cannot read the example request line: ${m[1]}`);
    const body = m[2].trim();
    out.push({ method: line[1], path: line[2], body: body === '' ? undefined : body, status: Number(m[3]), answer: JSON.parse(m[4]) });
  }
  return out;
}

/**
 * The documented answer fits the live one: equal, except that an array ending
 * in "..." only needs the live array to start with the items shown, and an
 * object with a "..." key only needs the keys shown.
 */
function fits(doc: unknown, live: unknown, at: string): void {
  if (Array.isArray(doc) && doc.at(-1) === '...') {
    assert.ok(Array.isArray(live) && live.length >= doc.length - 1, `${at}: expected an array of at least ${doc.length - 1} items`);
    doc.slice(0, -1).forEach((d, i) => fits(d, live[i], `${at}[${i}]`));
  } else if (Array.isArray(doc)) {
    assert.ok(Array.isArray(live) && live.length === doc.length, `${at}: expected ${doc.length} items, got ${JSON.stringify(live)?.slice(0, 200)}`);
    doc.forEach((d, i) => fits(d, live[i], `${at}[${i}]`));
  } else if (typeof doc === 'object' && doc !== null) {
    assert.ok(typeof live === 'object' && live !== null && !Array.isArray(live), `${at}: expected an object`);
    const shown = Object.keys(doc).filter((k) => k !== '...');
    if (!('...' in doc)) assert.deepEqual(Object.keys(live).sort(), shown.sort(), `${at}: keys`);
    for (const k of shown) fits((doc as Record<string, unknown>)[k], (live as Record<string, unknown>)[k], `${at}.${k}`);
  } else {
    assert.deepEqual(live, doc, at);
  }
}

const abridged = (v: unknown): boolean => JSON.stringify(v).includes('"..."');

test('the examples in docs/env-server.md give the answers shown', async () => {
  const list = examples(doc('env-server.md'));
  assert.ok(list.length >= 20, `found only ${list.length} examples`);
  const shown = new Set(list.map((ex) => matchRoute(ex.method, ex.path)).map((m) => (m && 'name' in m ? m.name : null)));
  for (const name of Object.keys(ROUTES)) assert.ok(shown.has(name as keyof typeof ROUTES), `no example of the route ${name}`);
  const ids = new Map<string, string>(); // session id in the docs -> the live server's
  const toLive = (s: string) => [...ids].reduce((t, [d, live]) => t.replaceAll(d, live), s);
  const toDocs = (s: string) => [...ids].reduce((t, [d, live]) => t.replaceAll(live, d), s);
  for (const ex of list) {
    const what = `${ex.method} ${ex.path}`;
    const match = matchRoute(ex.method, ex.path);
    assert.ok(match && 'name' in match, `${what}: no such route`);
    const route = ROUTES[match.name];
    if (ex.body !== undefined) assert.ok(route.request?.safeParse(JSON.parse(ex.body)).success || ex.status !== 200, `${what}: the documented request does not fit its schema`);
    const res = await fetch(server.url + toLive(ex.path), { method: ex.method, body: ex.body === undefined ? undefined : toLive(ex.body) });
    const text = await res.text();
    assert.equal(res.status, ex.status, `${what}: ${text.slice(0, 300)}`);
    const live = JSON.parse(text);
    (ex.status === 200 ? route.response : S.ErrorResponse).parse(live);
    if (!abridged(ex.answer)) (ex.status === 200 ? route.response : S.ErrorResponse).parse(ex.answer);
    const session = (ex.answer as { session?: unknown }).session;
    if (typeof session === 'string' && !ids.has(session)) ids.set(session, live.session);
    fits(ex.answer, JSON.parse(toDocs(text)), what);
  }
});
