"""The app's engine under virtual time (trio's MockClock): it reconnects after a lost or refused
connection with a growing pause, at once when asked, and survives any failure of a connection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio
import trio.testing

from holdspace.clients.app.idle import IdleLock
from holdspace.clients.app.service import RECONNECT_MAX, AppService
from holdspace.clients.participant import Participant
from holdspace.node.transport.base import ConnectFailed
from holdspace.protocol.address import NodeAddress
from tests.node.conftest import running_node, session

NODE = NodeAddress(b"\x07" * 32, "127.0.0.1", 4433)


class Unreachable:
    """A connector whose every attempt fails, as ``failure`` says; it notes when each was made."""

    def __init__(self, failure: Exception) -> None:
        self.failure = failure
        self.attempts: list[float] = []

    @asynccontextmanager
    async def __call__(self, address: NodeAddress) -> AsyncIterator[None]:
        self.attempts.append(trio.current_time())
        raise self.failure
        yield  # pragma: no cover - never reached


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("home")
    Participant.create(home, "a passphrase of eight", NODE)
    return home


async def run_service(
    home: Path, connector: Unreachable, seconds: float, *, poke_at: float | None = None
) -> AppService:
    service = AppService(home, connector=connector)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(service.run)
        await trio.testing.wait_all_tasks_blocked()
        await service.unlock("a passphrase of eight")
        if poke_at is not None:
            await trio.sleep(poke_at)
            service.reconnect()
        await trio.sleep(seconds - (poke_at or 0))
        nursery.cancel_scope.cancel()
    return service


@pytest.mark.parametrize("failure", [ConnectFailed("refused"), RuntimeError("a bug in a connection")])
async def test_reconnects_with_a_growing_pause_and_stays_up(home: Path, failure: Exception, autojump_clock) -> None:  # type: ignore[no-untyped-def]
    connector = Unreachable(failure)
    service = await run_service(home, connector, 200.0)
    start = connector.attempts[0]
    pauses = [round(b - a, 3) for a, b in zip(connector.attempts, connector.attempts[1:], strict=False)]
    assert pauses[:6] == [1.0, 2.0, 4.0, 8.0, 16.0, RECONNECT_MAX]
    assert set(pauses[5:]) == {RECONNECT_MAX}
    assert connector.attempts[-1] - start > 150  # it never gave up
    status = service.status()
    assert status.state == "offline"
    assert status.problem == ("transport.connect_failed" if isinstance(failure, ConnectFailed) else "app.internal")


async def test_asking_to_reconnect_tries_at_once(home: Path, autojump_clock) -> None:  # type: ignore[no-untyped-def]
    connector = Unreachable(ConnectFailed("refused"))
    await run_service(home, connector, 40.0, poke_at=20.0)
    # 0, 1, 3, 7, 15 by the growing pause; then the person asks at 20, not at the next (31).
    assert [round(t - connector.attempts[0], 3) for t in connector.attempts[:6]] == [0.0, 1.0, 3.0, 7.0, 15.0, 20.0]


async def test_two_unlocks_at_once_start_one_engine_and_lock_stops_it(home: Path, autojump_clock) -> None:  # type: ignore[no-untyped-def]
    connector = Unreachable(ConnectFailed("refused"))
    service = AppService(home, connector=connector)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(service.run)
        await trio.testing.wait_all_tasks_blocked()
        async with trio.open_nursery() as clicks:  # a double click on Unlock
            clicks.start_soon(service.unlock, "a passphrase of eight")
            clicks.start_soon(service.unlock, "a passphrase of eight")
        await trio.sleep(0.5)
        assert len(connector.attempts) == 1  # one engine, not two writers of one key file
        service.lock_now()
        tried = len(connector.attempts)
        await trio.sleep(120)
        assert len(connector.attempts) == tried  # locked: nothing runs any more
        nursery.cancel_scope.cancel()


async def test_more_groups_than_the_node_lets_one_connection_follow(tmp_path: Path) -> None:
    """The node allows 16 subscriptions per connection; a person in 18 groups stays online and
    still hears from the groups past the limit (looked at now and then)."""
    async with running_node(tmp_path / "node") as (_, address), session(address) as s:
        me = Participant.create(tmp_path / "me", "a passphrase of eight", address)
        for i in range(18):
            await me.create_group(s, f"group {i}")
        service = AppService(tmp_path / "me")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(service.run)
            await service.unlock("a passphrase of eight")
            with trio.fail_after(30):
                while service.status().state != "online" or len(service._following) < 18:
                    await service.wait_change(service.version)
            seen = set()
            with trio.move_on_after(3):  # watch every change for a while: the connection never drops
                while True:
                    await service.wait_change(service.version)
                    seen.add(service.status().state)
            assert seen <= {"online"} and service.status().problem is None
            nursery.cancel_scope.cancel()


async def test_the_app_locks_itself_after_the_time_the_person_chose(tmp_path: Path, autojump_clock) -> None:  # type: ignore[no-untyped-def]
    Participant.create(tmp_path / "me", "a passphrase of eight", NODE)
    service = AppService(tmp_path / "me", connector=Unreachable(ConnectFailed("refused")))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(service.run)
        await service.unlock("a passphrase of eight")
        await trio.sleep(3600)
        assert service.me is not None  # never, by default
        service.set_idle_lock(5)
        for _ in range(20):  # in use every 4 minutes for 80 minutes: never locked
            await trio.sleep(240)
            assert service.me is not None
            service.touch()
        await trio.sleep(5 * 60 + 31)  # then left alone: locked within the next look (every 30 s)
        assert service.me is None and service.status().state == "locked"
        assert any("locked itself" in sentence for _, sentence, _ in service.take_flash())
        await service.unlock("a passphrase of eight")  # the choice was kept in the key file
        assert service.me is not None and service.me.idle_lock == 5
        nursery.cancel_scope.cancel()


def test_the_idle_lock_rules() -> None:
    lock = IdleLock(15, now=100.0)
    assert not lock.due(100.0 + 15 * 60 - 1) and lock.due(100.0 + 15 * 60)
    lock.touch(1000.0)
    lock.touch(900.0)  # a late touch from an older clock reading does not move it back
    assert not lock.due(1000.0 + 15 * 60 - 1) and lock.due(1000.0 + 15 * 60)
    assert not IdleLock(0, now=0.0).due(10**9)  # never
    with pytest.raises(ValueError, match="idle lock"):
        IdleLock(7, now=0.0)
