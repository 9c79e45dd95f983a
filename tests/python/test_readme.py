"""The README is a front door: at most 200 lines, and every command in its fenced shell blocks
(and in docs/*.md's) runs as written — each `arbor …` command answers `--help` for the
subcommand it names and takes every option the line uses, and each `make …` names targets the Makefile has."""

import re
import shlex
import subprocess

import pytest

from conftest import ROOT, arbor_binary

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL_BLOCK = re.compile(r"^```(?:sh|bash|shell|console)\n(.*?)^```", re.S | re.M)


def shell_commands(path):
    """Commands of the document's shell blocks: continuations joined, comments and prompts cut."""
    commands = []
    for block in SHELL_BLOCK.findall(path.read_text()):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip().removeprefix("$ ")
            line = re.sub(r"\s+#.*$", "", line)
            if line and not line.startswith("#"):
                for part in re.split(r"\s*(?:&&|\|\||;)\s*", line):
                    commands.append(part.strip())
    return commands


def arbor_words(command):
    """The subcommand path of an `arbor` command line (`model tokenize`, `show`), or None."""
    words = shlex.split(command, posix=True) if "'" in command or '"' in command else command.split()
    if not words or not (words[0] == "arbor" or words[0].endswith("/arbor")):
        return None
    path = []
    for word in words[1:]:
        if not re.fullmatch(r"[a-z][a-z-]*", word) or path and word not in subcommands(path):
            break
        path.append(word)
    return path


_SUBCOMMANDS = {}


def subcommands(path):
    """The subcommands `arbor PATH --help` lists."""
    key = tuple(path)
    if key not in _SUBCOMMANDS:
        text = subprocess.run([arbor_binary(), *path, "--help"], capture_output=True, text=True, timeout=30).stdout
        section = text.split("SUBCOMMANDS:", 1)[1] if "SUBCOMMANDS:" in text else ""
        _SUBCOMMANDS[key] = set(re.findall(r"^\s{2}([a-z][a-z-]*)", section, re.M))
    return _SUBCOMMANDS[key]


def make_targets():
    return set(re.findall(r"^([A-Za-z][\w-]*):", (ROOT / "Makefile").read_text(), re.M))


def test_readme_is_a_front_door():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines; reference material belongs in docs/"
    text = "\n".join(lines)
    for target in ("make demo", "make test", "make train"):
        assert target in text
    for link in re.findall(r"\]\((docs/[^)#]+)", text):
        assert (ROOT / link).exists(), f"README links to {link}, which does not exist"


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_shell_commands_run_as_written(document):
    commands = shell_commands(document)
    checked = 0
    for command in commands:
        words = command.split()
        if words[0] == "make":
            targets = [word for word in words[1:] if "=" not in word and not word.startswith("-")]
            missing = set(targets) - make_targets()
            assert not missing, f"{document.name}: `{command}` names make targets the Makefile lacks: {missing}"
            checked += 1
            continue
        path = arbor_words(command)
        if path is None:
            continue
        assert path, f"{document.name}: `{command}` names no arbor subcommand"
        result = subprocess.run([arbor_binary(), *path, "--help"], capture_output=True, text=True, timeout=30)
        assert result.returncode == 0 and f"USAGE: arbor {' '.join(path)}" in result.stdout, (
            f"{document.name}: `arbor {' '.join(path)} --help` failed:\n{result.stdout}{result.stderr}")
        for option in re.findall(r"(?<!\S)(--[a-z][a-z-]*)", command):
            assert option in result.stdout, f"{document.name}: `{command}` uses {option}, which `arbor {' '.join(path)}` lacks"
        checked += 1
    if document.name == "README.md":
        assert checked >= 5, f"only {checked} commands found in README.md's shell blocks: {commands}"
