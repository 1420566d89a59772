/**
 * MCTS against oracles: with exact values it plays only value-keeping moves
 * (so values are backed up with the right signs); with random rollouts it
 * takes a win and blocks a loss; virtual loss spreads a batch over distinct
 * leaves; batching many trees changes nothing; tree reuse keeps the subtree;
 * Dirichlet noise is seeded and normalized.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng.ts';
import { tictactoe, tttFromMoves, type TTTState } from '../../src/envs/games/tictactoe.ts';
import { negamax } from '../../src/envs/games/negamax.ts';
import { SearchTree, searchAll, rolloutEvaluator, dirichlet, gamma, MCTS_DEFAULTS, type Evaluator } from '../../src/algos/mcts.ts';
import { labelledPositions } from '../../src/algos/arena.ts';

const quiet = { ...MCTS_DEFAULTS, noiseFraction: 0 };

/** Uniform priors and the exact value (negamax) of each position for its player to move. */
const exact: Evaluator<TTTState> = {
  evaluate(states) {
    const policy = new Float32Array(states.length * 9), value = new Float32Array(states.length);
    states.forEach((s, b) => {
      for (const m of tictactoe.legalMoves(s)) policy[b * 9 + m] = 1;
      value[b] = negamax(tictactoe, s).value;
    });
    return { policy, value };
  },
};

test('with exact values, the most visited move keeps the game-theoretic value in every sampled position', () => {
  const positions = labelledPositions(tictactoe).filter((p) => p.keeps.length < p.legal.length);
  const rng = new Rng(1), sample = positions.filter((_, i) => i % 5 === 0);
  assert.ok(sample.length > 40);
  const trees = sample.map((p) => new SearchTree(tictactoe, p.state, { ...quiet, simulations: 60 }, rng));
  searchAll(trees, exact);
  sample.forEach((p, i) => assert.ok(p.keeps.includes(trees[i].pickMove(0)), `position ${p.key}: played ${trees[i].pickMove(0)}, value-keeping ${p.keeps}`));
});

test('with random rollouts it takes an immediate win and blocks an immediate loss', () => {
  const rng = new Rng(2), ev = rolloutEvaluator(tictactoe, rng, 8);
  const win = new SearchTree(tictactoe, tttFromMoves([0, 3, 1, 4]), { ...quiet, simulations: 200 }, rng); // X: 0 1 _, wins at 2
  const block = new SearchTree(tictactoe, tttFromMoves([0, 4, 1]), { ...quiet, simulations: 200 }, rng); // O must take 2
  searchAll([win, block], ev);
  assert.equal(win.pickMove(0), 2);
  assert.equal(block.pickMove(0), 2);
  assert.ok(win.rootValue() > 0.5, `a won position's search value ${win.rootValue()}`);
});

test('visit counts add up, virtual loss spreads a batch over distinct leaves, tree reuse keeps the chosen subtree', () => {
  const rng = new Rng(3), batches: string[][] = [];
  const ev = rolloutEvaluator(tictactoe, rng);
  const recording: Evaluator<TTTState> = { evaluate: (states) => (batches.push(states.map((s) => tictactoe.key(s))), ev.evaluate(states)) };
  const tree = new SearchTree(tictactoe, tictactoe.initial(), { ...quiet, simulations: 120, leavesPerTree: 8 }, rng);
  searchAll([tree], recording);
  assert.ok(tree.rootVisits >= 120);
  assert.equal(tree.visitCounts().reduce((a, b) => a + b, 0), tree.rootVisits - 1, 'the root evaluation plus one visit per simulation, no virtual visits left');
  // round 1 evaluates the root; in round 2 all 8 descents start at the expanded root: without virtual
  // loss they would all pick the same child (a collision ends the round), with it they take 8 distinct ones
  assert.equal(batches[0].length, 1);
  assert.equal(batches[1].length, 8);
  assert.equal(new Set(batches[1]).size, 8);
  const move = tree.pickMove(0), childVisits = tree.visitCounts()[move];
  tree.advance(move);
  assert.equal(tree.rootVisits, childVisits, "the new root is the chosen child, with its visits");
});

test('searching many trees in one batch gives each tree the same search as alone', () => {
  const states = [[], [4], [0, 4], [4, 0, 8]].map((m) => tttFromMoves(m));
  const cfg = { ...quiet, simulations: 50, leavesPerTree: 1 };
  const together = states.map((s) => new SearchTree(tictactoe, s, cfg, new Rng(0)));
  searchAll(together, exact);
  for (const [i, s] of states.entries()) {
    const alone = new SearchTree(tictactoe, s, cfg, new Rng(0));
    searchAll([alone], exact);
    assert.deepEqual(Array.from(together[i].visitCounts()), Array.from(alone.visitCounts()), `tree ${i}`);
  }
});

test('root noise is seeded; Dirichlet draws sum to 1; Gamma draws have the right mean', () => {
  const a = dirichlet(new Rng(5), 0.3, 7), b = dirichlet(new Rng(5), 0.3, 7);
  assert.deepEqual(Array.from(a), Array.from(b));
  assert.ok(Math.abs(a.reduce((x, y) => x + y, 0) - 1) < 1e-12);
  const rng = new Rng(6);
  for (const shape of [0.5, 2]) {
    let s = 0;
    for (let i = 0; i < 20000; i++) s += gamma(rng, shape);
    assert.ok(Math.abs(s / 20000 - shape) < 0.05 * shape, `Gamma(${shape}) mean ${s / 20000}`);
  }
  const noisy = (seed: number) => {
    const t = new SearchTree(tictactoe, tictactoe.initial(), { ...MCTS_DEFAULTS, simulations: 40 }, new Rng(seed));
    searchAll([t], exact);
    return Array.from(t.visitCounts());
  };
  assert.deepEqual(noisy(7), noisy(7));
});
