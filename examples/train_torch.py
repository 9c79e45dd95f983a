#!/usr/bin/env python3
"""Train a policy on Arbor's rollouts with PyTorch: a small, documented trainer (not run in CI).

What it does, per training batch the coordinator serves:

1. ``arbor_client`` pulls the batch: token ids, loss mask, the log-prob each token had when a
   worker sampled it, per-token advantages (trajectory-relative + fork-relative), a weight per
   row (0 when AEPO masks the trajectory), all padded to ``[B, L]``.
2. The Hugging Face model scores the same ids (no re-tokenization: the ids are exactly what the
   sampling policy conditioned on) and gives each token's new log-prob at the sampling
   temperature.
3. The loss is the token-level clipped policy gradient (PPO/GRPO ratio, DAPO's clip-higher and
   token-level mean), weighted per row, over tokens with mask 1.
4. One optimizer step, then the batch is acked.
5. Every ``--publish-every`` steps the weights are saved, converted to GGUF (Arbor's built-in
   engine reads GGUF) and published: the coordinator tells every worker to load them, and rows
   sampled with versions older than the job's ``max_staleness`` are dropped from then on.

The loss, for row b and token t with mask m_bt = 1, sampling log-prob q_bt, new log-prob p_bt,
advantage A_bt and row weight w_b::

    r_bt   = exp(p_bt - q_bt)
    l_bt   = max(-A_bt * r_bt, -A_bt * clip(r_bt, 1 - eps_low, 1 + eps_high))
    loss   = sum_bt(w_b * m_bt * l_bt) / sum_bt(w_b * m_bt)         # token-level mean (DAPO)

With 0/1 weights the denominator counts the tokens of the rows that are kept, so an AEPO-masked
trajectory neither pulls the gradient nor dilutes it. The mean runs over the whole batch even
when it is split into micro-batches: each micro-batch's sum is divided by the batch's total.

Honest caveats:

- The sampling log-probs come from the workers' GGUF model (Q4_1 by default), the new ones from
  the full-precision HF model, so even the first step has r != 1: the clip keeps that bounded,
  and ``--dry-run`` shows the pieces. Export with ``--outtype f16``/``q8_0`` to narrow the gap.
- ``--temperature`` must equal the job's ``sampling.temperature``: the workers' log-probs are
  under that temperature.
- No KL penalty or reference model; add one if your task needs it.

Running it::

    # terminal 1: a job whose trainer is required (job.yaml: trainer: {required: true})
    arbor run --config job.yaml --workers 4 --run-dir runs/rl --control tcp://127.0.0.1:5556
    # terminal 2
    pip install clients/python torch transformers
    python examples/train_torch.py --control tcp://127.0.0.1:5556 \\
        --model HuggingFaceTB/SmolLM2-135M-Instruct --out runs/rl/weights \\
        --convert-script ~/llama.cpp/convert_hf_to_gguf.py
    # or, without torch: print the loss pieces of the pulled batches and ack them
    python examples/train_torch.py --control tcp://127.0.0.1:5556 --dry-run --max-batches 3

GGUF export. The built-in engine loads GGUF, so a published version must be one. This script
saves the HF checkpoint and runs llama.cpp's converter on it
(https://github.com/ggml-org/llama.cpp, ``convert_hf_to_gguf.py``)::

    python convert_hf_to_gguf.py runs/rl/weights/policy-000001-hf \\
        --outfile runs/rl/weights/policy-000001.gguf --outtype f16

and, with ``--quantize PATH/llama-quantize --quant-type Q4_1``, quantizes the result
(``llama-quantize in.gguf out.gguf Q4_1``). Without ``--convert-script`` it stops after saving
the HF checkpoint unless ``--weights-format hf`` says to publish the HF directory itself (for the
scripted backend, which ignores weights, or a backend you reload from HF checkpoints yourself).
The weights path must be readable by the workers (shared storage in a cluster).
"""

from __future__ import annotations

import argparse
import pathlib
import subprocess
import sys

import numpy as np

try:
    from arbor_client import Batch, Client
