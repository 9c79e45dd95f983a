"""Shared prefixes computed once give the loss and gradient of running every row whole, on a tiny
random Llama: for the policy step and the warm start, with prefixes shared by all rows, by a task's
rows and by two trajectories' first steps (learned tokens inside a shared segment), a row learning
right after a shared prefix, a row that is a prefix of another, a duplicate row and right padding."""

import dataclasses

import numpy as np
import pytest
from trainer_fixtures import TINY, require, tiny_checkpoint

from arbor_client import Batch

torch = require("torch")
require("gguf")

from arbor_client.trainer import PolicyTrainer, TrainerOptions  # noqa: E402
from arbor_client.trainer.loss import cross_entropy, policy_terms, selected_logprobs  # noqa: E402
from arbor_client.trainer.prefix_tree import PrefixTree  # noqa: E402

TEMPERATURE = 0.8
RELATIVE = 1e-5


@pytest.fixture(scope="module")
def checkpoint_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny") / "tiny.gguf"
    tiny_checkpoint(path)
    return path


def trainer(path, micro_batch):
    from arbor_client.trainer import Checkpoint

    return PolicyTrainer(Checkpoint.read(path), TrainerOptions(lr=0.0, max_grad_norm=1e9, micro_batch=micro_batch,
                                                               temperature=TEMPERATURE))


def tokens(rng, n):
    return [int(x) for x in rng.integers(0, TINY["vocabulary"], n)]


def shared_rows(seed=0):
    """(ids, mask) rows: a 12-token system prompt in all; tasks A (rows 0–4) and B (rows 5–6) add their
    own prompt; rows 0 and 1 share a learned first step; row 2 learns from the first token after
    its task's prompt; row 3 is a prefix of row 1; row 4 duplicates row 2; row 7 learns from the
    first token after the system prompt; row 8 learns nothing."""
    rng = np.random.default_rng(seed)
    system, task_a, task_b, step = tokens(rng, 12), tokens(rng, 8), tokens(rng, 6), tokens(rng, 5)
    learn = lambda n: (tokens(rng, n), [int(x) for x in rng.integers(0, 2, n)])
    rows = []
    for prompt, first_step, tail in ((task_a, step, 7), (task_a, step, 11), (task_a, [], 9)):
        ids, mask = learn(tail)
        prefix = system + prompt
        rows.append((prefix + first_step + ids, [0] * len(prefix) + [1] * len(first_step) + mask))
    rows[2][1][len(system) + len(task_a)] = 1
    rows.append((rows[1][0][:30], rows[1][1][:30]))
    rows.append((list(rows[2][0]), list(rows[2][1])))
    for tail in (10, 4):
        ids, mask = learn(tail)
        rows.append((system + task_b + ids, [0] * 18 + mask))
    ids, mask = learn(13)
    rows.append((system + ids, [0] * 12 + [1] + mask[1:]))
    rows.append((system + tokens(rng, 5), [0] * 17))
    return rows


def policy_batch(seed=0):
    rng = np.random.default_rng(seed + 1)
    rows = [{"task_id": f"t{n}", "task_type": "math", "policy_version": 0, "ids": ids, "mask": mask,
             "logprobs": [float(-abs(rng.normal())) * m for m in mask],
             "advantages": [float(rng.normal()) * m for m in mask],
             "weight": 0.0 if n == 5 else 1.0}
            for n, (ids, mask) in enumerate(shared_rows(seed))]
    return Batch.from_rows(1, 0, 0, rows)


def gradients(model):
    return {name: p.grad.detach().clone() for name, p in model.named_parameters() if p.grad is not None}


def assert_same_gradients(shared, whole):
    assert shared.keys() == whole.keys()
    for name, expected in whole.items():
        error = float((shared[name] - expected).norm())
        assert error <= RELATIVE * float(expected.norm()), f"{name}: |Δ| {error} vs |g| {float(expected.norm())}"


def test_the_tree_shares_the_system_prompt_the_task_prompts_and_the_common_steps():
    batch = policy_batch()
    lengths = batch.mask.shape[1] - np.argmax(batch.mask[:, ::-1], axis=1)
    lengths[~batch.mask.any(axis=1)] = 0
    tree = PrefixTree.build(batch.ids, lengths)
    assert (tree.start, tree.end) == (0, 12) and sorted(tree.rows) == list(range(8))
    assert list(tree.leaves) == [7]
    task_a, task_b = sorted(tree.children, key=lambda node: -len(node.rows))
    assert (task_a.end, sorted(task_a.rows)) == (20, [0, 1, 2, 3, 4])
    assert (task_b.end, sorted(task_b.rows), sorted(task_b.leaves)) == (18, [5, 6], [5, 6])
    assert tree.tokens(lengths) < int(lengths.sum())


