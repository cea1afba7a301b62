"""The package's layers import one way only (drawn in README.md, "Architecture").

Lowest first; a module may import its own layer and the layers below, never above:

====  ==========  =================================================================
 0    core        ``review.core``, ``errors``, ``paths``, ``secrets``, ``kpis``,
                  ``data.contract`` (dependency-free vocabularies and helpers)
 1    config      ``review.config`` (``Params``)
 2    data        ``review.data`` (connect, validate, import, demo, fingerprints)
 3    analysis    ``review.stats``, ``review.metrics``
 4    cache       ``review.cache`` (``period_metrics``)
 5    report      ``review.report``
 6    runner      ``review.runner``
 7    app         ``review.cli`` and the ``review`` facade (``review/__init__.py``)
====  ==========  =================================================================

Every import counts, also those inside functions (a lazy import is still a dependency).
Module-level imports must also be free of cycles.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from review.paths import PROJECT_ROOT

SRC = PROJECT_ROOT / "src"
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("core", ("review.core", "review.errors", "review.paths", "review.secrets",
              "review.kpis", "review.data.contract")),
    ("config", ("review.config",)),
    ("data", ("review.data",)),
    ("analysis", ("review.stats", "review.metrics")),
    ("cache", ("review.cache",)),
    ("report", ("review.report",)),
    ("runner", ("review.runner",)),
    ("app", ("review.cli", "review")),
]


def layer_of(module: str) -> int:
    """Index of the most specific layer prefix matching ``module``."""
    best, best_len = len(LAYERS) - 1, -1
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best_len:
                best, best_len = i, len(p)
    return best


def module_name(path: Path, src: Path = SRC) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_package(module: str, src: Path) -> bool:
    base = src.joinpath(*module.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def imports_of(source: str, module: str, *, is_package: bool, src: Path = SRC,
               top_level_only: bool = False) -> list[tuple[int, str]]:
    """``(line, imported review module)`` for every import of a ``review`` module.

    ``from review import x`` counts as ``review.x`` when ``x`` is a module, else as the
    ``review`` facade.
    """
    tree = ast.parse(source)
    package = module if is_package else module.rpartition(".")[0]
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for a in node.names:
                sub = f"{base}.{a.name}"
                found.append((node.lineno, sub if _is_package(sub, src) else base))
    return [(line, name) for line, name in found
            if name == "review" or name.startswith("review.")]


def violations(src: Path = SRC) -> list[str]:
    """Every import that goes up the layers, as ``file:line: a (layer) imports b (layer)``."""
    out = []
    for path in sorted(src.joinpath("review").rglob("*.py")):
        mod = module_name(path, src)
        if mod == "review":  # the facade re-exports from every layer
            continue
        here = layer_of(mod)
        for line, name in imports_of(path.read_text(encoding="utf-8"), mod,
                                     is_package=path.name == "__init__.py", src=src):
            there = layer_of(name)
            if there > here:
                out.append(f"{path.relative_to(src)}:{line}: {mod} ({LAYERS[here][0]}) "
                           f"imports {name} ({LAYERS[there][0]})")
    return out


def cycles(src: Path = SRC) -> list[list[str]]:
    """Cycles among module-level imports (a module importing itself back at load time)."""
    graph: dict[str, set[str]] = {}
    for path in src.joinpath("review").rglob("*.py"):
        mod = module_name(path, src)
        graph[mod] = {n for _, n in imports_of(path.read_text(encoding="utf-8"), mod,
                                               is_package=path.name == "__init__.py",
                                               src=src, top_level_only=True)} - {mod}
    found, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt):] + [nxt] if nxt in stack else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def test_no_import_goes_up_the_layers():
    assert violations() == []


def test_no_import_cycles_at_module_level():
    assert cycles() == []


def test_the_check_catches_an_import_against_the_flow(tmp_path):
    # a fake package where the cache imports the runner and the runner imports the cache
    pkg = tmp_path / "review"
    for rel, text in {"__init__.py": "", "cache.py": "from review.runner import fingerprint\n",
                      "runner/__init__.py": "", "runner/fingerprint.py": "import review.cache\n",
                      "report/__init__.py": "",
                      "report/blocks.py": "def f():\n    from review import runner\n"}.items():
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_text(text)
    found = violations(tmp_path)
    assert len(found) == 2
    assert "review.cache (cache) imports review.runner.fingerprint (runner)" in found[0]
    assert "review.report.blocks (report) imports review.runner (runner)" in found[1]
    assert cycles(tmp_path) == [["review.cache", "review.runner.fingerprint", "review.cache"]]


def test_every_module_belongs_to_a_layer():
    for path in SRC.joinpath("review").rglob("*.py"):
        mod = module_name(path)
        assert layer_of(mod) < len(LAYERS) - 1 or mod in ("review", "review.cli"), mod


@pytest.mark.parametrize("forbidden", ["review.runner", "review.report", "papermill",
                                       "nbconvert"])
def test_import_review_loads_no_runner_or_report_code(forbidden):
    code = ("import sys, review; "
            f"bad = sorted(m for m in sys.modules if m == {forbidden!r} "
            f"or m.startswith({forbidden!r} + '.')); print(bad)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=PROJECT_ROOT, env=_env())
    assert done.stdout.strip() == "[]"


def _env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")])
    return env