except ImportError:  # running from a checkout without `pip install clients/python`
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "clients/python"))
    from arbor_client import Batch, Client


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--control", required=True, help="the coordinator's control endpoint, e.g. tcp://127.0.0.1:5556")
    parser.add_argument("--model", default="HuggingFaceTB/SmolLM2-135M-Instruct",
                        help="HF model name or directory; its vocabulary must be the workers' GGUF's")
    parser.add_argument("--out", default="runs/weights", help="where checkpoints and GGUF files go")
    parser.add_argument("--dry-run", action="store_true", help="no torch: print each batch's loss pieces at ratio 1, ack it")
    parser.add_argument("--max-batches", type=int, default=0, help="stop after this many batches (0 = until the job ends)")
    parser.add_argument("--lr", type=float, default=1e-6)
    parser.add_argument("--eps-low", type=float, default=0.2, help="ratio clip below 1")
    parser.add_argument("--eps-high", type=float, default=0.28, help="ratio clip above 1 (DAPO clip-higher)")
    parser.add_argument("--temperature", type=float, default=0.8, help="the job's sampling.temperature")
    parser.add_argument("--micro-batch", type=int, default=4, help="rows per forward pass (gradients accumulate)")
    parser.add_argument("--max-grad-norm", type=float, default=1.0)
    parser.add_argument("--publish-every", type=int, default=1, help="publish a new policy version every N steps")
    parser.add_argument("--weights-format", choices=["gguf", "hf"], default="gguf",
                        help="publish a GGUF file (built-in engine) or the HF directory (scripted/other backends)")
    parser.add_argument("--convert-script", help="path to llama.cpp's convert_hf_to_gguf.py")
    parser.add_argument("--outtype", default="f16", help="convert_hf_to_gguf.py --outtype (f32, f16, q8_0 …)")
    parser.add_argument("--quantize", help="path to llama.cpp's llama-quantize, to quantize the GGUF further")
    parser.add_argument("--quant-type", default="Q4_1", help="llama-quantize type, e.g. Q4_1 (the default model's)")
    parser.add_argument("--device", default="cuda" if _cuda_available() else "cpu")
    return parser.parse_args(argv)


def _cuda_available():
    try:
        import torch
        return torch.cuda.is_available()
    except ImportError:
        return False


# ---------------------------------------------------------------------------------------------
# The loss pieces, in numpy (dry run) and in torch (training)

def token_weights(batch: Batch) -> np.ndarray:
    """w_b * m_bt as float32 [B, L]: which tokens carry loss, and how much."""
    return batch.mask.astype(np.float32) * batch.weights[:, None]


def describe(batch: Batch) -> str:
    """One line of what a batch holds and its loss at ratio 1 (new policy == sampling policy)."""
    tw = token_weights(batch)
    total = float(tw.sum())
    loss_at_ratio_1 = float(-(batch.advantages * tw).sum() / max(total, 1.0))
    versions = dict(zip(*np.unique(batch.versions, return_counts=True))) if len(batch) else {}
    kept = int((batch.weights > 0).sum())
    return (f"batch {batch.index}: {len(batch)} rows ({kept} weighted), L={batch.shape[1]}, "
            f"loss tokens {int(batch.mask.sum())}, weighted {total:.0f}, "
            f"mean A {float((batch.advantages * tw).sum() / max(total, 1.0)):+.4f}, "
            f"mean sampling logprob {float((batch.logprobs * tw).sum() / max(total, 1.0)):.4f}, "
            f"loss@r=1 {loss_at_ratio_1:+.4f}, versions {({int(k): int(v) for k, v in versions.items()})}, "
            f"stale dropped {batch.stale_rows_dropped}")


def new_logprobs(model, ids, lengths, temperature):
    """log p(ids[:, t] | ids[:, :t]) under `model` at `temperature`, [B, L]; position 0 gets 0.

    Right padding: the attention mask covers each row's real length; padded positions carry
    mask 0 in the batch, so whatever the model says there never reaches the loss.
    """
    import torch

    positions = torch.arange(ids.shape[1], device=ids.device)
    attention = (positions[None, :] < lengths[:, None]).long()
    logits = model(input_ids=ids, attention_mask=attention).logits[:, :-1].float() / temperature
    picked = torch.log_softmax(logits, dim=-1).gather(-1, ids[:, 1:, None]).squeeze(-1)
    return torch.nn.functional.pad(picked, (1, 0))  # token t is predicted from position t-1


