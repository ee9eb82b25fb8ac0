import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# No per-example deadline: speed is measured in benchmarks, never asserted in tests, and on a loaded
# machine hypothesis's 200 ms default fails correct code as "too slow" (or "flaky").
settings.register_profile("holdspace", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("holdspace")

# The suite asserts English text: the commands it runs speak English whatever the machine's locale
# (LANGUAGE wins over LC_ALL and LANG); a test of another language sets its own environment.
os.environ["LANGUAGE"] = "en"

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
