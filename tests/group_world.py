"""A small world of group members for tests: each member writes its own log; states are pure."""

from __future__ import annotations

from dataclasses import dataclass, field

from holdspace.protocol import author, e2ee, kinds
from holdspace.protocol.entry import Entry
from holdspace.protocol.group import GroupState, compute_state
from holdspace.protocol.identity import Pseudonym, group_context, verify_identity_document
from holdspace.protocol.payloads import FACILITATOR, MEMBER, decode_envelope, decode_payload

T0 = 1_764_000_000_000
FAR = T0 + 10**9


@dataclass
class Person:
    name: str
    writer: author.LogWriter
    keys: e2ee.GroupKeys
    seen: set[bytes] = field(default_factory=set)  # control entry ids this person has seen

    @property
    def key(self) -> bytes:
        return self.writer.me.public_key


class World:
    def __init__(self, history: str = "joined") -> None:
        self.genesis, writer = author.create_group(bytes(32), T0, history=history)
        self.group_id = self.genesis.entry_id
        self.entries: dict[bytes, Entry] = {self.genesis.entry_id: self.genesis}
        self.people: dict[str, Person] = {}
        self.clock = T0
        founder = Person("founder", writer, e2ee.GroupKeys(self.group_id, writer.me), {self.genesis.entry_id})
        self.people["founder"] = founder

    def tick(self) -> int:
        self.clock += 1
        return self.clock

    # -- views ----------------------------------------------------------------------------
    def controls(self, ids: set[bytes] | None = None) -> list[Entry]:
        return [e for eid, e in self.entries.items() if kinds.is_control(e.kind) and (ids is None or eid in ids)]

    def state(self, ids: set[bytes] | None = None) -> GroupState:
        return compute_state(self.genesis, self.controls(ids))

    def view(self, who: str) -> GroupState:
        return self.state(self.people[who].seen)

    def publish(self, who: str, entry: Entry, *, everyone_sees: bool = True) -> Entry:
        self.entries[entry.entry_id] = entry
        if kinds.is_control(entry.kind):
            self.people[who].seen.add(entry.entry_id)
            if everyone_sees:
                for p in self.people.values():
                    p.seen.add(entry.entry_id)
        return entry

    def sync_all(self) -> None:
        ids = {e.entry_id for e in self.controls()}
        for p in self.people.values():
            p.seen |= ids

    # -- operations -----------------------------------------------------------------------
    def add(self, name: str, role: str = MEMBER, *, by: str = "founder") -> Person:
        inviter = self.people[by]
        entry, secret = author.invite(
            inviter.writer, self.view(by), self.tick(), role=role, expires_ms=FAR, target=None
        )
        self.publish(by, entry)
        return self.redeem(name, secret)

    def redeem(self, name: str, secret: author.InviteSecret, master: bytes | None = None) -> Person:
        person = self.people.get(name)
        if person is None:
            me = Pseudonym.derive(master or name.encode().ljust(32, b"."), group_context(self.group_id))
            writer = author.LogWriter(me, self.group_id)
            person = Person(name, writer, e2ee.GroupKeys(self.group_id, me), set(self.people["founder"].seen))
            self.people[name] = person
        self.publish(name, secret.join(person.writer, self.tick()))
        return person

    def rekey(self, who: str, *, everyone_sees: bool = True) -> Entry:
        person = self.people[who]
        state = self.view(who)
        key = e2ee.new_epoch_key()
        payload = e2ee.make_rekey(state, state.heads, person.writer.me, key)
        return self.publish(
            who, person.writer.append(kinds.REKEY, payload.encode(), self.tick()), everyone_sees=everyone_sees
        )

    def deliver_keys(self) -> None:
        """Every person opens every rekey sealed to it (as clients do on sync)."""
        state = self.state()
        for epoch in state.epochs:
            rekey = decode_payload(kinds.REKEY, self.entries[epoch.entry_id].payload or b"", epoch.author)
            for p in self.people.values():
                if epoch.entry_id not in p.keys.epochs:
                    p.keys.open_rekey(epoch, rekey)  # type: ignore[arg-type]

    def say(self, who: str, text: str) -> Entry:
        person = self.people[who]
        epoch = self.state().current_epoch
        assert epoch is not None
        envelope = person.keys.encrypt(epoch.entry_id, person.writer.seq + 1, text.encode())
        return self.publish(who, person.writer.append(kinds.MESSAGE, envelope.encode(), self.tick()))

    def read(self, who: str, entry: Entry) -> str:
        envelope = decode_envelope(entry.payload or b"")
        return self.people[who].keys.decrypt(entry.author, entry.seq, envelope).decode()

    def remove(self, who: str, target: str, *, ban: bool = False, everyone_sees: bool = True) -> Entry:
        person, victim = self.people[who], self.people[target]
        return self.publish(
            who,
            author.remove(person.writer, self.view(who), victim.key, victim.writer.seq, self.tick(), ban=ban),
            everyone_sees=everyone_sees,
        )

    def role(self, who: str, target: str, role: str, *, everyone_sees: bool = True) -> Entry:
        person = self.people[who]
        return self.publish(
            who,
            author.change_role(person.writer, self.view(who), self.people[target].key, role, self.tick()),
            everyone_sees=everyone_sees,
        )


def founder_document_key(world: World) -> bytes:
    payload = decode_payload(kinds.GENESIS, world.genesis.payload or b"", world.genesis.author)
    return verify_identity_document(payload.document.raw).x_public_key  # type: ignore[union-attr]


__all__ = ["FACILITATOR", "MEMBER", "T0", "World"]
