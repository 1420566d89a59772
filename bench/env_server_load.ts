/**
 * Load on `flywheel env-server`: many concurrent sessions on loopback, each
 * answer checked against the environment run locally (the oracle), so a lost
 * or crossed answer is caught, not just counted as slow. A script, not a test.
 *
 *   npx tsx bench/env_server_load.ts [--sessions 200] [--steps 50] [--seed 1] [--url URL] [--json]
 *
 * Each of --sessions clients runs --steps steps at once with the others, on
 * sessions of its own, round-robin over three kinds:
 *   multiturn  guess-number-v1 episodes, seeded random guesses; every
 *              observation, reward and done must be its own episode's
 *   game       connect4-v1, seeded random moves; every board and move list
 *              must be its own game's
 *   task       addsub-v1, verify a right or wrong answer; the reward must be
 *              its own task's
 * A client opens a new session when one ends (and closes the old one), so
 * there are always --sessions open at once. Without --url the server is
 * started as a child process (`flywheel env-server --port 0`), so the load
 * generator and the server do not share an event loop. Latencies are
 * measured from the client; the machine is shared, so the load average is
 * printed too. Exits 1 when an answer was lost or crossed.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { getEnv } from '../src/envs/registry.ts';
import type { Game, MultiTurnFamily, TaskFamily, TextEpisode } from '../src/envs/types.ts';
import { EnvClient } from '../src/server/env_client.ts';
import { Rng } from '../src/util/rng.ts';

const { values: args } = parseArgs({
  options: {
    sessions: { type: 'string', default: '200' },
    steps: { type: 'string', default: '50' },
    seed: { type: 'string', default: '1' },
    url: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const SESSIONS = Number(args.sessions);
const STEPS = Number(args.steps);

const guess = (getEnv('guess-number-v1') as { family: MultiTurnFamily }).family;
const connect4 = (getEnv('connect4-v1') as { game: Game<unknown> }).game;
const addsub = (getEnv('addsub-v1') as { family: TaskFamily }).family;

interface Tally {
  latencies: number[]; // ms, every request
  requests: number;
  lost: string[]; // requests that got no usable answer
  crossed: string[]; // answers that were not their own session's
}

/** One timed request; a failure is recorded as lost and yields null. */
async function timed<T>(tally: Tally, what: string, call: () => Promise<T>): Promise<T | null> {
  const t0 = performance.now();
  try {
    const out = await call();
    tally.latencies.push(performance.now() - t0);
    return out;
  } catch (err) {
    tally.lost.push(`${what}: ${(err as Error).message}`);
    return null;
  } finally {
    tally.requests++;
  }
}

function check(tally: Tally, what: string, got: unknown, want: unknown): void {
  if (JSON.stringify(got) !== JSON.stringify(want)) tally.crossed.push(`${what}: got ${JSON.stringify(got).slice(0, 120)}, want ${JSON.stringify(want).slice(0, 120)}`);
}

/** Client `i`: STEPS steps on its own sessions of one kind, each answer checked against the local run. */
async function runClient(client: EnvClient, i: number, tally: Tally): Promise<void> {
  const rng = new Rng(Number(args.seed) * 1_000_003 + i);
  const kind = (['multiturn', 'game', 'task'] as const)[i % 3];
  let steps = 0;
  for (let episode = 0; steps < STEPS; episode++) {
    const seed = i * 10_000 + episode;
    const tag = `client ${i} ${kind} seed ${seed}`;
    const view = await timed(tally, `${tag} create`, () => client.createSession({ env: { multiturn: guess.id, game: connect4.id, task: addsub.id }[kind], seed }));
    if (view === null) return;
    if (kind === 'multiturn') {
      const local: TextEpisode = guess.create();
      check(tally, `${tag} first observation`, view.kind === 'multiturn' && view.observation, local.reset(seed, guess.difficulty.default));
      for (let turn = 1, done = false; !done && steps < STEPS; turn++, steps++) {
        const action = `Answer: ${rng.range(1, 40)}`;
        const r = await timed(tally, `${tag} step`, () => client.step(view.session, action));
        const want = local.step(action);
        done = want.done || turn >= guess.maxTurns;
        if (r) check(tally, `${tag} step ${turn}`, [r.observation, r.reward, r.done, r.turn], [done ? '' : want.observation, want.reward, done, turn]);
      }
    } else if (kind === 'game') {
      let state = connect4.initial();
      while (connect4.result(state) === null && steps < STEPS) {
        const move = rng.pick(connect4.legalMoves(state));
        state = connect4.play(state, move);
        const g = await timed(tally, `${tag} play`, () => client.play(view.session, move));
        steps++;
        if (g) check(tally, `${tag} after ${move}`, [g.board, g.result], [connect4.render(state), connect4.result(state)]);
      }
    } else {
      const task = addsub.generate(seed, addsub.difficulty.default);
      check(tally, `${tag} prompt`, view.kind === 'task' && view.prompt, task.prompt);
      for (let k = 0; k < 5 && steps < STEPS; k++, steps++) {
        const completion = rng.bool() ? addsub.solve(task) : `Answer: ${rng.range(-999, 999)}`;
        const v = await timed(tally, `${tag} verify`, () => client.verify(view.session, completion));
        if (v) check(tally, `${tag} verify ${completion}`, v.reward, (await addsub.verify(task, completion)).reward);
      }
    }
    await timed(tally, `${tag} close`, () => client.close(view.session));
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux; NaN elsewhere). */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 1/100 s
  } catch {
    return NaN;
  }
}

