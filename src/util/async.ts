/**
 * Cooperative long loops. A training or self-play loop awaits yieldNow()
 * between steps so signal handlers, HTTP servers and progress output sharing
 * the process get to run; nothing long may block the event loop.
 */

/** Lets pending I/O, timers and signal handlers run (setImmediate: after the poll phase). */
export function yieldNow(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
