/**
 * Scripted players: spec parsing, one-ply tactics of 'greedy', graded
 * strength over seeded matches (random < greedy < search:4; perfect never
 * loses to search:2), determinism, and expert records turned into
 * supervised examples.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng.ts';
import type { Game } from '../../src/envs/types.ts';
import { tictactoe, tttFromMoves } from '../../src/envs/games/tictactoe.ts';
import { connect4, c4FromMoves } from '../../src/envs/games/connect4.ts';
import { solve } from '../../src/envs/games/solver.ts';
import { expertRecords, makePlayer, playGame, recordToExamples, type Player } from '../../src/envs/games/players.ts';

/** Wins, draws and losses of spec a against spec b over n games, a moving first in the even games. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function match(game: Game<any>, a: string, b: string, n: number, seed: number) {
  const rng = new Rng(seed);
  const pa = makePlayer(game, a);
  const pb = makePlayer(game, b);
  const out = { win: 0, draw: 0, loss: 0, lossesFirst: 0 };
  for (let i = 0; i < n; i++) {
    const aFirst = i % 2 === 0;
    const r = playGame(game, aFirst ? pa : pb, aFirst ? pb : pa, rng);
    const forA = aFirst ? r.result : -r.result;
    if (forA > 0) out.win++;
    else if (forA < 0) {
      out.loss++;
      if (aFirst) out.lossesFirst++;
    } else out.draw++;
  }
  return out;
}

test('makePlayer: every valid spec works; a bad spec names itself and the valid ones', () => {
  for (const spec of ['random', 'greedy', 'search:1', 'search:3', 'noisy:0', 'noisy:0.25', 'noisy:1', 'perfect']) {
    const p = makePlayer(tictactoe, spec);
    assert.equal(p.name, spec);
    const s = tttFromMoves([4]);
    assert.ok(tictactoe.legalMoves(s).includes(p.move(tictactoe, s, new Rng(1))), spec);
  }
  for (const spec of ['', 'best', 'search', 'search:0', 'search:2.5', 'search:x', 'noisy', 'noisy:1.5', 'noisy:-0.1', 'random:1', 'perfect:2', 'search:2:3']) {
    assert.throws(
      () => makePlayer(connect4, spec),
      (e: Error) => e.message.includes(JSON.stringify(spec)) && e.message.includes("'search:D'") && e.message.includes("'perfect'"),
      spec,
    );
  }
});

test('greedy wins at once when it can and otherwise blocks the immediate loss', () => {
  const greedy = makePlayer(connect4, 'greedy');
  // X to move with three in column 0: it must play 0.
  const win = c4FromMoves([0, 1, 0, 1, 0, 2]);
  // O to move, X threatens column 0: O must block there.
  const block = c4FromMoves([0, 1, 0, 1, 0]);
  for (let seed = 0; seed < 20; seed++) {
    assert.equal(greedy.move(connect4, win, new Rng(seed)), 0);
    assert.equal(greedy.move(connect4, block, new Rng(seed)), 0);
  }
  // Tic-tac-toe: O must block X's top row at cell 2.
  const ttt = tttFromMoves([0, 4, 1]);
  for (let seed = 0; seed < 10; seed++) assert.equal(makePlayer(tictactoe, 'greedy').move(tictactoe, ttt, new Rng(seed)), 2);
});

test('connect4 strength is graded: greedy beats random, search:4 beats greedy', () => {
  const g = match(connect4, 'greedy', 'random', 40, 1);
  assert.ok(g.win >= 32, `greedy vs random: ${JSON.stringify(g)}`);
  const s = match(connect4, 'search:4', 'greedy', 30, 2);
  assert.ok(s.win >= 22, `search:4 vs greedy: ${JSON.stringify(s)}`);
});

test('connect4: perfect never loses to search:2 when moving first, and beats it as second player', () => {
  const m = match(connect4, 'perfect', 'search:2', 4, 3);
  assert.equal(m.lossesFirst, 0, JSON.stringify(m));
  assert.ok(m.win >= 3, JSON.stringify(m));
});

test('tic-tac-toe: perfect never loses (to search:2, greedy or itself) and always draws with itself', () => {
  for (const opp of ['search:2', 'greedy', 'random']) assert.equal(match(tictactoe, 'perfect', opp, 20, 4).loss, 0, opp);
  const self = match(tictactoe, 'perfect', 'perfect', 6, 5);
  assert.equal(self.draw, 6);
  assert.ok(match(tictactoe, 'greedy', 'random', 40, 6).win >= 25);
});

test('perfect and noisy:0 moves are solver-optimal from 12 stones on', () => {
  const perfect = makePlayer(connect4, 'perfect');
  const noisy0 = makePlayer(connect4, 'noisy:0');
  const rng = new Rng(8);
  for (let k = 0; k < 6; k++) {
    let s = connect4.initial();
    while (s.moves < 14 || s.result !== null) s = s.result !== null ? connect4.initial() : connect4.play(s, rng.pick(connect4.legalMoves(s)));
    const best = solve(s).bestMoves;
    assert.ok(best.includes(perfect.move(connect4, s, new Rng(k))));
    assert.ok(best.includes(noisy0.move(connect4, s, new Rng(k))));
  }
});

test('playGame is deterministic per seed and rejects an illegal move', () => {
  const a = playGame(connect4, makePlayer(connect4, 'search:2'), makePlayer(connect4, 'noisy:0.5'), new Rng(11));
  const b = playGame(connect4, makePlayer(connect4, 'search:2'), makePlayer(connect4, 'noisy:0.5'), new Rng(11));
  assert.deepEqual(a, b);
  assert.deepEqual(a.players, ['search:2', 'noisy:0.5']);
  assert.equal(c4FromMoves(a.moves).result, a.result);
  const cheat: Player<unknown> = { name: 'cheat', move: () => 4 };
  assert.throws(() => playGame(tictactoe as Game<unknown>, cheat, cheat, new Rng(1)), /cheat.*illegal move 4/);
});

test('expert records become per-move examples with the outcome from the mover', () => {
  const records = expertRecords(tictactoe, 'noisy:0.3', 12, new Rng(12), { openingPlies: 1 });
  assert.equal(records.length, 12);
  assert.deepEqual(records, expertRecords(tictactoe, 'noisy:0.3', 12, new Rng(12), { openingPlies: 1 }));
  const openings = new Set(records.map((r) => r.moves[0]));
  assert.ok(openings.size >= 3, 'random openings vary');
  for (const r of records) {
    const ex = recordToExamples(tictactoe, r);
    assert.equal(ex.length, r.moves.length);
    ex.forEach((e, i) => {
      assert.equal(e.move, r.moves[i]);
      assert.equal(e.outcome, i % 2 === 0 ? r.result : -r.result); // player 0 moves at even plies
      assert.ok(e.legal.includes(e.move));
      assert.deepEqual(e.input, tictactoe.encode(tttFromMoves(r.moves.slice(0, i))));
    });
    assert.equal(recordToExamples(tictactoe, r, 1).length, r.moves.length - 1);
  }
  // The winner's moves carry +1: in a decided game the last move's outcome is +1.
  const decided = records.find((r) => r.result !== 0);
  if (decided) assert.equal(recordToExamples(tictactoe, decided).at(-1)!.outcome, 1);
  // Bad records throw.
  assert.throws(() => recordToExamples(connect4, records[0]), /tictactoe-v1/);
  assert.throws(() => recordToExamples(tictactoe, { ...records[0], moves: [0, 0] }), RangeError);
  assert.throws(() => recordToExamples(tictactoe, { ...records[0], result: 7 }), /result/);
});

test('connect4 expert records from noisy perfect play are valid games', () => {
  const records = expertRecords(connect4, 'noisy:0.2', 2, new Rng(13), { openingPlies: 6 });
  for (const r of records) {
    assert.equal(r.game, 'connect4-v1');
    assert.equal(c4FromMoves(r.moves).result, r.result);
    assert.equal(recordToExamples(connect4, r, 6).length, r.moves.length - 6);
  }
});
