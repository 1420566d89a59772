/**
 * How a self-play run measures its networks, and the summary it ends with.
 *
 * A network is measured two ways: its raw policy (its most likely move by
 * default; eval.policyTemperature 1 samples, as AlphaGo played its SL policy
 * network, which suits a teacher that randomizes) and MCTS over it (the
 * agent: the most visited move, no root noise). Both meet the teacher and the scripted opponents on the same
 * paired random openings every time, and move on the same fixed solver-
 * labelled positions (arena.ts). Elo is fitted over every match the run
 * played (src/measure/elo.ts), with the scripted anchors of the config held
 * fixed.
 */
import type { Game } from '../envs/types.ts';
import { makePlayer } from '../envs/games/players.ts';
import { Rng } from '../util/rng.ts';
import type { PVInference } from '../models/pvnet.ts';
import { fitElo, type PairResult } from '../measure/elo.ts';
import { solverAccuracy, tally, valueAccuracy, type Tally } from '../measure/games.ts';
import type { RunDir } from '../runs/run_dir.ts';
import { labelledPositions, mctsAgent, netEvaluator, pickFromRow, playMatch, policyAgent, randomOpenings, scoresOf, scriptedAgent, type Agent, type Tick } from './arena.ts';
import type { MCTSConfig } from './mcts.ts';
import type { AlphaZeroConfig } from './alphazero_config.ts';
import type { AZProgress, AZState } from './alphazero.ts';

export interface EvalContext {
  game: Game<unknown>;
  cfg: AlphaZeroConfig;
  tick: Tick;
  onProgress?: (p: AZProgress) => void;
}

/** One way of playing a network, measured. */
export interface PlayerEval {
  vs_teacher: number; // score against the teacher (win 1, draw 0.5), both colours
  solver_accuracy: number; // share of labelled positions where its move keeps the exact value
}

/** A network's evaluation at one point of the run. */
export interface NetEval {
  label: string; // the MCTS agent's name ('gen0' = MCTS over the supervised net)
  iteration: number; // self-play iterations done
  games: number; // self-play games played
  flops: number; // compute spent so far
  value_accuracy: number; // share of labelled positions whose value sign (with a draw band) matches the solver
  policy: PlayerEval; // the raw policy
  mcts: PlayerEval; // MCTS over the network
  vs: Record<string, Tally>; // the MCTS agent against each opponent
  policyVs?: Record<string, Tally>; // the raw policy against each opponent (supervised net and final net only)
  pairs: PairResult[]; // the matches, for Elo
}

/** The object `flywheel selfplay --json` prints (and summary.json holds). */
export interface SelfPlaySummary {
  game: string;
  teacher: string;
  teacher_solver_accuracy: number; // the teacher's own moves on the labelled positions
  sl: PlayerEval & { value_accuracy: number; mcts: PlayerEval };
  final: PlayerEval & { value_accuracy: number; policy: PlayerEval; generation: number };
  opponents: Record<string, { sl: Tally | null; final: Tally | null }>;
  elo: { ratings: Record<string, number>; stderr: Record<string, number>; anchors: Record<string, number> };
  curve: { label: string; iteration: number; games: number; flops: number; elo: number; solver_accuracy: number; vs_teacher: number }[];
  arenas: AZState['arenas'];
  iterations: number;
  games: number;
  flops: number;
  seconds: number;
  checkpoint: string;
}

