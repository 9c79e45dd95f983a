"""The trainer's losses on a tiny random Llama: the clipped token-level policy loss equals its
formula, does not depend on the micro-batch split, lowers under its own gradient; log-probs
computed only at the masked positions equal the full log-softmax; the warm start's
cross-entropy goes down."""

import dataclasses

import numpy as np
import pytest
from trainer_fixtures import TINY, require, tiny_checkpoint

from arbor_client import Batch

torch = require("torch")
require("gguf")

from arbor_client.trainer import PolicyTrainer, TrainerOptions  # noqa: E402
from arbor_client.trainer.loss import selected_logprobs  # noqa: E402

TEMPERATURE = 0.8


@pytest.fixture(scope="module")
def checkpoint_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny") / "tiny.gguf"
    tiny_checkpoint(path)
    return path


def trainer(path, **options):
    from arbor_client.trainer import Checkpoint

    torch.manual_seed(0)
    return PolicyTrainer(Checkpoint.read(path), TrainerOptions(temperature=TEMPERATURE, **options))


def synthetic_batch(seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for n in range(8):
        length = int(rng.integers(6, 20))
        mask = [0, 0] + [int(x) for x in rng.integers(0, 2, length - 2)]
        mask = [0] * length if n == 7 else mask[:-3] + [0, 0, 0] if n == 5 else mask  # nothing / a tail to learn
        rows.append({"task_id": f"t{n}", "task_type": "math", "policy_version": 0,
                     "ids": [int(x) for x in rng.integers(0, TINY["vocabulary"], length)], "mask": mask,
                     "logprobs": [0.0] * length, "advantages": [float(rng.normal()) * m for m in mask],
                     "weight": 0.0 if n == 3 else 1.0})
    return Batch.from_rows(1, 0, 0, rows)


def own_logprobs(model, batch):
    """The batch with each mask-1 token's sampling log-prob set to the model's: ratio 1 everywhere."""
    with torch.no_grad():
        logits = model.logits(model.hidden(torch.from_numpy(batch.ids)))[:, :-1] / TEMPERATURE
        full = torch.log_softmax(logits, -1).gather(-1, torch.from_numpy(batch.ids)[:, 1:, None]).squeeze(-1)
    logprobs = np.zeros_like(batch.logprobs)
    logprobs[:, 1:] = np.where(batch.mask[:, 1:], full.numpy(), 0)
    return dataclasses.replace(batch, logprobs=logprobs), full.numpy()


def gradient(model):
    return torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])


def test_log_probs_at_masked_positions_equal_the_full_log_softmax(checkpoint_path):
    t = trainer(checkpoint_path)
    batch = synthetic_batch()
    _, full = own_logprobs(t.model, batch)
    with torch.no_grad():
        picked = selected_logprobs(t.model, torch.from_numpy(batch.ids), torch.from_numpy(batch.mask), TEMPERATURE)
    np.testing.assert_allclose(picked.numpy(), full[batch.mask[:, 1:]], atol=1e-5)
    assert picked.shape[0] == int(batch.mask[:, 1:].sum())


def test_the_policy_loss_matches_its_formula_and_not_the_micro_batch_split(checkpoint_path):
    whole, split = trainer(checkpoint_path, lr=0.0, max_grad_norm=1e9, micro_batch=16), \
        trainer(checkpoint_path, lr=0.0, max_grad_norm=1e9, micro_batch=2)
    on_policy, _ = own_logprobs(whole.model, synthetic_batch())
    weights = on_policy.mask * on_policy.weights[:, None]
    expected = -(on_policy.advantages * weights).sum() / weights.sum()

    a, b = whole.rl_step(on_policy), split.rl_step(on_policy)
    assert a.loss == pytest.approx(expected, abs=1e-6)
    assert (a.ratio_mean, a.ratio_p99_abs_log, a.clip_fraction) == pytest.approx((1.0, 0.0, 0.0), abs=1e-5)
    assert a.tokens == int(on_policy.mask.sum())
    assert b.loss == pytest.approx(a.loss, abs=1e-6)
    assert torch.allclose(gradient(split.model), gradient(whole.model), atol=1e-6)
    assert a.grad_norm == pytest.approx(float(gradient(whole.model).norm()), rel=1e-5)


def test_off_policy_tokens_are_clipped_as_the_formula_says(checkpoint_path):
    t = trainer(checkpoint_path, lr=0.0, max_grad_norm=1e9, eps_low=0.2, eps_high=0.28)
    on_policy, _ = own_logprobs(t.model, synthetic_batch())
    rng = np.random.default_rng(1)
    shift = np.where(on_policy.mask, rng.normal(0, 0.5, on_policy.mask.shape), 0).astype(np.float32)
    off = dataclasses.replace(on_policy, logprobs=on_policy.logprobs - shift)  # r = exp(shift)
    stats = t.rl_step(off)

    m = off.mask.copy()
    m[:, 0] = False
    r, a = np.exp(shift.astype(np.float64))[m], off.advantages.astype(np.float64)[m]
    w = np.broadcast_to(off.weights[:, None], m.shape)[m]
    unclipped, clipped = -a * r, -a * np.clip(r, 0.8, 1.28)
    assert stats.loss == pytest.approx((np.maximum(unclipped, clipped) * w).sum() / w.sum(), abs=1e-5)
    assert stats.ratio_mean == pytest.approx(r.mean(), abs=1e-4)
    assert stats.ratio_p99_abs_log == pytest.approx(np.quantile(np.abs(np.log(r)), 0.99), abs=1e-4)
    assert stats.clip_fraction == pytest.approx((clipped > unclipped)[w > 0].mean(), abs=1e-6)
    assert 0 < stats.clip_fraction < 1


def test_a_step_lowers_the_policy_loss_and_warm_start_lowers_cross_entropy(checkpoint_path):
    t = trainer(checkpoint_path, lr=1e-3)
    on_policy, _ = own_logprobs(t.model, synthetic_batch())
    first = t.rl_step(on_policy)
    assert first.grad_norm > 0
    assert t.rl_step(on_policy).loss < first.loss

    examples = [([1, 5, 9, 13, 17, 21], [0, 0, 1, 1, 1, 1]), ([2, 4, 6, 8], [0, 1, 1, 1])]
    losses = [t.supervised_step(examples).loss for _ in range(5)]
    assert losses[-1] < losses[0]
    assert t.supervised_step(examples).tokens == 7


@pytest.mark.parametrize("nothing_to_learn", ["weights", "advantages"])
def test_a_batch_with_nothing_to_learn_is_scored_but_not_stepped(checkpoint_path, nothing_to_learn):
    t = trainer(checkpoint_path, lr=1e-2)
    t.rl_step(synthetic_batch(seed=2))  # AdamW has moments now; a step on a zero gradient would still move
    on_policy, _ = own_logprobs(t.model, synthetic_batch())
    zeros = {"weights": np.zeros(8, dtype=np.float32), "advantages": np.zeros_like(on_policy.advantages)}
    batch = dataclasses.replace(on_policy, **{nothing_to_learn: zeros[nothing_to_learn]})
    before = [p.detach().clone() for p in t.model.parameters()]
    stats = t.rl_step(batch)
    assert stats.grad_norm == 0 and stats.loss == 0 and stats.tokens == int(batch.mask.sum())
    assert stats.ratio_mean == pytest.approx(1.0, abs=1e-5)
    assert all(torch.equal(p, q) for p, q in zip(before, t.model.parameters()))
