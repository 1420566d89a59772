/**
 * The conformance suite for multi-turn text environments and two-player games
 * (the task-family suite and the report helpers are in conformance.ts).
 *
 * Multi-turn: episodes are deterministic per (seed, difficulty); the reference
 * policy earns positive reward; junk actions never throw and earn nothing;
 * every episode ends within maxTurns actions; a bad difficulty throws RangeError.
 * A family with a teacher (demonstrate): its episodes are deterministic given
 * the rng, a perfect teacher (errorRate 0, hardAccuracy 1) plays exactly the
 * reference episode, and a teacher that always errs loses reward somewhere.
 * With isHard: it gives booleans, true for some episodes and false for others.
 *
 * Games: seeded random playouts from the initial state end with a result in
 * {-1, 0, 1}; legal moves are distinct integers in [0, numActions); play()
 * leaves its input alone and throws RangeError on an illegal move; encode()
 * has the declared shape and is deterministic; key() never maps two different
 * positions to one key; replaying the same moves gives the same states.
 */
import { isDeepStrictEqual } from 'node:util';
import { Rng } from '../util/rng.ts';
import type { DemoOptions, Game, MultiTurnFamily } from './types.ts';
import { runEpisode } from './multiturn/episode.ts';
import {
  CheckList,
  expectRangeError,
  JUNK_COMPLETIONS,
  levels,
  metadataProblems,
  short,
  type ConformanceOptions,
  type ConformanceReport,
} from './conformance_base.ts';

// ------------------------------------------------------------------ multi-turn

