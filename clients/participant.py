"""A participant: their secrets, their groups, and the group operations a client performs.

A participant's secrets (the master secret, per-group log positions, epoch chains, the entry being
sent, and the key of the history) live in ``<home>/holdspace.keys``, sealed with the passphrase
(``protocol.keyfile``: Argon2id + secretbox); the file is small, does not grow with messages, and is
never written larger than loading accepts. Everything that grows with use (messages read, control
logs, entries read, the outbox) lives in the device history beside it (``clients.history``), one
sealed record per item. Nothing secret is ever written in the clear. Message keys are single-use
(forward secrecy), so read messages are kept, encrypted, on the device.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from holdspace.clients.client import NodeSession, Received
from holdspace.clients.corrections import edit_candidates
from holdspace.clients.history import (
    DEFAULT_BUDGET,
    HISTORY_KEY,
    MAX_BUDGET,
    MIN_BUDGET,
    HistoryStore,
    discard_history,
    open_history,
)
from holdspace.clients.history_keys import history_blobs, take_history
from holdspace.clients.i18n import LANGUAGES
from holdspace.clients.message_log import MemoryLog, StoredLog, StoredSeen
from holdspace.clients.records import Message, Outgoing
from holdspace.clients.support import current_pin, current_profile, group_profile, group_title, is_facilitator
from holdspace.protocol import codec, e2ee, kinds
from holdspace.protocol.address import MAX_HOSTS, MAX_INVITE_NAME, InviteToken, NodeAddress
from holdspace.protocol.author import InviteSecret, LogWriter, create_group, host, invite, leave, mute, remove
from holdspace.protocol.content import (
    MAX_GROUP_NAME,
    Content,
    Disclosure,
    DisplayName,
    Pin,
    Profile,
    Quote,
    SessionDetails,
    Text,
    decode_content,
    encode_content,
)
from holdspace.protocol.entry import Entry, decode_entry
from holdspace.protocol.errors import HoldspaceError
from holdspace.protocol.forks import Forks, forks_of
from holdspace.protocol.group import Computation, DecodeCache, GroupState, compute, extend, silenced
from holdspace.protocol.identity import Pseudonym, genesis_context, group_context, new_master_secret
from holdspace.protocol.keyfile import MAX_KEYFILE, KeyfileError, SealingKey, derive_sealing_key, open_secret, seal_with
from holdspace.protocol.log import verify_fork_proof
from holdspace.protocol.oneline import clip
from holdspace.protocol.payloads import (
    FACILITATOR,
    HISTORY_FROM_JOIN,
    MEMBER,
    MODERATOR,
    RANK,
    Close,
    Erase,
    Genesis,
    History,
    Redact,
    Rekey,
    Session,
    Settings,
    Trust,
    decode_direct,
    decode_envelope,
    decode_payload,
    envelope_expiry,
    is_history,
)
from holdspace.protocol.schedule import is_zone, retention_deadline

KEYFILE = "holdspace.keys"
#: a version 1 key file (every message in it) is read up to this size, to be migrated
LEGACY_MAX_KEYFILE = 256 * 1024 * 1024
#: answers after which the entry may be stored somewhere: it stays pending and is sent again as it is
UNSETTLED = frozenset({"fed.unreachable", "proto.busy", "proto.rate_limited"})
STATE_VERSION = 2
STALE_RETRIES = 4  # a control entry signed again after group.stale_deps (the group changed meanwhile)
#: a member other than a facilitator closes an expired invite this long after its expiry, the delay
#: chosen from its own key in this range, so that one member, most of the time, signs the close
CLOSE_DELAY_MS = (10 * 60_000, 60 * 60_000)


class ClientError(HoldspaceError):
    family = "client"


def write_private(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically, readable by this user only, on disk before it returns
    (a temporary file beside it, fsynced, then renamed over it): a crash leaves the old or the new."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(slots=True)
class GroupRecord:
    group_id: bytes
    context: bytes
    name: str | None
    seq: int = 0
    prev: bytes | None = None
    keys: e2ee.GroupKeys | None = None
    messages: MemoryLog | StoredLog = field(default_factory=MemoryLog)  # in arrival order
    seen: set[tuple[bytes, int]] | StoredSeen = field(default_factory=set)  # (author, seq) of entries read
    pending: tuple[bytes, bytes | None] | None = None  # our signed entry sent but not yet acknowledged
    pending_words: tuple[bytes, bytes] | None = None  # its (plaintext, key), kept once it is acknowledged
    log_heads: dict[bytes, int] = field(default_factory=dict)  # author -> highest seq seen at the last sync
    hosts: list[str] = field(default_factory=list)  # the group's hosts as the invite named them (for joining)
    cursor: int = 0  # the home node's arrival cursor of the last entry read from it
    genesis: Entry | None = None
    controls: list[Entry] = field(default_factory=list)  # every control entry read, verified, in arrival order
    state: GroupState | None = None  # computed from genesis and controls (not saved)
    following: bool = False  # a live subscription absorbs every entry as it arrives (not saved)
    unread_own: bool = False  # we published a control entry the state does not show yet: fetch it
    computation: Computation | None = None  # what ``state`` came from, extended entry by entry
    cache: DecodeCache = field(default_factory=DecodeCache)  # decoded control payloads
    epochs_quoted: set[bytes] = field(default_factory=set)  # epochs into which we carried the pin (not saved)
    forks: Forks | None = None  # proven forks, asked of the node when a d names what we lack (not saved)
    controls_saved: int = 0  # how many of ``controls`` the history holds (-1: its records are to be replaced)
    genesis_saved: bool = False
    prune_mark: bytes | None = None  # what deletions were last decided on (``_deletion_mark``)
    # not saved: the state (and its number of control entries) that ``prune_mark`` was computed from,
    # and the state whose first ``epochs_looked_at`` epochs ``absorb`` has opened what it could of
    mark_basis: tuple[GroupState | None, int] | None = None
    epochs_of: GroupState | None = None
    epochs_looked_at: int = 0
    read_mark: int | None = None  # the home node's cursor the person last had on screen (None: never opened)


def _may_not_prune(kind: int, plaintext: codec.CborValue) -> bool:
    """Words the storage budget never removes: the group's crisis resources and profile (a pin or a
    profile, or one quoted to newcomers), display names, and a session's details (its title)."""
    if kind == kinds.SESSION:
        return True
    try:
        content = decode_content(plaintext) if isinstance(plaintext, bytes) else None
    except HoldspaceError:
        return False
    return isinstance(content, (Pin, Profile, Quote, DisplayName))


def _deletion_mark(state: GroupState | None) -> bytes:
    """A digest of what decides which messages must go (redactions, erasures, sessions and their
    retention, mutes): while it is unchanged, only new messages and noted deadlines need looking at."""
    if state is None:
        return b""
    parts = [author + key for author, key in sorted(state.redactions)]
    parts += [key + seq.to_bytes(8, "big") for key, seq in sorted(state.erased.items())]
    parts += [
        sid + s.entry_id + s.spec.encode() + (s.cancelled_at_ms or 0).to_bytes(8, "big")
        for sid, s in sorted(state.sessions.items())
    ]
    parts += [key + m.entry_id for key in sorted(state.mutes) for m in state.mutes[key]]
    return hashlib.blake2b(b"\x00".join(parts), digest_size=16).digest()


def _chain_to_cbor(chain: e2ee.Chain) -> codec.CborValue:
    return [chain.key, chain.next_index, [[i, k] for i, k in sorted(chain.skipped.items())]]


def _chain_from_cbor(value: codec.CborValue) -> e2ee.Chain:
    assert isinstance(value, list)
    key, index, skipped = value
    assert isinstance(key, bytes) and isinstance(index, int) and isinstance(skipped, list)
    return e2ee.Chain(key, index, {int(i): bytes(k) for i, k in skipped})  # type: ignore[misc, call-overload]


