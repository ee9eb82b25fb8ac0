"""The command line speaks the language the environment asks for (LANGUAGE, LC_ALL, LC_MESSAGES,
LANG, as gettext reads them): Spanish under LANG=es_ES.UTF-8, English otherwise; error codes and
--json output never change."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.cli.test_cli import HOLDSPACE, ROOT

LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


def run_in(lang: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in LOCALE_VARIABLES}
    env |= {"LANG": lang, "HOLDSPACE_PASSPHRASE": "correct horse battery staple"}
    cmd = [*HOLDSPACE, "--home", str(home), *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)


def test_spanish_under_lang_es(tmp_path: Path) -> None:
    made = run_in("es_ES.UTF-8", tmp_path / "ana", "id", "new")
    assert made.returncode == 0, made.stderr
    assert f"identidad creada en {tmp_path / 'ana'}" in made.stdout
    assert "Tu frase de contraseña protege tus claves" in made.stdout
    again = run_in("es_ES.UTF-8", tmp_path / "ana", "id", "new")
    assert again.returncode == 1
    assert again.stderr.startswith("error: client.exists: ")  # the code is the same in every language
