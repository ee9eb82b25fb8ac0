"""The simulations' virtual time: every test here that asks for ``autojump_clock`` gets the
simulator's own clock, which also delivers the simulated network's arrivals (simulations/clock.py)."""

from __future__ import annotations

import pytest

from holdspace.simulations.clock import WireClock


@pytest.fixture
def autojump_clock() -> WireClock:
    return WireClock()
