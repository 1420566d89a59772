/**
 * report.html of `flywheel demo`: self-contained (inline SVG, no network).
 * The accuracy table and bars per phase, held-out accuracy against samples
 * and against FLOPs across the SFT and RL phases, and the RL curves
 * (reward, entropy, response length).
 */
import type { Accuracy } from '../algos/evaluate.ts';
import { barChart } from '../report/bar.ts';
import { grid, htmlPage, table } from '../report/html.ts';
import { lineChart } from '../report/line.ts';

export interface PhaseCurve {
  step?: number;
  samples: number; // within the phase
  tokens?: number;
  flops: number; // within the phase
  accuracy: Accuracy; // held-out, greedy
}

interface PhaseAcc {
  overall: number | null;
  easy: number | null;
  hard: number | null;
  greedy: Accuracy | null;
}

export function demoReport(d: {
  summary: { env: string; difficulty: number; seed: number; seconds: number; teacher: PhaseAcc; sft: PhaseAcc; rl: PhaseAcc; phases: { name: string; samples: number; tokens: number; flops: number }[] };
  sftCurve: PhaseCurve[];
  rlCurve: PhaseCurve[];
  metrics: Record<string, unknown>[];
}): string {
  const s = d.summary;
  const phases = [['teacher', s.teacher], ['SFT', s.sft], ['RL (GRPO)', s.rl]] as const;
  const rows = phases.map(([name, a], i) => [name, a.overall, a.easy, a.hard, a.greedy?.overall ?? null, a.greedy?.hard ?? null, s.phases[i].samples, s.phases[i].tokens || null, s.phases[i].flops || null]);
  const summaryTable = table(
    ['phase', 'overall', 'easy', 'hard', 'greedy overall', 'greedy hard', 'samples', 'tokens', 'FLOPs'], rows,
    { percent: [1, 2, 3, 4, 5], caption: `verified accuracy on held-out tasks: sampled at temperature 1 (4 per task), and greedy` },
  );
  const bars = barChart({
    title: 'Verified accuracy by phase (sampled)', groups: ['overall', 'easy', 'hard'],
    series: phases.map(([name, a]) => ({ name, values: [a.overall, a.easy, a.hard] })),
    y: { label: 'accuracy', min: 0, max: 1, percent: true },
    hlines: s.teacher.overall === null ? [] : [{ y: s.teacher.overall, label: 'teacher overall' }],
  });

  // x across phases: RL starts where SFT ended
  const sftEnd = d.sftCurve.at(-1) ?? { samples: 0, flops: 0 };
  const along = (key: 'samples' | 'flops', which: keyof Accuracy) => [
    { name: `SFT (${which})`, points: d.sftCurve.map((p) => [p[key], p.accuracy[which] as number] as [number, number]) },
    { name: `RL (${which})`, points: d.rlCurve.map((p) => [sftEnd[key] + p[key], p.accuracy[which] as number] as [number, number]) },
  ];
  const teacherLine = s.teacher.overall === null ? [] : [{ y: s.teacher.overall, label: 'teacher' }];
  const accCharts = (['samples', 'flops'] as const).map((key) => lineChart({
    title: `Held-out accuracy (greedy) vs ${key === 'samples' ? 'samples' : 'FLOPs'}`,
    x: { label: key === 'samples' ? 'samples (demonstrations seen, then completions drawn)' : 'FLOPs (training + sampling)', log: true },
    y: { label: 'accuracy', min: 0, max: 1, percent: true },
    series: [...along(key, 'overall'), ...along(key, 'hard').map((x) => ({ ...x, dashed: true }))],
    hlines: teacherLine,
    vlines: [{ x: sftEnd[key], label: 'RL starts' }],
  }));

  const curve = (key: string, title: string, percent = false): string => lineChart({
    title, x: { label: 'RL step' }, y: { label: title, percent, ...(percent ? { min: 0, max: 1 } : {}) },
    series: [{ name: title, points: d.metrics.filter((m) => typeof m[key] === 'number').map((m) => [m.step as number, m[key] as number]) }],
  });
  const rlCharts = [curve('reward', 'mean reward', true), curve('entropy', 'entropy (nats/token)'), curve('responseLength', 'response length (tokens)'), curve('zeroVarianceGroups', 'zero-variance groups', true)];

  return htmlPage({
    title: 'flywheel demo: imitate a flawed teacher, then surpass it',
    subtitle: `${s.env} difficulty ${s.difficulty}, seed ${s.seed}, ${s.seconds.toFixed(0)} s`,
    sections: [
      { heading: 'Verified accuracy by phase', html: summaryTable + grid(bars, accCharts[0]) },
      { heading: 'Learning curves', html: grid(accCharts[1]) },
      { heading: 'RL', html: grid(...rlCharts) },
    ],
  });
}
