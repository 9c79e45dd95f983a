"""``python -m arbor_client.trainer``: train the job's model on its rollouts, publish each version.

The loop: load the job's GGUF into PyTorch; optionally run a supervised warm start and publish
it; then for every batch the coordinator serves, one AdamW step on the clipped token-level loss,
acked after the step; every ``--publish-every`` steps write the weights as GGUF under
``RUN_DIR/policies/`` and publish them. Each step appends a line to ``RUN_DIR/trainer.jsonl``.

`arbor run` starts it with ARBOR_CONTROL, ARBOR_RUN_DIR, ARBOR_MODEL and ARBOR_TEMPERATURE set;
they are the defaults of --control, --run-dir, --model and --temperature.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import random
import signal
import sys
import time

from ..errors import ArborError
from .errors import TrainerError

ENVIRONMENT = {"control": "ARBOR_CONTROL", "run_dir": "ARBOR_RUN_DIR", "model": "ARBOR_MODEL",
               "temperature": "ARBOR_TEMPERATURE"}

EXAMPLE = """\
example:
  # terminal 1: a job whose trainer is required (job.yaml: trainer: {required: true})
  arbor run --config job.yaml --workers 2 --run-dir runs/rl --control tcp://127.0.0.1:5556
  # terminal 2
  pip install 'clients/python[torch]'
  python3 -m arbor_client.trainer --control tcp://127.0.0.1:5556 --run-dir runs/rl \\
      --model models/SmolLM2-135M-Instruct.Q4_1.gguf --temperature 0.8 --publish-every 2

