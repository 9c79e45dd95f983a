"""Shared pieces of the trainer's unit tests: torch/gguf or a failure under CI, and a tiny Llama GGUF."""

import os

import numpy as np
import pytest


def require(module_name):
    """The module; skips without it on a developer machine, fails under CI=true (the suite installs
    torch and gguf, so a missing one there is a broken setup, not a reason to pass)."""
    try:
        return __import__(module_name)
    except ImportError:
        message = f"{module_name} is not installed (pip install 'clients/python[torch]')"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


TINY = {"layers": 2, "embedding": 64, "heads": 4, "kv_heads": 2, "feed_forward": 96, "vocabulary": 128}


def tiny_checkpoint(path, seed=0):
    """A random 2-layer Llama (GQA 4/2, tied embeddings) written as f32 GGUF at ``path``, with the
    kinds of metadata a real file carries (tokenizer arrays, chat template, hyperparameters)."""
    require("gguf")
    import gguf

    from arbor_client.trainer.checkpoint import Checkpoint, MetadataEntry

    t = gguf.GGUFValueType
    c = TINY
    metadata = [
        MetadataEntry("general.architecture", "llama", [t.STRING]),
        MetadataEntry("general.name", "tiny", [t.STRING]),
        MetadataEntry("llama.block_count", c["layers"], [t.UINT32]),
        MetadataEntry("llama.context_length", 256, [t.UINT32]),
        MetadataEntry("llama.embedding_length", c["embedding"], [t.UINT32]),
        MetadataEntry("llama.feed_forward_length", c["feed_forward"], [t.UINT32]),
        MetadataEntry("llama.attention.head_count", c["heads"], [t.UINT32]),
        MetadataEntry("llama.attention.head_count_kv", c["kv_heads"], [t.UINT32]),
        MetadataEntry("llama.rope.freq_base", 10000.0, [t.FLOAT32]),
        MetadataEntry("llama.attention.layer_norm_rms_epsilon", 1e-5, [t.FLOAT32]),
        MetadataEntry("general.file_type", 0, [t.UINT32]),
        MetadataEntry("tokenizer.ggml.model", "gpt2", [t.STRING]),
        MetadataEntry("tokenizer.ggml.tokens", [f"tok{i}" for i in range(c["vocabulary"])], [t.ARRAY, t.STRING]),
        MetadataEntry("tokenizer.ggml.token_type", [1] * c["vocabulary"], [t.ARRAY, t.INT32]),
        MetadataEntry("tokenizer.ggml.add_bos_token", False, [t.BOOL]),
        MetadataEntry("tokenizer.chat_template", "{% for m in messages %}{{ m['content'] }}{% endfor %}", [t.STRING]),
    ]
    rng = np.random.default_rng(seed)
    e, f, v = c["embedding"], c["feed_forward"], c["vocabulary"]
    hd = e // c["heads"]
    weight = lambda rows, cols: (rng.standard_normal((rows, cols)) / np.sqrt(cols)).astype(np.float32)
    tensors = {"token_embd.weight": weight(v, e)}
    for i in range(c["layers"]):
        p = f"blk.{i}."
        tensors.update({
            p + "attn_norm.weight": (1 + 0.1 * rng.standard_normal(e)).astype(np.float32),
            p + "attn_q.weight": weight(e, e), p + "attn_k.weight": weight(c["kv_heads"] * hd, e),
            p + "attn_v.weight": weight(c["kv_heads"] * hd, e), p + "attn_output.weight": weight(e, e),
            p + "ffn_norm.weight": (1 + 0.1 * rng.standard_normal(e)).astype(np.float32),
            p + "ffn_gate.weight": weight(f, e), p + "ffn_up.weight": weight(f, e), p + "ffn_down.weight": weight(e, f),
        })
    tensors["output_norm.weight"] = np.ones(e, dtype=np.float32)
    Checkpoint(path=str(path), metadata=metadata, tensors=tensors).write(path, "f32")
    return Checkpoint.read(path)
