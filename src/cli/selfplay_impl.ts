/**
 * Implementation of `flywheel selfplay` (lazily imported by selfplay.ts):
 * flags -> config (checked before anything is written), the run directory,
 * progress bars, Ctrl-C, and the summary in words or as JSON.
 */
import { writeFileSync } from 'node:fs';
import { UserError } from '../util/errors.ts';
import { backendLine, initBackend } from '../tensor/backend.ts';
import { makePlayer } from '../envs/games/players.ts';
import { RunDir, RUN_FILES, reconcile, type GivenSetting } from '../runs/run_dir.ts';
import { defaultConfig, findGame, runAlphaZero, type AlphaZeroConfig } from '../algos/alphazero.ts';
import type { SelfPlaySummary } from '../algos/alphazero_eval.ts';
import type { Tally } from '../measure/games.ts';
import { exitCode, onInterrupt } from './signals.ts';
import { flagName } from './args.ts';
import { progressBar, type Progress } from './progress.ts';
import { selfPlayReport } from './selfplay_report.ts';
import { SELFPLAY_FLAG_PATHS, type SelfPlayFlags } from './selfplay.ts';

export async function runSelfPlay(flags: SelfPlayFlags): Promise<void> {
  const game = findGame(flags.game);
  const out = flags.out ?? `runs/selfplay-${game.id.replace(/-v\d+$/, '')}`;
  const given: GivenSetting[] = [...flags.given].filter((k) => k in SELFPLAY_FLAG_PATHS).map((k) => ({
    flag: flagName(k), path: SELFPLAY_FLAG_PATHS[k], value: k === 'game' ? game.id : (flags as unknown as Record<string, unknown>)[k],
  }));
  let run: RunDir, cfg: AlphaZeroConfig;
  if (flags.resume) {
    run = RunDir.open(out, 'selfplay');
    cfg = reconcile<AlphaZeroConfig>(run, given, ['selfplay.iterations']);
    if (cfg.selfplay.iterations !== run.config<AlphaZeroConfig>().selfplay.iterations) run.updateConfig(cfg);
  } else {
    cfg = defaultConfig(game.id);
    for (const g of given) setPath(cfg, g.path, g.value);
    checkConfig(cfg);
    await initBackend(); // a bad FLYWHEEL_BACKEND fails before the run directory exists
    run = RunDir.start(out, 'selfplay', cfg, { force: flags.force });
  }
  const log = (s: string): void => void (!flags.quiet && process.stderr.write(s + '\n'));
  log(backendLine(await initBackend()));
  log(`${cfg.game}: teacher ${cfg.teacher}; ${cfg.sl.games} expert games, ${cfg.sl.steps} supervised steps; ${cfg.selfplay.iterations} iterations x ${cfg.selfplay.games} self-play games, ${cfg.selfplay.simulations} simulations a move; run directory ${out}`);

  let bar: Progress | null = null, label = '';
  const stop = onInterrupt(() => (bar ?? { log }).log('interrupted: stopping (the unfinished iteration is redone on resume; Ctrl-C again quits at once)'));
  let result;
  try {
    result = await runAlphaZero({
      run, config: cfg, resume: flags.resume, shouldStop: () => stop.requested,
      onProgress: (p) => {
        if (p.label !== label) {
          bar?.stop();
          bar = progressBar(p.label.padEnd(18), p.total, { quiet: flags.quiet });
          label = p.label;
        }
        bar!.update(p.done, p.fields);
      },
      onEvent: (msg) => (bar ?? { log }).log(msg),
    });
  } finally {
    (bar as Progress | null)?.stop();
    stop.dispose();
  }
  if (result.interrupted) {
    process.stderr.write(`stopped at ${result.step}; continue with: flywheel selfplay --out ${out} --resume\n`);
    process.exitCode = exitCode(stop.signal);
    return;
  }
  const s = result.summary;
  try {
    writeFileSync(run.path(RUN_FILES.report), selfPlayReport(s, run.readMetrics()));
  } catch (err) {
    throw new UserError(`${run.path(RUN_FILES.report)}: cannot write the report (${(err as Error).message})`);
  }
  if (flags.json) process.stdout.write(JSON.stringify(s, null, 2) + '\n');
  else process.stdout.write(describe(s, run, cfg) + '\n');
}

