/**
 * A buffer pool for training steps. Inside `withPool(fn)`, every Float32Array
 * the ops allocate (activations, gradients, scratch) comes from free lists
 * keyed by size class (a view of the first n floats of a buffer a little
 * larger) and goes back when fn returns, so a steady-state training
 * step reuses the same memory instead of asking the OS for hundreds of
 * megabytes of fresh zeroed pages and leaving them to the GC.
 *
 * The rule that makes this safe: nothing allocated inside the scope may be
 * used after it ends. The training loop reads the loss as a number and
 * clears gradients before the scope closes; parameters and optimizer state
 * are allocated outside any scope. Outside a scope, allocF32 is plain
 * `new Float32Array`.
 */
const free = new Map<number, Float32Array[]>(); // by capacity (a size class)
let scope: Float32Array[] | null = null;

/**
 * The capacity a request of n floats is served from: n itself when small,
 * else n rounded up to 2^k x {1, 1.25, 1.5, 1.75} (at most 25% spare). RL
 * and SFT batches change length from step to step (the longest reply, the
 * longest example), and exact-length free lists then missed every time and
 * kept a set of buffers for every length ever seen.
 */
export function sizeClass(n: number): number {
  if (n <= 1024) return n;
  const quarter = 2 ** (Math.floor(Math.log2(n)) - 2); // a quarter of the power of two at or below n
  return Math.ceil(n / quarter) * quarter;
}

/** A Float32Array of length n (pooled inside withPool), zero-filled unless zero is false (for outputs a kernel overwrites). */
export function allocF32(n: number, zero = true): Float32Array {
  if (!scope) return new Float32Array(n);
  const cap = sizeClass(n);
  const whole = free.get(cap)?.pop();
  const a = whole ? whole.subarray(0, n) : new Float32Array(cap).subarray(0, n); // a view from offset 0 of its allocation
  if (whole && zero) a.fill(0);
  scope.push(a);
  return a;
}

/** Runs fn with pooled allocation; every buffer allocated inside is recycled when it returns. Not re-entrant-nesting: an inner call joins the outer scope. */
export function withPool<T>(fn: () => T): T {
  if (scope) return fn();
  scope = [];
  try {
    return fn();
  } finally {
    for (const a of scope) {
      const whole = new Float32Array(a.buffer); // the allocation behind the view
      let list = free.get(whole.length);
      if (!list) free.set(whole.length, (list = []));
      list.push(whole);
    }
    scope = null;
  }
}

/** Drops every pooled buffer (e.g. after training, to give the memory back). */
export function drainPool(): void {
  free.clear();
}
