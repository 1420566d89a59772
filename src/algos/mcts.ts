/**
 * Monte Carlo tree search with PUCT, as in AlphaGo Zero / AlphaZero (Silver
 * et al. 2017, "Mastering the game of Go without human knowledge"; 2018, "A
 * general reinforcement learning algorithm that masters chess, shogi and Go
 * through self-play"). The search takes an Evaluator (a policy-value
 * network, or random rollouts in tests), not a network.
 *
 * One simulation: from the root, repeatedly pick the edge maximizing
 *     Q(s,a) + c P(s,a) sqrt(N(s)) / (1 + N(s,a))
 * (N(s) counts the node's own evaluation plus its edges' visits) down to a
 * node not yet expanded; evaluate it (priors p and value v for its player to
 * move); expand it with p; back v up the path, negated at every ply.
 *
 * Batched leaves with virtual loss (AlphaGo 2016's asynchronous search, made
 * synchronous): a tree gathers up to `leavesPerTree` leaves per round; each
 * path is marked with `virtualLoss` lost visits so the next descent avoids
 * it. Many trees (the games of a self-play batch) gather together, so the
 * network sees one batch of leaves from all of them per round.
 *
 * Root: Dirichlet noise P = (1 - eps) p + eps Dir(alpha) for exploration in
 * self-play; moves are drawn from visit counts with a temperature (then
 * argmax); the chosen child's subtree becomes the next root (tree reuse).
 *
 * Departures, on purpose:
 *   - c is a constant (AlphaZero grows it slowly with N: log((1 + N + 19652) / 19652) + 1.25,
 *     which is 1.25 at the visit counts used here).
 *   - A move's search stops when the root has `simulations` visits, counting
 *     those a reused subtree already had (AlphaZero ran a fixed number of new
 *     simulations); reuse thus saves work.
 *   - A descent that reaches a leaf already pending in this round (a
 *     collision) is undone and ends the tree's gathering for the round.
 *   - Unvisited edges have Q = 0 (a draw), as in AlphaZero's pseudocode.
 */
import type { Game } from '../envs/types.ts';
import type { Rng } from '../util/rng.ts';

/** Priors and values for a batch of positions. */
export interface Evaluation {
  policy: Float32Array; // (B, numActions): priors over the legal moves (any positive scale, 0 on illegal ones)
  value: Float32Array; // (B): each position's value for its player to move, in [-1, 1]
}

export interface Evaluator<S> {
  evaluate(states: readonly S[]): Evaluation;
}

export interface MCTSConfig {
  simulations: number; // root visits per move (a reused subtree's visits count)
  cPuct: number; // exploration constant c
  dirichletAlpha: number; // root noise concentration (AlphaZero: 0.3 chess, 0.03 Go; about 10 / typical number of legal moves)
  noiseFraction: number; // eps; 0 switches root noise off (evaluation, play)
  leavesPerTree: number; // leaves a tree gathers per evaluator call
  virtualLoss: number; // lost visits put on a pending path
}

export const MCTS_DEFAULTS: MCTSConfig = { simulations: 100, cPuct: 1.5, dirichletAlpha: 1.0, noiseFraction: 0.25, leavesPerTree: 8, virtualLoss: 1 };

/** A search node: one position and the statistics of its outgoing edges. */
class Node<S> {
  moves: number[] = []; // legal moves (set on expansion)
  prior = new Float32Array(0); // (moves) the evaluator's priors, normalized
  P = new Float32Array(0); // (moves) priors used by selection (prior, plus noise at the root)
  N = new Float32Array(0); // (moves) edge visits, virtual ones included
  W = new Float32Array(0); // (moves) edge value sums, for this node's player to move
  children: (Node<S> | null)[] = [];
  visits = 0; // 1 once evaluated, plus the sum of N
  expanded = false;
  pending = false; // gathered this round, waiting for its evaluation
  constructor(readonly state: S, readonly player: 0 | 1, readonly terminalValue: number | null) {}
}

/** A gathered leaf: the node to evaluate and the path (node, edge index) that leads to it. */
interface Leaf<S> {
  tree: SearchTree<S>;
  node: Node<S>;
  path: [Node<S>, number][];
}

/** The search tree of one game in progress. */
export class SearchTree<S> {
  root: Node<S>;
  private noised = false; // root noise applied for the current move

  constructor(readonly game: Game<S>, state: S, readonly config: MCTSConfig, private readonly rng: Rng) {
    this.root = this.node(state);
  }

  private node(state: S): Node<S> {
    const r = this.game.result(state), player = this.game.toMove(state);
    return new Node(state, player, r === null ? null : player === 0 ? r : -r);
  }

