/**
 * The worker thread that verifies completions for one user's environment file
 * (see IsolatedVerifier in verifier.ts). It loads the file, says { ready }
 * (or { loadError }), then answers each { task, completion } message with
 * { verdict } or { error }. The parent terminates it when a verification
 * overruns its timeout.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadEnvFile } from './load.ts';
import type { Task, TaskFamily } from './types.ts';

const port = parentPort;
if (!port) throw new Error('verifier_worker.ts runs as a worker thread');
const file = (workerData as { file: string }).file;

let family: TaskFamily;
try {
  const entry = await loadEnvFile(file);
  if (entry.kind !== 'task') throw new Error(`${file}: a ${entry.kind} environment has no verifier`);
  family = entry.family;
  port.postMessage({ ready: true });
} catch (err) {
  port.postMessage({ loadError: err instanceof Error ? err.message : String(err) });
  process.exit(1);
}

port.on('message', async ({ task, completion }: { task: Task; completion: string }) => {
  try {
    port.postMessage({ verdict: await family.verify(task, completion) });
  } catch (err) {
    port.postMessage({ error: err instanceof Error ? err.message : String(err) });
  }
});