interface Server {
  url: string;
  cpu: () => number; // the server's CPU seconds so far (NaN when it is not our child)
  stop: () => Promise<number | null>; // its exit code
}

/** Starts `flywheel env-server --port 0` as a child. */
async function startServer(): Promise<Server> {
  const bin = join(import.meta.dirname, '..', 'bin', 'flywheel.js');
  const child = spawn(process.execPath, [bin, 'env-server', '--port', '0', '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((done) => child.on('exit', done));
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d;
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]).url);
    });
    void exited.then((code) => reject(new Error(`env-server exited with ${code} before listening`)));
  });
  return { url, cpu: () => cpuSeconds(child.pid), stop: () => (child.kill('SIGTERM'), exited) };
}

function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;
}

const server: Server = args.url ? { url: args.url, cpu: () => NaN, stop: async () => 0 } : await startServer();
const client = new EnvClient(server.url, { timeoutMs: 60_000 });
const tally: Tally = { latencies: [], requests: 0, lost: [], crossed: [] };
const load0 = loadavg()[0];
const cpu0 = server.cpu();
const t0 = performance.now();
await Promise.all(Array.from({ length: SESSIONS }, (_, i) => runClient(client, i, tally)));
const seconds = (performance.now() - t0) / 1000;
const serverCpu = server.cpu() - cpu0;
const open = (await client.health()).sessions;
const exitCode = await server.stop();

const sorted = [...tally.latencies].sort((a, b) => a - b);
const round = (x: number) => Math.round(x * 100) / 100;
const result = {
  sessions: SESSIONS,
  steps: STEPS,
  requests: tally.requests,
  seconds: round(seconds),
  requestsPerSecond: Math.round(tally.requests / seconds),
  latencyMs: { p50: round(percentile(sorted, 50)), p90: round(percentile(sorted, 90)), p99: round(percentile(sorted, 99)), max: round(sorted.at(-1) ?? NaN) },
  serverCpuMsPerRequest: round((1000 * serverCpu) / tally.requests),
  lost: tally.lost.length,
  crossed: tally.crossed.length,
  openAfter: open,
  serverExit: exitCode,
  loadavg: { before: load0, after: loadavg()[0] },
};
if (args.json) process.stdout.write(`${JSON.stringify(result)}\n`);
else {
  const l = result.latencyMs;
  console.log(`${SESSIONS} sessions x ${STEPS} steps: ${tally.requests} requests in ${result.seconds} s = ${result.requestsPerSecond} req/s`);
  console.log(`latency ms: p50 ${l.p50}  p90 ${l.p90}  p99 ${l.p99}  max ${l.max}`);
  console.log(`server CPU: ${round(serverCpu)} s = ${result.serverCpuMsPerRequest} ms per request (the rest of the wall time is this load generator and the machine's other work)`);
  console.log(`lost ${result.lost}, crossed ${result.crossed}, sessions left open ${open}; load average ${load0.toFixed(2)} -> ${result.loadavg.after.toFixed(2)} (a shared machine: numbers are noisy)`);
}
for (const line of [...tally.lost, ...tally.crossed].slice(0, 10)) console.error(line);
process.exitCode = tally.lost.length || tally.crossed.length || open !== 0 ? 1 : 0;
