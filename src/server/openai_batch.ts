/**
 * The server's sampler: requests that arrive within a short window are
 * sampled together, in one LocalPolicy.sampleTokens call per compatible group
 * (the KV-cache sampler runs prompts of different lengths in one lockstep
 * batch, so batching turns many small calls into one wide one).
 *
 * Requests are compatible when the sampling they ask for is the same apart
 * from max_tokens: temperature, top_p and stop texts. The group samples up
 * to the largest max_tokens and each request's samples are cut back to its
 * own (a token's distribution does not depend on the tokens after it).
 *
 * Seeds: a sampled (temperature > 0) request that gives a seed is sampled on
 * its own with that seed, so the same request gets the same completions
 * whatever else the server is doing. Greedy requests ignore the seed and
 * batch freely; unseeded sampled requests share a seed drawn from the
 * server's generator (itself seeded with --seed).
 */
import { Rng } from '../util/rng.ts';
import { yieldNow } from '../util/async.ts';
import type { LocalPolicy } from '../policy/local.ts';
import type { TokenSample } from '../policy/types.ts';

export interface GenRequest {
  prefixes: number[][]; // one per prompt; each is sampled n times
  n: number;
  maxTokens: number; // per completion (already clipped to the context)
  temperature: number;
  topP: number;
  stop: string[];
  seed: number | null;
}

interface Pending {
  req: GenRequest;
  resolve: (samples: TokenSample[][]) => void; // per prefix, n samples
  reject: (err: unknown) => void;
}

export interface BatcherStats {
  calls: number; // sampling calls
  requests: number; // requests sampled
  sequences: number; // sequences sampled
  largestBatch: number; // sequences in the widest call
}

export class Batcher {
  readonly stats: BatcherStats = { calls: 0, requests: 0, sequences: 0, largestBatch: 0 };
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> = Promise.resolve();
  private readonly rng: Rng;
  private solo = 0;

  constructor(private readonly policy: LocalPolicy, private readonly windowMs: number, seed: number) {
    this.rng = new Rng(`serve:${seed}`);
  }

  /** Samples a request (n completions of each prefix), batched with whatever arrives within the window. */
  sample(req: GenRequest): Promise<TokenSample[][]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ req, resolve, reject });
      this.timer ??= setTimeout(() => this.flush(), this.windowMs);
    });
  }

  /** Resolves once everything queued so far has been sampled. */
  async idle(): Promise<void> {
    while (this.queue.length || this.timer) await this.running.then(yieldNow);
    await this.running;
  }

  private flush(): void {
    this.timer = null;
    const batch = this.queue;
    this.queue = [];
    this.running = this.running.then(() => this.run(batch));
  }

  private async run(batch: Pending[]): Promise<void> {
    const groups = new Map<string, Pending[]>();
    for (const p of batch) {
      const r = p.req;
      const soloKey = r.temperature > 0 && r.seed !== null ? `solo:${this.solo++}` : '';
      const key = JSON.stringify([r.temperature, r.temperature > 0 ? r.topP : 1, r.stop, soloKey]);
      groups.set(key, [...(groups.get(key) ?? []), p]);
    }
    for (const group of groups.values()) {
      try {
        await this.sampleGroup(group);
      } catch (err) {
        for (const p of group) p.reject(err);
      }
      await yieldNow(); // let other clients' requests in between groups
    }
  }

  private async sampleGroup(group: Pending[]): Promise<void> {
    const first = group[0].req;
    const prefixes = group.flatMap((p) => p.req.prefixes.flatMap((x) => Array.from({ length: p.req.n }, () => x)));
    const maxTokens = Math.max(...group.map((p) => p.req.maxTokens));
    const seed = first.temperature > 0 && first.seed !== null ? first.seed : this.rng.u32();
    const samples = await this.policy.sampleTokens(prefixes, { maxTokens, temperature: first.temperature, topP: first.topP, stop: first.stop, seed });
    this.stats.calls++;
    this.stats.requests += group.length;
    this.stats.sequences += prefixes.length;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, prefixes.length);
    let at = 0;
    for (const p of group) {
      const out: TokenSample[][] = [];
      for (let i = 0; i < p.req.prefixes.length; i++) {
        out.push(samples.slice(at, at + p.req.n).map((s) => cut(s, p.req.maxTokens)));
        at += p.req.n;
      }
      p.resolve(out);
    }
  }
}

/** A sample cut back to maxTokens (finish 'length' when it was longer). */
function cut(s: TokenSample, maxTokens: number): TokenSample {
  if (s.tokens.length <= maxTokens) return s;
  return { tokens: s.tokens.slice(0, maxTokens), logprobs: s.logprobs.slice(0, maxTokens), finish: 'length' };
}