export async function checkMultiTurnFamily(family: MultiTurnFamily, opts: ConformanceOptions = {}): Promise<ConformanceReport> {
  const N = opts.seeds ?? 6;
  const list = new CheckList();
  const id = typeof family?.id === 'string' ? family.id : '(no id)';

  await list.run('metadata (id, description, difficulty, maxTurns)', (bad) => {
    for (const p of metadataProblems(family, true)) bad(p);
    if (!Number.isInteger(family.maxTurns) || family.maxTurns < 1) bad(`maxTurns ${family.maxTurns} is not a positive integer`);
    if (typeof family.create !== 'function' || typeof family.solve !== 'function') bad('create and solve must be functions');
  });
  if (!list.checks[0].ok) return list.report(id, 'multiturn');
  const L = levels(family.difficulty);
  const reference = (t: readonly string[]) => family.solve(t);
  const play = (seed: number, difficulty: number, act: (t: readonly string[], turn: number) => string) => runEpisode(family, act, { seed, difficulty });

  await list.run('episodes are deterministic per seed and differ across seeds', (bad) => {
    for (const d of L) {
      const seen = new Set<string>();
      for (let seed = 0; seed < N; seed++) {
        const a = play(seed, d, reference);
        const b = play(seed, d, reference);
        if (!isDeepStrictEqual(a, b)) bad(`seed ${seed}, difficulty ${d}: two runs of the reference policy differ`);
        seen.add(JSON.stringify(a.transcript));
      }
      if (N >= 2 && seen.size < 2) bad(`difficulty ${d}: all ${N} seeds gave the same episode`);
    }
    return `${L.length} difficulties x ${N} seeds`;
  });

  await list.run('the reference policy earns positive reward within maxTurns', (bad) => {
    for (const d of L)
      for (let seed = 0; seed < N; seed++) {
        const run = play(seed, d, reference);
        const where = `seed ${seed}, difficulty ${d}`;
        const sum = run.total;
        if (run.problem) bad(`${where}: ${run.problem}`);
        else if (!run.done) bad(`${where}: not done after maxTurns = ${family.maxTurns} actions`);
        else if (!(sum > 0 && sum <= 1)) bad(`${where}: total reward ${sum}, expected in (0, 1]`);
      }
    return `${L.length} difficulties x ${N} seeds`;
  });

  await list.run('junk actions never throw, earn nothing, and episodes end within maxTurns', (bad) => {
    const J = JUNK_COMPLETIONS.length;
    const episodes = Math.ceil(J / family.maxTurns) + 1;
    for (let e = 0; e < episodes; e++) {
      const d = L[e % L.length];
      const run = play(e, d, (_, turn) => JUNK_COMPLETIONS[(e * family.maxTurns + turn) % J][1]);
      const where = `junk episode ${e} (difficulty ${d})`;
      if (run.problem) bad(`${where}: ${run.problem}`);
      else if (!run.done) bad(`${where}: not done after maxTurns = ${family.maxTurns} actions`);
      else if (run.total !== 0) bad(`${where}: junk earned total reward ${run.total}`);
    }
    return `${episodes} episodes`;
  });

  await list.run('a bad difficulty throws RangeError', (bad) => {
    const { min, max } = family.difficulty;
    for (const d of [min - 1, max + 1, min + 0.5, Number.NaN]) {
      const p = expectRangeError(`reset(0, ${d})`, () => family.create().reset(0, d));
      if (p) bad(p);
    }
  });

  const demonstrate = family.demonstrate;
  if (demonstrate !== undefined) {
    await list.run('the teacher (demonstrate) is deterministic given its rng, is the reference policy at skill 1, and errs at skill 0', (bad) => {
      if (typeof demonstrate !== 'function') return bad(`demonstrate is ${typeof demonstrate}, not a function`);
      const teach = (seed: number, d: number, opts: DemoOptions, rngSeed: string) => {
        const rng = new Rng(rngSeed);
        return play(seed, d, (t) => demonstrate.call(family, t, rng, opts));
      };
      let erred = false;
      for (const d of L)
        for (let seed = 0; seed < N; seed++) {
          const where = `seed ${seed}, difficulty ${d}`;
          const a = teach(seed, d, { errorRate: 0.5, hardAccuracy: 0.5 }, `conformance:${seed}`);
          const b = teach(seed, d, { errorRate: 0.5, hardAccuracy: 0.5 }, `conformance:${seed}`);
          if (a.problem) bad(`${where}: ${a.problem}`);
          else if (!isDeepStrictEqual(a, b)) bad(`${where}: two teacher episodes from the same rng state differ`);
          const perfect = teach(seed, d, { errorRate: 0, hardAccuracy: 1 }, `conformance:${seed}`);
          const ref = play(seed, d, reference);
          if (!perfect.problem && !isDeepStrictEqual(perfect.transcript, ref.transcript)) bad(`${where}: with errorRate 0 and hardAccuracy 1 the teacher played ${short(JSON.stringify(perfect.transcript.slice(1)))}, the reference ${short(JSON.stringify(ref.transcript.slice(1)))}`);
          const flawed = teach(seed, d, { errorRate: 1, hardAccuracy: 0 }, `conformance:${seed}`);
          if (flawed.problem) bad(`${where}: ${flawed.problem}`);
          else if (flawed.total < ref.total) erred = true;
        }
      if (!erred) bad(`with errorRate 1 and hardAccuracy 0 the teacher earned as much as the reference policy on all ${L.length * N} episodes: it never errs`);
      return `${L.length} difficulties x ${N} seeds`;
    });
  }

  const isHard = family.isHard;
  if (isHard !== undefined) {
    await list.run('isHard gives a boolean, true for some episodes and false for others', (bad) => {
      if (typeof isHard !== 'function') return bad(`isHard is ${typeof isHard}, not a function`);
      let hard = 0, total = 0;
      for (const d of L)
        for (let seed = 0; seed < (opts.statSeeds ?? 24); seed++) {
          const obs = family.create().reset(seed, d);
          const h = isHard.call(family, obs);
          if (typeof h !== 'boolean') return bad(`isHard(${short(obs)}) returned ${typeof h}, not a boolean`);
          total++;
          if (h) hard++;
        }
      if (hard === 0 || hard === total) bad(`isHard was ${hard ? 'true' : 'false'} for all ${total} episodes`);
      return `${hard} of ${total} hard`;
    });
  }

  return list.report(id, 'multiturn');
}

// ------------------------------------------------------------------ games

interface Playout<S> {
  moves: number[];
  states: S[]; // initial .. final
}

