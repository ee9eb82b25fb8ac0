import json
from pathlib import Path

import pytest

VECTORS = Path(__file__).parent / "vectors"


def load_vectors(name: str) -> dict:
    return json.loads((VECTORS / name).read_text())


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", default=False, help="run long variants")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="long variant: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
