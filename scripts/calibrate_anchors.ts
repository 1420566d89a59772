/**
 * Fits the fixed Elo ratings of the scripted players that `flywheel selfplay`
 * uses as anchors (src/algos/alphazero_config.ts, eval.anchors): a round
 * robin of paired-opening matches between every two players, then a
 * Bradley-Terry fit with 'random' fixed at 0 (src/measure/elo.ts).
 *
 *   node --import tsx scripts/calibrate_anchors.ts connect4 40 random greedy search:2 search:4 noisy:0.3 perfect
 *   (game, openings per pair (each played with both colours), players...)
 *
 * Seeded; prints each pair's score and the ratings as JSON. Connect Four
 * with 'perfect' takes about 10 minutes on 2 cores.
 */
import { findGame } from '../src/algos/alphazero_config.ts';
import { playMatch, randomOpenings, scoresOf, scriptedAgent } from '../src/algos/arena.ts';
import { makePlayer } from '../src/envs/games/players.ts';
import { fitElo, type PairResult } from '../src/measure/elo.ts';
import { Rng } from '../src/util/rng.ts';

const [name, openingsArg, ...players] = process.argv.slice(2);
const game = findGame(name);
const openings = randomOpenings(game, game.numActions === 7 ? 2 : 1, Number(openingsArg), new Rng('calibrate-openings'));
const pairs: PairResult[] = [];
for (let i = 0; i < players.length; i++) {
  for (let j = i + 1; j < players.length; j++) {
    const a = scriptedAgent(game, makePlayer(game, players[i])), b = scriptedAgent(game, makePlayer(game, players[j]));
    const t0 = performance.now();
    const scores = scoresOf(await playMatch(game, a, b, openings, new Rng(`calibrate:${players[i]}:${players[j]}`), async () => {}), a.name);
    const score = scores.reduce((x, y) => x + y, 0);
    pairs.push({ a: a.name, b: b.name, score, games: scores.length });
    process.stderr.write(`${a.name} vs ${b.name}: ${score} / ${scores.length} (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
  }
}
const fit = fitElo(pairs, { random: 0 });
const round = (r: Record<string, number>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Math.round(v)]));
console.log(JSON.stringify({ game: game.id, openings: openings.length, pairs, ratings: round(fit.ratings), stderr: round(fit.stderr) }, null, 1));