export async function checkGame<S>(game: Game<S>, opts: ConformanceOptions = {}): Promise<ConformanceReport> {
  const K = opts.playouts ?? 16;
  const list = new CheckList();
  const id = typeof game?.id === 'string' ? game.id : '(no id)';
  const fns = ['initial', 'toMove', 'legalMoves', 'play', 'result', 'encode', 'render', 'key'] as const;

  await list.run('metadata (id, description, numActions, encodingShape)', (bad) => {
    for (const p of metadataProblems(game, false)) bad(p);
    if (!Number.isInteger(game.numActions) || game.numActions < 1) bad(`numActions ${game.numActions} is not a positive integer`);
    const shape = game.encodingShape;
    if (!Array.isArray(shape) || shape.length === 0 || !shape.every((n) => Number.isInteger(n) && n > 0))
      bad(`encodingShape ${JSON.stringify(shape)} is not a list of positive integers`);
    for (const f of fns) if (typeof game[f] !== 'function') bad(`${f} is not a function`);
  });
  if (!list.checks[0].ok) return list.report(id, 'game');

  const maxPlies = 100 * game.numActions + 1000;
  const playouts: Playout<S>[] = [];
  await list.run('random playouts end with a result in {-1, 0, 1}; legal moves are valid; play() leaves its input alone', (bad) => {
    for (let i = 0; i < K; i++) {
      const rng = new Rng(i);
      const p: Playout<S> = { moves: [], states: [game.initial()] };
      for (;;) {
        const s = p.states[p.states.length - 1];
        const r = game.result(s);
        if (r !== null) {
          if (r !== -1 && r !== 0 && r !== 1) bad(`playout ${i}: result ${r} is not -1, 0 or 1`);
          break;
        }
        const where = `playout ${i}, ply ${p.moves.length}`;
        if (p.moves.length >= maxPlies) {
          bad(`playout ${i}: no result after ${maxPlies} plies`);
          break;
        }
        const tm = game.toMove(s);
        if (tm !== 0 && tm !== 1) bad(`${where}: toMove is ${tm}`);
        const legal = game.legalMoves(s);
        if (!Array.isArray(legal) || legal.length === 0) {
          bad(`${where}: no legal moves but no result`);
          break;
        }
        if (!legal.every((m) => Number.isInteger(m) && m >= 0 && m < game.numActions) || new Set(legal).size !== legal.length)
          bad(`${where}: legal moves ${JSON.stringify(legal)} are not distinct integers in [0, ${game.numActions})`);
        const move = rng.pick(legal);
        const before = game.key(s);
        p.states.push(game.play(s, move));
        p.moves.push(move);
        if (game.key(s) !== before) bad(`${where}: play() changed its input state`);
      }
      playouts.push(p);
    }
    const plies = playouts.reduce((a, p) => a + p.moves.length, 0);
    return `${K} playouts, ${plies} plies`;
  });

  const states = playouts.flatMap((p) => p.states);
  await list.run('play() throws RangeError on an illegal move', (bad) => {
    const sample = states.filter((_, i) => i % 7 === 0).slice(0, 30);
    for (const s of sample) {
      const over = game.result(s) !== null;
      const legal = over ? [] : game.legalMoves(s);
      const illegal = [-1, game.numActions, 0.5];
      const outside = Array.from({ length: game.numActions }, (_, m) => m).find((m) => !legal.includes(m));
      if (outside !== undefined) illegal.push(outside);
      for (const m of illegal) {
        const p = expectRangeError(`play(${over ? 'finished game' : 'state'}, ${m})`, () => game.play(s, m));
        if (p) bad(`${p} (key ${game.key(s)})`);
      }
    }
    return `${sample.length} states`;
  });

  await list.run('encode() has the declared shape, finite values, and is deterministic; render() gives text', (bad) => {
    const size = game.encodingShape.reduce((a, b) => a * b, 1);
    for (const s of states.slice(0, 200)) {
      const a = game.encode(s);
      const b = game.encode(s);
      if (!(a instanceof Float32Array) || a.length !== size) {
        bad(`encode() gave ${a?.constructor?.name} of length ${a?.length}, expected Float32Array of ${size} = ${JSON.stringify(game.encodingShape)}`);
        break;
      }
      if (!a.every(Number.isFinite)) bad(`encode() has non-finite values at key ${game.key(s)}`);
      if (!isDeepStrictEqual(a, b)) bad(`encode() differs between calls at key ${game.key(s)}`);
      const text = game.render(s);
      if (typeof text !== 'string' || text.trim() === '') bad(`render() gave ${short(String(text))}`);
    }
  });

  await list.run('key() distinguishes different states', (bad) => {
    const seen = new Map<string, string>();
    for (const s of states) {
      const k = game.key(s);
      if (typeof k !== 'string') {
        bad(`key() returned ${typeof k}`);
        break;
      }
      const over = game.result(s) !== null;
      const sig = `${game.render(s)}|${game.toMove(s)}|${game.result(s)}|${over ? '' : game.legalMoves(s).join(',')}`;
      const prev = seen.get(k);
      if (prev !== undefined && prev !== sig) bad(`two different positions share key ${JSON.stringify(k)}`);
      seen.set(k, sig);
    }
    return `${seen.size} distinct keys`;
  });

  await list.run('replaying the same moves gives the same states and result', (bad) => {
    for (const [i, p] of playouts.entries()) {
      let s = game.initial();
      if (game.key(s) !== game.key(p.states[0])) bad('initial() gives different states on two calls');
      for (const [j, m] of p.moves.entries()) {
        s = game.play(s, m);
        if (game.key(s) !== game.key(p.states[j + 1])) {
          bad(`playout ${i}: replay differs at ply ${j + 1}`);
          break;
        }
      }
      if (game.result(s) !== game.result(p.states[p.states.length - 1])) bad(`playout ${i}: replay ends with a different result`);
    }
  });

  return list.report(id, 'game');
}