  /** Real visits of the root (pending virtual ones excluded). */
  get rootVisits(): number {
    return this.root.expanded ? this.root.visits : 0;
  }

  /** Whether the current move's search is complete (or the game is over). */
  done(): boolean {
    return this.root.terminalValue !== null || this.rootVisits >= this.config.simulations;
  }

  /** Up to leavesPerTree leaves to evaluate; terminal positions met on the way are backed up at once. */
  gather(out: Leaf<S>[]): void {
    const c = this.config;
    if (this.root.expanded && !this.noised) this.addNoise();
    let budget = Math.min(c.leavesPerTree, c.simulations - this.rootVisits);
    for (let tries = 0; budget > 0 && tries < 2 * c.leavesPerTree; tries++) {
      const path: [Node<S>, number][] = [];
      let node = this.root;
      while (node.expanded && node.terminalValue === null) {
        const i = this.select(node);
        path.push([node, i]);
        node.N[i] += c.virtualLoss;
        node.W[i] -= c.virtualLoss;
        node.visits += c.virtualLoss;
        node.children[i] ??= this.node(this.game.play(node.state, node.moves[i]));
        node = node.children[i]!;
      }
      if (node.terminalValue !== null) {
        backup(path, node, node.terminalValue, c.virtualLoss);
        budget--;
      } else if (node.pending) {
        backup(path, node, 0, c.virtualLoss, false); // collision: undo the virtual loss, end this round
        break;
      } else {
        node.pending = true;
        out.push({ tree: this, node, path });
        budget--;
        if (node === this.root) break; // the root alone is the first leaf
      }
    }
  }

  /** PUCT: the edge maximizing Q + c P sqrt(visits) / (1 + N). */
  private select(node: Node<S>): number {
    const sqrtN = Math.sqrt(node.visits), c = this.config.cPuct;
    let best = 0, bestScore = -Infinity;
    for (let i = 0; i < node.moves.length; i++) {
      const n = node.N[i];
      const score = (n > 0 ? node.W[i] / n : 0) + (c * node.P[i] * sqrtN) / (1 + n);
      if (score > bestScore) {
        bestScore = score;
        best = i;
      }
    }
    return best;
  }

  /** Expands a gathered leaf with its evaluation (priors row over numActions, value) and backs the value up. */
  expand(leaf: Leaf<S>, policy: Float32Array, value: number): void {
    const node = leaf.node, moves = this.game.legalMoves(node.state), k = moves.length;
    node.moves = moves;
    node.prior = new Float32Array(k);
    let sum = 0;
    for (let i = 0; i < k; i++) sum += policy[moves[i]];
    for (let i = 0; i < k; i++) node.prior[i] = sum > 0 ? policy[moves[i]] / sum : 1 / k;
    node.P = node.prior.slice();
    node.N = new Float32Array(k);
    node.W = new Float32Array(k);
    node.children = new Array(k).fill(null);
    node.visits = 1;
    node.expanded = true;
    node.pending = false;
    backup(leaf.path, node, value, this.config.virtualLoss);
  }

  /** Root priors = (1 - eps) p + eps Dir(alpha), fresh for every move. */
  private addNoise(): void {
    this.noised = true;
    const eps = this.config.noiseFraction, r = this.root;
    if (eps <= 0 || r.moves.length < 2) return;
    const eta = dirichlet(this.rng, this.config.dirichletAlpha, r.moves.length);
    for (let i = 0; i < r.moves.length; i++) r.P[i] = (1 - eps) * r.prior[i] + eps * eta[i];
  }

  /** Root visit counts over the whole action space (numActions). */
  visitCounts(): Float32Array {
    const out = new Float32Array(this.game.numActions);
    this.root.moves.forEach((m, i) => (out[m] = this.root.N[i]));
    return out;
  }

  /** Mean value of the root for its player to move (from the search), or its terminal value. */
  rootValue(): number {
    const r = this.root;
    if (r.terminalValue !== null) return r.terminalValue;
    let n = 0, w = 0;
    for (let i = 0; i < r.moves.length; i++) {
      n += r.N[i];
      w += r.W[i]; // from the root mover's side
    }
    return n > 0 ? w / n : 0;
  }

