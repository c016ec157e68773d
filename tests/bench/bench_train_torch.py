#!/usr/bin/python3
"""The PyTorch reference of bench_train: the same model shape (a Llama-style decoder:
RMSNorm, rotary positions, multi-head causal attention, SwiGLU, untied output), the same
batch, the same optimizer (AdamW, gradient clipping), on random tokens, in float32 on the
CPU. Prints one line a thread count: "torch THREADS threads: TOKENS_PER_S tokens/s".

    bench_train_torch.py [--steps N] [--threads 1,2] [--dim 256 --layers 6 --heads 8
                          --hidden 768 --vocab 919 --batch 8 --seq-len 512]

Run by build/tests/bench_train when Debian's python3-torch is installed; cantus itself
never uses Python.
"""
import argparse
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(seq_len, head_dim, theta=10000.0):
    inv = 1.0 / theta ** (torch.arange(0, head_dim, 2).float() / head_dim)
    ang = torch.outer(torch.arange(seq_len).float(), inv)  # (T, hd/2)
    return ang.cos(), ang.sin()


def rope(x, cos, sin):
    # x (B, H, T, hd): pairs (2i, 2i+1) rotate by the position's angle
    x0, x1 = x[..., 0::2], x[..., 1::2]
    return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1).flatten(-2)


class Block(nn.Module):
    def __init__(self, dim, heads, hidden):
        super().__init__()
        self.heads = heads
        self.n1, self.n2 = RMSNorm(dim), RMSNorm(dim)
        self.wq = nn.Linear(dim, dim, bias=False)
        self.wk = nn.Linear(dim, dim, bias=False)
        self.wv = nn.Linear(dim, dim, bias=False)
        self.wo = nn.Linear(dim, dim, bias=False)
        self.w1 = nn.Linear(dim, hidden, bias=False)
        self.w3 = nn.Linear(dim, hidden, bias=False)
        self.w2 = nn.Linear(hidden, dim, bias=False)

    def forward(self, x, cos, sin, mask):
        B, T, D = x.shape
        hd = D // self.heads
        h = self.n1(x)
        q = self.wq(h).view(B, T, self.heads, hd).transpose(1, 2)
        k = self.wk(h).view(B, T, self.heads, hd).transpose(1, 2)
        v = self.wv(h).view(B, T, self.heads, hd).transpose(1, 2)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        s = (q @ k.transpose(-2, -1)) / math.sqrt(hd) + mask
        a = (F.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(B, T, D)
        x = x + self.wo(a)
        h = self.n2(x)
        return x + self.w2(F.silu(self.w1(h)) * self.w3(h))


class Model(nn.Module):
    def __init__(self, vocab, dim, layers, heads, hidden):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.blocks = nn.ModuleList(Block(dim, heads, hidden) for _ in range(layers))
        self.norm = RMSNorm(dim)
        self.out = nn.Linear(dim, vocab, bias=False)
        self.heads = heads

    def forward(self, idx, cos, sin, mask):
        x = self.emb(idx)
        for b in self.blocks:
            x = b(x, cos, sin, mask)
        return self.out(self.norm(x))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--hidden", type=int, default=768)
    ap.add_argument("--vocab", type=int, default=919)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq-len", type=int, default=512)
    a = ap.parse_args()
    torch.manual_seed(1)
    T = a.seq_len
    model = Model(a.vocab, a.dim, a.layers, a.heads, a.hidden)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.95), weight_decay=0.1)
    cos, sin = rope_tables(T, a.dim // a.heads)
    mask = torch.full((T, T), float("-inf")).triu(1)
    data = torch.randint(2, a.vocab, (a.batch, T + 1))

    def step():
        logits = model(data[:, :-1], cos, sin, mask)
        loss = F.cross_entropy(logits.reshape(-1, a.vocab), data[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    for threads in (int(t) for t in a.threads.split(",")):
        torch.set_num_threads(threads)
        step()  # warm-up
        t0 = time.perf_counter()
        for _ in range(a.steps):
            loss = step()
        dt = time.perf_counter() - t0
        print(f"torch {threads} threads: {a.steps * a.batch * T / dt:.0f} tokens/s "
              f"({dt / a.steps:.2f} s/step, loss {loss:.3f})", flush=True)


if __name__ == "__main__":
    sys.exit(main())
