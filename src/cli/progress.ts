/**
 * A progress bar for long work, on stderr (stdout stays clean for --json).
 * Without a TTY (CI logs) it prints a plain line every few seconds instead.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, fields: Record<string, string>): void;
  log(line: string): void;
  stop(): void;
}

export function progressBar(label: string, total: number, opts: { quiet?: boolean } = {}): Progress {
  if (opts.quiet) return { update() {}, log() {}, stop() {} };
  const tty = process.stderr.isTTY;
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} |{bar}| {value}/{total} {stats} | ETA {eta_formatted}`,
      barsize: 24,
      hideCursor: tty,
      noTTYOutput: !tty,
      notTTYSchedule: 5000,
      etaBuffer: 50,
      fps: 8,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { stats: '' });
  return {
    update(done, fields) {
      bar.update(done, { stats: Object.entries(fields).map(([k, v]) => `${k} ${v}`).join(' | ') });
    },
    log(line) {
      // on a terminal, erase the bar's line first; it redraws on the next update
      process.stderr.write((tty ? '\r\x1b[K' : '') + line + '\n');
    },
    stop() {
      bar.stop();
    },
  };
}

export function fmtRate(x: number): string {
  return x >= 1000 ? `${(x / 1000).toFixed(1)}k` : x.toFixed(0);
}
