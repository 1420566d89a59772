/**
 * A buffer pool for training steps. Inside `withPool(fn)`, every Float32Array
 * the ops allocate (activations, gradients, scratch) comes from free lists
 * keyed by length and goes back when fn returns, so a steady-state training
 * step reuses the same memory instead of asking the OS for hundreds of
 * megabytes of fresh zeroed pages and leaving them to the GC.
 *
 * The rule that makes this safe: nothing allocated inside the scope may be
 * used after it ends. The training loop reads the loss as a number and
 * clears gradients before the scope closes; parameters and optimizer state
 * are allocated outside any scope. Outside a scope, allocF32 is plain
 * `new Float32Array`.
 */
const free = new Map<number, Float32Array[]>();
let scope: Float32Array[] | null = null;

/** A Float32Array of length n (pooled inside withPool), zero-filled unless zero is false (for outputs a kernel overwrites). */
export function allocF32(n: number, zero = true): Float32Array {
  if (!scope) return new Float32Array(n);
  const a = free.get(n)?.pop();
  if (a) {
    if (zero) a.fill(0);
    scope.push(a);
    return a;
  }
  const b = new Float32Array(n);
  scope.push(b);
  return b;
}

/** Runs fn with pooled allocation; every buffer allocated inside is recycled when it returns. Not re-entrant-nesting: an inner call joins the outer scope. */
export function withPool<T>(fn: () => T): T {
  if (scope) return fn();
  scope = [];
  try {
    return fn();
  } finally {
    for (const a of scope) {
      let list = free.get(a.length);
      if (!list) free.set(a.length, (list = []));
      list.push(a);
    }
    scope = null;
  }
}

/** Drops every pooled buffer (e.g. after training, to give the memory back). */
export function drainPool(): void {
  free.clear();
}
