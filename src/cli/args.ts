/** Option parsers shared by CLI commands: numbers are checked where they are read. */
import { InvalidArgumentError, type Command } from 'commander';

/** The largest count a flag accepts unless it says otherwise: far beyond any run, far below float trouble. */
const MAX_INT = 1_000_000_000;

/** A decimal integer in [min, max] ('1e3', '0x10', '12.0' and '' are refused). */
export function intArg(min = 0, max = MAX_INT) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\s*-?\d+\s*$/.test(v) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected a whole number ${max === MAX_INT ? `>= ${min}` : `in [${min}, ${max}]`}, got "${v}"`);
    }
    return n;
  };
}

/** A decimal number (scientific notation allowed) in [min, max], or (min, max] when minExclusive. */
export function floatArg(min = -Infinity, max = Infinity, opts: { minExclusive?: boolean } = {}) {
  return (v: string): number => {
    const n = Number(v);
    const low = opts.minExclusive ? n > min : n >= min;
    if (!/^\s*[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?\s*$/i.test(v) || !Number.isFinite(n) || !low || n > max) {
      throw new InvalidArgumentError(`expected a number in ${opts.minExclusive ? '(' : '['}${min}, ${max}], got "${v}"`);
    }
    return n;
  };
}

export function choiceArg<T extends string>(choices: readonly T[]) {
  return (v: string): T => {
    if (!(choices as readonly string[]).includes(v)) throw new InvalidArgumentError(`expected one of ${choices.join(', ')}, got "${v}"`);
    return v as T;
  };
}

/** The option keys (camelCase, as in the parsed flags) the user gave on the command line. */
export function explicitOptions(cmd: Command): Set<string> {
  const out = new Set<string>();
  for (const o of cmd.options) {
    const key = o.attributeName();
    if (cmd.getOptionValueSource(key) === 'cli') out.add(key);
  }
  return out;
}

/** '--batch-size' for the key 'batchSize'. */
export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}
