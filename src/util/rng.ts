/**
 * Seeded random numbers. Every random choice in flywheel takes one of these.
 *
 * xoshiro128** (Blackman & Vigna): 128 bits of state, fast in 32-bit integer
 * math, and the whole state (plus the spare Gaussian) serializes to JSON so a
 * resumed run continues the exact stream.
 */
export interface RngState {
  s: [number, number, number, number];
  spare: number | null; // second Box-Muller draw, kept so resume is exact
}

export class Rng {
  private s: Uint32Array = new Uint32Array(4);
  private spare: number | null = null;

  constructor(seed: number | string = 0) {
    this.reseed(seed);
  }

  /** Seed from a number or a string via splitmix32, so nearby seeds give unrelated streams. */
  reseed(seed: number | string): void {
    let x = typeof seed === 'number' ? seed >>> 0 ^ Math.floor(seed / 4294967296) : hashString(seed);
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) this.s[0] = 1;
    this.spare = null;
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [0, n). Unbiased (rejection sampling). */
  int(n: number): number {
    if (!(n > 0) || n > 4294967296 || !Number.isInteger(n)) throw new RangeError(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    const limit = 4294967296 - (4294967296 % n);
    let x = this.u32();
    while (x >= limit) x = this.u32();
    return x % n;
  }

  /** Uniform integer in [lo, hi] inclusive. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.float();
    const v = this.float();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  bool(p = 0.5): boolean {
    return this.float() < p;
  }

  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new RangeError('Rng.pick: empty array');
    return xs[this.int(xs.length)];
  }

  /** Fisher-Yates shuffle in place; returns the array. */
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = xs[i];
      xs[i] = xs[j];
      xs[j] = t;
    }
    return xs;
  }

  /** An independent generator derived from this one's next draws. */
  fork(): Rng {
    const r = new Rng(0);
    r.s.set([this.u32(), this.u32(), this.u32(), this.u32() | 1]);
    return r;
  }

  getState(): RngState {
    return { s: [this.s[0], this.s[1], this.s[2], this.s[3]], spare: this.spare };
  }

  setState(state: RngState): void {
    if (!Array.isArray(state?.s) || state.s.length !== 4) throw new Error('Rng.setState: expected { s: [4 uint32], spare }');
    this.s.set(state.s);
    this.spare = state.spare ?? null;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** FNV-1a over UTF-16 code units; used to seed from strings. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}