/** Checks what the defaults cannot guarantee once flags are in: player specs and sizes. */
function checkConfig(cfg: AlphaZeroConfig): void {
  const game = findGame(cfg.game);
  for (const spec of [cfg.teacher, ...cfg.eval.opponents, ...cfg.eval.finalOpponents]) makePlayer(game, spec); // a UserError names a bad spec
  if (cfg.sl.steps > 0 && cfg.sl.games < 1) throw new UserError('--sl-games must be at least 1 when --sl-steps is above 0');
}

function setPath(obj: object, path: string, value: unknown): void {
  const keys = path.split('.');
  let cur = obj as Record<string, unknown>;
  for (const k of keys.slice(0, -1)) cur = cur[k] as Record<string, unknown>;
  cur[keys[keys.length - 1]] = value;
}

// ---------------------------------------------------------------- the summary in words

const pct = (x: number | undefined): string => (x === undefined || Number.isNaN(x) ? '  n/a' : `${(100 * x).toFixed(0).padStart(4)}%`);
const wdl = (t: Tally | null): string => (t ? `${t.wins}/${t.draws}/${t.losses} (${pct(t.score).trim()})` : '—');

function describe(s: SelfPlaySummary, run: RunDir, cfg: AlphaZeroConfig): string {
  const lines = [
    '',
    `${s.game}: ${s.iterations} self-play iterations, ${s.games} games, ${s.arenas.filter((a) => a.accepted).length} networks accepted, ${(s.flops / 1e12).toFixed(2)} TFLOP, ${(s.seconds / 60).toFixed(1)} min`,
    '',
    `                                  vs ${s.teacher.padEnd(10)} solver acc.  value acc.`,
    `supervised net, policy            ${pct(s.sl.vs_teacher)}        ${pct(s.sl.solver_accuracy)}       ${pct(s.sl.value_accuracy)}`,
    `supervised net + MCTS (gen0)      ${pct(s.sl.mcts.vs_teacher)}        ${pct(s.sl.mcts.solver_accuracy)}`,
    `self-play net, policy             ${pct(s.final.policy.vs_teacher)}        ${pct(s.final.policy.solver_accuracy)}       ${pct(s.final.value_accuracy)}`,
    `self-play net + MCTS (gen${s.final.generation})      ${pct(s.final.vs_teacher)}        ${pct(s.final.solver_accuracy)}`,
    '',
    'win/draw/loss, both colours:      supervised policy        self-play agent',
    ...Object.entries(s.opponents).map(([o, r]) => `  vs ${o.padEnd(28)} ${wdl(r.sl).padEnd(24)} ${wdl(r.final)}`),
    '',
    `Elo (anchors ${Object.entries(s.elo.anchors).map(([n, r]) => `${n} = ${r}`).join(', ')}): ` +
      Object.entries(s.elo.ratings).sort((a, b) => b[1] - a[1]).map(([n, r]) => `${n} ${r.toFixed(0)}${s.elo.stderr[n] !== undefined ? `±${s.elo.stderr[n].toFixed(0)}` : ''}`).join(', '),
    '',
    'checks:',
    ...(cfg.sl.steps > 0 ? [
      `  supervised policy within ±10 points of the teacher: ${pct(s.sl.vs_teacher).trim()} ${Math.abs(s.sl.vs_teacher - 0.5) <= 0.1 ? 'yes' : 'NO'}`,
      `  self-play agent >= 75% against the teacher:         ${pct(s.final.vs_teacher).trim()} ${s.final.vs_teacher >= 0.75 ? 'yes' : 'NO'}`,
    ] : []),
    `  solver accuracy above the supervised policy's:      ${pct(s.final.solver_accuracy).trim()} vs ${pct(s.sl.solver_accuracy).trim()} ${s.final.solver_accuracy > s.sl.solver_accuracy ? 'yes' : 'NO'}`,
    ...(s.opponents.perfect?.final ? [`  games lost to the perfect player:                  ${s.opponents.perfect.final.losses} of ${s.opponents.perfect.final.games}`] : []),
    '',
    `checkpoint: ${s.checkpoint}`,
    `games: ${run.path(RUN_FILES.games)}   summary: ${run.path(RUN_FILES.summary)}   report: ${run.path(RUN_FILES.report)}`,
  ];
  return lines.join('\n');
}
