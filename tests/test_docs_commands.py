"""Every ``review`` command shown in a shell block of README.md and docs/ parses with the real
command line (subcommand, options and arguments), and every params snippet is valid, so the
docs cannot drift from the code. The mapping examples are run in
tests/data/test_import_derive.py."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest
import yaml

from review.cli import cli
from review.config import Params

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def commands() -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for block in re.findall(r"```(?:bash|sh|shell)\n(.*?)```", text, flags=re.S):
            for line in block.replace("\\\n", " ").splitlines():
                line = line.split("#", 1)[0].strip()
                if re.match(r"^(\.venv/bin/)?review\s", line):
                    found.append((doc.name, line))
    return found


def test_the_docs_show_commands():
    assert len(commands()) >= 8


def parse(line: str) -> None:
    """Parse a ``review …`` line like the shell would run it; raise on any drift."""
    args = shlex.split(line)[1:]
    if args[:1] == ["--project"]:  # the group's own option; the folder need not exist here
        args = args[2:]
    cmd: click.Command = cli
    names = []
    while isinstance(cmd, click.Group):
        if not args or args[0] not in cmd.commands:
            raise click.UsageError(f"no such command {args[:1]}")
        names.append(args[0])
        cmd, args = cmd.commands[args[0]], args[1:]
    cmd.make_context(" ".join(names), list(args))  # unknown options or arguments raise


@pytest.mark.parametrize(("doc", "line"), commands())
def test_a_documented_command_parses(doc, line):
    parse(line)


@pytest.mark.parametrize("line", ["review import x.csv --drafts", "review runn --all",
                                  "review params new", "review init"])
def test_drift_is_caught(line):
    with pytest.raises(click.ClickException):
        parse(line)


def params_snippets() -> list[tuple[str, str]]:
    """YAML blocks of the docs that show params (they start with ``# params/``)."""
    return [(doc.name, block) for doc in DOCS
            for block in re.findall(r"```yaml\n(.*?)```", doc.read_text(encoding="utf-8"),
                                    flags=re.S)
            if block.startswith("# params/")]


@pytest.mark.parametrize(("doc", "block"), params_snippets())
def test_a_documented_params_snippet_is_valid(doc, block):
    base = {"period": "2026-09", "start": "2026-09-01", "end": "2026-09-30"}
    Params.from_dict({**base, **yaml.safe_load(block)}, origin=doc)


def test_the_docs_show_params_snippets():
    assert params_snippets()
