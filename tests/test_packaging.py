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
