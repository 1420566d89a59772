#!/usr/bin/python3
"""Golden values for test/models/golden.test.ts, from an independent implementation (PyTorch).

Rerun (needs Debian's python3-torch; takes a second):

    /usr/bin/python3 scripts/golden/dump_golden.py            # writes test/fixtures/golden_tiny.safetensors

The model is the PyTorch peer's GPT (../shared/peers/torch_gpt_bench.py), copied
here so the fixture can be rebuilt from the repo alone: token + learned
position embeddings, pre-LN blocks (causal MHA with a packed qkv Linear, GELU
(exact erf) MLP 4x), final LN, LM head tied to the token embedding, Linear
layers with biases. Departures from the peer, on purpose:
  - size: 2 layers, width 48, 4 heads (head size 12, not a multiple of the
    SIMD width, so kernels' remainder paths are exercised), vocab 64, context
    16; width 64 would make the three copies of the weights (params, grads,
    params after a step) exceed 1 MB.
  - init: weights N(0, 0.08), LayerNorm gains 1 + N(0, 0.1), every bias and
    LayerNorm shift N(0, 0.02), so attention is not uniform and every
    parameter matters to the output (the peer's 0.02 / ones / zeros init
    would leave biases untested).
  - precision: the forward, backward and AdamW step run in float64 (weights
    drawn in float32 first), so the fixture holds the exact answer rounded to
    float32, and the test measures flywheel's float32 error alone.
  - AdamW: weight decay 0.1 only on rank >= 2 parameters (param groups), as
    flywheel does; the peer's benchmark decays every parameter.

Tensors in the file (all little-endian; names follow nanoGPT's state_dict):
  param.<name>   F32  the weights (Linear weights stored (out, in), as PyTorch)
  grad.<name>    F32  d loss / d param after one backward
  adamw.<name>   F32  the param after one AdamW step (lr 1e-3, betas 0.9/0.95, eps 1e-8, wd 0.1)
  input.ids      I32 (B, T)   input.targets I32 (B, T)
  out.logits     F32 (B, T, V)   out.loss F32 []  (mean cross-entropy)
  greedy.prompts I32 (P,)   greedy.tokens I32 (P, T-1): greedy continuation of each 1-token
                 prompt, recomputing the whole prefix each step (no KV cache)
The model config is in the header's __metadata__.
"""
import json, math, os, struct, sys
import torch
import torch.nn as nn
import torch.nn.functional as F

SEED = 1234
N_LAYER, N_EMBD, N_HEAD, VOCAB, BLOCK = 2, 48, 4, 64, 16
B, T = 2, 16
LR, BETAS, EPS, WD = 1e-3, (0.9, 0.95), 1e-8, 0.1
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "fixtures", "golden_tiny.safetensors")


# ---------------------------------------------------------------- the peer's model (torch_gpt_bench.py), block size as a parameter

