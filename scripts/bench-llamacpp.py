#!/usr/bin/env python3
"""llama.cpp side of `arbor bench engine`: the same measurements as Arbor's EngineBenchmark.

Reads the prompt token ids (JSON array) from --ids-file so both engines run identical tokens,
then measures with llama-cpp-python's low-level API on the same GGUF and thread count, with
llama.cpp's best settings for this job where the API offers them: a unified KV cache
(`kv_unified`, so sequences share the prompt's cells) and flash attention on `auto`.
  - prefill tok/s: one llama_decode of the whole prompt into a fresh KV cache (best of 3);
  - decode tok/s at B branches: the prompt is decoded once as sequence 0 and shared with
    sequences 1..B-1 by llama_memory_seq_cp (no recomputation), then `--steps` steps each
    decode one batch of B tokens (one per branch) and sample every branch with temperature 1
    from its logits (numpy softmax). Only the llama_decode calls are timed: the numpy sampling
    is Python overhead, not llama.cpp's.
Prints one JSON object: {"prefill_tok_s": x, "decode_tok_s": {"1": y, ...},
"llama_cpp_python": version, "settings": {name: value, ...}} (the settings it ran with).
"""
import argparse
import ctypes
import json
import re
import sys
import time

import numpy as np
import llama_cpp as L


LOG = []  # llama.cpp's log lines, read for what it decided (flash attention on `auto`)


@L.llama_log_callback
def keep_log(level, text, user_data):
    """Keeps llama.cpp's (long) log off the terminal; warnings and errors still print."""
    line = text.decode("utf-8", "replace")
    LOG.append(line)
    if level in (3, 4):  # GGML_LOG_LEVEL_WARN, GGML_LOG_LEVEL_ERROR (ggml.h)
        print(line, end="", file=sys.stderr)


def memory_api(ctx):
    """Sequence-level KV operations across llama.cpp API generations."""
    if hasattr(L, "llama_get_memory") and hasattr(L, "llama_memory_seq_cp"):
        mem = L.llama_get_memory(ctx)
        return (lambda a, b, p0, p1: L.llama_memory_seq_cp(mem, a, b, p0, p1),
                lambda: L.llama_memory_clear(mem, True))
    if hasattr(L, "llama_kv_self_seq_cp"):
        return (lambda a, b, p0, p1: L.llama_kv_self_seq_cp(ctx, a, b, p0, p1),
                lambda: L.llama_kv_self_clear(ctx))
    return (lambda a, b, p0, p1: L.llama_kv_cache_seq_cp(ctx, a, b, p0, p1),
            lambda: L.llama_kv_cache_clear(ctx))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--ids-file", required=True)
    ap.add_argument("--branches", default="1,4,8,16,32")
    ap.add_argument("--steps", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    ids = json.load(open(args.ids_file))
    branches = [int(b) for b in args.branches.split(",")]
    max_b = max(branches)
    n_ctx = len(ids) + max_b * (args.steps + 1) + 64

    L.llama_log_set(keep_log, ctypes.c_void_p(0))
    L.llama_backend_init()
    mparams = L.llama_model_default_params()
    model = (L.llama_model_load_from_file if hasattr(L, "llama_model_load_from_file") else L.llama_load_model_from_file)(
        args.model.encode(), mparams)
    if not model:
        sys.exit(f"llama.cpp could not load {args.model}")
    cparams = L.llama_context_default_params()
    cparams.n_ctx = n_ctx
    cparams.n_batch = max(512, len(ids))
    cparams.n_ubatch = max(512, len(ids))
    cparams.n_seq_max = max_b
    cparams.n_threads = args.threads
    cparams.n_threads_batch = args.threads
    settings = {"n_threads": str(args.threads), "prefix_sharing": "llama_memory_seq_cp",
                "timing": "llama_decode calls only (sampling excluded)"}
    if hasattr(cparams, "kv_unified"):
        cparams.kv_unified = True  # one cache all sequences index into, so seq_cp shares cells
        settings["kv_unified"] = "true"
    else:
        settings["kv_unified"] = "unavailable in this llama-cpp-python"
    if hasattr(cparams, "flash_attn_type"):
        cparams.flash_attn_type = L.LLAMA_FLASH_ATTN_TYPE_AUTO  # llama.cpp enables it where supported
        settings["flash_attn"] = "auto"
    else:
        settings["flash_attn"] = "unavailable in this llama-cpp-python"
    ctx = (L.llama_init_from_model if hasattr(L, "llama_init_from_model") else L.llama_new_context_with_model)(model, cparams)
    if not ctx:
        sys.exit("llama.cpp could not create a context")
    if settings["flash_attn"] == "auto":
        # llama.cpp decides when it creates the context and logs "Flash Attention enabled/disabled".
        said = [m.group(1) for m in map(re.compile(r"Flash Attention (enabled|disabled)").search, LOG) if m]
        settings["flash_attn"] = f"auto (llama.cpp chose {said[-1]})" if said else "auto (llama.cpp did not log its choice)"
    seq_cp, clear = memory_api(ctx)
    vocab = L.llama_vocab_n_tokens(L.llama_model_get_vocab(model)) if hasattr(L, "llama_model_get_vocab") else L.llama_n_vocab(model)
    batch = L.llama_batch_init(max(len(ids), max_b), 0, max_b)

    def fill(tokens, positions, seqs, logits_flags):
        batch.n_tokens = len(tokens)
        for i, (t, p, s, lf) in enumerate(zip(tokens, positions, seqs, logits_flags)):
            batch.token[i] = t
            batch.pos[i] = p
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = s
            batch.logits[i] = 1 if lf else 0

    def decode():
        rc = L.llama_decode(ctx, batch)
        if rc != 0:
            sys.exit(f"llama_decode failed with {rc}")

    def prefill():
        clear()
        fill(ids, range(len(ids)), [0] * len(ids), [False] * (len(ids) - 1) + [True])
        decode()

    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        prefill()
        best = min(best, time.perf_counter() - t0)
    result = {"prefill_tok_s": len(ids) / best, "decode_tok_s": {},
              "llama_cpp_python": getattr(L, "__version__", "unknown"), "settings": settings}

    rng = np.random.default_rng(args.seed)
    for b in branches:
        prefill()
        last = np.ctypeslib.as_array(L.llama_get_logits_ith(ctx, len(ids) - 1), shape=(vocab,)).copy()
        for s in range(1, b):
            seq_cp(0, s, -1, -1)
        logits = np.tile(last, (b, 1))
        decoding = 0.0
        for step in range(args.steps):
            z = logits - logits.max(axis=1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(axis=1, keepdims=True)
            u = rng.random((b, 1))
            tokens = (p.cumsum(axis=1) < u).sum(axis=1).clip(0, vocab - 1)
            fill([int(t) for t in tokens], [len(ids) + step] * b, list(range(b)), [True] * b)
            t0 = time.perf_counter()
            decode()
            decoding += time.perf_counter() - t0
            out = np.ctypeslib.as_array(L.llama_get_logits(ctx), shape=(b, vocab))
            logits = out.copy()
        result["decode_tok_s"][str(b)] = b * args.steps / decoding
        print(f"llama.cpp decode B={b}: {result['decode_tok_s'][str(b)]:.1f} tok/s", file=sys.stderr)

    L.llama_batch_free(batch)
    L.llama_free(ctx)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
