"""GGUF in and out: reading a file and writing it as f16 or q8_0 keeps every tensor (within the
type's rounding) and every metadata entry (file_type updated); the model built from it maps back
to the same tensor names; bad inputs are errors naming the file. The warm-start reader and the
CLI's environment defaults are checked here too."""

import numpy as np
import pytest
from trainer_fixtures import TINY, require, tiny_checkpoint

require("torch")
gguf = require("gguf")

from arbor_client.trainer import Checkpoint, Llama, TrainerError  # noqa: E402
from arbor_client.trainer.cli import parse_args  # noqa: E402
from arbor_client.trainer.warm_start import read_examples  # noqa: E402


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory.mktemp("tiny") / "tiny.gguf")


@pytest.mark.parametrize("outtype, file_type, stored", [("f16", 1, "F16"), ("q8_0", 7, "Q8_0"), ("f32", 0, "F32")])
def test_a_round_trip_keeps_tensors_and_metadata(source, tmp_path, outtype, file_type, stored):
    written = Checkpoint.read(source.write(tmp_path / f"out.{outtype}.gguf", outtype))
    assert list(written.tensors) == list(source.tensors)
    for name, values in source.tensors.items():
        back = written.tensors[name]
        assert back.shape == values.shape, name
        if values.ndim == 1:
            assert written.stored_types[name] == "F32" and np.array_equal(back, values), name
            continue
        assert written.stored_types[name] == stored, name
        if outtype == "f16":
            assert np.array_equal(back, values.astype(np.float16).astype(np.float32)), name
        elif outtype == "q8_0":
            # per block of 32, d = max|x|/127: rounding q = round(x/d) costs ≤ d/2, storing d as f16
            # costs ≤ 127·d·2⁻¹¹ more: |error| ≤ d·(0.5 + 0.062)
            scale = np.abs(values).reshape(-1, 32).max(axis=1, keepdims=True) / 127
            assert np.all(np.abs(back - values).reshape(-1, 32) <= scale * 0.563 + 1e-7), name
        else:
            assert np.array_equal(back, values), name
    before = {e.key: (e.value, e.types) for e in source.metadata}
    after = {e.key: (e.value, e.types) for e in written.metadata}
    assert after.pop("general.file_type")[0] == file_type
    before.pop("general.file_type")
    assert after == before
    assert after["tokenizer.ggml.tokens"][0][:3] == ["tok0", "tok1", "tok2"]


def test_the_model_maps_back_to_the_gguf_names(source):
    model = Llama.from_checkpoint(source)
    assert model.config.layers == TINY["layers"] and model.config.kv_heads == TINY["kv_heads"]
    assert model.config.tied_output and model.config.vocabulary == TINY["vocabulary"]
    tensors = model.gguf_tensors()
    assert list(tensors) == list(source.tensors)  # llama.cpp's order; no output.weight when tied
    assert all(np.array_equal(tensors[name], source.tensors[name]) for name in tensors)


def test_bad_model_files_are_errors_naming_them(source, tmp_path):
    with pytest.raises(TrainerError) as missing:
        Checkpoint.read(tmp_path / "nope.gguf")
    assert missing.value.code == "BAD_MODEL" and "nope.gguf" in missing.value.message
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a gguf file at all")
    with pytest.raises(TrainerError) as unreadable:
        Checkpoint.read(junk)
    assert unreadable.value.code == "BAD_MODEL" and "junk.gguf" in unreadable.value.message
    tensors = dict(source.tensors)
    del tensors["blk.1.ffn_up.weight"]
    broken = Checkpoint(path="broken.gguf", metadata=source.metadata, tensors=tensors)
    with pytest.raises(TrainerError, match="broken.gguf: tensor blk.1.ffn_up.weight is missing"):
        Llama.from_checkpoint(broken)


def test_warm_start_lines_are_checked_by_file_and_line(tmp_path):
    good = tmp_path / "warm.jsonl"
    good.write_text('{"ids": [1, 2, 3], "mask": [0, 1, 1]}\n\n{"ids": [4, 5], "mask": [0, 1]}\n')
    assert read_examples(good) == [([1, 2, 3], [0, 1, 1]), ([4, 5], [0, 1])]
    for text, what in [('{"ids": [1, 2], "mask": [0]}', "`mask` has 1 entries"), ("{oops", "not JSON"),
                       ('{"ids": [1, 2], "mask": [1, 0]}', "no token to learn")]:
        bad = tmp_path / "bad.jsonl"
        bad.write_text('{"ids": [1, 2], "mask": [0, 1]}\n' + text + "\n")
        with pytest.raises(TrainerError) as error:
            read_examples(bad)
        assert error.value.code == "BAD_WARM_START" and f"{bad}:2" in error.value.message and what in error.value.message


def test_the_cli_reads_its_defaults_from_the_environment_arbor_run_sets(capsys):
    environ = {"ARBOR_CONTROL": "tcp://127.0.0.1:5999", "ARBOR_RUN_DIR": "/runs/x", "ARBOR_MODEL": "/m.gguf",
               "ARBOR_TEMPERATURE": "0.7"}
    args = parse_args([], environ)
    assert (args.control, args.run_dir, args.model, args.temperature) == ("tcp://127.0.0.1:5999", "/runs/x", "/m.gguf", 0.7)
    args = parse_args(["--temperature", "0.5", "--control", "tcp://h:1", "--outtype", "q8_0"], environ)
    assert (args.temperature, args.control, args.outtype) == (0.5, "tcp://h:1", "q8_0")
    with pytest.raises(SystemExit) as exit_info:
        parse_args([], {"ARBOR_RUN_DIR": "/runs/x", "ARBOR_MODEL": "/m.gguf"})
    assert exit_info.value.code == 2 and "--control is required (or set ARBOR_CONTROL)" in capsys.readouterr().err


def test_the_cli_exits_1_naming_a_missing_model_or_a_bad_warm_start_file(tmp_path):
    import subprocess
    import sys

    base = [sys.executable, "-m", "arbor_client.trainer", "--control", "tcp://127.0.0.1:9", "--run-dir", str(tmp_path)]
    missing = subprocess.run(base + ["--model", str(tmp_path / "none.gguf")], capture_output=True, text=True, timeout=120)
    assert missing.returncode == 1
    assert missing.stderr.strip() == f"arbor trainer: BAD_MODEL: {tmp_path / 'none.gguf'}: no such model file " \
                                     "(--model or ARBOR_MODEL)"
    warm = tmp_path / "warm.jsonl"
    warm.write_text('{"ids": [1, 2], "mask": [0, 1]}\n{"ids": [1]}\n')
    bad = subprocess.run(base + ["--model", str(tmp_path / "none.gguf"), "--warm-start", str(warm),
                                 "--warm-start-steps", "2"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and f"BAD_WARM_START: {warm}:2: expected" in bad.stderr
