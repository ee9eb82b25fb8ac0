"""The published vectors are exactly what the code produces, and the spec names every error code."""

import importlib.util
from pathlib import Path

import pytest

from protocol.errors import CODES

SPEC = Path(__file__).resolve().parents[1] / "spec"


def _generator():
    spec = importlib.util.spec_from_file_location("generate_vectors", SPEC / "generate_vectors.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = _generator()
BUILT = GEN.build()


@pytest.mark.parametrize("name", sorted(BUILT))
def test_checked_in_vectors_match_the_code(name: str) -> None:
    path = SPEC / "vectors" / name
    assert path.exists(), f"{path} missing: run python spec/generate_vectors.py"
    assert path.read_text() == GEN.render(BUILT[name]), f"{name} is stale: run python spec/generate_vectors.py"


def test_vectors_cover_enough_cases() -> None:
    assert sum(len(v) for v in BUILT.values()) >= 30
    every = {vec["error"] for vectors in BUILT.values() for vec in vectors if "error" in vec}
    for code in CODES:
        family = code.split(".")[0]
        if family in {"entry", "log"}:
            assert code in every, f"no vector shows {code}"


def test_spec_error_table_is_current() -> None:
    text = (SPEC / "protocol.md").read_text()
    assert text == GEN.spec_with_error_table(text), "stale error table: run python spec/generate_vectors.py"


def test_spec_documents_every_error_code() -> None:
    text = "\n".join(p.read_text() for p in SPEC.glob("*.md"))
    missing = [code for code in CODES if f"`{code}`" not in text]
    assert not missing, f"spec/ does not document: {missing}"


def test_conversation_vector_decrypts_from_the_spec_alone() -> None:
    """Re-derive every message of the published conversation using only primitives and spec 13."""
    import hashlib
    import hmac
    import json

    from protocol import codec, crypto

    (vec,) = json.loads((SPEC / "vectors" / "group_conversation.json").read_text())
    entries = {e["entry_id"]: e for e in vec["entries"]}
    group_id = bytes.fromhex(vec["final_state"]["group_id"])
    for message in vec["messages"]:
        entry = entries[message["entry_id"]]
        envelope = codec.decode(bytes.fromhex(entry["payload"]))
        epoch_key = bytes.fromhex(vec["epoch_keys"][message["epoch"]])
        author = bytes.fromhex(entry["author"])
        ck = crypto.hkdf_sha256(epoch_key, salt=b"holdspace/v1/chain", info=author)
        for _ in range(envelope["i"]):
            ck = hmac.new(ck, b"\x02", hashlib.sha256).digest()
        assert ck.hex() == message["chain_key"]
        mk = hmac.new(ck, b"\x01", hashlib.sha256).digest()
        assert mk.hex() == message["message_key"]
        ad = (
            b"holdspace/v1/message\x00"
            + group_id
            + author
            + entry["seq"].to_bytes(8, "big")
            + envelope["e"]
            + envelope["i"].to_bytes(8, "big")
        )
        assert ad.hex() == message["associated_data"]
        padded = crypto.aead_decrypt(mk, envelope["n"], envelope["c"], ad)
        assert len(padded) == message["padded_length"]
        assert padded[: padded.rindex(b"\x80")].decode() == message["plaintext"]


def test_conversation_vector_rekeys_open_for_recipients_only() -> None:
    import json

    from protocol import codec, crypto

    (vec,) = json.loads((SPEC / "vectors" / "group_conversation.json").read_text())
    secrets = {bytes.fromhex(p["ed25519_public"]): bytes.fromhex(p["x25519_secret"]) for p in vec["people"].values()}
    opened = 0
    for entry in vec["entries"]:
        if entry["kind"] != "rekey":
            continue
        payload = codec.decode(bytes.fromhex(entry["payload"]))
        for key, sealed in payload["r"]:
            assert crypto.seal_open(secrets[key], sealed).hex() == vec["epoch_keys"][entry["entry_id"]]
            opened += 1
        recipients = {key for key, _ in payload["r"]}
        for key, secret in secrets.items():
            if key not in recipients:
                for _, sealed in payload["r"]:
                    with pytest.raises(Exception):  # noqa: B017, PT011
                        crypto.seal_open(secret, sealed)
    assert opened >= 5
