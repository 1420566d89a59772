/**
 * The answer format, shared by every task family.
 *
 * A completion may hold any reasoning, then its final answer after the marker
 * `Answer:`; the final answer is the rest of the line after the LAST marker,
 * trimmed. Examples:
 *
 *     Answer: 46
 *     7+9=16, carry 1; 3+2+1=6. Answer: 61
 *
 * No marker (or nothing after it) is `no_answer`. Whether a present answer is
 * `malformed` (not parseable as the family's answer type) or `wrong` is up to
 * the family; `parseInteger` and `verdict` below cover the common cases.
 */
import type { Verdict } from './types.ts';

export const ANSWER_MARKER = 'Answer:';

export type Extracted = { ok: true; text: string } | { ok: false; reason: 'no_answer' };

/** Pulls the final answer out of a completion. Linear time; never throws. */
export function extractAnswer(completion: unknown): Extracted {
  if (typeof completion !== 'string') return { ok: false, reason: 'no_answer' };
  const at = completion.lastIndexOf(ANSWER_MARKER);
  if (at < 0) return { ok: false, reason: 'no_answer' };
  let end = completion.indexOf('\n', at);
  if (end < 0) end = completion.length;
  const text = completion.slice(at + ANSWER_MARKER.length, end).trim();
  if (text.length === 0) return { ok: false, reason: 'no_answer' };
  return { ok: true, text };
}

/** Formats a final answer, optionally after some reasoning. */
export function formatAnswer(answer: string, reasoning?: string): string {
  return reasoning ? `${reasoning} ${ANSWER_MARKER} ${answer}` : `${ANSWER_MARKER} ${answer}`;
}

/** A strict integer: optional minus sign, digits, no leading zeros (except '0'), at most 40 digits. */
export function parseInteger(text: string): bigint | null {
  if (!/^-?(0|[1-9][0-9]{0,39})$/.test(text)) return null;
  if (text === '-0') return null;
  return BigInt(text);
}

export const CORRECT: Verdict = Object.freeze({ reward: 1, ok: true, reason: 'correct' });

export function fail(reason: string, detail?: string): Verdict {
  return detail === undefined ? { reward: 0, ok: false, reason } : { reward: 0, ok: false, reason, detail };
}

/** The common case: exact string match of the extracted answer against the task's answer, after `normalize`. */
export function verifyExact(
  expected: string,
  completion: string,
  parse: (text: string) => string | null = (t) => t,
): Verdict {
  const got = extractAnswer(completion);
  if (!got.ok) return fail('no_answer');
  const norm = parse(got.text);
  if (norm === null) return fail('malformed', `could not parse ${JSON.stringify(got.text.slice(0, 80))}`);
  return norm === expected ? CORRECT : fail('wrong', `expected ${expected}, got ${norm.slice(0, 80)}`);
}