def train_step(model, optimizer, batch: Batch, args) -> dict:
    """One optimizer step on `batch`: the clipped, weighted, token-level-mean loss above."""
    import torch

    device = args.device
    denominator = max(float(token_weights(batch).sum()), 1.0)  # of the whole batch, for every micro-batch
    optimizer.zero_grad(set_to_none=True)
    stats = {"loss": 0.0, "clipped": 0.0, "ratio": 0.0, "kl": 0.0}
    for start in range(0, len(batch), args.micro_batch):
        rows = slice(start, start + args.micro_batch)
        width = int(batch.lengths[rows].max())  # trim the padding this micro-batch does not need
        ids = torch.from_numpy(batch.ids[rows, :width]).to(device)
        lengths = torch.from_numpy(batch.lengths[rows]).to(device)
        old = torch.from_numpy(batch.logprobs[rows, :width]).to(device)
        advantages = torch.from_numpy(batch.advantages[rows, :width]).to(device)
        weight = torch.from_numpy(token_weights(batch)[rows, :width]).to(device)

        new = new_logprobs(model, ids, lengths, args.temperature)
        ratio = torch.exp(new - old)
        unclipped = -advantages * ratio
        clipped = -advantages * ratio.clamp(1 - args.eps_low, 1 + args.eps_high)
        per_token = torch.maximum(unclipped, clipped)
        loss = (per_token * weight).sum() / denominator
        loss.backward()

        with torch.no_grad():
            stats["loss"] += float(loss)
            stats["clipped"] += float(((clipped > unclipped).float() * weight).sum()) / denominator
            stats["ratio"] += float((ratio * weight).sum()) / denominator
            stats["kl"] += float(((old - new) * weight).sum()) / denominator  # k1 estimate of KL(old||new)
    stats["grad_norm"] = float(torch.nn.utils.clip_grad_norm_(model.parameters(), args.max_grad_norm))
    optimizer.step()
    return stats


# ---------------------------------------------------------------------------------------------
# Weights out: HF checkpoint → GGUF → publish

def export(model, tokenizer, version: int, args) -> pathlib.Path | None:
    """Saves version `version` and returns the path to publish, or None when it cannot be served."""
    out = pathlib.Path(args.out).resolve()
    hf_dir = out / f"policy-{version:06d}-hf"
    model.save_pretrained(hf_dir)
    tokenizer.save_pretrained(hf_dir)
    if args.weights_format == "hf":
        return hf_dir
    if not args.convert_script:
        print(f"saved {hf_dir}; to serve it, convert it with llama.cpp and publish the .gguf:\n"
              f"  python convert_hf_to_gguf.py {hf_dir} --outfile {out}/policy-{version:06d}.gguf --outtype {args.outtype}",
              file=sys.stderr)
        return None
    gguf = out / f"policy-{version:06d}.{args.outtype}.gguf"
    subprocess.run([sys.executable, args.convert_script, str(hf_dir), "--outfile", str(gguf),
                    "--outtype", args.outtype], check=True)
    if args.quantize:
        quantized = out / f"policy-{version:06d}.{args.quant_type}.gguf"
        subprocess.run([args.quantize, str(gguf), str(quantized), args.quant_type], check=True)
        gguf = quantized
    return gguf


# ---------------------------------------------------------------------------------------------

def dry_run(client: Client, args) -> None:
    """Pulls batches, prints their loss pieces, acks them; nothing is trained or published."""
    for count, batch in enumerate(client.batches(), start=1):
        print(describe(batch), flush=True)
        if args.max_batches and count >= args.max_batches:
            break
    print(f"{client.batches_received} batch(es), {client.stale_rows_dropped} stale row(s) dropped")


def train(client: Client, args) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForCausalLM.from_pretrained(args.model, torch_dtype=torch.float32).to(args.device)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr)
    version = int((client.status().get("trainer") or {}).get("policy_version", 0))
    steps = 0
    # ack=False: a batch is acked only after its optimizer step, so a crash mid-step leaves it
    # leased and the coordinator offers it again after trainer.lease_timeout_s.
    for batch in client.batches(ack=False):
        stats = train_step(model, optimizer, batch, args)
        client.ack(batch)
        steps += 1
        print(f"{describe(batch)}\n  step {steps}: " + ", ".join(f"{k} {v:.4f}" for k, v in stats.items()), flush=True)
        if steps % args.publish_every == 0:
            path = export(model, tokenizer, version + 1, args)
            if path is not None:
                published = client.publish_policy(version + 1, str(path))
                version = published.version
                print(f"  published policy {version} ({path}) to {published.workers_notified} worker(s)", flush=True)
        if args.max_batches and steps >= args.max_batches:
            break


def main(argv=None) -> int:
    args = parse_args(argv)
    if not args.dry_run and args.weights_format == "gguf" and not args.convert_script:
        print("note: no --convert-script; checkpoints are saved but not published (see --help)", file=sys.stderr)
    with Client(args.control) as client:
        if args.dry_run:
            dry_run(client, args)
        else:
            train(client, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
