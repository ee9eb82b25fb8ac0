"""A removal's words sealed by the browser client (``clients/web/src/removal.ts``, run by Node from the
built bundle) open with the reference implementation (``protocol/removal.py``, spec 12.3): the note
for the removed member only, the reason for the facilitators the browser sealed it to, neither for
another member; the remove payload the browser encodes decodes here; words over the size limit (in
bytes of UTF-8, not characters) are refused with the code the reference client gives."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from holdspace.protocol import kinds
from holdspace.protocol.identity import Pseudonym
from holdspace.protocol.payloads import MAX_REMOVAL_WORDS, Remove, decode_payload
from holdspace.protocol.removal import RemovalWords, open_removal_words

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")

SEAL = """
const [bundle, raw] = process.argv.slice(1);
const hs = await import(bundle);
const i = JSON.parse(raw);
const h = hs.fromHex;
const at = { groupId: h(i.group), remover: h(i.remover), seq: BigInt(i.seq) };
const target = { key: h(i.target[0]), x25519: h(i.target[1]) };
const readers = i.readers.map(([k, x]) => ({ key: h(k), x25519: h(x) }));
const sealed = hs.sealRemovalWords(at, target, readers, { note: i.note, reason: i.reason });
const payload = hs.encodeControlPayload(
  { kind: "remove", deps: [h(i.dep)], target: target.key, cut: 3n, ban: false, ...sealed },
);
const refused = [];
for (const words of [{ note: i.long, reason: null }, { note: null, reason: i.long }]) {
  try {
    hs.sealRemovalWords(at, target, readers, words);
    refused.push(null);
  } catch (e) {
    refused.push(e.code);
  }
}
console.log(JSON.stringify({ payload: hs.toHex(payload), refused, max: hs.MAX_REMOVAL_WORDS }));
"""

NOTE = "Take care of yourself 🌿\nThe helpline is open every night."
REASON = "repeated cruel messages, after two warnings"


def test_the_browser_seals_a_removal_s_words_the_reference_implementation_opens(bundle: Path) -> None:
    remover, target, other_facilitator, bystander = (Pseudonym.generate() for _ in range(4))
    group, dep = bytes(range(32)), bytes(range(32, 64))
    seq = 7
    given = {
        "group": group.hex(),
        "remover": remover.public_key.hex(),
        "seq": seq,
        "target": [target.public_key.hex(), target.x_public_key.hex()],
        "readers": [[p.public_key.hex(), p.x_public_key.hex()] for p in (remover, other_facilitator)],
        "dep": dep.hex(),
        "note": NOTE,
        "reason": REASON,
        "long": "é" * (MAX_REMOVAL_WORDS // 2 + 1),  # within the limit in characters, over it in bytes
    }
    done = subprocess.run(
        ["node", "--input-type=module", "-e", SEAL, str(bundle / "holdspace.js"), json.dumps(given)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    payload = decode_payload(kinds.REMOVE, bytes.fromhex(out["payload"]), remover.public_key)
    assert isinstance(payload, Remove) and payload.target == target.public_key and payload.note and payload.reason

    def opened(me: Pseudonym) -> RemovalWords:
        return open_removal_words(group, remover.public_key, seq, payload, me)

    assert opened(target) == RemovalWords(NOTE, None)  # the removed member reads the note only
    assert opened(remover) == RemovalWords(None, REASON)  # the facilitators read the reason only
    assert opened(other_facilitator) == RemovalWords(None, REASON)
    assert opened(bystander) == RemovalWords(None, None)  # another member reads neither
    assert out["max"] == MAX_REMOVAL_WORDS
    assert out["refused"] == ["group.malformed_payload", "group.malformed_payload"]
