/**
 * report.html of `flywheel selfplay`: self-contained (inline SVG, no
 * network). The supervised model against the self-play model against the
 * teacher (table and bars), Elo against self-play games and against FLOPs,
 * solver-move accuracy per generation, win/draw/loss per opponent, the Elo
 * table, the arenas, and the training losses.
 */
import type { SelfPlaySummary } from '../algos/alphazero_eval.ts';
import type { Tally } from '../measure/games.ts';
import { barChart, lineChart } from '../report/charts.ts';
import { grid, htmlPage, table } from '../report/html.ts';

export function selfPlayReport(s: SelfPlaySummary, metrics: Record<string, unknown>[]): string {
  const gen = `gen${s.final.generation}`;
  const players = [
    ['supervised net, policy', s.sl.vs_teacher, s.sl.solver_accuracy, s.sl.value_accuracy],
    ['supervised net + MCTS (gen0)', s.sl.mcts.vs_teacher, s.sl.mcts.solver_accuracy, null],
    ['self-play net, policy', s.final.policy.vs_teacher, s.final.policy.solver_accuracy, s.final.value_accuracy],
    [`self-play net + MCTS (${gen})`, s.final.vs_teacher, s.final.solver_accuracy, null],
    [`the teacher (${s.teacher})`, 0.5, s.teacher_solver_accuracy, null],
  ] as const;
  const headline = table(['player', `score vs ${s.teacher}`, 'solver-move accuracy', 'value accuracy'], players.map((p) => [...p]), {
    percent: [1, 2, 3], caption: 'score: win 1, draw 1/2, both colours on paired random openings; accuracy on the fixed solver-labelled positions',
  });
  const bars = barChart({
    title: 'Supervised model vs self-play model vs the teacher', groups: [`score vs ${s.teacher}`, 'solver-move accuracy'],
    series: players.slice(0, 4).map(([name, score, acc]) => ({ name, values: [score, acc] })),
    y: { label: 'fraction', min: 0, max: 1, percent: true },
    hlines: [{ y: s.teacher_solver_accuracy, label: "the teacher's accuracy" }, { y: 0.5, label: 'even with the teacher' }],
  });

  const anchors = Object.entries(s.elo.anchors).map(([name, y]) => ({ y, label: name }));
  const eloAlong = (key: 'games' | 'flops', log: boolean) => lineChart({
    title: `Elo of the agent (MCTS) vs ${key === 'games' ? 'self-play games' : 'FLOPs'}`,
    x: { label: key === 'games' ? 'self-play games' : 'FLOPs (supervised training, self-play, arenas)', log },
    y: { label: 'Elo (anchored)' },
    series: [{ name: 'accepted generations', points: s.curve.map((p) => [key === 'games' ? p.games : p.flops, p.elo] as [number, number]) }],
    hlines: anchors,
  });
  const accuracy = lineChart({
    title: 'Solver-move accuracy per generation', x: { label: 'self-play games' }, y: { label: 'accuracy', min: 0, max: 1, percent: true },
    series: [
      { name: 'MCTS agent', points: s.curve.map((p) => [p.games, p.solver_accuracy] as [number, number]) },
      { name: `score vs ${s.teacher}`, points: s.curve.map((p) => [p.games, p.vs_teacher] as [number, number]), dashed: true },
    ],
    hlines: [{ y: s.sl.solver_accuracy, label: 'supervised policy' }, { y: s.teacher_solver_accuracy, label: 'teacher' }],
  });
  const rows = metrics.filter((m) => m.phase === 'selfplay');
  const losses = lineChart({
    title: 'Self-play training loss', x: { label: 'iteration' }, y: { label: 'loss' },
    series: (['policyLoss', 'valueLoss'] as const).map((k) => ({ name: k === 'policyLoss' ? 'policy (cross-entropy)' : 'value (MSE)', points: rows.map((m) => [m.iteration as number, m[k] as number] as [number, number]) })),
  });

  const wdl = (t: Tally | null): string => (t ? `${t.wins} / ${t.draws} / ${t.losses}` : '–');
  const opponents = table(['opponent', 'supervised policy W/D/L', 'score', `self-play agent (${gen}) W/D/L`, 'score'],
    Object.entries(s.opponents).map(([o, r]) => [o, wdl(r.sl), r.sl?.score ?? null, wdl(r.final), r.final?.score ?? null]), { percent: [2, 4] });
  const elo = table(['player', 'Elo', '± (1 s.e.)', 'anchor'],
    Object.entries(s.elo.ratings).sort((a, b) => b[1] - a[1]).map(([n, r]) => [n, Math.round(r), s.elo.stderr[n] !== undefined ? Math.round(s.elo.stderr[n]) : null, n in s.elo.anchors ? 'fixed' : '']));
  const arenas = table(['iteration', 'candidate score', 'accepted', 'best afterwards'], s.arenas.map((a) => [a.iteration, a.score, a.accepted ? 'yes' : 'no', `gen${a.generation}`]), { percent: [1] });

  return htmlPage({
    title: `Self-play on ${s.game}`,
    subtitle: `teacher ${s.teacher}; ${s.iterations} iterations, ${s.games} self-play games, ${(s.flops / 1e12).toFixed(2)} TFLOP, ${(s.seconds / 60).toFixed(1)} min`,
    sections: [
      { heading: 'Imitation, then self-play', html: headline + grid(bars) },
      { heading: 'Strength over the run', html: grid(eloAlong('games', false), eloAlong('flops', true), accuracy, losses) },
      { heading: 'Against every opponent (both colours)', html: opponents },
      { heading: 'Elo (Bradley–Terry, scripted players fixed)', html: elo },
      { heading: 'Gating arenas', html: arenas },
    ],
  });
}