class Participant:
    """One person's client state (one home directory)."""

    #: Where time and randomness come from: the system's, except in the simulator (virtual time and
    #: a seeded generator, so that a run can be replayed exactly).
    clock: Callable[[], int] = staticmethod(now_ms)
    random: Callable[[int], bytes] = staticmethod(os.urandom)

    def __init__(self, home: Path, passphrase: str, master: bytes, node: NodeAddress | None) -> None:
        self.home = home
        self.passphrase = passphrase
        self.master = master
        self.node = node
        self.groups: dict[bytes, GroupRecord] = {}
        self.crisis_check = True  # the on-device check for crisis language (clients.crisis); the user may turn it off
        self.notify = False  # the page shows notices without words (clients.app.notices); off unless chosen
        self.idle_lock = 0  # minutes without use after which the app locks itself (clients.app.idle); 0: never
        self.language: str | None = None  # the app's language (clients.i18n.LANGUAGES); None: the browser's
        self._pseudonyms: dict[bytes, Pseudonym] = {}  # context -> derived pseudonym (derivation costs ~0.1 ms)
        self._sealing: SealingKey | None = None  # derived from the passphrase at the first save, then reused
        self.outbox: list[Outgoing] = []  # what the person wrote that no node has acknowledged yet
        self.history: HistoryStore | None = None  # the device history (None: kept in memory only)
        self.history_key: bytes | None = None  # the key its records are sealed under (kept in the key file)
        self._history_came: set[bytes] = set()  # groups whose earlier epochs' keys arrived since the last take
        self.budget = DEFAULT_BUDGET  # bytes of history this device may keep (words are pruned beyond)
        self._outbox_saved: list[bytes] = []  # the outbox as last written to the history
        self._saved: bytes | None = None  # the key file's contents as last written
        self.backup_key: bytes | None = None  # seals identity backups (clients.recovery); never the recovery words

    # -- persistence -------------------------------------------------------------------------
    #
    # Key file (version 2, sealed with the passphrase, bounded: it does not grow with messages):
    #   {"v": 2, "master", "node", "crisis_check", "history_key", "budget", ? "backup_key", ? "idle_lock", ? "notify",
    #    ? "language",
    #    "groups": {gid hex: {"ctx", "name", "seq", "prev", "epochs", "pending", "pending_words",
    #                         "hosts", "cursor", "mark", ? "read"}}}
    # History (clients.history): messages, their words, control entries, entries read, the outbox.
    # Version 1 key files (everything in the one file) are migrated at load.

    @classmethod
    def create(
        cls, home: Path, passphrase: str, node: NodeAddress | None, *, master: bytes | None = None
    ) -> Participant:
        """A new identity in ``home`` (``master``: an existing master secret, restored from a backup)."""
        if (home / KEYFILE).exists():
            raise ClientError("client.exists", f"{home / KEYFILE} already exists")
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        me = cls(home, passphrase, master if master is not None else new_master_secret(), node)
        me._open_history(os.urandom(HISTORY_KEY), fresh=True)
        me.save()
        return me

    def _open_history(self, history_key: bytes, *, fresh: bool = False) -> HistoryStore:
        """Open (``fresh``: first empty) the history beside the key file, under ``history_key``."""
        if fresh:
            discard_history(self.home)
        store = open_history(self.home)
        store.unlock(history_key)
        self.history, self.history_key = store, history_key
        return store

    def _attach(self, record: GroupRecord) -> GroupRecord:
        """Keep the record's messages and entries read in the history (if this participant has one)."""
        if self.history is not None:
            record.messages = StoredLog(self.history, record.group_id)
            record.seen = StoredSeen(self.history, record.group_id)
        return record

    @classmethod
    def load(cls, home: Path, passphrase: str) -> Participant:
        path = home / KEYFILE
        if not path.exists():
            raise ClientError("client.no_identity", f"no identity in {home}: run 'holdspace id new' first")
        sealed = path.read_bytes()
        # A file larger than a key file may be can only be one of version 1 (written before the
        # history was kept apart): it is opened to be migrated.
        limit = MAX_KEYFILE if len(sealed) <= MAX_KEYFILE else LEGACY_MAX_KEYFILE
        data = codec.decode(open_secret(passphrase, sealed, max_size=limit), max_size=limit)
        assert isinstance(data, dict)
        master, node = data["master"], data["node"]
        assert isinstance(master, bytes)
        me = cls(home, passphrase, master, NodeAddress.parse(node) if isinstance(node, str) else None)
        me.crisis_check = data.get("crisis_check") is not False
        idle_lock = data.get("idle_lock", 0)
        me.idle_lock = idle_lock if isinstance(idle_lock, int) and 0 <= idle_lock <= 24 * 60 else 0
        me.notify = data.get("notify") is True
        chosen = data.get("language")
        me.language = chosen if isinstance(chosen, str) and chosen in LANGUAGES else None
        backup_key = data.get("backup_key")
        me.backup_key = backup_key if isinstance(backup_key, bytes) else None
        version = data.get("v", 1)
        if version == STATE_VERSION:
            me._load_v2(data)
        elif version == 1:
            me._migrate_v1(data)
        else:
            raise KeyfileError("keyfile.malformed", f"a key file of version {version!r}, newer than this client")
        return me

    def _load_v2(self, data: dict[str, codec.CborValue]) -> None:
        history_key, budget = data["history_key"], data.get("budget")
        assert isinstance(history_key, bytes)
        self.budget = budget if isinstance(budget, int) else DEFAULT_BUDGET
        store = self._open_history(history_key)
        groups = data["groups"]
        assert isinstance(groups, dict)
        for gid_hex, g in groups.items():
            record = self._attach(self._group_from(bytes.fromhex(gid_hex), g))
            assert isinstance(g, dict)
            mark = g.get("mark")
            record.prune_mark = mark if isinstance(mark, bytes) else None
            read = g.get("read")
            record.read_mark = read if isinstance(read, int) and read >= 0 else None
            self._load_controls(record)
            self.groups[record.group_id] = record
        for key, sealed in store.scan(b"out", b""):
            try:
                self.outbox.append(Outgoing.from_cbor(store.open(b"out", key, sealed)))
            except (HoldspaceError, AssertionError, TypeError):
                continue  # counted as damaged: the rest of the outbox is intact
        self._outbox_saved = [codec.encode(i.to_cbor()) for i in self.outbox]

    def _load_controls(self, record: GroupRecord) -> None:
        """The group's genesis and control log from the history. If any record of it does not open,
        the log is fetched again from the start at the next sync (``cursor = 0``): group state is
        never computed from part of a log."""
        assert self.history is not None
        prefix = self.history.tag(record.group_id)
        genesis: Entry | None = None
        controls: list[Entry] = []
        try:
            for key, sealed in self.history.scan(b"ctl", prefix):
                value = self.history.open(b"ctl", key, sealed)
                assert isinstance(value, list) and len(value) == 2 and isinstance(value[0], bytes)
                payload = value[1]
                assert payload is None or isinstance(payload, bytes)
                entry = decode_entry(value[0], payload, now_ms=None)
                if key[len(prefix) :] == b"g":
                    genesis = entry
                else:
                    controls.append(entry)
        except (HoldspaceError, AssertionError):
            record.cursor, record.genesis, record.controls, record.controls_saved = 0, None, [], -1
            return
        record.genesis, record.controls = genesis, controls
        record.controls_saved, record.genesis_saved = len(controls), genesis is not None
        if genesis is None and not controls:
            record.cursor = 0

    def _migrate_v1(self, data: dict[str, codec.CborValue]) -> None:
        """Move a version 1 key file's history into the history store, then write the key file as
        version 2 (in place, atomically: until then the version 1 file stays as it was, and a
        migration cut short is simply done again)."""
        outbox = data.get("outbox")
        self.outbox = [Outgoing.from_cbor(item) for item in outbox] if isinstance(outbox, list) else []
        self._open_history(os.urandom(HISTORY_KEY), fresh=True)
        groups = data["groups"]
        assert isinstance(groups, dict)
        for gid_hex, g in groups.items():
            gid = bytes.fromhex(gid_hex)
            record = self._group_from(gid, g)
            assert isinstance(g, dict)
            cursor, log = g.get("cursor", 0), g.get("log", [])
            if isinstance(cursor, int) and isinstance(log, list):
                entries = [decode_entry(h, b, now_ms=None) for h, b in log]  # type: ignore[misc, arg-type]
                record.cursor = cursor if entries else 0
                record.genesis = next((e for e in entries if e.kind == kinds.GENESIS), None)
                record.controls = [e for e in entries if e.kind != kinds.GENESIS]
            messages, seen = [], set()
            listed = g["messages"]
            assert isinstance(listed, list)
            for m in listed:
                msg = Message.from_cbor(m)
                if msg.plaintext is None and msg.text is not None and msg.deleted is None:
                    msg.plaintext = encode_content(Text(msg.text))  # written before content was typed
                messages.append(msg)
                seen.add((msg.author, msg.seq))
            self._attach(record)
            record.messages.extend(messages)
            record.seen.update(seen)
            self.groups[gid] = record
        self.save()

    def _group_from(self, gid: bytes, g: codec.CborValue) -> GroupRecord:
        """A group's secrets and positions from the key file (either version)."""
        assert isinstance(g, dict)
        ctx, name, seq, prev = g["ctx"], g["name"], g["seq"], g["prev"]
        assert isinstance(ctx, bytes) and isinstance(seq, int)
        record = GroupRecord(
            gid, ctx, name if isinstance(name, str) else None, seq, prev if isinstance(prev, bytes) else None
        )
        record.keys = e2ee.GroupKeys(gid, Pseudonym.derive(self.master, ctx))
        epochs = g["epochs"]
        assert isinstance(epochs, dict)
        for eid_hex, ep in epochs.items():
            assert isinstance(ep, dict)
            chains = ep["chains"]
            assert isinstance(chains, dict)
            key = ep["key"]
            record.keys.epochs[bytes.fromhex(eid_hex)] = e2ee.EpochKeys(
                bytes.fromhex(eid_hex),
                {bytes.fromhex(m): _chain_from_cbor(c) for m, c in chains.items()},
                key if isinstance(key, bytes) else None,
            )
        hosts = g.get("hosts")
        if isinstance(hosts, list):
            record.hosts = [h for h in hosts if isinstance(h, str)]
        pending = g.get("pending")
        if isinstance(pending, list) and isinstance(pending[0], bytes):
            record.pending = (pending[0], pending[1] if isinstance(pending[1], bytes) else None)
        words = g.get("pending_words")
        if isinstance(words, list) and len(words) == 2 and isinstance(words[0], bytes) and isinstance(words[1], bytes):
            record.pending_words = (words[0], words[1])
        cursor = g.get("cursor", 0)
        record.cursor = cursor if isinstance(cursor, int) else 0
        return record

    def _save_history(self) -> None:
        """Write what is new in the control logs and the outbox, keep to the budget, and flush."""
        store = self.history
        assert store is not None
        for r in self.groups.values():
            prefix = store.tag(r.group_id)
            puts: list[tuple[bytes, bytes, codec.CborValue]] = []
            deletes: list[tuple[bytes, bytes]] = []
            if r.controls_saved < 0:  # a damaged log, fetched again: the old records go
                deletes = [(b"ctl", k) for k, _ in store.scan(b"ctl", prefix)]
                r.controls_saved, r.genesis_saved = 0, False
            if r.genesis is not None and not r.genesis_saved:
                puts.append((b"ctl", prefix + b"g", [r.genesis.raw, r.genesis.payload]))
                r.genesis_saved = True
            for i in range(r.controls_saved, len(r.controls)):
                e = r.controls[i]
                puts.append((b"ctl", prefix + i.to_bytes(8, "big"), [e.raw, e.payload]))
            r.controls_saved = len(r.controls)
            if puts or deletes:
                store.write(puts, deletes)
        outbox = [codec.encode(i.to_cbor()) for i in self.outbox]
        if outbox != self._outbox_saved:
            store.write(
                [(b"out", i.to_bytes(8, "big"), item.to_cbor()) for i, item in enumerate(self.outbox)],
                [(b"out", k) for k, _ in store.scan(b"out", b"")],
            )
            self._outbox_saved = outbox
        store.enforce(self.budget, _may_not_prune)
        store.sync()

    def save(self) -> None:
        """Save what changed: the history first (appended as it came), then the key file, which
        holds only secrets and positions. A key file that loading would refuse is never written:
        ``client.keyfile_full`` instead, and the file on disk stays as it was."""
        if self.history is None or self.history_key is None:
            raise ClientError("client.no_identity", "this participant has no home to save to")
        self._save_history()
        groups: dict[str, codec.CborValue] = {}
        for gid, r in self.groups.items():
            epochs: dict[str, codec.CborValue] = {}
            if r.keys is not None:
                for eid, ep in r.keys.epochs.items():
                    epochs[eid.hex()] = {
                        "key": ep.epoch_key,
                        "chains": {m.hex(): _chain_to_cbor(c) for m, c in ep.chains.items()},
                    }
            kept: dict[str, codec.CborValue] = {
                "ctx": r.context,
                "name": r.name,
                "seq": r.seq,
                "prev": r.prev,
                "epochs": epochs,
                "pending": list(r.pending) if r.pending else None,
                "pending_words": list(r.pending_words) if r.pending_words else None,
                "hosts": [*r.hosts],
                "cursor": r.cursor,
                "mark": r.prune_mark,
            }
            if r.read_mark is not None:
                kept["read"] = r.read_mark
            groups[gid.hex()] = kept
        data: dict[str, codec.CborValue] = {
            "v": STATE_VERSION,
            "master": self.master,
            "node": str(self.node) if self.node else None,
            "groups": groups,
            "crisis_check": self.crisis_check,
            "history_key": self.history_key,
            "budget": self.budget,
        }
        if self.backup_key is not None:
            data["backup_key"] = self.backup_key
        if self.idle_lock:
            data["idle_lock"] = self.idle_lock
        if self.notify:
            data["notify"] = True
        if self.language is not None:
            data["language"] = self.language
        plain = codec.encode(data)
        if plain == self._saved:
            return  # nothing secret changed: the file on disk says it already
        if self._sealing is None:
            self._sealing = derive_sealing_key(self.passphrase)
        sealed = seal_with(self._sealing, plain)
        if len(sealed) > MAX_KEYFILE:
            raise ClientError(
                "client.keyfile_full",
                f"the key file would be {len(sealed):,} bytes, more than the {MAX_KEYFILE:,} it may be"
                " (nothing was written)",
            )
        write_private(self.home / KEYFILE, sealed)
        self._saved = plain

    # -- the storage budget ------------------------------------------------------------------

    def set_budget(self, budget: int) -> int:
        """Set this device's storage budget (bytes) and keep to it now; returns messages pruned."""
        if not MIN_BUDGET <= budget <= MAX_BUDGET:
            raise ClientError(
                "client.bad_argument", f"the storage budget must be from {MIN_BUDGET:,} to {MAX_BUDGET:,} bytes"
            )
        before = self.pruned_total()
        self.budget = budget
        self.save()
        return self.pruned_total() - before

    def pruned(self, record: GroupRecord) -> int:
        """How many of the group's older messages lost their words to the storage budget."""
        if self.history is None:
            return 0
        return self.history.counter(b"pruned" + self.history.tag(record.group_id))

    def pruned_total(self) -> int:
        return sum(self.pruned(r) for r in self.groups.values())

    def storage(self) -> dict[str, int]:
        """What the history holds: record bytes (what the budget counts), the file, the budget,
        messages pruned, and records that did not open since this participant opened it."""
        store = self.history
        return {
            "budget": self.budget,
            "used": store.counter(b"bytes") if store else 0,
            "file": store.file_bytes() if store else 0,
            "messages": sum(len(r.messages) for r in self.groups.values()),
            "pruned": self.pruned_total(),
            "damaged": store.damaged.total if store else 0,
        }

    # -- helpers -----------------------------------------------------------------------------

    def record(self, group_id: bytes) -> GroupRecord:
        record = self.groups.get(group_id)
        if record is None:
            raise ClientError("client.unknown_group", "you are not in that group (see 'holdspace groups')")
        return record

    def find_group(self, text: str) -> GroupRecord:
        """A group by (a prefix of) its hex id, by its name (the profile's, 17.12) or by its local name."""
        text = text.strip().lower()
        matches = [
            r
            for r in self.groups.values()
            if r.group_id.hex().startswith(text) or text in ((r.name or "").lower(), (group_title(r) or "").lower())
        ]
        if len(matches) != 1:
            raise ClientError("client.unknown_group", f"no single group matches {text!r} (see 'holdspace groups')")
        return matches[0]

    def pseudonym(self, record: GroupRecord) -> Pseudonym:
        me = self._pseudonyms.get(record.context)
        if me is None:
            me = self._pseudonyms[record.context] = Pseudonym.derive(self.master, record.context)
        return me

    def writer(self, record: GroupRecord) -> LogWriter:
        return LogWriter(self.pseudonym(record), record.group_id, record.seq, record.prev)

    async def _publish(
        self,
        session: NodeSession,
        record: GroupRecord,
        entry: Entry,
        *,
        words: tuple[bytes, bytes] | None = None,
        handing_over: Outgoing | None = None,
    ) -> int:
        """:meth:`_publish_once`; a control entry the node refuses as ``group.stale_deps`` (the group
        changed while it was written) is signed again, at the same log position, on the state after a
        fresh fetch: the same operation with the new heads as ``d``, at most ``STALE_RETRIES`` times."""
        for attempt in range(STALE_RETRIES):
            try:
                return await self._publish_once(session, record, entry, words=words, handing_over=handing_over)
            except HoldspaceError as err:
                if err.code != "group.stale_deps" or attempt == STALE_RETRIES - 1:
                    raise
            record.unread_own = True  # fetch, even when a live subscription keeps the record
            state = await self.sync(session, record)
            payload = decode_payload(entry.kind, entry.payload or b"", entry.author)
            targets = [t for t in (getattr(payload, "target", None),) if isinstance(t, bytes)]
            again = dataclasses.replace(payload, deps=state.deps(*targets))  # type: ignore[arg-type]
            entry = self.writer(record).append(entry.kind, again.encode(), self.clock())
        raise AssertionError("unreachable")

    async def _publish_once(
        self,
        session: NodeSession,
        record: GroupRecord,
        entry: Entry,
        *,
        words: tuple[bytes, bytes] | None = None,
        handing_over: Outgoing | None = None,
    ) -> int:
        """Publish one of our own entries; our log position advances only once the node stored it.

        The signed entry is saved before it is sent. If the answer is lost, the same bytes are sent
        again before anything else (a duplicate is acknowledged), so the client never signs a second,
        different entry at that position (which would be an equivocation). ``words`` (plaintext, key)
        are kept with it and become our own message once acknowledged. An outbox item the entry was
        made from leaves the outbox in that same save: it is sent exactly once, never lost (a definite
        refusal puts it back, marked with the code)."""
        record.pending, record.pending_words = (entry.raw, entry.payload), words
        if handing_over is not None and handing_over in self.outbox:
            self.outbox.remove(handing_over)
        self.save()
        try:
            if entry.kind == kinds.JOIN and record.hosts:
                cursor = await session.adopt(entry, record.hosts)
            else:
                cursor = await session.publish(entry)
        except HoldspaceError as err:
            if err.code not in UNSETTLED:
                record.pending = record.pending_words = None  # a definite refusal: the position is free
                if handing_over is None and words is not None and entry.kind in kinds.MESSAGE_KINDS:
                    # words sent again after a lost answer, now refused: kept, shown, never dropped
                    # silently (a direct message stays addressed to the narrowest audience, facilitators)
                    content, to_facilitators = words[0], entry.kind == kinds.DIRECT
                    handing_over = Outgoing(
                        self.random(16), record.group_id, content, self.clock(), None, to_facilitators
                    )
                if handing_over is not None:
                    handing_over.error = err.code
                    self.outbox.insert(0, handing_over)
                self.save()
            raise
        record.seq, record.prev, record.pending, record.pending_words = entry.seq, entry.entry_id, None, None
        if words is not None:
            own = self._keep_own(record, entry, cursor, *words)
            reason, deadline = self._judge(record, own, self.clock())
            if reason is None and deadline is not None:
                record.messages.note_deadline(own, deadline)
        if kinds.is_control(entry.kind):
            record.unread_own = True  # what we send next must be decided on a state that includes it
        self.save()
        return cursor

    async def _flush_pending(self, session: NodeSession, record: GroupRecord) -> None:
        if record.pending is None:
            return
        entry = decode_entry(record.pending[0], record.pending[1], now_ms=None)
        await self._publish(session, record, entry, words=record.pending_words)

    # -- operations --------------------------------------------------------------------------

    async def create_group(self, session: NodeSession, name: str | None, token: bytes | None = None) -> GroupRecord:
        """Start a group on the home node; ``token``: its operator's, if it asks for one (spec 14.6)."""
        if token is not None:
            session.operator_token = token
        genesis, writer = create_group(
            self.master, self.clock(), home=str(self.node) if self.node else None, random=self.random
        )
        payload = decode_payload(kinds.GENESIS, genesis.payload or b"", genesis.author)
        assert isinstance(payload, Genesis)
        await session.authenticate(writer.me)
        record = self._attach(GroupRecord(genesis.entry_id, genesis_context(payload.nonce), name))
        record.keys = e2ee.GroupKeys(genesis.entry_id, writer.me)
        self.groups[genesis.entry_id] = record
        try:
            await self._publish(session, record, genesis)
        except HoldspaceError as err:
            if err.code not in UNSETTLED:  # refused (the node's admission, say): the group exists nowhere
                del self.groups[genesis.entry_id]
                self.save()
            raise
        await self.sync(session, record)
        await self.ensure_clean_epoch(session, record)
        return record

    async def invite(
        self,
        session: NodeSession,
        record: GroupRecord,
        *,
        role: str = MEMBER,
        uses: int = 1,
        expires_ms: int | None = None,
        target: bytes | None = None,
    ) -> str:
        state = await self.sync(session, record)
        writer = self.writer(record)
        await session.authenticate(writer.me)
        entry, secret = invite(
            writer,
            state,
            self.clock(),
            role=role,
            expires_ms=expires_ms or self.clock() + 7 * 86_400_000,
            max_uses=uses,
            target=target,
            random=self.random,
        )
        await self._publish(session, record, entry)
        assert self.node is not None
        hosts = [self.node, *(NodeAddress.parse(h) for k, h in sorted(state.hosts.items()) if k != self.node.node_key)]
        invite_id = record.prev  # the invite as stored: signed again if the group changed meanwhile
        assert invite_id is not None
        profile = group_profile(record)
        name = clip(profile.name if profile is not None else record.name or "", MAX_INVITE_NAME)
        return str(InviteToken(record.group_id, invite_id, secret.seed, tuple(hosts[:MAX_HOSTS]), name))

    async def join(
        self,
        session: NodeSession,
        token: InviteToken,
        name: str | None = None,
        *,
        reuse: GroupRecord | None = None,
        node_token: bytes | None = None,
    ) -> GroupRecord:
        """Join with a fresh pseudonym derived for this group alone (unlinkable to your others), or,
        only when asked (``reuse``), the pseudonym you already use in another group. ``node_token``:
        the home node operator's token, if it asks for one to host a group joined from elsewhere."""
        if node_token is not None:
            session.operator_token = node_token
        if token.group_id in self.groups:
            raise ClientError("client.already_joined", "you are already in that group")
        context = reuse.context if reuse is not None else group_context(token.group_id)
        me = Pseudonym.derive(self.master, context)
        hosts = [str(n) for n in token.nodes]
        record = self._attach(GroupRecord(token.group_id, context, name or token.name, hosts=hosts))
        record.keys = e2ee.GroupKeys(token.group_id, me)
        await session.authenticate(me)
        home = str(self.node) if self.node else None
        secret = InviteSecret(token.group_id, token.invite_id, token.seed)
        entry = secret.join(self.writer(record), self.clock(), home=home)
        self.groups[token.group_id] = record
        try:
            await self._publish(session, record, entry)
        except HoldspaceError as err:
            if err.code not in UNSETTLED:  # refused, stored nowhere; otherwise it is sent again later
                del self.groups[token.group_id]
                self.save()
            raise
        return record

    async def sync(self, session: NodeSession, record: GroupRecord) -> GroupState:
        """Fetch what the home node has after our cursor, then :meth:`absorb` it. A record kept
        current by a live subscription (``record.following``) needs no fetch: only a pending entry
        is sent."""
        await session.authenticate(self.pseudonym(record))
        await self._flush_pending(session, record)
        if record.following and record.state is not None and not record.unread_own:
            return record.state
        record.unread_own = False
        state = await self.take(session, record, await session.fetch_all(record.group_id, record.cursor))
        self.save()
        return state

    async def take(self, session: NodeSession, record: GroupRecord, received: list[Received]) -> GroupState:
        """:meth:`absorb` entries read from the home node (a fetch, or a subscription's batch), first
        asking the node for the group's proven forks if a control entry names one we lack (spec
        12.5: perhaps a twin of a proven fork, or what followed it). Nothing is saved."""
        if self._dangling(record, received):
            record.forks, record.computation = await self._forks(session, record), None
        state, _ = self.absorb(record, received)
        if record.group_id in self._history_came:
            self._history_came.discard(record.group_id)
            await self._read_again(session, record)
        return state

    async def _read_again(self, session: NodeSession, record: GroupRecord) -> None:
        """Open the messages that could not be read for want of their epoch's key, now that a rekey
        sealed this member earlier epochs' keys (13.1, "History"): a newcomer fetches what came before
        it joined before a member shares those keys with it. The entries are fetched again from the
        earliest such message (once per grant of history; the node holds only ciphertext)."""
        unread = {(m.author, m.seq): m for m in record.messages.places() if m.problem == "e2ee.unknown_epoch"}
        if not unread or record.keys is None:
            return
        after, last = max(0, min(m.cursor for m in unread.values()) - 1), max(m.cursor for m in unread.values())
        opened: list[Message] = []
        more = True
        while more and after < last:  # a page at a time, up to the last unread one, never the whole tail
            page, after, more = await session.fetch(record.group_id, after)
            opened += self._open_again(record, unread, page)
        self.prune(record, opened)
        self.save()

    def _open_again(
        self, record: GroupRecord, unread: dict[tuple[bytes, int], Message], page: list[Received]
    ) -> list[Message]:
        """The messages of ``unread`` that ``page`` holds and that open now, updated in place and stored."""
        assert record.keys is not None
        opened: list[Message] = []
        for r in page:
            m = unread.get((r.entry.author, r.entry.seq))
            if m is None or r.entry.entry_id != m.entry_id or r.entry.payload is None:
                continue
            again = self._open(record, record.keys, r.cursor, r.entry)
            if again is None or again.problem is not None or again.plaintext is None or again.key is None:
                continue
            m.problem, m.text, m.plaintext, m.key, m.source = None, again.text, again.plaintext, again.key, again.source
            m.expires_ms, m.to = again.expires_ms, again.to
            record.messages.update(m)
            opened.append(m)
        return opened

    @staticmethod
    def _dangling(record: GroupRecord, received: list[Received]) -> bool:
        """Whether a control entry held (or just received) names one that is neither held nor known
        to be at a forked position (spec 12.5)."""
        controls = [*record.controls]
        controls += [r.entry for r in received if kinds.is_control(r.entry.kind) and r.entry.payload is not None]
        held = {e.entry_id for e in controls} | {record.group_id}
        known = record.forks.known if record.forks is not None else {}
        for e in controls:
            if e.kind == kinds.GENESIS:
                continue
            payload = record.cache.payloads.get(e.entry_id)
            if payload is None:
                try:
                    payload = record.cache.payloads[e.entry_id] = decode_payload(e.kind, e.payload or b"", e.author)
                except HoldspaceError:
                    continue
            if any(d not in held and d not in known for d in getattr(payload, "deps", ())):
                return True
        return False

    async def _forks(self, session: NodeSession, record: GroupRecord) -> Forks | None:
        """The group's proven forks as the home node knows them: its fork proofs and the headers it
        holds of the other branches, each verified here (a node cannot forge either)."""
        result = await session.state(record.group_id)
        proofs, others = [], []
        for raw in result.get("forks") or []:  # type: ignore[union-attr]
            if isinstance(raw, bytes):
                try:
                    proof = verify_fork_proof(raw)
                except HoldspaceError:
                    continue
                if proof.group == record.group_id:
                    proofs.append(proof)
        for raw in result.get("branch") or []:  # type: ignore[union-attr]
            if isinstance(raw, bytes):
                try:
                    other = decode_entry(raw, None, now_ms=None)
                except HoldspaceError:
                    continue
                if other.log_group == record.group_id:
                    others.append(other)
        forks = forks_of(proofs, others)
        return forks if forks else None

    def absorb(self, record: GroupRecord, received: list[Received]) -> tuple[GroupState, list[Message]]:
        """Take entries read from the home node (verified by the client protocol), in its order:
        the group state follows the control log, new epoch keys are opened, new messages decrypted.
        Returns the state and the messages new to us. Nothing is saved (the caller saves)."""
        me = self.pseudonym(record)
        new_controls: list[Entry] = []
        for r in received:
            e = r.entry
            record.cursor = max(record.cursor, r.cursor)
            record.log_heads[e.author] = max(e.seq, record.log_heads.get(e.author, 0))
            if e.kind == kinds.GENESIS:
                record.genesis, record.computation = e, None
            elif kinds.is_control(e.kind) and e.payload is not None:
                record.controls.append(e)
                new_controls.append(e)
        comp = record.computation
        if comp is not None and not all(extend(comp, e, record.cache) for e in new_controls):
            comp = None  # not a plain extension (concurrent entries): compute afresh
        if comp is None:
            comp = record.computation = self._computation(record)
        state = record.state = comp.state
        keys = record.keys
        assert keys is not None
        if record.epochs_of is not state:  # computed afresh (or first read): every epoch is looked at
            record.epochs_of, record.epochs_looked_at = state, 0
        if new_controls or record.epochs_looked_at == 0:  # messages alone change no epoch: nothing to walk
            self._open_epochs(record, state, keys, me)
        new: list[Message] = []
        for r in received:
            e = r.entry
            if e.kind not in kinds.MESSAGE_KINDS and e.kind != kinds.SESSION:
                continue
            if (e.author, e.seq) in record.seen or e.payload is None or not state.authorised_at(e.author, e.seq):
                continue
            if silenced(state, e):  # hosts keep a husk of it (12.6): so does this client
                record.seen.add((e.author, e.seq))
                continue
            record.seen.add((e.author, e.seq))
            if state.deleted(e.author, e.seq, e.entry_id):
                continue
            message = self._open(record, keys, r.cursor, e)
            if message is not None:
                new.append(message)
        record.messages.extend(new)
        self.prune(record, new)
        return state, new

    def _open_epochs(self, record: GroupRecord, state: GroupState, keys: e2ee.GroupKeys, me: Pseudonym) -> None:
        """Open the keys of the epochs applied since the last call for this state (epochs are only
        appended to a state), so a control entry costs the epochs it adds, not every epoch of the
        group's life; and forget the kept keys if the history setting is back to "joined" (13.3)."""
        keep = state.history != HISTORY_FROM_JOIN
        if not keep:  # back to "joined": the epoch keys kept for newcomers are forgotten (13.3)
            for held in keys.epochs.values():
                held.epoch_key = None
        by_id: dict[bytes, Entry] | None = None  # control entries by id: built only if an epoch is new to us
        for epoch in itertools.islice(state.epochs, record.epochs_looked_at, None):
            if epoch.entry_id in keys.epochs or me.public_key not in epoch.recipients:
                continue
            if by_id is None:
                by_id = {e.entry_id: e for e in record.controls}
            rekey = decode_payload(kinds.REKEY, by_id[epoch.entry_id].payload or b"", epoch.author)
            assert isinstance(rekey, Rekey)
            try:
                keys.open_rekey(epoch, rekey, keep_key=keep)
            except HoldspaceError:
                continue  # a box sealed wrongly to us: that epoch stays unreadable, the rest goes on
            if take_history(state, keys, rekey):
                self._history_came.add(record.group_id)  # earlier epochs' keys: what was unreadable may open
        record.epochs_looked_at = len(state.epochs)

    def _open(self, record: GroupRecord, keys: e2ee.GroupKeys, cursor: int, e: Entry) -> Message | None:
        """Decrypt one entry's words; None if it holds none for us (a direct message to others, a
        session without details)."""
        assert e.payload is not None
        message = Message(cursor, e.author, e.seq, e.timestamp_ms, None, None, e.entry_id, e.kind)
        try:
            if e.kind == kinds.DIRECT:
                direct = decode_direct(e.payload)
                if keys.me.public_key not in direct.recipients:
                    return None
                plaintext, key = keys.open_direct(e.author, e.seq, direct)
                message.expires_ms = direct.expires_ms
                message.to = tuple(sorted(direct.recipients))
            else:
                if e.kind == kinds.SESSION:
                    session = decode_payload(kinds.SESSION, e.payload, e.author)
                    assert isinstance(session, Session)
                    if session.details is None:
                        return None
                    envelope = decode_envelope(session.details)
                else:
                    envelope = decode_envelope(e.payload)
                plaintext, key = keys.decrypt_keyed(e.author, e.seq, envelope)
                message.expires_ms = envelope.expires_ms
            message.keep_words(e, plaintext, key)
        except HoldspaceError as err:
            message.problem = err.code
        return message

    def prune(self, record: GroupRecord, new: list[Message] | None = None) -> None:
        """Forget the words of messages that were redacted, erased or have expired (every host deletes
        them too): the client keeps no copy of what the group agreed to let go.

        Without ``new``, or when what decides deletions changed (``_deletion_mark``), every message
        is looked at and each live message's deadline noted; otherwise only ``new`` messages and
        those whose noted deadline has come, so that reading a message costs the same in a group of
        a hundred messages as in one of a hundred thousand."""
        state, now = record.state, self.clock()
        log = record.messages
        held = record.mark_basis  # the mark changes only with the state and its control entries
        if new is not None and held is not None and held[0] is state and held[1] == len(record.controls):
            mark = record.prune_mark or b""
        else:
            mark = _deletion_mark(state)
            record.mark_basis = (state, len(record.controls))
        fresh = new or []
        if new is None or mark != record.prune_mark:
            record.prune_mark = mark
            log.clear_deadlines()
            skip = {m.index for m in fresh}
            candidates = itertools.chain((m for m in log.places() if m.index not in skip), fresh)
        else:
            candidates = itertools.chain(log.take_due(now), fresh)
        for m in candidates:
            if m.deleted is not None:
                continue
            reason, deadline = self._judge(record, m, now)
            if reason is not None:
                m.forget(reason)
                log.update(m)
            elif deadline is not None:
                log.note_deadline(m, deadline)

    @staticmethod
    def _judge(record: GroupRecord, m: Message, now: int) -> tuple[str | None, int | None]:
        """Why ``m`` must go now (or None), and else when it must go (or None: it may stay)."""
        state = record.state
        reason = state.deleted(m.author, m.seq, m.entry_id) if state is not None else None
        if reason is None and state is not None and m.kind == kinds.MESSAGE:
            # read before the mute arrived (written concurrently with it): hosts keep no copy (12.6)
            reason = "muted" if state.muted_at(m.author, m.seq, m.timestamp_ms) else None
        deadline = m.expires_ms
        if state is not None and m.kind in kinds.MESSAGE_KINDS:
            retention = retention_deadline(state, m.timestamp_ms)
            deadline = retention if deadline is None or (retention is not None and retention < deadline) else deadline
        if reason is None and deadline is not None and deadline <= now:
            reason = "expired"
        return reason, deadline

    def compute_states(self) -> None:
        """Each group's state from the control log kept in the key file (the state itself is not
        saved), so that a client can show roles, sessions and pins before it reaches a node."""
        for record in self.groups.values():
            if record.genesis is None:
                continue
            try:
                record.computation = self._computation(record)
            except HoldspaceError:
                continue  # shown as not (yet) a member until a sync brings what is missing
            record.state = record.computation.state

    @staticmethod
    def _computation(record: GroupRecord) -> Computation:
        genesis = record.genesis
        if genesis is None or genesis.entry_id != record.group_id:
            raise ClientError("client.no_genesis", "the node did not return this group's genesis")
        return compute(genesis, record.controls, record.cache, record.forks)

    async def ensure_clean_epoch(self, session: NodeSession, record: GroupRecord) -> GroupState:
        """Publish a rekey if the current epoch is missing, stale, or held by a non-member (13.1)."""
        state = await self.sync(session, record)
        me = self.pseudonym(record)
        if me.public_key not in state.members:
            raise ClientError("client.not_member", "you are not a member of this group (any more)")
        epoch = state.current_epoch
        keys = record.keys
        assert keys is not None
        if epoch is not None and state.epoch_is_clean(epoch) and epoch.entry_id in keys.epochs:
            return state
        epoch_key = e2ee.new_epoch_key(self.random)
        history = history_blobs(state, keys)
        payload = e2ee.make_rekey(state, state.deps(), me, epoch_key, history=history, random=self.random)
        entry = self.writer(record).append(kinds.REKEY, payload.encode(), self.clock())
        await self._publish(session, record, entry)
        state = await self.sync(session, record)
        before = epoch.recipients if epoch is not None else frozenset()
        if not payload.recipients <= before:  # newcomers: give them the pinned crisis resources
            await self.carry_pin(session, record)
        return state

    async def set_history(self, session: NodeSession, record: GroupRecord, history: History) -> GroupState:
        """Publish the group's history visibility (12.3 ``settings``, 13.1): what members who join
        from now on may read of what came before. Only a facilitator may; the group's encrypted
        name and description (``e``) are kept as they are."""
        state = await self.sync(session, record)
        me = self.pseudonym(record)
        if state.role_of(me.public_key) != FACILITATOR:
            raise ClientError("client.not_facilitator", "only a facilitator chooses what newcomers can read")
        if not is_history(history):
            raise ClientError("client.bad_argument", "history must be 'joined', 'shared' or 1..365 days")
        entry = self.writer(record).append(
            kinds.SETTINGS, Settings(state.deps(), history, state.meta).encode(), self.clock()
        )
        await self._publish(session, record, entry)
        return await self.sync(session, record)

    async def send(
        self,
        session: NodeSession,
        record: GroupRecord,
        text: str,
        *,
        warning: str | None = None,
        ttl_ms: int | None = None,
    ) -> Message:
        """A text message to the group; ``warning`` is a content warning, ``ttl_ms`` a time to live
        after which every host (and every member's client) deletes it."""
        return await self.post(session, record, Text(text, warning), ttl_ms=ttl_ms)

    async def post(
        self,
        session: NodeSession,
        record: GroupRecord,
        content: Content,
        *,
        ttl_ms: int | None = None,
        to: list[bytes] | None = None,
        handing_over: Outgoing | None = None,
    ) -> Message:
        """Publish ``content`` to the whole group (epoch chains), or with ``to`` as a direct message
        sealed to those members only. ``handing_over``: the outbox item this content comes from.
        Returns our own message, as the group will read it."""
        plaintext = encode_content(content)
        state = await self.ensure_clean_epoch(session, record)
        keys = record.keys
        assert keys is not None
        expires = self.clock() + ttl_ms if ttl_ms is not None else None
        seq = record.seq + 1
        if to is not None:
            recipients = {k: state.members[k].x25519 for k in to if k in state.members}
            direct, key = e2ee.seal_direct(
                record.group_id, keys.me.public_key, seq, recipients, plaintext, self.random, expires_ms=expires
            )
            entry = self.writer(record).append(kinds.DIRECT, direct.encode(), self.clock())
        else:
            epoch = state.current_epoch
            assert epoch is not None
            envelope, key = keys.encrypt_keyed(epoch.entry_id, seq, plaintext, self.random, expires_ms=expires)
            entry = self.writer(record).append(kinds.MESSAGE, envelope.encode(), self.clock())
        await self._publish(session, record, entry, words=(plaintext, key), handing_over=handing_over)
        return record.messages[-1]

    @staticmethod
    def _keep_own(record: GroupRecord, entry: Entry, cursor: int, plaintext: bytes, key: bytes) -> Message:
        """Record words we published (our own chain cannot decrypt them again: the key is used)."""
        message = Message(cursor, entry.author, entry.seq, entry.timestamp_ms, None, None, entry.entry_id, entry.kind)
        if entry.kind in kinds.MESSAGE_KINDS and entry.payload is not None:
            message.expires_ms = envelope_expiry(entry.kind, entry.payload)
        if entry.kind == kinds.DIRECT and entry.payload is not None:
            message.to = tuple(sorted(decode_direct(entry.payload).recipients))
        message.keep_words(entry, plaintext, key)
        record.messages.append(message)
        record.seen.add((entry.author, entry.seq))
        return message

    def queue(
        self, record: GroupRecord, content: Content, *, ttl_ms: int | None = None, to_facilitators: bool = False
    ) -> Outgoing:
        """Keep ``content`` in the outbox (sealed on disk at once) to be sent by :meth:`send_outbox`."""
        content_bytes = encode_content(content)
        item = Outgoing(self.random(16), record.group_id, content_bytes, self.clock(), ttl_ms, to_facilitators)
        self.outbox.append(item)
        self.save()
        return item

    async def send_outbox(self, session: NodeSession) -> int:
        """Send what waits in the outbox, oldest first; returns how many were sent. A definite refusal
        marks its item (``error``) and the rest goes on; a lost connection or a busy node raises, and
        what was not acknowledged stays for next time."""
        sent = 0
        for item in [i for i in self.outbox if i.error is None]:
            record = self.groups.get(item.group_id)
            try:
                if record is None:
                    raise ClientError("client.unknown_group", "you are no longer in that group")
                await self.sync(session, record)
                to = self.facilitators(record) if item.to_facilitators else None
                await self.post(
                    session, record, decode_content(item.content), ttl_ms=item.ttl_ms, to=to, handing_over=item
                )
            except HoldspaceError as err:
                if err.code in UNSETTLED:
                    raise
                if item in self.outbox:
                    item.error = err.code
                    self.save()
                continue
            sent += 1
        return sent

    def discard(self, item_id: bytes) -> None:
        """Drop an outbox item the writer gave up on."""
        self.outbox = [i for i in self.outbox if i.item_id != item_id]
        self.save()

    async def control(self, session: NodeSession, record: GroupRecord, kind: int, payload: bytes) -> GroupState:
        """Publish one control entry built on the current state, and return the state with it."""
        entry = self.writer(record).append(kind, payload, self.clock())
        await self._publish(session, record, entry)
        return await self.sync(session, record)

    async def redact(self, session: NodeSession, record: GroupRecord, entry_ids: list[bytes]) -> GroupState:
        """Delete messages everywhere (yours, or as a moderator anyone's): hosts keep only a signed
        tombstone. The ids must all be one author's. The author's edits of them (spec 17.15) are
        deleted with them: an edit holds words too."""
        by_id = {m.entry_id: m for m in record.messages}
        authors = {by_id[i].author for i in entry_ids if i in by_id}
        if len(authors) != 1 or len(entry_ids) != len({i for i in entry_ids if i in by_id}):
            raise ClientError("client.unknown_message", "name messages you have read, all by one author")
        author_key = next(iter(authors))
        edits = edit_candidates(record)
        entry_ids = [*entry_ids, *(e.entry_id for i in entry_ids for e in edits.get(i, []) if e.author == author_key)]
        state = await self.sync(session, record)
        payload = Redact(state.deps(), authors.pop(), tuple(sorted(set(entry_ids))))
        state = await self.control(session, record, kinds.REDACT, payload.encode())
        self.prune(record)
        self.save()
        return state

    async def erase_my_messages(self, session: NodeSession, record: GroupRecord) -> GroupState:
        """Erase every message you wrote in the group so far, on every host."""
        state = await self.sync(session, record)
        if record.seq == 0:
            raise ClientError("client.nothing_to_erase", "you have written nothing in this group")
        payload = Erase(state.deps(), record.seq)
        state = await self.control(session, record, kinds.ERASE, payload.encode())
        self.prune(record)
        self.save()
        return state

    async def schedule(
        self,
        session: NodeSession,
        record: GroupRecord,
        *,
        title: str,
        about: str | None,
        start_ms: int,
        duration_ms: int,
        tz: str,
        recurrence: tuple[str, int] | None = None,
        retention_ms: int | None = None,
        replaces: bytes | None = None,
        cancel: bool = False,
    ) -> bytes:
        """Schedule a facilitated session (or update or cancel one); returns the session id."""
        if not is_zone(tz):
            raise ClientError("client.bad_argument", f"{tz!r} is not a time zone name (for example Europe/London)")
        state = await self.ensure_clean_epoch(session, record)
        keys, epoch = record.keys, state.current_epoch
        assert keys is not None and epoch is not None
        plaintext = encode_content(SessionDetails(title, about))
        seq = record.seq + 1
        envelope, key = keys.encrypt_keyed(epoch.entry_id, seq, plaintext, self.random)
        payload = Session(
            state.deps(), replaces, start_ms, duration_ms, tz, recurrence, retention_ms, cancel, envelope.encode()
        )
        entry = self.writer(record).append(kinds.SESSION, payload.encode(), self.clock())
        await self._publish(session, record, entry, words=(plaintext, key))
        published = record.prev  # as stored: signed again if the group changed meanwhile
        assert published is not None
        await self.sync(session, record)
        return replaces or published

    async def trust_issuer(self, session: NodeSession, record: GroupRecord, issuer: bytes, *, add: bool) -> GroupState:
        state = await self.sync(session, record)
        return await self.control(session, record, kinds.TRUST, Trust(state.deps(), issuer, add).encode())

    def find_invite(self, record: GroupRecord, text: str) -> bytes:
        """The id of the group's one invite whose hex id starts with ``text``."""
        state = record.state
        found = [i for i in (state.invites if state is not None else {}) if text and i.hex().startswith(text.lower())]
        if len(found) != 1:
            raise ClientError("client.unknown_invite", f"no single invite of this group starts with {text!r}")
        return found[0]

    async def close_invite(self, session: NodeSession, record: GroupRecord, invite_id: bytes) -> GroupState:
        """Close an invite (spec 12.5): nobody joins through it any more, whoever relays the join."""
        state = await self.sync(session, record)
        if invite_id not in state.invites:
            raise ClientError("client.unknown_invite", "the group has no such invite")
        return await self.control(session, record, kinds.CLOSE, Close(state.deps(), invite_id).encode())

    def invites_to_close(self, record: GroupRecord, state: GroupState, now: int) -> list[bytes]:
        """Expired invites with uses left that nobody has closed, and that this member should close now:
        a facilitator at once, another member once its own delay (:data:`CLOSE_DELAY_MS`) has passed."""
        mine = self.pseudonym(record).public_key
        if mine not in state.members:
            return []
        low, high = CLOSE_DELAY_MS
        chosen = int.from_bytes(hashlib.blake2b(mine + record.group_id, digest_size=4).digest(), "big")
        delay = 0 if state.role_of(mine) == FACILITATOR else low + chosen % (high - low)
        return [
            i.entry_id
            for i in state.invites.values()
            if i.closed_by is None and i.uses < i.invite.max_uses and now > i.invite.expires_ms + delay
        ]

    async def close_expired_invites(self, session: NodeSession, record: GroupRecord, state: GroupState) -> int:
        """Close what :meth:`invites_to_close` names; returns how many this member closed. A close that
        another member's got in first (``group.no_effect``) is no error."""
        closed = 0
        for invite_id in self.invites_to_close(record, state, self.clock()):
            try:
                await self.close_invite(session, record, invite_id)
            except HoldspaceError as err:
                if err.code != "group.no_effect":
                    raise
            else:
                closed += 1
        return closed

    def roles_at_least(self, record: GroupRecord, role: str) -> list[bytes]:
        state = record.state
        assert state is not None
        return sorted(k for k, m in state.members.items() if RANK[m.role] >= RANK[role])

    def facilitators(self, record: GroupRecord) -> list[bytes]:
        return self.roles_at_least(record, FACILITATOR)

    def moderators(self, record: GroupRecord) -> list[bytes]:
        return self.roles_at_least(record, MODERATOR)

    async def carry_pin(self, session: NodeSession, record: GroupRecord) -> None:
        """Members who joined after the crisis resources were pinned, or the group's profile (its name,
        description and guidelines) was published, cannot open them (sealed before their time). After
        a rekey that added members, a client holding their keys quotes each into the new epoch: the
        newcomers verify the facilitator's signature on the very words. A facilitator's client that
        finds no profile publishes one with the name the group was started with."""
        state = record.state
        epoch = state.current_epoch if state is not None else None
        if epoch is None or epoch.entry_id in record.epochs_quoted:
            return
        record.epochs_quoted.add(epoch.entry_id)
        for current in (current_pin(record), current_profile(record)):
            if current is None:
                continue
            content = current.content
            if isinstance(content, Quote):  # received quoted: pass the facilitator's words on as they are
                await self.post(session, record, content)
            elif current.source is not None and current.key is not None:
                await self.post(session, record, Quote(Disclosure(current.source[0], current.source[1], current.key)))
        title = clip(record.name or "", MAX_GROUP_NAME)
        mine = self.pseudonym(record).public_key
        if (
            current_profile(record) is None
            and title is not None
            and is_facilitator(record, mine)
            and set(epoch.recipients) - {mine}  # someone else to read it
        ):
            # the name given when the group was started becomes the group's, sealed to its first members
            # (posted now rather than at creation, so that they can read it; spec 17.12)
            await self.post(session, record, Profile(title))

    async def remove_member(
        self,
        session: NodeSession,
        record: GroupRecord,
        target: bytes,
        *,
        ban: bool = False,
        note: str | None = None,
        reason: str | None = None,
    ) -> None:
        """Remove (or ban) ``target``; ``note`` is sealed to the removed person, ``reason`` to the
        facilitators (spec 12.3): nobody else, hosts included, reads them."""
        state = await self.sync(session, record)
        if target not in state.members:
            raise ClientError("client.not_member", "that pseudonym is not a member")
        cut = record.log_heads.get(target, 0)  # the last of the target's entries we accept
        entry = remove(
            self.writer(record), state, target, cut, self.clock(), ban=ban, note=note, reason=reason, random=self.random
        )
        await self._publish(session, record, entry)
        await self.ensure_clean_epoch(session, record)

    async def mute_member(self, session: NodeSession, record: GroupRecord, target: bytes, until_ms: int) -> GroupState:
        """Stop ``target``'s group messages until ``until_ms`` (0: lift a mute); what it wrote up to
        its head as fetched stands (spec 12.5, 12.6). Moderators mute members, facilitators anyone."""
        state = await self.sync(session, record)
        if target not in state.members:
            raise ClientError("client.not_member", "that pseudonym is not a member")
        cut = record.log_heads.get(target, 0)
        await self._publish(session, record, mute(self.writer(record), state, target, cut, until_ms, self.clock()))
        return await self.sync(session, record)

    async def message_facilitators(self, session: NodeSession, record: GroupRecord, text: str) -> Message:
        """The private line: ``text`` as a direct message to the group's current facilitators only."""
        await self.sync(session, record)
        mine = self.pseudonym(record).public_key
        to = [k for k in self.facilitators(record) if k != mine]
        if not to:
            raise ClientError("client.no_facilitators", "the group has no other facilitator to write to")
        return await self.post(session, record, Text(text), to=to)

    async def reply_privately(self, session: NodeSession, record: GroupRecord, member: bytes, text: str) -> Message:
        """A facilitator's answer on ``member``'s private line: sealed to that member and the facilitators."""
        state = await self.sync(session, record)
        if member not in state.members:
            raise ClientError("client.not_member", "that pseudonym is not a member")
        mine = self.pseudonym(record).public_key
        to = sorted({member, *self.facilitators(record)} - {mine})
        return await self.post(session, record, Text(text), to=to)

    async def change_host(self, session: NodeSession, record: GroupRecord, address: str, *, add: bool) -> GroupState:
        """A facilitator adds (or removes) a node among the group's hosts (spec 12.7)."""
        state = await self.sync(session, record)
        normal = str(NodeAddress.parse(address))
        await self._publish(session, record, host(self.writer(record), state, normal, self.clock(), add=add))
        return await self.sync(session, record)

    async def equivocators(self, session: NodeSession, record: GroupRecord) -> list[bytes]:
        """Authors of the group whom the node holds a fork proof against, each proof verified here:
        their entries may differ from node to node, so what they said cannot be trusted as seen."""
        await session.authenticate(self.pseudonym(record))
        result = await session.state(record.group_id)
        proofs = result.get("forks")
        authors: set[bytes] = set()
        for raw in proofs if isinstance(proofs, list) else []:
            if not isinstance(raw, bytes):
                continue
            try:
                proof = verify_fork_proof(raw)
            except HoldspaceError:
                continue
            if proof.group == record.group_id:
                authors.add(proof.author)
        return sorted(authors)

    async def leave_group(self, session: NodeSession, record: GroupRecord) -> None:
        state = await self.sync(session, record)
        await self._publish(session, record, leave(self.writer(record), state, self.clock()))


__all__ = [
    "KEYFILE",
    "LEGACY_MAX_KEYFILE",
    "STATE_VERSION",
    "UNSETTLED",
    "ClientError",
    "GroupRecord",
    "Message",
    "Outgoing",
    "Participant",
    "now_ms",
]
