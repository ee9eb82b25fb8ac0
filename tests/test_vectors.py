"""The published vectors are exactly what the code produces, and the spec names every error code."""

import importlib.util
from pathlib import Path

import pytest

from protocol.errors import CODES

SPEC = Path(__file__).resolve().parents[1] / "spec"


def _generator():
    spec = importlib.util.spec_from_file_location("generate_vectors", SPEC / "generate_vectors.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = _generator()
BUILT = GEN.build()


@pytest.mark.parametrize("name", sorted(BUILT))
def test_checked_in_vectors_match_the_code(name: str) -> None:
    path = SPEC / "vectors" / name
    assert path.exists(), f"{path} missing: run python spec/generate_vectors.py"
    assert path.read_text() == GEN.render(BUILT[name]), (
        f"{name} is stale: run python spec/generate_vectors.py"
    )


def test_vectors_cover_enough_cases() -> None:
    assert sum(len(v) for v in BUILT.values()) >= 30
    every = {vec["error"] for vectors in BUILT.values() for vec in vectors if "error" in vec}
    for code in CODES:
        family = code.split(".")[0]
        if family in {"entry", "log"}:
            assert code in every, f"no vector shows {code}"


def test_spec_error_table_is_current() -> None:
    text = (SPEC / "protocol.md").read_text()
    assert text == GEN.spec_with_error_table(text), "stale error table: run python spec/generate_vectors.py"


def test_spec_documents_every_error_code() -> None:
    text = "\n".join(p.read_text() for p in SPEC.glob("*.md"))
    missing = [code for code in CODES if f"`{code}`" not in text]
    assert not missing, f"spec/ does not document: {missing}"