def test_identical_rows_that_fill_the_batch_width_are_one_segment():
    # Two trajectories of one tree that never forked, each as long as the batch is wide: the
    # shared segment ends at the last column, after which no row goes on.
    ids = np.array([[5, 6, 7, 8], [5, 6, 7, 8], [5, 6, 9, 0]])
    lengths = np.array([4, 4, 3])
    tree = PrefixTree.build(ids, lengths)
    assert (tree.end, list(tree.leaves)) == (2, [2])
    (same,) = tree.children
    assert (same.start, same.end, sorted(same.rows), list(same.leaves)) == (2, 4, [0, 1], [])
    assert tree.tokens(lengths) == 2 + 1 + 2


@pytest.mark.parametrize("micro_batch", [1, 3, 16])
def test_the_policy_step_has_the_loss_and_gradient_of_whole_rows(checkpoint_path, micro_batch):
    batch = policy_batch()
    shared = trainer(checkpoint_path, micro_batch)
    stats = shared.rl_step(batch)

    model = trainer(checkpoint_path, micro_batch).model
    select = batch.mask.copy()
    select[:, 0] = False
    chosen = torch.from_numpy(select)
    new = selected_logprobs(model, torch.from_numpy(batch.ids), chosen, TEMPERATURE)
    pick = lambda array: torch.from_numpy(np.ascontiguousarray(array))[:, 1:][chosen[:, 1:]]
    weight = pick(np.broadcast_to(batch.weights[:, None], batch.ids.shape))
    denominator = float((select * batch.weights[:, None]).sum())
    terms = policy_terms(new, pick(batch.logprobs), pick(batch.advantages), weight, 0.2, 0.28, denominator)
    terms.loss.backward()

    assert stats.loss == pytest.approx(float(terms.loss.detach()), rel=RELATIVE)
    assert stats.tokens == int(select.sum())
    assert stats.ratio_mean == pytest.approx(float(torch.exp(terms.log_ratio.double()).mean()), rel=RELATIVE)
    assert stats.clip_fraction == pytest.approx(float(terms.clipped[weight > 0].float().mean()), abs=1e-6)
    assert_same_gradients(gradients(shared.model), gradients(model))


@pytest.mark.parametrize("micro_batch", [1, 4])
def test_the_warm_start_step_has_the_loss_and_gradient_of_whole_rows(checkpoint_path, micro_batch):
    examples = [(ids, mask) for ids, mask in shared_rows(seed=3) if any(mask[1:])]
    shared = trainer(checkpoint_path, micro_batch)
    stats = shared.supervised_step(examples)

    model = trainer(checkpoint_path, micro_batch).model
    width = max(len(ids) for ids, _ in examples)
    ids = torch.tensor([row + [0] * (width - len(row)) for row, _ in examples])
    mask = torch.tensor([[m != 0 for m in row] + [False] * (width - len(row)) for _, row in examples])
    mask[:, 0] = False
    loss = cross_entropy(model, ids, mask, float(mask.sum()))
    loss.backward()

    assert stats.loss == pytest.approx(float(loss.detach()), rel=RELATIVE)
    assert stats.tokens == int(mask.sum())
    assert_same_gradients(gradients(shared.model), gradients(model))


def test_scoring_without_gradients_gives_the_same_loss(checkpoint_path):
    batch = policy_batch()
    scored = dataclasses.replace(batch, advantages=np.zeros_like(batch.advantages))
    stats = trainer(checkpoint_path, 2).rl_step(scored)
    assert stats.grad_norm == 0 and stats.loss == 0
    model = trainer(checkpoint_path, 2).model
    select = batch.mask.copy()
    select[:, 0] = False
    with torch.no_grad():
        new = selected_logprobs(model, torch.from_numpy(batch.ids), torch.from_numpy(select), TEMPERATURE)
    old = torch.from_numpy(batch.logprobs)[:, 1:][torch.from_numpy(select)[:, 1:]]
    assert stats.ratio_mean == pytest.approx(float(torch.exp((new - old).double()).mean()), rel=RELATIVE)
