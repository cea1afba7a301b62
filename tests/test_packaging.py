"""environment.yml and pyproject.toml list the same dependencies (names and version bounds)."""

import re
import tomllib

import yaml

from review.paths import PROJECT_ROOT

# conda-forge names of PyPI packages that are spelt differently there
CONDA_NAME = {"duckdb": "python-duckdb", "matplotlib": "matplotlib-base",
              "ibis-framework": "ibis-duckdb"}


def _split(req: str) -> tuple[str, str]:
    m = re.match(r"^([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*(.*)$", req.strip())
    return m[1].lower(), m[3].replace(" ", "")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in ("spark", "test"):
        reqs += project["optional-dependencies"][extra]
    wanted = {CONDA_NAME.get(n, n): spec for n, spec in map(_split, reqs)}

    env = yaml.safe_load((PROJECT_ROOT / "environment.yml").read_text())
    conda = dict(_split(d) for d in env["dependencies"] if isinstance(d, str))
    conda.pop("python")
    conda.pop("pip")
    assert conda == wanted


def _requirements() -> dict[str, str]:
    """``{normalised name: version spec}`` of the dependencies and extras of pyproject.toml."""
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs += extra
    return {_norm(n): spec for n, spec in map(_split, reqs)}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_import_of_the_package_is_declared():
    import ast
    import sys
    from importlib.metadata import packages_distributions

    dists = packages_distributions()
    declared = set(_requirements())
    missing = {}
    for path in (PROJECT_ROOT / "src" / "review").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top == "review" or top in sys.stdlib_module_names:
                    continue
                owners = {_norm(d) for d in dists.get(top, [top])}
                if not owners & declared:
                    missing.setdefault(top, path.relative_to(PROJECT_ROOT).as_posix())
    assert missing == {}, "imported but not declared in pyproject.toml"


def test_the_lock_file_pins_every_dependency_within_its_bounds():
    from packaging.specifiers import SpecifierSet

    pins = {}
    for line in (PROJECT_ROOT / "requirements.lock").read_text().splitlines():
        if "==" in line and not line.lstrip().startswith("#"):
            name, version = line.split("==")
            pins[_norm(name)] = version.strip()
    for name, spec in _requirements().items():
        assert name in pins, f"{name} is not in requirements.lock; run `make lock`"
        assert SpecifierSet(spec).contains(pins[name]), f"{name}=={pins[name]} breaks {spec}"
