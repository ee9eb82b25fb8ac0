"""``holdspace demo``: a walk-through a newcomer can follow, using the real protocol code."""

from __future__ import annotations

import time
from collections.abc import Callable

from protocol import codec, kinds, signing
from protocol.entry import create_entry, decode_entry
from protocol.errors import HoldspaceError
from protocol.identity import Pseudonym, fingerprint, group_context, new_master_secret
from protocol.log import ForkError, LogHead, place, verify_fork_proof


def run_demo(say: Callable[[str], None] = print) -> None:
    now = int(time.time() * 1000)
    group = bytes(range(32))

    say("Holdspace keeps a support group's words with its members, not with a server.\n")
    say("1. Pseudonyms. Each person holds one master secret and derives a fresh key per group.")
    master = new_master_secret()
    river = Pseudonym.derive(master, group_context(group))
    river_elsewhere = Pseudonym.derive(master, group_context(bytes(32)))
    say(f"   River in this group:     {river.text_id}")
    say(f"   River in another group:  {river_elsewhere.text_id}")
    say("   Nobody can tell these two belong to the same person.")
    say(f"   Fingerprint to compare by voice: {fingerprint(river.public_key)}\n")

    say("2. A signed, append-only log. Every message links to the one before it.")
    prev = None
    log = []
    for seq, text in enumerate(["Hello, I'm new here.", "It has been a hard week.", "Thank you all."], 1):
        entry = create_entry(
            river,
            group=group,
            seq=seq,
            prev=prev,
            timestamp_ms=now + seq,
            kind=kinds.MESSAGE,
            payload=text.encode(),
        )
        head = LogHead(log[-1].seq, log[-1].entry_id) if log else None
        place(head, entry)
        log.append(entry)
        prev = entry.entry_id
        say(f"   #{seq} id {entry.entry_id.hex()[:16]}…  header {len(entry.raw)} B, payload {len(text)} B")
    say("   (Later, bodies are end-to-end encrypted: nodes only ever hold ciphertext.)\n")

    say("3. Tampering is caught. Someone swaps the words of message #2 after it was signed:")
    try:
        decode_entry(log[1].raw, b"Nothing to see here.", now_ms=now)
    except HoldspaceError as err:
        say(f"   rejected: {err.code} ({err.message})")
    say("   ...or moves it to another position in the log:")
    fields = codec.decode(log[1].raw)
    assert isinstance(fields, dict)
    fields["s"] = 7
    try:
        decode_entry(codec.encode(fields), log[1].payload, now_ms=now)
    except HoldspaceError as err:
        say(f"   rejected: {err.code} ({err.message})\n")

    say("4. Equivocation is caught. River's key signs a second, different message #3:")
    twin = create_entry(
        river,
        group=group,
        seq=3,
        prev=log[1].entry_id,
        timestamp_ms=now + 9,
        kind=kinds.MESSAGE,
        payload=b"Other.",
    )
    try:
        place(LogHead(3, log[2].entry_id), twin, log[2])
    except ForkError as err:
        proof = err.proof.encode()
        checked = verify_fork_proof(proof)
        say(f"   {err.code}: a {len(proof)}-byte proof that anyone can check without trusting us;")
        say(f"   it names author {checked.first.author.hex()[:16]}… at seq {checked.first.seq}.\n")

    say("5. Identity documents bind a pseudonym to the key that receives group keys:")
    doc = river.identity_document(now, "River")
    say(f"   {len(doc)} bytes, signed under the domain '{signing.DOMAIN_IDENTITY}'.")
    say("\nThat is the protocol core. Next: groups, a node, and federation.")
