/**
 * What multi-turn episodes say beyond accuracy: how often the first attempt
 * is right, and how often an episode whose first attempt was not right still
 * ends right (recovery, the skill "wrong, try again" asks for).
 *
 * Recovery's denominator is the episodes that missed first, and it shrinks
 * as first-attempt accuracy rises: it is reported with its count and a
 * Wilson 95% interval, and is null (never NaN) when no episode missed first.
 */
import { wilson, type Interval } from './accuracy.ts';

/** One graded episode. */
export interface GradedEpisode {
  firstOk: boolean; // the first action was right (its step's reason was 'correct')
  ok: boolean; // the episode ended right
  reward: number; // the episode's total reward
  hard: boolean;
}

export interface EpisodeStats {
  n: number;
  firstAttempt: number | null; // share right on the first attempt
  missedFirst: number; // episodes whose first attempt was not right (recovery's denominator)
  recovered: number; // of those, how many ended right
  recovery: number | null; // recovered / missedFirst
  recoveryInterval: Interval | null; // Wilson 95%
  hardRecovery: number | null; // the same share on hard episodes only (where a systematic mistake strikes)
  hardMissedFirst: number;
  accuracy: number | null; // share that ended right
  meanReward: number | null;
}

export function episodeStats(episodes: readonly GradedEpisode[]): EpisodeStats {
  const n = episodes.length;
  const missed = episodes.filter((e) => !e.firstOk), recovered = missed.filter((e) => e.ok).length;
  const hardMissed = missed.filter((e) => e.hard);
  const share = (k: number, of: number): number | null => (of ? k / of : null);
  return {
    n,
    firstAttempt: share(n - missed.length, n),
    missedFirst: missed.length,
    recovered,
    recovery: share(recovered, missed.length),
    recoveryInterval: wilson(recovered, missed.length),
    hardRecovery: share(hardMissed.filter((e) => e.ok).length, hardMissed.length),
    hardMissedFirst: hardMissed.length,
    accuracy: share(episodes.filter((e) => e.ok).length, n),
    meanReward: n ? episodes.reduce((a, e) => a + e.reward, 0) / n : null,
  };
}
