"""The browser client as built from this tree, for tests that serve the real bundle."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.web.web_node import WEB, page_for, web_lock


@pytest.fixture(scope="session")
def bundle() -> Path:
    """``clients/web/dist``, built now (``npm ci`` first if the dependencies are missing)."""
    if shutil.which("npm") is None:
        pytest.fail("npm is not installed: run 'sh tests/install-browser.sh'")
    env = dict(os.environ, npm_config_update_notifier="false", npm_config_fund="false")
    with web_lock():
        if not (WEB / "node_modules" / ".bin" / "esbuild").exists():
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=WEB, env=env, check=True, timeout=300)
        subprocess.run(["npm", "run", "build"], cwd=WEB, env=env, check=True, timeout=120, capture_output=True)
    return WEB / "dist"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stand-in bundle and the page the build writes for it, pinning it by its SRI hash."""
    return page_for(tmp_path_factory.mktemp("built") / "dist")


@pytest.fixture
def dist(built: Path, tmp_path: Path) -> Path:
    """A copy of the built page and bundle, for this test to serve (or spoil)."""
    return Path(shutil.copytree(built, tmp_path / "dist"))
