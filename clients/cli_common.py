"""What every ``holdspace`` command shares: one-line errors, the passphrase, the home directory, and
a session with the participant's home node."""

from __future__ import annotations

import os
import sys
from collections.abc import Awaitable, Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
import trio

from clients.client import connect
from clients.participant import ClientError, Participant
from node.transport.base import TransportError
from protocol.errors import HoldspaceError

T = TypeVar("T")
PASSPHRASE_ENV = "HOLDSPACE_PASSPHRASE"  # noqa: S105 - the name of a variable, not a secret


def fail(code: str, message: str) -> None:
    click.echo(f"error: {code}: {message}", err=True)
    sys.exit(1)


def friendly(fn: Callable[..., T]) -> Callable[..., T]:
    """Turn every expected failure into one clear line."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return fn(*args, **kwargs)
        except BaseExceptionGroup as group:  # trio nurseries wrap what their tasks raise
            leaves = _leaves(group)
            if len(leaves) != 1 or not isinstance(leaves[0], HoldspaceError | TransportError | OSError):
                raise
            error: BaseException = leaves[0]
        except (HoldspaceError, TransportError, OSError) as err:
            error = err
        if isinstance(error, BrokenPipeError):  # our output was closed early (e.g. piped into head)
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(0)
        if isinstance(error, HoldspaceError):
            fail(error.code, error.message)
        elif isinstance(error, TransportError):
            fail(getattr(error, "code", "transport.error"), str(error) or "the node could not be reached")
        else:
            fail("os.error", str(error))
        raise AssertionError("unreachable")

    return wrapper


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    out: list[BaseException] = []
    for exc in group.exceptions:
        out.extend(_leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc])
    return out


def passphrase(*, confirm: bool = False) -> str:
    value = os.environ.get(PASSPHRASE_ENV)
    if value is None:
        value = click.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm)
    if not value:
        fail("client.passphrase", "an empty passphrase protects nothing")
    return value


def home_dir(ctx: click.Context) -> Path:
    return Path(ctx.obj["home"]).expanduser()


def run(fn: Callable[[], Awaitable[T]]) -> T:
    return trio.run(fn)


def session_call(ctx: click.Context, fn: Callable[[Participant, Any], Awaitable[T]]) -> tuple[Participant, T]:
    me = Participant.load(home_dir(ctx), passphrase())
    if me.node is None:
        raise ClientError("client.no_node", "no home node set: run 'holdspace id new --node ADDRESS'")
    node_address = me.node

    async def main() -> T:
        async with connect(node_address) as session:
            return await fn(me, session)

    return me, run(main)
