/**
 * The child process of checkEnv's cross-process check (check.ts): loads the
 * environment named on the command line (a registry id or a file path) in a
 * fresh process and prints, one JSON object a line, {"loaded"} once it is
 * loaded (the time limit starts there), each call it starts
 * ({"start"}) and each item it generates ({"item"}); {"error"} if the
 * environment cannot be loaded. Run as: node --import tsx check_child.ts SOURCE SEEDS
 */
import { probe } from './check.ts';
import { isEnvPath, loadEnvFile } from './load.ts';
import type { EnvEntry } from './types.ts';

const [source, seedsArg] = process.argv.slice(2);
const say = (msg: object): void => {
  process.stdout.write(`${JSON.stringify(msg)}\n`);
};

let entry: EnvEntry | null = null;
try {
  entry = isEnvPath(source) ? await loadEnvFile(source) : (await import('./registry.ts')).getEnv(source);
} catch (err) {
  say({ error: err instanceof Error ? err.message : String(err) });
}
if (entry) say({ loaded: true });
if (entry) for (const item of probe(entry, Number(seedsArg), (at) => say({ start: at }))) say({ item });
