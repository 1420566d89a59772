/**
 * The backends this machine can run, for tests that compare every backend:
 * the others are skipped with a reason. Leaves the last one initialised;
 * each test initialises the one it needs.
 */
import { BACKEND_NAMES, initBackend, type BackendName } from '../../src/tensor/backend.ts';

export async function availableBackends(): Promise<BackendName[]> {
  const available: BackendName[] = [];
  for (const name of BACKEND_NAMES) {
    try {
      await initBackend(name);
      available.push(name);
    } catch {
      // not on this machine: initBackend says why elsewhere (doctor); nothing to test here
    }
  }
  return available;
}
