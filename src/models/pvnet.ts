/**
 * A policy-value network for any two-player Game (AlphaZero's f(s) = (p, v)),
 * as a residual MLP: no convolutions, only the core's Linear, LayerNorm and
 * ReLU. Modules are declared in the order the forward pass uses them:
 *
 *   x (B, in)                         game.encode(s), flattened
 *   h = relu(stem(x))                 (B, W)
 *   blocks: h = h + fc2(relu(fc1(ln(h))))    pre-LayerNorm residual MLP, width W
 *   h = relu(ln_f(h))
 *   policy logits = policy(h)         (B, A); illegal moves are masked by the caller
 *   value = tanh(value_out(relu(value_fc(h))))   (B) in [-1, 1], for the player to move
 *
 * Two forward passes sit side by side: `forward` on Tensors with autograd
 * (training, and the reference), and `PVInference.run`, which calls the
 * kernels directly on a snapshot of the weights (stored transposed, so the
 * products run untransposed) for the batched leaf evaluations of MCTS. Tests
 * hold the fast pass to the reference.
 *
 * Checkpoints are safetensors weights + config.json { kind: 'pvnet', game, net }.
 */
import { join } from 'node:path';
import { Rng } from '../util/rng.ts';
import { UserError } from '../util/errors.ts';
import { K } from '../tensor/backend.ts';
import { Tensor } from '../tensor/tensor.ts';
import * as O from '../tensor/ops.ts';
import { mean, reshape } from '../tensor/ops_shape.ts';
import { LayerNorm, Linear, type NamedParams } from '../nn/modules.ts';
import { validateAgainst, type Checkpoint } from '../nn/checkpoint.ts';

export interface PVNetConfig {
  game: string; // id of the game the net plays (its encoding and action space)
  inputSize: number; // numel of game.encodingShape
  numActions: number; // game.numActions
  width: number; // hidden width W
  blocks: number; // residual blocks
  valueHidden: number; // width of the value head's hidden layer
}

const CONFIG_KEYS: readonly (keyof PVNetConfig)[] = ['game', 'inputSize', 'numActions', 'width', 'blocks', 'valueHidden'];

