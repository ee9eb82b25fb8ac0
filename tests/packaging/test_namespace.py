"""Installed, Holdspace claims one top-level name, ``holdspace``; the repository keeps its folders.

Checked on a wheel built from this tree (what ``pip install holdspace`` puts in site-packages) and
on the sources: every module of the four folders is in the wheel under ``holdspace.``, with its data
files; nothing imports the folders by their bare names (which would work in the repository and fail
once installed); ``python -m holdspace`` runs the command.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("protocol", "node", "clients", "simulations")


def _tracked_python() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True)
    return [ROOT / name for name in out.stdout.split()]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    """A wheel of this tree's files (tracked or new, not ignored), built from a copy: a build
    directory left in the tree by an earlier build cannot leak into it."""
    tree, out = tmp_path_factory.mktemp("tree"), tmp_path_factory.mktemp("wheel")
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    for name in listed.stdout.splitlines():
        source = ROOT / name
        if source.is_file() and not name.startswith("clients/web/"):
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, tree / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(tree)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (path,) = out.glob("holdspace-*.whl")
    return zipfile.ZipFile(path)


def test_the_wheel_holds_one_top_level_name(wheel: zipfile.ZipFile) -> None:
    tops = {name.split("/")[0] for name in wheel.namelist()}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"holdspace"}


def test_every_module_and_data_file_is_in_the_wheel(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    for folder in FOLDERS:
        for source in (ROOT / folder).rglob("*.py"):
            relative = source.relative_to(ROOT)
            if relative.parts[:2] in {("clients", "web"), ("clients", "root")} or "__pycache__" in relative.parts:
                continue
            assert f"holdspace/{relative.as_posix()}" in names, relative
    for data in (
        "holdspace/__init__.py",
        "holdspace/__main__.py",
        "holdspace/protocol/wordlist_english.txt",
        "holdspace/protocol/py.typed",
        "holdspace/clients/app/templates/base.html",
        "holdspace/clients/app/static/app.css",
    ):
        assert data in names, data
    assert any(n.startswith("holdspace/simulations/scenarios/") and n.endswith(".toml") for n in names)
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    assert "holdspace = holdspace.clients.cli:main" in wheel.read(entry_points).decode()


def test_no_source_imports_a_folder_by_its_bare_name() -> None:
    bare = []
    for path in _tracked_python():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            bare += [f"{path.relative_to(ROOT)}:{node.lineno} {n}" for n in names if n.split(".")[0] in FOLDERS]
    assert bare == []


def test_python_dash_m_holdspace_runs_the_command(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "holdspace", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("holdspace, version ")
