"""A node install works without the optional extras, and commands that need one say so in one line."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Runs the CLI with the extras' modules made unimportable, as on an install without them.
BLOCKED = """
import sys
BLOCK = {"starlette", "hypercorn", "jinja2", "multipart", "matplotlib"}
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCK:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, Blocker())
import importlib.util
real = importlib.util.find_spec
importlib.util.find_spec = lambda name, *a: None if name.split(".")[0] in BLOCK else real(name, *a)
import holdspace.node.server, holdspace.node.federation, holdspace.node.store, holdspace.clients.client  # noqa
from holdspace.clients.cli import main
sys.argv = ["holdspace", *sys.argv[1:]]
main()
"""


def _run(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCKED, "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )


def test_the_base_install_has_no_web_or_plotting_stack() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base = " ".join(project["dependencies"])
    for heavy in ("matplotlib", "starlette", "hypercorn", "jinja2", "numpy", "pillow"):
        assert heavy not in base
    assert "holdspace[app,sim]" in project["optional-dependencies"]["test"]
    for needed_by_the_node in ("h11", "wsproto", "segno"):  # the node's web endpoint, invite QR codes
        assert needed_by_the_node in base


def test_node_commands_run_without_extras(tmp_path: Path) -> None:
    done = _run("node", "--help", home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "run" in done.stdout


def test_commands_that_need_an_extra_say_which(tmp_path: Path) -> None:
    app = _run("app", "--no-browser", home=tmp_path)
    assert app.returncode == 1
    assert "error: client.missing_extra:" in app.stderr
    assert "pip install 'holdspace[app]'" in app.stderr
    assert "Traceback" not in app.stderr
    sim = _run("sim", "run", "small-group", "--out", str(tmp_path / "out"), home=tmp_path)
    assert sim.returncode == 1
    assert "pip install 'holdspace[sim]'" in sim.stderr
    assert "Traceback" not in sim.stderr


def test_the_licence_file_matches_the_declared_licence() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "AGPL-3.0-or-later"
    assert (ROOT / "LICENSE").read_text().startswith("GNU AFFERO GENERAL PUBLIC LICENSE\nVersion 3")
    for package in ("protocol", "node", "clients", "simulations"):
        assert (ROOT / package / "py.typed").exists()


def test_shell_completion_as_the_readme_documents(tmp_path: Path) -> None:
    for shell in ("bash", "zsh", "fish"):
        assert f"_HOLDSPACE_COMPLETE={shell}_source holdspace" in (ROOT / "README.md").read_text()
    done = subprocess.run(
        [sys.executable, "-c", "from holdspace.clients.cli import cli; cli(obj={}, prog_name='holdspace')"],
        env={
            "_HOLDSPACE_COMPLETE": "bash_complete",
            "COMP_WORDS": "holdspace node ch",
            "COMP_CWORD": "2",
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert "plain,check" in done.stdout.split(), done.stdout + done.stderr