environment (defaults of the options above): ARBOR_CONTROL, ARBOR_RUN_DIR, ARBOR_MODEL,
ARBOR_TEMPERATURE
"""


def parse_args(argv=None, environ=None):
    """The options, with ARBOR_* environment variables as defaults; exits 2 with a message when a
    required one is neither given nor in the environment."""
    environ = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(
        prog="python3 -m arbor_client.trainer",
        description="Train the job's model on its rollouts with PyTorch, offline, and publish each version as GGUF.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    job = parser.add_argument_group("the job (defaults from the environment `arbor run` sets)")
    job.add_argument("--control", default=environ.get("ARBOR_CONTROL"),
                     help="the coordinator's control endpoint, e.g. tcp://127.0.0.1:5556 [ARBOR_CONTROL]")
    job.add_argument("--run-dir", default=environ.get("ARBOR_RUN_DIR"),
                     help="the job's run directory: policies/ and trainer.jsonl go there [ARBOR_RUN_DIR]")
    job.add_argument("--model", default=environ.get("ARBOR_MODEL"),
                     help="the job's GGUF model, the starting weights [ARBOR_MODEL]")
    job.add_argument("--temperature", type=float, default=None,
                     help="the job's sampling.temperature; the rows' log-probs are under it; ≤ 0 means "
                          "greedy, scored at 1 [ARBOR_TEMPERATURE, else 1.0]")
    train = parser.add_argument_group("training")
    train.add_argument("--lr", type=float, default=1e-6, help="AdamW learning rate (default 1e-6)")
    train.add_argument("--weight-decay", type=float, default=0.0, help="AdamW weight decay (default 0)")
    train.add_argument("--eps-low", type=float, default=0.2, help="ratio clip below 1 (default 0.2)")
    train.add_argument("--eps-high", type=float, default=0.28, help="ratio clip above 1, DAPO clip-higher (default 0.28)")
    train.add_argument("--micro-batch", type=int, default=4, help="rows per forward/backward pass (default 4)")
    train.add_argument("--max-grad-norm", type=float, default=1.0, help="gradient clipping norm (default 1.0)")
    train.add_argument("--device", default=None, help="torch device (default cuda when available, else cpu)")
    train.add_argument("--seed", type=int, default=0, help="torch and warm-start shuffling seed (default 0)")
    publish = parser.add_argument_group("publishing and stopping")
    publish.add_argument("--publish-every", type=int, default=1, help="publish a new version every N steps (default 1)")
    publish.add_argument("--outtype", choices=("f16", "q8_0"), default="f16",
                         help="GGUF type of the published weights (default f16)")
    publish.add_argument("--versions", type=int, default=0,
                         help="stop after publishing N versions, the warm start's included (0: until the job ends)")
    publish.add_argument("--max-steps", type=int, default=0,
                         help="stop after N steps, the warm start's included (0: until the job ends)")
    publish.add_argument("--dry-run", action="store_true",
                         help="no torch, no model: print each batch's loss pieces at ratio 1 and ack it")
    publish.add_argument("--max-batches", type=int, default=0,
                         help="with --dry-run: stop after N batches (0: until the job ends)")
    warm = parser.add_argument_group("supervised warm start (cold start before RL)")
    warm.add_argument("--warm-start", metavar="FILE",
                      help='JSONL of {"ids": [...], "mask": [0/1...]}: cross-entropy on mask-1 tokens before RL')
    warm.add_argument("--warm-start-steps", type=int, default=0, help="warm-start optimizer steps (default 0)")
    warm.add_argument("--warm-start-batch", type=int, default=8, help="examples per warm-start step (default 8)")
    warm.add_argument("--warm-start-lr", type=float, default=None, help="warm-start learning rate (default --lr)")
    args = parser.parse_args(argv)

    if args.temperature is None:
        text = environ.get("ARBOR_TEMPERATURE")
        try:
            args.temperature = float(text) if text else 1.0
        except ValueError:
            parser.error(f"ARBOR_TEMPERATURE={text!r} is not a number")
    for name in ("control",) if args.dry_run else ("control", "run_dir", "model"):
        if not getattr(args, name):
            parser.error(f"--{name.replace('_', '-')} is required (or set {ENVIRONMENT[name]})")
    for name in ("micro_batch", "publish_every", "warm_start_batch"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    for name in ("versions", "max_steps", "warm_start_steps", "max_batches"):
        if getattr(args, name) < 0:
            parser.error(f"--{name.replace('_', '-')} must be 0 or more")
    if args.warm_start_steps and not args.warm_start:
        parser.error("--warm-start-steps needs --warm-start FILE")
    if args.lr < 0 or not 0 <= args.eps_low < 1 or args.eps_high < 0 or args.max_grad_norm <= 0:
        parser.error("--lr, --eps-high must be ≥ 0, --eps-low in [0, 1), --max-grad-norm > 0")
    return args


def main(argv=None) -> int:
    """Runs the trainer; 0 when the job ended (or a --versions/--max-steps limit was reached),
    1 with a one-line message on stderr on an error, 130 on Ctrl-C or SIGTERM (how `arbor run`
    stops it): a batch in the middle of its step is left unacked, and the coordinator offers it
    again after its lease."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        if args.dry_run:
            from .. import Client
            from .dry_run import dry_run

            with Client(args.control) as client:
                dry_run(client, args.max_batches)
        else:
            run(args)
    except KeyboardInterrupt:
        print("arbor trainer: interrupted", file=sys.stderr)
        return 130
    except ArborError as error:
        print(f"arbor trainer: {str(error).removeprefix('arbor: ')}", file=sys.stderr)
        return 1
    return 0