/** Evaluates a network: value accuracy, both players' accuracy and score against the teacher, the agent against every opponent. */
export async function evaluateNet(
  ctx: EvalContext, net: PVInference,
  at: { label: string; policyLabel?: string; iteration: number; games: number; flops: number; extraOpponents?: string[] },
): Promise<NetEval> {
  const { game, cfg, tick } = ctx, e = cfg.eval, A = game.numActions;
  const ev = netEvaluator(game, net);
  const positions = labelledPositions(game), states = positions.map((p) => p.state);
  const keeps = positions.map((p) => p.keeps), legal = positions.map((p) => p.legal);
  const out = ev.evaluate(states);
  const value_accuracy = valueAccuracy(out.value, positions.map((p) => p.value), e.drawBand);
  const rowMoves = states.map((_, i) => pickFromRow(out.policy.subarray(i * A, (i + 1) * A), 0, new Rng(0)));
  const mcts: MCTSConfig = { simulations: e.simulations, cPuct: cfg.selfplay.cPuct, dirichletAlpha: 1, noiseFraction: 0, leavesPerTree: cfg.selfplay.leavesPerTree, virtualLoss: 1 };
  const agent = mctsAgent(at.label, game, ev, mcts);
  const mctsMoves = await agent.forGames(new Rng(`${cfg.seed}:accuracy`), tick).act(states.map((_, i) => i), states);

  const opponents = [...new Set([cfg.teacher, ...e.opponents])];
  const agentOpponents = [...new Set([...opponents, ...(at.extraOpponents ?? [])])];
  const openings = randomOpenings(game, e.openingPlies, e.openings, new Rng(`${cfg.seed}:eval-openings`));
  const vs: Record<string, Tally> = {}, pairs: PairResult[] = [];
  const match = async (who: Agent<unknown>, spec: string): Promise<Tally> => {
    ctx.onProgress?.({ phase: 'eval', label: `evaluating ${at.label}`, done: pairs.length, total: agentOpponents.length + (at.policyLabel ? opponents.length : 1), fields: { [who.name]: `vs ${spec}` } });
    const games = await playMatch(game, who, scriptedAgent(game, makePlayer(game, spec)), openings, new Rng(`${cfg.seed}:eval:${who.name}:${spec}`), tick);
    const t = tally(scoresOf(games, who.name));
    pairs.push({ a: who.name, b: spec, score: t.score * t.games, games: t.games });
    return t;
  };
  for (const spec of agentOpponents) vs[spec] = await match(agent, spec);
  const policy = policyAgent(at.policyLabel ?? `${at.label}-policy`, ev, A, e.policyTemperature);
  const policyVs: Record<string, Tally> = {};
  for (const spec of at.policyLabel ? opponents : [cfg.teacher]) policyVs[spec] = await match(policy, spec);
  if (!at.policyLabel) pairs.pop(); // a raw policy measured only against the teacher is left out of the Elo fit
  return {
    label: at.label, iteration: at.iteration, games: at.games, flops: at.flops, value_accuracy,
    policy: { vs_teacher: policyVs[cfg.teacher].score, solver_accuracy: solverAccuracy(rowMoves, keeps, legal).accuracy },
    mcts: { vs_teacher: vs[cfg.teacher].score, solver_accuracy: solverAccuracy(mctsMoves, keeps, legal).accuracy },
    vs, ...(at.policyLabel ? { policyVs } : {}), pairs,
  };
}

/** The final evaluation (the best network against every opponent, slow ones included), the Elo fit, and the summary. */
export async function finalReport(ctx: EvalContext, net: PVInference, st: AZState, elapsed: () => number, run: RunDir): Promise<SelfPlaySummary> {
  const { cfg } = ctx, sl = st.sl!;
  const label = `gen${st.generation}`;
  const final = await evaluateNet(ctx, net, { label, policyLabel: 'final-policy', iteration: st.iteration, games: st.games, flops: st.flops, extraOpponents: cfg.eval.finalOpponents });
  const pairs = [...st.pairs, ...final.pairs.filter((p) => p.a !== label || !st.pairs.some((q) => q.a === label && q.b === p.b))];
  const anchors = Object.fromEntries(Object.entries(cfg.eval.anchors).filter(([n]) => pairs.some((p) => p.a === n || p.b === n)));
  const elo = fitElo(pairs, Object.keys(anchors).length > 0 ? anchors : { [cfg.teacher]: 0 });
  const opponents: SelfPlaySummary['opponents'] = {};
  for (const spec of Object.keys(final.vs)) opponents[spec] = { sl: sl.policyVs?.[spec] ?? null, final: final.vs[spec] };
  const points = [sl, ...st.evals];
  const positions = labelledPositions(ctx.game), teacher = makePlayer(ctx.game, cfg.teacher), rng = new Rng(`${cfg.seed}:teacher-accuracy`);
  const teacherMoves = positions.map((p) => teacher.move(ctx.game, p.state, rng));
  return {
    game: cfg.game, teacher: cfg.teacher,
    teacher_solver_accuracy: solverAccuracy(teacherMoves, positions.map((p) => p.keeps), positions.map((p) => p.legal)).accuracy,
    sl: { ...sl.policy, value_accuracy: sl.value_accuracy, mcts: sl.mcts },
    final: { ...final.mcts, value_accuracy: final.value_accuracy, policy: final.policy, generation: st.generation },
    opponents,
    elo: { ratings: elo.ratings, stderr: elo.stderr, anchors },
    curve: points.map((p) => ({ label: p.label, iteration: p.iteration, games: p.games, flops: p.flops, elo: elo.ratings[p.label], solver_accuracy: p.mcts.solver_accuracy, vs_teacher: p.mcts.vs_teacher })),
    arenas: st.arenas, iterations: st.iteration, games: st.games, flops: st.flops, seconds: elapsed(), checkpoint: run.checkpointDir,
  };
}
