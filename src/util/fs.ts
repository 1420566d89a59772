/**
 * File-system helpers shared by the run directory and checkpoint writers.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * `mkdir -p`: creates `dir` and its missing parents, one level at a time.
 * Node 20's mkdirSync(dir, { recursive: true }) never returns for a path
 * under /proc (procfs answers ENOENT for the new directory and Node retries
 * the parent forever); one level at a time, that ENOENT is thrown like any
 * other error.
 */
export function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let p = resolve(dir); !existsSync(p); p = dirname(p)) {
    missing.push(p);
    if (dirname(p) === p) break; // a root that does not exist
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err; // another process made it meanwhile: fine
    }
  }
}