def run(args) -> None:
    """The training loop of the module doc."""
    torch = _import_torch()
    from .. import Client
    from .checkpoint import Checkpoint
    from .policy_trainer import PolicyTrainer, TrainerOptions
    from .step_log import StepLog
    from .warm_start import batches as warm_batches
    from .warm_start import read_examples

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    run_dir = pathlib.Path(args.run_dir).resolve()
    policies = run_dir / "policies"
    log = StepLog(run_dir / "trainer.jsonl")
    examples = read_examples(args.warm_start) if args.warm_start_steps else []
    if not os.path.isfile(args.model):  # before waiting on the coordinator
        raise TrainerError("BAD_MODEL", f"{args.model}: no such model file (--model or ARBOR_MODEL)")

    with Client(args.control) as client:
        trainer_status = client.status().get("trainer") or {}
        version = int(trainer_status.get("policy_version") or 0)
        source = args.model
        if version > 0 and trainer_status.get("policy_weights_path"):
            source = trainer_status["policy_weights_path"]  # a restarted trainer goes on from the current policy
        print(f"arbor trainer: loading {source} (policy version {version}) on {device}", flush=True)
        options = TrainerOptions(lr=args.lr, eps_low=args.eps_low, eps_high=args.eps_high,
                                 micro_batch=args.micro_batch, max_grad_norm=args.max_grad_norm,
                                 weight_decay=args.weight_decay, temperature=args.temperature, device=device)
        trainer = PolicyTrainer(Checkpoint.read(source), options)
        _check_vocabulary(examples, trainer.model.config.vocabulary, args.warm_start)
        steps = published = 0

        def publish():
            nonlocal version, published
            path = trainer.save(policies / f"policy-{version + 1:06d}.{args.outtype}.gguf", args.outtype)
            wait_for_eval(client, version)
            reply = client.publish_policy(version + 1, str(path))
            version, published = reply.version, published + 1
            print(f"arbor trainer: published policy {version} ({path}) to "
                  f"{reply.workers_notified if reply.workers_notified is not None else 'all'} worker(s)", flush=True)

        def done():
            return (args.versions and published >= args.versions) or (args.max_steps and steps >= args.max_steps)

        if examples and version > 0:
            print(f"arbor trainer: no warm start: the job is already at policy version {version}", flush=True)
        elif examples:
            lr = args.warm_start_lr if args.warm_start_lr is not None else args.lr
            for group in trainer.optimizer.param_groups:
                group["lr"] = lr
            for chosen in warm_batches(examples, args.warm_start_batch, args.warm_start_steps, args.seed):
                steps += 1
                log.write(steps, "warm_start", version, trainer.supervised_step(chosen))
            for group in trainer.optimizer.param_groups:
                group["lr"] = args.lr
            trainer.optimizer.state.clear()  # RL starts with fresh moments
            publish()
        if done():
            return
        # ack=False: a batch is acked only after its step, so a crash leaves it leased and the
        # coordinator offers it again after trainer.lease_timeout_s.
        rl_steps = 0
        for batch in client.batches(ack=False):
            stats = trainer.rl_step(batch)
            client.ack(batch)
            steps, rl_steps = steps + 1, rl_steps + 1
            log.write(steps, "rl", version, stats, batch=batch.index, row_versions=set(batch.versions.tolist()))
            if rl_steps % args.publish_every == 0:
                publish()
            if done():
                return
        print(f"arbor trainer: the job ended after {steps} step(s); {published} version(s) published", flush=True)


def wait_for_eval(client, version: int, poll_s: float = 2.0) -> None:
    """Returns once the coordinator has reported the eval of policy ``version``, at once for a job
    without ``eval:``. Workers serve one version at a time, so a publish before that eval is done
    would replace the policy it measures and the coordinator would drop it unreported."""
    announced = False
    while True:
        evals = client.status().get("eval")
        if evals is None or any(e.get("policy_version") == version for e in evals):
            return
        if not announced:
            print(f"arbor trainer: waiting for the eval of policy version {version} before publishing", flush=True)
            announced = True
        time.sleep(poll_s)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _check_vocabulary(examples, vocabulary: int, path) -> None:
    for number, (ids, _) in enumerate(examples, start=1):
        if max(ids) >= vocabulary:
            raise TrainerError("BAD_WARM_START", f"{path}: example {number} has token id {max(ids)}, "
                                                 f"beyond the model's vocabulary of {vocabulary}")


def _import_torch():
    try:
        import torch
    except ImportError as error:
        raise TrainerError("MISSING_DEPENDENCY", "the trainer needs PyTorch: pip install 'arbor-client[torch]' "
                                                 "(CPU build: pip install torch==2.13.0+cpu)") from error
    try:
        import gguf  # noqa: F401
    except ImportError as error:
        raise TrainerError("MISSING_DEPENDENCY", "the trainer needs the `gguf` package: "
                                                 "pip install 'arbor-client[torch]'") from error
    return torch
