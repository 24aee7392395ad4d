"""environment.yml (conda) and pyproject.toml (pip) declare the same dependencies."""
import re
import tomllib

import yaml

from forecast.paths import PROJECT_ROOT


def _name(spec: str) -> str:
    return re.split(r"[<>=!~ \[]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_matches_pyproject():
    py = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    pip_deps = {_name(d): d for d in py["dependencies"] + py["optional-dependencies"]["dev"]}
    env = yaml.safe_load((PROJECT_ROOT / "environment.yml").read_text())
    conda = {_name(d): d for d in env["dependencies"] if isinstance(d, str)}
    conda.pop("python"), conda.pop("pip")
    assert set(conda) == set(pip_deps)
    for name, spec in pip_deps.items():
        # same lower bound in both files
        assert spec.replace(" ", "") == conda[name].replace(" ", ""), name