class Block(nn.Module):
    def __init__(self, C, H, block):
        super().__init__()
        self.H = H
        self.ln1 = nn.LayerNorm(C)
        self.c_attn = nn.Linear(C, 3 * C)
        self.c_proj = nn.Linear(C, C)
        self.ln2 = nn.LayerNorm(C)
        self.fc = nn.Linear(C, 4 * C)
        self.proj = nn.Linear(4 * C, C)
        self.register_buffer("mask", torch.tril(torch.ones(block, block, dtype=torch.bool)).view(1, 1, block, block))

    def attn(self, x):
        B, T, C = x.shape
        H = self.H
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, H, C // H).transpose(1, 2)  # (B, H, T, hs)
        k = k.view(B, T, H, C // H).transpose(1, 2)
        v = v.view(B, T, H, C // H).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))  # (B, H, T, T)
        att = att.masked_fill(~self.mask[:, :, :T, :T], float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        x = x + self.proj(F.gelu(self.fc(self.ln2(x))))
        return x


class GPT(nn.Module):
    def __init__(self, n_layer, n_embd, n_head, vocab, block):
        super().__init__()
        self.wte = nn.Embedding(vocab, n_embd)
        self.wpe = nn.Embedding(block, n_embd)
        self.blocks = nn.ModuleList([Block(n_embd, n_head, block) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)

    def forward(self, idx, targets=None):
        B, T = idx.shape
        x = self.wte(idx) + self.wpe(torch.arange(T, dtype=torch.long))
        for blk in self.blocks:
            x = blk(x)
        logits = self.ln_f(x) @ self.wte.weight.t()  # tied lm_head (no bias)
        loss = None if targets is None else F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss


def nanogpt_name(name):
    """Peer module names -> nanoGPT state_dict names (flywheel's GPT.params())."""
    for a, b in (("blocks.", "h."), (".ln1.", ".ln_1."), (".ln2.", ".ln_2."), (".c_attn.", ".attn.c_attn."),
                 (".c_proj.", ".attn.c_proj."), (".fc.", ".mlp.c_fc."), (".proj.", ".mlp.c_proj.")):
        name = name.replace(a, b)
    return "transformer." + name


# ---------------------------------------------------------------- a minimal safetensors writer

DT = {torch.float32: ("F32", 4), torch.int32: ("I32", 4)}


def write_safetensors(path, tensors, metadata):
    header, blobs, off = {"__metadata__": metadata}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous().cpu()
        dtype, size = DT[t.dtype]
        raw = t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
        assert len(raw) == t.numel() * size
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)  # pad so the data starts 8-aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    torch.manual_seed(SEED)
    model = GPT(N_LAYER, N_EMBD, N_HEAD, VOCAB, BLOCK)  # float32
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.copy_(torch.randn(p.shape) * 0.02)
            elif ".ln" in name or name.startswith("ln_f"):
                p.copy_(1 + torch.randn(p.shape) * 0.1)
            else:
                p.copy_(torch.randn(p.shape) * 0.08)
    params32 = {nanogpt_name(n): p.detach().clone() for n, p in model.named_parameters()}
    model = model.double()

    # greedy decoding first: the AdamW step below changes the weights in place
    prompts = torch.tensor([0, 7, 21, 63])
    with torch.no_grad():
        seq = prompts.view(-1, 1)
        for _ in range(BLOCK - 1):
            lg, _ = model(seq)
            seq = torch.cat([seq, lg[:, -1].argmax(-1, keepdim=True)], 1)

    ids = torch.randint(0, VOCAB, (B, T))
    targets = torch.randint(0, VOCAB, (B, T))
    logits, loss = model(ids, targets)
    loss.backward()
    grads = {nanogpt_name(n): p.grad.detach().clone() for n, p in model.named_parameters()}

    decay = [p for _, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for _, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WD}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=LR, betas=BETAS, eps=EPS)
    opt.step()
    stepped = {nanogpt_name(n): p.detach().clone() for n, p in model.named_parameters()}

    tensors = {"input.ids": ids.int(), "input.targets": targets.int(), "out.logits": logits.detach().float(),
               "out.loss": loss.detach().float().reshape(()), "greedy.prompts": prompts.int(), "greedy.tokens": seq[:, 1:].int()}
    for n in params32:
        tensors["param." + n] = params32[n]
        tensors["grad." + n] = grads[n].float()
        tensors["adamw." + n] = stepped[n].float()
    metadata = {"nLayer": str(N_LAYER), "nEmbd": str(N_EMBD), "nHead": str(N_HEAD), "vocabSize": str(VOCAB),
                "blockSize": str(BLOCK), "lr": str(LR), "beta1": str(BETAS[0]), "beta2": str(BETAS[1]), "eps": str(EPS),
                "weightDecay": str(WD), "seed": str(SEED), "torch": torch.__version__, "made_by": "scripts/golden/dump_golden.py"}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    write_safetensors(OUT, tensors, metadata)
    gmin = min(g.abs().min().item() for g in grads.values())
    print(f"wrote {os.path.relpath(OUT)} ({os.path.getsize(OUT)} bytes): {len(params32)} params, "
          f"{sum(p.numel() for p in params32.values())} weights, loss {loss.item():.6f}, smallest |grad| {gmin:.3g}", file=sys.stderr)


if __name__ == "__main__":
    main()
