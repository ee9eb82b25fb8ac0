"""The app's engine: one participant, one connection to their home node, kept alive and in step.

It owns the participant's secrets (nothing secret ever goes to the page) and runs, under one lock,
every operation the web pages ask for. Three kinds of task keep it current:

* the connection loop: connect (QUIC, the node's key pinned), follow every group live, reconnect with
  a growing pause (1 s to 30 s) when the connection is lost, at once when asked;
* one follower per group: a live subscription whose events trigger a sync (new words are decrypted
  and kept, sealed, in the key file); any member's app shares the group's keys with a newcomer, at
  its turn for that join (``clients.keyshare``: usually one member does), and a facilitator's app
  makes the epoch clean again at once after a departure;
* the sender: what the person writes goes to the outbox first (sealed on disk before the page is
  answered), and the sender sends it whenever there is a connection. Nothing written is lost
  offline; nothing is sent twice.

Invariants: the participant is touched only by a task holding ``lock``; every node operation runs
under ``OPERATION_TIMEOUT`` and a timeout drops the connection (it is presumed dead) so that the
loop reconnects; ``version`` grows on every change the pages may show, and ``wait_change`` lets the
live-update stream sleep until it does.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import aclosing, asynccontextmanager, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import trio

from holdspace.clients import crisis, keyshare
from holdspace.clients.app.idle import CHOICES as IDLE_CHOICES
from holdspace.clients.app.idle import IdleLock
from holdspace.clients.app.notices import counts_as_new
from holdspace.clients.client import NodeSession, Received, open_session
from holdspace.clients.i18n import _
from holdspace.clients.participant import KEYFILE, UNSETTLED, ClientError, GroupRecord, Participant
from holdspace.node.limits import default_transport_limits
from holdspace.node.transport.base import TransportError
from holdspace.node.transport.quic import connect_quic
from holdspace.protocol.address import NodeAddress
from holdspace.protocol.content import Content, Text
from holdspace.protocol.errors import HoldspaceError
from holdspace.protocol.frames import ALPN_CLIENT
from holdspace.protocol.payloads import FACILITATOR

T = TypeVar("T")
log = logging.getLogger("holdspace.app")

OPERATION_TIMEOUT = 20.0  # seconds for one node operation before the connection is presumed dead
IDLE_TIMEOUT = 15.0  # a silent connection is given up after this long (keepalives every 5 s)
RECONNECT_MIN, RECONNECT_MAX = 1.0, 30.0
#: answers meaning this pseudonym is not (any more) a member of the group: following it ends
NOT_MEMBER = frozenset({"client.not_member", "group.not_member", "proto.forbidden"})
OPENED_WARNINGS = 256  # messages behind a content warning kept open at once
IDLE_CHECK_EVERY = 30.0  # seconds between looks at the idle lock
POLL_EVERY = 20.0  # seconds between looks at a group the node would not let us subscribe to
Connector = Callable[[NodeAddress], Any]  # an async context manager yielding a NodeSession


class AppError(HoldspaceError):
    family = "app"


@asynccontextmanager
async def connect_app(address: NodeAddress) -> AsyncIterator[NodeSession]:
    """Like :func:`clients.client.connect`, but a dead connection is noticed within seconds."""
    limits = replace(default_transport_limits(), idle_timeout=IDLE_TIMEOUT, keepalive_interval=IDLE_TIMEOUT / 3)
    async with (
        connect_quic(
            address.host, address.port, expected_key=address.node_key, alpn=ALPN_CLIENT, limits=limits
        ) as conn,
        open_session(conn, address.node_key) as session,
    ):
        yield session


@dataclass(frozen=True, slots=True)
class CrisisAlert:
    """Why the crisis note shows for a group: a received message (its entry id and author) the
    on-device check fired on, or neither (the person's own words)."""

    message: bytes | None = None
    author: bytes | None = None


@dataclass(frozen=True, slots=True)
class Status:
    state: str  # "locked", "connecting", "online" or "offline"
    problem: str | None  # why the last connection failed (an error code)
    waiting: int  # outbox items not yet sent
    refused: int  # outbox items a node refused


class AppService:
    def __init__(
        self,
        home: Path,
        node: NodeAddress | None = None,
        connector: Connector = connect_app,
        *,
        share_step: float = keyshare.STEP,
    ) -> None:
        self.home = home
        self.share_step = share_step  # seconds between two members' turns to share keys with a newcomer
        self.default_node = node
        self.connector = connector
        self.me: Participant | None = None
        self.lock = trio.Lock()
        self.version = 0
        self.changed_groups: set[bytes] = set()
        self.arrivals: dict[bytes, int] = {}  # group -> texts from others read since the app started (notices)
        # Groups where the on-device check fired on words shown, with the message it fired on
        # (someone else's, received), or an empty alert for the person's own words.
        self.crisis_alerts: dict[bytes, CrisisAlert] = {}
        self.flash: list[tuple[str, str, str | None]] = []  # (kind, sentence, code) shown once on the next page
        self.pending_invite: str | None = None  # an invite the app was opened with
        self.fresh_invites: dict[bytes, str] = {}  # group -> an invite just made, shown once
        self.drafts: dict[bytes, tuple[str, str]] = {}  # group -> (words, warning) a refused form held
        # Messages behind a content warning the person chose to open: only these have their words in
        # the page. At most OPENED_WARNINGS are remembered (the oldest closes again); locking forgets all.
        self.opened: OrderedDict[bytes, None] = OrderedDict()
        self.idle = IdleLock(0, 0.0)  # its minutes follow the unlocked person's setting
        self._state = "locked"
        self._problem: str | None = None
        self._changed = trio.Event()
        self._outbox_ready = trio.Event()
        self._retry = trio.Event()
        self._session: NodeSession | None = None
        self.contact: str | None = None  # the home node operator's abuse contact, from its last hello
        self._connection: trio.CancelScope | None = None  # the current connection
        self._engine: trio.CancelScope | None = None  # the connection loop of the unlocked participant
        self._opening = trio.Lock()
        self._followers: trio.Nursery | None = None
        self._following: set[bytes] = set()
        self._sharing: set[tuple[bytes, bytes]] = set()  # (group, join) a rekey is waiting its turn for
        self._nursery: trio.Nursery | None = None

    # -- state the pages show ----------------------------------------------------------------

    @property
    def has_identity(self) -> bool:
        return (self.home / KEYFILE).exists()

    def status(self) -> Status:
        outbox = self.me.outbox if self.me is not None else []
        refused = sum(1 for i in outbox if i.error is not None)
        return Status(self._state, self._problem, len(outbox) - refused, refused)

    def changed(self, *groups: bytes) -> None:
        self.version += 1
        self.changed_groups.update(groups)
        self._changed.set()
        self._changed = trio.Event()

    async def wait_change(self, seen: int) -> int:
        while self.version == seen:
            await self._changed.wait()
        return self.version

    def say(self, kind: str, sentence: str, detail: str | None = None) -> None:
        """Tell the person something on the next page; ``detail`` (an error code) goes behind "Details"."""
        self.flash.append((kind, sentence, detail))

    def take_flash(self) -> list[tuple[str, str, str | None]]:
        out, self.flash = self.flash, []
        return out

    def participant(self) -> Participant:
        if self.me is None:
            raise AppError("app.locked", _("unlock Holdspace with your passphrase first"))
        return self.me

    # -- unlocking ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Hold the nursery the connection runs in, until cancelled."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            while True:  # the idle lock, looked at twice a minute
                await trio.sleep(IDLE_CHECK_EVERY)
                if self.me is not None and self.idle.due(trio.current_time()):
                    self.lock_now()
                    self.say("info", _("Holdspace locked itself after a time without use, as set in Settings."))

    def touch(self) -> None:
        """The person used the app (a page they opened, a form they sent): the idle lock starts again."""
        self.idle.touch(trio.current_time())

    def set_idle_lock(self, minutes: int) -> None:
        """Lock after ``minutes`` without use (one of ``clients.app.idle.CHOICES``; 0: never), kept in the key file."""
        me = self.participant()
        self.idle = IdleLock(minutes, trio.current_time())
        me.idle_lock = minutes
        me.save()

    def close_now(self) -> None:
        """The app is closing: lock, and tell open pages so they show that it is not running."""
        self.lock_now()
        self._state = "closed"
        self.changed()

    async def create(self, passphrase: str, node: NodeAddress) -> None:
        if len(passphrase) < 8:
            raise AppError("app.weak_passphrase", _("choose a passphrase of at least 8 characters"))
        async with self._opening:  # one at a time: a second click waits, then finds it done
            if self.me is None:
                self._started(await trio.to_thread.run_sync(Participant.create, self.home, passphrase, node))

    async def unlock(self, passphrase: str) -> None:
        """Open the key file (Argon2id runs in a thread: the pages stay responsive meanwhile) and
        compute each group's state from the control log kept in it, so that pages are right offline."""
        async with self._opening:
            if self.me is None:
                self._started(await trio.to_thread.run_sync(_open, self.home, passphrase))

    def open_warning(self, message: bytes, open_it: bool) -> None:
        """Open (or close again) one message behind a content warning; at most OPENED_WARNINGS stay open."""
        self.opened.pop(message, None)
        if open_it:
            self.opened[message] = None
            while len(self.opened) > OPENED_WARNINGS:
                self.opened.popitem(last=False)
        self.changed()

    def lock_now(self) -> None:
        """Forget the keys: the engine stops and the page asks for the passphrase again."""
        if self._engine is not None:
            self._engine.cancel()
        self.me, self._state, self._session, self._engine = None, "locked", None, None
        self.crisis_alerts.clear()
        self.drafts.clear()
        self.opened.clear()
        self.fresh_invites.clear()
        self.changed()

    def _started(self, me: Participant) -> None:
        """Invariant: at most one engine (connection loop) runs, for the participant in ``me``."""
        if me.node is None:
            raise AppError("app.no_node", _("this identity has no home node; set one with 'holdspace id new --node'"))
        self.me = me
        self.idle = IdleLock(me.idle_lock if me.idle_lock in IDLE_CHOICES else 0, trio.current_time())
        self._engine = trio.CancelScope()
        assert self._nursery is not None
        self._nursery.start_soon(self._connection_loop, me, self._engine)
        self.changed()

    # -- the connection ----------------------------------------------------------------------

    def reconnect(self) -> None:
        self._retry.set()

    async def _connection_loop(self, me: Participant, engine: trio.CancelScope) -> None:
        with engine:
            await self._connect_again_and_again(me)

    async def _connect_again_and_again(self, me: Participant) -> None:
        assert me.node is not None
        pause = RECONNECT_MIN
        while self.me is me:
            self._set_state("connecting")
            with trio.CancelScope() as scope:
                self._connection = scope
                try:
                    async with self.connector(me.node) as session, trio.open_nursery() as followers:
                        self._session, self._followers, self._following = session, followers, set()
                        self.contact = getattr(session, "contact", None)
                        self._set_state("online")
                        pause = RECONNECT_MIN
                        for gid in list(me.groups):
                            self.follow(gid)
                        followers.start_soon(self._sender, me, session)
                except Exception as exc:
                    self._problem = _problem_code(exc)
            self._session = self._followers = None
            if self.me is not me:
                return
            self._set_state("offline")
            self._retry = trio.Event()
            with trio.move_on_after(pause):
                await self._retry.wait()
            pause = min(pause * 2, RECONNECT_MAX)

    def _set_state(self, state: str) -> None:
        self._state = state
        if state == "online":
            self._problem = None
        self.changed()

    def _drop_connection(self, code: str) -> None:
        self._problem = code
        if self._connection is not None:
            self._connection.cancel()

    def follow(self, group_id: bytes) -> None:
        """Follow a group live on the current connection (no-op offline or if already followed)."""
        if self._followers is None or self._session is None or group_id in self._following:
            return
        self._following.add(group_id)
        self._followers.start_soon(self._follow, self._session, group_id)

    async def _follow(self, session: NodeSession, group_id: bytes) -> None:
        me = self.participant()
        record = me.groups.get(group_id)
        if record is None:
            return
        try:
            await self._catch_up(session, record)
            await session.authenticate(me.pseudonym(record))
            try:
                async with aclosing(session.subscribe(group_id, record.cursor)) as batches:
                    record.following = True  # the subscription keeps the record current: sends need no fetch
                    try:
                        async for batch in batches:
                            await self._catch_up(session, record, batch)
                    finally:
                        record.following = False
            except HoldspaceError as err:
                if err.code != "proto.busy":
                    raise
            # More groups than the node lets one connection subscribe to: look now and then instead.
            while group_id in me.groups:
                await trio.sleep(POLL_EVERY)
                await self._catch_up(session, record)
        except HoldspaceError as err:
            if err.code in UNSETTLED or isinstance(err, AppError):
                raise
            if err.code in NOT_MEMBER:
                self._following.discard(group_id)  # removed, or left: nothing more to follow
                return
            # Anything else (an entry that does not verify, say): this group only is looked at again
            # later, on this connection; the others go on.
            log.warning("following a group failed (%s); trying again in %.0f s", err.code, POLL_EVERY)
            await trio.sleep(POLL_EVERY)
            self._following.discard(group_id)
            self.follow(group_id)

    async def _catch_up(self, session: NodeSession, record: GroupRecord, batch: list[Received] | None = None) -> None:
        """Take a batch the live subscription delivered (no fetch: the entries are in it), or without
        one fetch what the node has for the group (at the start, and when polling)."""
        me = self.participant()
        async with self.lock:
            with _deadline():
                before = len(record.messages)
                if batch is None:
                    state = await me.sync(session, record)
                else:
                    state = await me.take(session, record, [r for r in batch if r.cursor > record.cursor])
                    me.save()
                mine = me.pseudonym(record).public_key
                epoch = state.current_epoch
                if epoch is None or not state.epoch_is_clean(epoch):
                    turn = keyshare.my_turn(state, mine, self.share_step)
                    if turn is not None and turn[1] > 0:  # a newcomer, and others share keys before us
                        self._share_later(session, record, *turn)
                    elif turn is not None or state.role_of(mine) == FACILITATOR:
                        await me.ensure_clean_epoch(session, record)  # newcomers get the group's keys
                if state.invites:  # an expired invite is closed, so no host lets a late join in (12.5)
                    await me.close_expired_invites(session, record, state)
                new = record.messages[before:]
        fresh = sum(1 for m in new if counts_as_new(m, mine))
        if fresh:
            self.arrivals[record.group_id] = self.arrivals.get(record.group_id, 0) + fresh
        fired = [m for m in new if m.author != mine and m.text and crisis.check(m.text)]
        if me.crisis_check and fired:  # the latest such message: a facilitator's note points to it
            self.crisis_alerts[record.group_id] = CrisisAlert(fired[-1].entry_id, fired[-1].author)
        self.changed(record.group_id)

    def _share_later(self, session: NodeSession, record: GroupRecord, join: bytes, delay: float) -> None:
        """Share the group's keys for ``join`` after ``delay`` seconds (once per join at a time)."""
        key = (record.group_id, join)
        if key in self._sharing or self._followers is None:
            return
        self._sharing.add(key)
        self._followers.start_soon(self._share_keys, session, record, join, delay)

    async def _share_keys(self, session: NodeSession, record: GroupRecord, join: bytes, delay: float) -> None:
        """Wait our turn, then publish the rekey the join is owed, unless it is not owed any more
        (a rekey that makes the epoch clean arrived meanwhile, or another join changed the turns:
        that one is scheduled on its own)."""
        try:
            await trio.sleep(delay)
            me = self.participant()
            async with self.lock:
                state = record.state
                if state is None or self.me is not me or record.group_id not in me.groups:
                    return
                turn = keyshare.my_turn(state, me.pseudonym(record).public_key, self.share_step)
                if turn is None or turn[0] != join:
                    return
                with _deadline():
                    await me.ensure_clean_epoch(session, record)  # syncs first: no rekey if one arrived
            self.changed(record.group_id)
        except HoldspaceError as err:
            # The next batch of the group schedules it again; the connection and other groups go on.
            log.warning("sharing keys with a newcomer failed (%s)", err.code)
        finally:
            self._sharing.discard((record.group_id, join))

    async def _sender(self, me: Participant, session: NodeSession) -> None:
        while True:
            self._outbox_ready = trio.Event()
            if any(i.error is None for i in me.outbox):
                async with self.lock:
                    groups = {i.group_id for i in me.outbox}
                    with _deadline(OPERATION_TIMEOUT * 3):
                        await me.send_outbox(session)
                self.changed(*groups)
            await self._outbox_ready.wait()

    # -- what the pages ask for --------------------------------------------------------------

    def queue(
        self, record: GroupRecord, content: Content, *, ttl_ms: int | None = None, to_facilitators: bool = False
    ) -> None:
        """Keep what was written (sealed on disk) and send it as soon as there is a connection."""
        me = self.participant()
        me.queue(record, content, ttl_ms=ttl_ms, to_facilitators=to_facilitators)
        if self._session is None:
            self.reconnect()
        if me.crisis_check and isinstance(content, Text) and crisis.check(content.body):
            self.crisis_alerts.setdefault(record.group_id, CrisisAlert())
        self._outbox_ready.set()
        self.changed(record.group_id)

    def retry_refused(self, item_id: bytes) -> None:
        me = self.participant()
        for item in me.outbox:
            if item.item_id == item_id:
                item.error = None
        me.save()
        self._outbox_ready.set()
        self.changed()

    async def call(self, fn: Callable[[Participant, NodeSession], Awaitable[T]]) -> T:
        """Run one operation that needs the node now (join, invite, remove...), under the lock."""
        me = self.participant()
        if self._session is None:
            self.reconnect()  # the person is waiting: try now rather than at the end of the pause
            with trio.move_on_after(OPERATION_TIMEOUT / 2):
                while self._session is None and self.me is me:
                    await self.wait_change(self.version)
        session = self._session
        if session is None:
            raise AppError(
                "app.offline",
                _("you are offline, and this needs your community's server; try again once you are connected"),
            )
        try:
            async with self.lock:
                with trio.fail_after(OPERATION_TIMEOUT):
                    return await fn(me, session)
        except trio.TooSlowError:
            self._drop_connection("app.node_timeout")
            raise AppError(
                "app.node_timeout", _("your community's server did not answer in time; reconnecting")
            ) from None
        except (TransportError, OSError) as err:
            self._drop_connection(getattr(err, "code", "transport.unreachable"))
            raise AppError(
                "app.offline", _("the connection to your community's server was lost; reconnecting")
            ) from None
        finally:
            self.changed()


def _open(home: Path, passphrase: str) -> Participant:
    me = Participant.load(home, passphrase)
    me.compute_states()
    return me


@contextmanager
def _deadline(seconds: float = OPERATION_TIMEOUT) -> Iterator[None]:
    """A node that does not answer in time is presumed gone: the connection loop reconnects."""
    try:
        with trio.fail_after(seconds):
            yield
    except trio.TooSlowError:
        raise AppError("app.node_timeout", _("your community's server did not answer in time")) from None


def _problem_code(exc: BaseException) -> str:
    """The code shown for a lost connection. An unexpected failure is logged (its type and where it
    happened; never words or keys) and the app carries on."""
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    if isinstance(exc, HoldspaceError):
        return exc.code
    if isinstance(exc, TransportError | OSError):
        return getattr(exc, "code", "transport.unreachable")
    log.error("connection ended by an unexpected %s", type(exc).__name__, exc_info=exc)
    return "app.internal"


__all__ = ["AppError", "AppService", "ClientError", "CrisisAlert", "Status", "connect_app"]