  /** A move drawn from visit counts ^ (1 / temperature); temperature 0 takes the most visited (ties at random). */
  pickMove(temperature: number): number {
    const r = this.root;
    if (r.moves.length === 0) throw new Error('SearchTree.pickMove: the game is over');
    if (temperature <= 0) {
      let best = -1;
      const ties: number[] = [];
      for (let i = 0; i < r.moves.length; i++) {
        if (r.N[i] > best) {
          best = r.N[i];
          ties.length = 0;
        }
        if (r.N[i] === best) ties.push(r.moves[i]);
      }
      return ties.length === 1 ? ties[0] : this.rng.pick(ties);
    }
    const w = Array.from(r.N, (n) => Math.pow(n, 1 / temperature));
    let u = this.rng.float() * w.reduce((a, b) => a + b, 0);
    for (let i = 0; i < w.length; i++) {
      u -= w[i];
      if (u < 0) return r.moves[i];
    }
    return r.moves[r.moves.length - 1];
  }

  /** Plays `move`: its subtree (if searched) becomes the root. */
  advance(move: number): void {
    const r = this.root;
    const i = r.expanded ? r.moves.indexOf(move) : -1;
    const child = i >= 0 ? r.children[i] : null;
    this.root = child ?? this.node(this.game.play(r.state, move));
    this.noised = false;
  }
}

/**
 * Backs a leaf value (for the leaf's player to move) up the path, replacing
 * each edge's virtual loss by the real result; with real = false it only
 * removes the virtual loss (a collision).
 */
function backup<S>(path: [Node<S>, number][], leaf: Node<S>, leafValue: number, vl: number, real = true): void {
  for (let j = path.length - 1; j >= 0; j--) {
    const [node, i] = path[j];
    const v = node.player === leaf.player ? leafValue : -leafValue; // the edge's value for the parent's player to move
    if (real) {
      node.N[i] += 1 - vl;
      node.W[i] += v + vl;
      node.visits += 1 - vl;
    } else {
      node.N[i] -= vl;
      node.W[i] += vl;
      node.visits -= vl;
    }
  }
}

/**
 * Runs every tree's current move search, evaluating the leaves of all trees
 * in one batch per round, until every search is complete or `maxRounds`
 * evaluator calls were made (so callers can yield to the event loop between
 * slices). Returns the calls made, the leaves evaluated, and whether all are done.
 */
export function searchAll<S>(trees: readonly SearchTree<S>[], evaluator: Evaluator<S>, maxRounds = Infinity): { rounds: number; leaves: number; done: boolean } {
  const leaves: Leaf<S>[] = [];
  let rounds = 0, total = 0;
  while (rounds < maxRounds) {
    leaves.length = 0;
    for (const t of trees) if (!t.done()) t.gather(leaves);
    if (leaves.length === 0) {
      if (trees.every((t) => t.done())) return { rounds, leaves: total, done: true };
      continue; // only terminal positions were met this round
    }
    const ev = evaluator.evaluate(leaves.map((l) => l.node.state));
    const A = leaves[0].tree.game.numActions;
    leaves.forEach((l, b) => l.tree.expand(l, ev.policy.subarray(b * A, (b + 1) * A), ev.value[b]));
    rounds++;
    total += leaves.length;
  }
  return { rounds, leaves: total, done: trees.every((t) => t.done()) };
}

// ---------------------------------------------------------------- evaluators and noise

/** Uniform priors and the mean result of `rollouts` random play-outs (for tests and as a network-free baseline). */
export function rolloutEvaluator<S>(game: Game<S>, rng: Rng, rollouts = 1): Evaluator<S> {
  return {
    evaluate(states) {
      const A = game.numActions, policy = new Float32Array(states.length * A), value = new Float32Array(states.length);
      states.forEach((s, b) => {
        for (const m of game.legalMoves(s)) policy[b * A + m] = 1;
        let sum = 0;
        for (let k = 0; k < rollouts; k++) {
          let t = s;
          while (game.result(t) === null) t = game.play(t, rng.pick(game.legalMoves(t)));
          sum += game.toMove(s) === 0 ? game.result(t)! : -game.result(t)!;
        }
        value[b] = sum / rollouts;
      });
      return { policy, value };
    },
  };
}

/** A draw from the symmetric Dirichlet(alpha) distribution over k outcomes. */
export function dirichlet(rng: Rng, alpha: number, k: number): Float64Array {
  const x = new Float64Array(k);
  let sum = 0;
  for (let i = 0; i < k; i++) sum += x[i] = gamma(rng, alpha);
  for (let i = 0; i < k; i++) x[i] = sum > 0 ? x[i] / sum : 1 / k;
  return x;
}

/** Gamma(shape, 1) by Marsaglia and Tsang (2000); shape < 1 via Gamma(shape + 1) U^(1/shape). */
export function gamma(rng: Rng, shape: number): number {
  if (shape < 1) return gamma(rng, shape + 1) * Math.pow(1 - rng.float(), 1 / shape);
  const d = shape - 1 / 3, c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number, v: number;
    do {
      x = rng.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - rng.float();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}
