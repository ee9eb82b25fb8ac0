"""What every ``holdspace`` command shares: one-line errors, the passphrase, the home directory, and
a session with the participant's home node."""

from __future__ import annotations

import fcntl
import os
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
import trio

from holdspace.clients.client import connect
from holdspace.clients.i18n import _
from holdspace.clients.participant import ClientError, Participant
from holdspace.clients.plain import plain
from holdspace.node.transport.base import TransportError
from holdspace.protocol.errors import HoldspaceError

T = TypeVar("T")
LOCK_FILE = "holdspace.lock"
PASSPHRASE_ENV = "HOLDSPACE_PASSPHRASE"  # noqa: S105 - the name of a variable, not a secret
PASSPHRASE_FILE_ENV = "HOLDSPACE_PASSPHRASE_FILE"  # noqa: S105 - the name of a variable, not a secret
#: Where a bare file name given to ``--passphrase-file`` is also looked for: systemd's credentials
#: (``LoadCredential=``) and container secrets (Docker, Podman, Compose).
SECRET_DIRS_ENV = "CREDENTIALS_DIRECTORY"  # noqa: S105 - the name of a variable, not a secret
CONTAINER_SECRETS = Path("/run/secrets")


def fail(code: str, message: str) -> None:
    click.echo(_("error: {code}: {message}", code=code, message=message), err=True)
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
            fail(error.code, plain(error))
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


def passphrase(*, confirm: bool = False, file: Path | None = None) -> str:
    """The passphrase: from ``file`` (``--passphrase-file``) if given, else ``$HOLDSPACE_PASSPHRASE``,
    else a hidden prompt (confirmed twice when ``confirm``). An empty one is refused."""
    value = read_passphrase_file(file) if file is not None else os.environ.get(PASSPHRASE_ENV)
    if value is None:
        value = click.prompt(_("Passphrase"), hide_input=True, confirmation_prompt=confirm)
    if not value:
        fail("client.passphrase", _("an empty passphrase protects nothing"))
    return value


def secret_path(path: Path) -> Path:
    """Where the passphrase file ``path`` is: itself if it exists; for a bare name (no directory part)
    that is not a file here, ``$CREDENTIALS_DIRECTORY/NAME`` (systemd ``LoadCredential=``), then
    ``/run/secrets/NAME`` (container secrets). Otherwise ``path`` itself (reading it then fails)."""
    if path.exists() or path.name != str(path):
        return path
    dirs = [Path(d) for d in (os.environ.get(SECRET_DIRS_ENV),) if d] + [CONTAINER_SECRETS]
    return next((d / path.name for d in dirs if (d / path.name).is_file()), path)


def read_passphrase_file(path: Path) -> str:
    """The passphrase held in ``path`` (see :func:`secret_path`), without one trailing newline.

    Checked (each ``client.passphrase_file``): the file exists and is readable, is UTF-8, and holds
    something besides that newline."""
    found = secret_path(path)
    try:
        text = found.read_text(encoding="utf-8")
    except FileNotFoundError:
        bare = path.name == str(path)
        where = f"{path} here, in ${SECRET_DIRS_ENV} or in {CONTAINER_SECRETS}" if bare else str(path)
        raise ClientError("client.passphrase_file", _("no passphrase file {where}", where=where)) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ClientError("client.passphrase_file", f"{found}: {err}") from None
    value = text.removesuffix("\n").removesuffix("\r")
    if not value:
        raise ClientError("client.passphrase_file", _("{found} is empty", found=found))
    return value


def passphrase_file_option(fn: Callable[..., T]) -> Callable[..., T]:
    """``--passphrase-file PATH`` (or ``$HOLDSPACE_PASSPHRASE_FILE``), for commands that open a node key."""
    return click.option(
        "--passphrase-file",
        type=click.Path(path_type=Path, dir_okay=False),
        envvar=PASSPHRASE_FILE_ENV,
        help="Read the passphrase from this file (one trailing newline ignored). A bare name is also looked"
        " for in $CREDENTIALS_DIRECTORY (systemd LoadCredential=) and /run/secrets (container secrets).",
    )(fn)


def home_dir(ctx: click.Context) -> Path:
    return Path(ctx.obj["home"]).expanduser()


def run(fn: Callable[[], Awaitable[T]]) -> T:
    return trio.run(fn)


@contextmanager
def home_lock(home: Path) -> Iterator[None]:
    """Hold a home directory for the length of a command (or of the app): one process at a time
    changes its key file, so that two never sign different entries at the same log position (an
    equivocation) and neither overwrites what the other saved."""
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    with (home / LOCK_FILE).open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ClientError(
                "client.home_in_use",
                _("{home} is in use by another Holdspace process (the app?); close it, or use the app", home=home),
            ) from None
        yield


def session_call(ctx: click.Context, fn: Callable[[Participant, Any], Awaitable[T]]) -> tuple[Participant, T]:
    with home_lock(home_dir(ctx)):
        me = Participant.load(home_dir(ctx), passphrase())
        if me.node is None:
            raise ClientError("client.no_node", _("no home node set: run 'holdspace id new --node ADDRESS'"))
        node_address = me.node

        async def main() -> T:
            async with connect(node_address) as session:
                return await fn(me, session)

        return me, run(main)