/** Checks a config strictly; every problem names the key. */
export function validatePVNetConfig(raw: unknown, where = 'net'): PVNetConfig {
  if (typeof raw !== 'object' || raw === null) throw new UserError(`${where}: expected an object with ${CONFIG_KEYS.join(', ')}`);
  const obj = raw as Record<string, unknown>;
  for (const k of Object.keys(obj)) if (!(CONFIG_KEYS as readonly string[]).includes(k)) throw new UserError(`${where}: unknown key "${k}"`);
  if (typeof obj.game !== 'string' || obj.game === '') throw new UserError(`${where}: "game" must be a game id, got ${JSON.stringify(obj.game)}`);
  const int = (k: keyof PVNetConfig, min: number): number => {
    const v = obj[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new UserError(`${where}: "${k}" must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    return v;
  };
  return { game: obj.game, inputSize: int('inputSize', 1), numActions: int('numActions', 1), width: int('width', 1), blocks: int('blocks', 0), valueHidden: int('valueHidden', 1) };
}

/** One residual block: h + fc2(relu(fc1(ln(h)))). */
class ResBlock {
  readonly ln: LayerNorm;
  readonly fc1: Linear;
  readonly fc2: Linear;
  constructor(w: number, rng: Rng) {
    this.ln = new LayerNorm(w);
    this.fc1 = new Linear(w, w, rng, { std: Math.sqrt(2 / w) });
    this.fc2 = new Linear(w, w, rng, { std: 0.1 / Math.sqrt(w) }); // small: each block starts near the identity
  }
  forward(h: Tensor): Tensor {
    return O.add(h, this.fc2.forward(O.relu(this.fc1.forward(this.ln.forward(h)))));
  }
  params(prefix: string): NamedParams {
    return [...this.ln.params(`${prefix}.ln`), ...this.fc1.params(`${prefix}.fc1`), ...this.fc2.params(`${prefix}.fc2`)];
  }
}

export interface PVOutput {
  logits: Tensor; // (B, A), unmasked
  value: Tensor; // (B)
}

/** Training targets for a batch of B positions. */
export interface PVBatch {
  B: number;
  inputs: Float32Array; // (B, in)
  legal: Uint8Array; // (B, A): 1 where the move is legal
  policy: Float32Array; // (B, A): target distribution (an expert's one-hot move, or MCTS visit shares); 0 on illegal moves
  value: Float32Array; // (B): the game's outcome for the player to move, in [-1, 1]
}

export class PVNet {
  readonly config: PVNetConfig;
  readonly stem: Linear; // (W, in)
  readonly blocks: ResBlock[];
  readonly ln_f: LayerNorm;
  readonly policy: Linear; // (A, W)
  readonly value_fc: Linear; // (valueHidden, W)
  readonly value_out: Linear; // (1, valueHidden)

  /** He-initialized ReLU layers, small output layers (a near-uniform policy and a value near 0 at start). */
  constructor(config: PVNetConfig, seed = 0) {
    this.config = validatePVNetConfig(config);
    const { inputSize, numActions, width: W, valueHidden } = this.config;
    const rng = new Rng(`pvnet:${seed}`);
    this.stem = new Linear(inputSize, W, rng, { std: Math.sqrt(2 / inputSize) });
    this.blocks = Array.from({ length: this.config.blocks }, () => new ResBlock(W, rng));
    this.ln_f = new LayerNorm(W);
    this.policy = new Linear(W, numActions, rng, { std: 0.01 });
    this.value_fc = new Linear(W, valueHidden, rng, { std: Math.sqrt(2 / W) });
    this.value_out = new Linear(valueHidden, 1, rng, { std: 0.01 });
  }

  params(): NamedParams {
    const out: NamedParams = [...this.stem.params('stem')];
    this.blocks.forEach((b, i) => out.push(...b.params(`blocks.${i}`)));
    out.push(...this.ln_f.params('ln_f'), ...this.policy.params('policy'), ...this.value_fc.params('value_fc'), ...this.value_out.params('value_out'));
    return out;
  }

  numParams(): number {
    return this.params().reduce((n, [, p]) => n + p.size, 0);
  }

  /** x (B, in) -> policy logits (B, A) and value (B). The reference pass (autograd). */
  forward(inputs: Float32Array, B: number): PVOutput {
    const { inputSize } = this.config;
    if (inputs.length !== B * inputSize) throw new Error(`PVNet.forward: ${inputs.length} inputs for B=${B} x ${inputSize}`);
    let h = O.relu(this.stem.forward(new Tensor(inputs, [B, inputSize]))); // (B, W)
    for (const block of this.blocks) h = block.forward(h);
    h = O.relu(this.ln_f.forward(h));
    const logits = this.policy.forward(h); // (B, A)
    const value = reshape(O.tanh(this.value_out.forward(O.relu(this.value_fc.forward(h)))), [B]); // (B, 1) -> (B)
    return { logits, value };
  }

  /**
   * AlphaZero's loss without the L2 term (AdamW's weight decay does that):
   * cross-entropy of the masked policy against the target distribution, plus
   * valueWeight x mean squared error of the value against the outcome.
   */
  loss(batch: PVBatch, valueWeight = 1): { loss: Tensor; policyLoss: number; valueLoss: number } {
    const { B } = batch, A = this.config.numActions;
    const { logits, value } = this.forward(batch.inputs, B);
    const mask = new Float32Array(B * A); // (B, A): 0 on legal moves, -1e9 on illegal ones
    for (let i = 0; i < mask.length; i++) mask[i] = batch.legal[i] ? 0 : -1e9;
    const logp = O.logSoftmax(O.add(logits, new Tensor(mask, [B, A]))); // (B, A)
    const policyLoss = O.weightedSum(logp, batch.policy, -1 / B); // -(1/B) sum pi log p
    const valueLoss = mean(O.square(O.sub(value, new Tensor(batch.value, [B]))));
    const loss = O.add(policyLoss, O.scale(valueLoss, valueWeight));
    return { loss, policyLoss: policyLoss.item(), valueLoss: valueLoss.item() };
  }

  /** Multiply-adds of one position's forward pass (elementwise work, LayerNorm and softmax left out). */
  macsPerPosition(): number {
    const { inputSize, numActions, width: W, blocks, valueHidden } = this.config;
    return inputSize * W + blocks * 2 * W * W + W * numActions + W * valueHidden + valueHidden;
  }

  /** FLOPs of one position: 2 per multiply-add for inference, 3x that (forward + backward) for training. */
  flops(kind: 'inference' | 'train'): number {
    return 2 * this.macsPerPosition() * (kind === 'train' ? 3 : 1);
  }

  // ---------------------------------------------------------------- checkpoints

  /**
   * The model part of a checkpoint: weights and config.json { kind: 'pvnet',
   * game, net, ...meta } (meta: e.g. the search settings the agent plays
   * with); callers add optimizer, rng, state, extra.
   */
  toCheckpoint(extra: Omit<Checkpoint, 'params' | 'config'> = { optimizer: null }, meta: object = {}): Checkpoint {
    return {
      params: new Map(this.params().map(([n, p]) => [n, { shape: [...p.shape], data: p.data.slice() }])),
      config: { kind: 'pvnet', game: this.config.game, net: this.config, ...meta },
      ...extra,
    };
  }

  /** Copies weights from a checkpoint saved by toCheckpoint (names and shapes checked). */
  loadWeights(ck: Checkpoint, where: string): void {
    validateAgainst(ck, new Map(this.params().map(([n, p]) => [n, [...p.shape]])), where);
    for (const [n, p] of this.params()) p.data.set(ck.params.get(n)!.data);
  }

  /** Copies another net's weights (same config) into this one. */
  copyFrom(other: PVNet): void {
    const src = new Map(other.params());
    for (const [n, p] of this.params()) p.data.set(src.get(n)!.data);
  }
}

/**
 * The net of a checkpoint, for `game`. A checkpoint of another kind (a GPT)
 * or of another game is a UserError naming the file.
 */
export function pvnetFromCheckpoint(ck: Checkpoint, dir: string, game: string): PVNet {
  const where = join(dir, 'config.json');
  const cfg = ck.config as { kind?: unknown; game?: unknown; net?: unknown };
  if (cfg.kind !== 'pvnet') {
    const what = 'model' in cfg ? `a GPT checkpoint (${JSON.stringify(cfg.kind ?? 'pretrain')})` : `a checkpoint of kind ${JSON.stringify(cfg.kind)}`;
    throw new UserError(`${where}: this is ${what}, not a policy-value network for games (kind "pvnet", made by \`flywheel selfplay\`)`);
  }
  const config = validatePVNetConfig(cfg.net, `${where}: net`);
  if (config.game !== game) throw new UserError(`${where}: this network plays ${config.game}, not ${game}`);
  const net = new PVNet(config);
  net.loadWeights(ck, dir);
  return net;
}

// ---------------------------------------------------------------- fast inference

/** Inference result for B positions. */
export interface PVPrediction {
  policy: Float32Array; // (B, A): softmax over the legal moves, 0 on illegal ones
  value: Float32Array; // (B)
}

/**
 * Batched inference on a snapshot of a net's weights (later training does
 * not change it): kernels only, no autograd, buffers reused across calls.
 */
export class PVInference {
  readonly config: PVNetConfig;
  private readonly layers: { wT: Float32Array; b: Float32Array; nIn: number; nOut: number }[]; // (in, out) weights
  private readonly lns: { w: Float32Array; b: Float32Array; eps: number }[]; // block LayerNorms, then ln_f
  private cap = 0;
  private buf: Record<'h' | 't' | 'u' | 'n' | 'logits' | 'vh' | 'v' | 'mean' | 'rstd', Float32Array> | null = null;

  constructor(net: PVNet) {
    this.config = net.config;
    const lin = (l: Linear) => ({ wT: transposed(l.weight.data, l.weight.shape[0], l.weight.shape[1]), b: l.bias!.data.slice(), nIn: l.weight.shape[1], nOut: l.weight.shape[0] });
    this.layers = [lin(net.stem), ...net.blocks.flatMap((b) => [lin(b.fc1), lin(b.fc2)]), lin(net.policy), lin(net.value_fc), lin(net.value_out)];
    this.lns = [...net.blocks.map((b) => b.ln), net.ln_f].map((ln) => ({ w: ln.weight.data.slice(), b: ln.bias.data.slice(), eps: ln.eps }));
  }

  /** inputs (B, in), legal (B, A) -> masked policy (B, A) and value (B). The returned arrays are reused by the next call. */
  run(inputs: Float32Array, legal: Uint8Array, B: number): PVPrediction {
    const { inputSize: I, numActions: A, width: W, blocks, valueHidden: VH } = this.config;
    if (inputs.length < B * I || legal.length < B * A) throw new Error(`PVInference.run: buffers too small for B=${B}`);
    const s = this.buffers(B);
    const h = s.h.subarray(0, B * W), t = s.t.subarray(0, B * W), u = s.u.subarray(0, B * W), n = s.n.subarray(0, B * W);
    const L = this.layers;
    dense(inputs.subarray(0, B * I), L[0], h, B); // (B, W)
    K.unary('relu', h, h);
    for (let i = 0; i < blocks; i++) {
      const ln = this.lns[i];
      K.layernorm(h, ln.w, ln.b, n, s.mean, s.rstd, B, W, ln.eps);
      dense(n, L[1 + 2 * i], t, B);
      K.unary('relu', t, t);
      dense(t, L[2 + 2 * i], u, B);
      K.axpy(u, 1, h); // residual
    }
    const lnf = this.lns[blocks];
    K.layernorm(h, lnf.w, lnf.b, n, s.mean, s.rstd, B, W, lnf.eps);
    K.unary('relu', n, n);
    const logits = s.logits.subarray(0, B * A), vh = s.vh.subarray(0, B * VH), v = s.v.subarray(0, B);
    dense(n, L[1 + 2 * blocks], logits, B); // (B, A)
    dense(n, L[2 + 2 * blocks], vh, B); // (B, VH)
    K.unary('relu', vh, vh);
    dense(vh, L[3 + 2 * blocks], v, B); // (B, 1)
    K.unary('tanh', v, v);
    maskedSoftmax(logits, legal, B, A);
    return { policy: logits, value: v };
  }

  private buffers(B: number): NonNullable<PVInference['buf']> {
    if (this.buf && B <= this.cap) return this.buf;
    this.cap = Math.max(B, 2 * this.cap);
    const { width: W, numActions: A, valueHidden: VH } = this.config, c = this.cap;
    const f = (n: number) => new Float32Array(n);
    this.buf = { h: f(c * W), t: f(c * W), u: f(c * W), n: f(c * W), logits: f(c * A), vh: f(c * VH), v: f(c), mean: f(c), rstd: f(c) };
    return this.buf;
  }
}

/** y (rows, nOut) = x (rows, nIn) @ Wᵀ + b, with Wᵀ stored (nIn, nOut). */
function dense(x: Float32Array, l: { wT: Float32Array; b: Float32Array; nIn: number; nOut: number }, y: Float32Array, rows: number): void {
  K.matmul(x, l.wT, y, 1, rows, l.nOut, l.nIn, false, false, false, 0, 0);
  K.addBias(y, l.b, rows, l.nOut);
}

/** In place: each row of logits (B, A) becomes the softmax over its legal entries, 0 elsewhere. */
function maskedSoftmax(logits: Float32Array, legal: Uint8Array, B: number, A: number): void {
  for (let r = 0; r < B; r++) {
    const o = r * A;
    let mx = -Infinity;
    for (let a = 0; a < A; a++) if (legal[o + a] && logits[o + a] > mx) mx = logits[o + a];
    let sum = 0;
    for (let a = 0; a < A; a++) {
      const e = legal[o + a] ? Math.exp(logits[o + a] - mx) : 0;
      logits[o + a] = e;
      sum += e;
    }
    for (let a = 0; a < A; a++) logits[o + a] = sum > 0 ? logits[o + a] / sum : 0;
  }
}

/** W (rows, cols) -> Wᵀ (cols, rows) */
function transposed(W: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(W.length);
  K.permute(W, [rows, cols], [1, 0], out);
  return out;
}
