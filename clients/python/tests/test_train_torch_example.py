"""The loss in examples/train_torch.py, checked on a tiny model when PyTorch is installed (the
example is not run in CI; this skips without torch). At ratio 1 the loss is the documented
token-level mean -Σ w·m·A / Σ w·m; splitting into micro-batches changes neither loss nor
gradient; a step against the gradient lowers the loss."""

import copy
import dataclasses
import importlib.util
import pathlib
import types

import numpy as np
import pytest

from arbor_client import Batch

torch = pytest.importorskip("torch", reason="PyTorch not installed (only the example needs it)")

EXAMPLE = pathlib.Path(__file__).resolve().parents[3] / "examples/train_torch.py"
VOCAB = 50


def load_example():
    spec = importlib.util.spec_from_file_location("train_torch", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TinyLM(torch.nn.Module):
    """Stands in for a Hugging Face causal LM: `model(input_ids=…, attention_mask=…).logits`."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.embed = torch.nn.Embedding(VOCAB, 8)
        self.head = torch.nn.Linear(8, VOCAB)

    def forward(self, input_ids, attention_mask):
        return types.SimpleNamespace(logits=self.head(self.embed(input_ids)))


def synthetic_batch():
    rng = np.random.default_rng(0)
    rows = []
    for n in range(6):
        length = int(rng.integers(5, 12))
        mask = [0, 0] + [int(x) for x in rng.integers(0, 2, length - 2)]
        rows.append({"task_id": f"t{n}", "task_type": "math", "policy_version": 0,
                     "ids": [int(x) for x in rng.integers(0, VOCAB, length)], "mask": mask,
                     "logprobs": [0.0] * length, "advantages": [float(rng.normal()) * m for m in mask],
                     "weight": 0.0 if n == 3 else 1.0})
    return Batch.from_rows(1, 0, 0, rows)


def run_step(example, model, batch, micro_batch, lr=0.0):
    args = types.SimpleNamespace(device="cpu", micro_batch=micro_batch, temperature=0.8, eps_low=0.2,
                                 eps_high=0.28, max_grad_norm=1e9)
    model = copy.deepcopy(model)
    stats = example.train_step(model, torch.optim.SGD(model.parameters(), lr=lr), batch, args)
    return stats, torch.cat([p.grad.flatten() for p in model.parameters()]), model


def test_the_example_loss_matches_its_formula():
    example = load_example()
    model, batch = TinyLM(), synthetic_batch()
    with torch.no_grad():
        sampled = example.new_logprobs(model, torch.from_numpy(batch.ids), torch.from_numpy(batch.lengths), 0.8)
    # The rows' sampling log-probs are the model's own: ratio 1 everywhere.
    on_policy = dataclasses.replace(batch, logprobs=np.where(batch.mask, sampled.numpy(), 0).astype(np.float32))
    weights = on_policy.mask * on_policy.weights[:, None]
    expected = -(on_policy.advantages * weights).sum() / weights.sum()

    whole, grad_whole, _ = run_step(example, model, on_policy, micro_batch=16)
    split, grad_split, _ = run_step(example, model, on_policy, micro_batch=2)
    assert whole["loss"] == pytest.approx(expected, abs=1e-6)
    assert whole["ratio"] == pytest.approx(1.0, abs=1e-6) and whole["clipped"] == 0 and whole["kl"] == pytest.approx(0, abs=1e-6)
    assert split["loss"] == pytest.approx(whole["loss"], abs=1e-6)
    assert torch.allclose(grad_split, grad_whole, atol=1e-6)

    _, _, stepped = run_step(example, model, on_policy, micro_batch=4, lr=0.5)
    after, _, _ = run_step(example, stepped, on_policy, micro_batch=4)
    assert after["loss"] < whole["loss"]
