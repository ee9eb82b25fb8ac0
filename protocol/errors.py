"""Typed errors with stable codes.

Invariant: every error raised by ``protocol`` (and by ``node`` when it rejects input) is a
``HoldspaceError`` whose ``code`` is a key of :data:`CODES`. Codes are part of the wire protocol and
of ``spec/protocol.md``: they never change meaning once published; new ones may be added.

A code is ``family.reason``; the family names the exception class that carries it, so callers can
catch a whole family (``except CodecError``) or test one code (``err.code == "cbor.non_canonical"``).
"""

from __future__ import annotations

from typing import ClassVar

#: code -> one-sentence meaning. Kept in one table so the spec and tests can check completeness.
CODES: dict[str, str] = {
    # --- codec (canonical CBOR, RFC 8949 section 4.2) ---
    "cbor.truncated": "the input ended in the middle of a data item",
    "cbor.trailing_bytes": "bytes remain after the single top-level data item",
    "cbor.non_canonical": "an integer, length or map order is not in deterministic (shortest, sorted) form",
    "cbor.duplicate_key": "a map contains the same key twice",
    "cbor.indefinite_length": "an indefinite-length string, array or map was used",
    "cbor.float_not_allowed": "a floating-point value was used; the protocol has none",
    "cbor.tag_not_allowed": "a tagged item was used; the protocol defines no tags",
    "cbor.simple_not_allowed": "a simple value other than false, true or null was used",
    "cbor.bad_key_type": "a map key is not a text string",
    "cbor.invalid_utf8": "a text string is not valid UTF-8",
    "cbor.too_deep": "arrays and maps are nested deeper than the limit",
    "cbor.too_large": "the input is longer than the decoder's size limit",
    "cbor.reserved": "additional information 28-30, or 31 with major type 0, 1, 6 or 7 (the break code included)",
    "cbor.unsupported_type": "a value of a type outside the protocol's data model was given to the encoder",
    # --- identities ---
    "identity.bad_text_id": "a textual id is malformed (wrong prefix, characters or length)",
    "identity.bad_checksum": "a textual id's checksum does not match: it was probably mistyped",
    "identity.bad_key": "a key has the wrong length or is not a valid key",
    "identity.malformed_document": "an identity document does not have the required fields and types",
    "identity.bad_signature": "an identity document's signature does not verify",
    # --- entries ---
    "entry.oversize": "the entry header or its declared payload exceeds its size limit",
    "entry.malformed": "the entry does not have the required fields and types",
    "entry.bad_version": "the entry's protocol version is not supported",
    "entry.unknown_kind": "the entry's kind is not in the kind registry",
    "entry.future_timestamp": "the entry's timestamp is further in the future than the allowed clock skew",
    "entry.bad_signature": "the entry's signature does not verify against its author",
    "entry.payload_mismatch": "the payload's size or hash is not the one the entry header commits to",
    # --- append-only logs ---
    "log.seq_gap": "the entry's sequence number is not the next one in its author's log",
    "log.prev_mismatch": "the entry's previous-entry hash is not the id of the author's log head",
    "log.fork": "the entry conflicts with another valid entry at the same position of its author's log",
    "log.bad_fork_proof": "a fork proof does not prove a fork",
    # --- groups: control entries and membership (spec "Groups") ---
    "group.malformed_payload": "a control or message payload does not have the required fields and types",
    "group.bad_genesis": "a genesis entry breaks the genesis rules, or an entry names the wrong group",
    "group.missing_dependency": "the entry references a control entry the receiver does not hold (yet)",
    "group.not_member": "the author is not a member of the group at this position of its log",
    "group.forbidden": "the author's role does not permit this operation",
    "group.self_escalation": "a member tried to raise its own role",
    "group.concurrent_restriction": (
        "the operation would undo a removal, ban or demotion that its entitled author had not seen"
    ),
    "group.bad_target": (
        "the operation's target does not exist or cannot be acted on (not a member, the author itself, an "
        "unknown session, an issuer that is not listed, an erasure beyond what its author has written)"
    ),
    "group.unknown_invite": "the join redeems an invite that is not in the group's control log",
    "group.bad_invite_proof": "the join does not prove possession of the invite's secret key",
    "group.invite_expired": "the join is dated after its invite's expiry",
    "group.invite_exhausted": "the invite's maximum number of uses was already reached",
    "group.invite_not_for_you": "the invite names a different pseudonym",
    "group.invite_revoked": "the invite's creator is no longer a facilitator",
    "group.invite_closed": "the invite was closed, and the entry that closed it had not seen this join",
    "group.banned": "the pseudonym is banned from the group",
    "group.muted": "the author is muted: its group messages are refused until the time a moderator set",
    "group.already_member": "the pseudonym is already a member",
    "group.bad_recipients": "a rekey seals keys to non-members or leaves out its own author",
    "group.too_many_hosts": "the group already lists the maximum number of host nodes",
    "group.no_effect": "the control entry would change nothing (an erase of nothing new, a redaction of what is "
    "already redacted)",
    "group.stale_deps": (
        "a client's control entry did not see every head the node holds: the group changed while it was "
        "written; fetch and sign it again"
    ),
    "group.bad_deps": (
        "d names more than it may: a first join names its invite alone, and no entry named may be in the "
        "causal past of another named or of the author's previous control entry"
    ),
    "group.bad_cut": (
        "a client's removal names a cut beyond the last entry of its target that the node holds: the cut must "
        "be an entry the remover saw"
    ),
    "group.storage_bound": (
        "a host stores no more of what takes no effect from a peer: joins through one invite beyond 32 times "
        "its uses, or entries of a pseudonym beyond 64 past its membership; the peer offers it again later"
    ),
    "group.forked": "the entry is at or after a position where its author is proven to have forked its log",
    # --- client protocol (spec section 14) ---
    "proto.malformed_frame": "a frame is not a well-formed request or response",
    "proto.too_large": "a frame exceeds the maximum frame size",
    "proto.unknown_op": "the request names an operation this node does not know",
    "proto.unauthenticated": "the operation needs a pseudonym authenticated on this connection",
    "proto.bad_auth": "the authentication signature does not verify for this connection's challenge",
    "proto.forbidden": "none of this connection's pseudonyms may read this group",
    "proto.unknown_group": "this node does not host the group",
    "proto.rate_limited": "too many requests or entries: slow down and retry later",
    "proto.payload_required": "a client must publish a message or control entry with its payload",
    "proto.bad_version": "the peer speaks another protocol version",
    "proto.not_found": "the node holds nothing matching the request",
    "proto.busy": "the node is at a limit (connections, subscriptions or pseudonyms per connection)",
    "proto.duplicate_id": "the request's id is that of another request of the session still in flight",
    "proto.in_flight": "the session already has as many requests in flight as the node allows; await an answer first",
    # --- live-call signalling (spec 17.11) ---
    "call.not_member": "the sender of a signal is not a current member of the group",
    "call.recipient_not_member": "the recipient of a signal is not a current member of the group",
    "call.too_large": "a signal's sealed box is larger than 8 KiB",
    "call.rate_limited": "the pseudonym sends signals faster than 20 a second (burst 40): slow down",
    "call.malformed_signal": "a signal's plaintext does not have the required fields, types and sizes",
    "call.bad_signature": "a signal is not signed by its sender for this group and recipient",
    "call.stale": "a signal's time is more than a minute away from the recipient's clock",
    "call.not_facilitator": "a mute-request, piece or remove signal came from a member who is not a facilitator",
    # --- federation between nodes ---
    "fed.unauthenticated": "a federation connection must present the peer node's certificate",
    "fed.blocked": "this node's operator blocks the peer node",
    "fed.penalised": "the peer sent too many invalid entries and is refused for a while",
    "fed.not_host": "the peer node is not a host of that group",
    "fed.wrong_group": "a pulled entry does not belong to the group that was pulled",
    "fed.unreachable": "none of the group's host nodes could be reached",
    # --- admission: which groups a node's operator lets it host (spec 14.6, 16.4) ---
    "admission.closed": "this node's operator lets nobody start a new group here",
    "admission.token_required": "this node starts a new group only for the holder of a token from its operator",
    "admission.bad_token": "the operator's token is not one this node issued, or it was revoked",
    "admission.token_expired": "the operator's token has expired",
    "admission.token_used_up": "the operator's token was already used as many times as it allows",
    "admission.max_groups": "this node already hosts as many groups as its operator allows",
    "admission.group_refused": "this node's operator refuses to host that group",
    "admission.peer_refused": "this node's operator does not let that node make it host a new group",
    # --- storage budgets a node's operator sets (spec 14.6) ---
    "quota.group_full": "the group has used its storage budget on this node: new messages, joins and invites wait",
    "quota.node_full": "this node has used its storage budget: new messages, joins, invites and groups wait",
    # --- end-to-end encryption (client side) ---
    "e2ee.unknown_epoch": "the message is encrypted under an epoch whose key this member does not hold",
    "e2ee.ratchet_window": "the message index is too far ahead of, or already behind, the sender's chain",
    "e2ee.bad_padding": "the decrypted plaintext is not correctly padded",
    "e2ee.no_recipients": "a direct message must be sealed to at least one member",
    "e2ee.not_recipient": "the direct message is not sealed to this member",
    "e2ee.bad_commitment": "the key does not match the key commitment the author signed in the payload",
    "e2ee.history_too_long": "a history blob carries the keys of more than 512 earlier epochs",
    # --- message content (inside the encryption; checked by clients) ---
    "content.malformed": "decrypted message content does not have the required fields and types",
    "content.bad_disclosure": "a disclosed message (a report or a quote) does not verify against its author's entry",
    # --- credential attestations (checked by clients) ---
    "credential.malformed": "a credential or revocation does not have the required fields and types",
    "credential.bad_signature": "the credential's signature does not verify under its issuer's key",
    "credential.wrong_subject": "the credential was issued to another pseudonym",
    "credential.wrong_group": "the credential was issued for another group",
    "credential.untrusted_issuer": "the group does not list the credential's issuer as trusted",
    "credential.not_yet_valid": "the credential's validity has not started",
    "credential.expired": "the credential has expired",
    "credential.revoked": "the credential's issuer has revoked it",
    # --- addresses and invite tokens ---
    "address.malformed": "a node address is not of the form holdspace://<node id>@host:port",
    "address.bad_invite": "an invite token is damaged, incomplete or not an invite token",
    "address.bad_link": "an invite link is not of the form https://host[:port]/join#hsinvite:…",
    # --- secrets at rest ---
    "keyfile.malformed": "the key file is not a Holdspace key file of a known version",
    "keyfile.bad_passphrase": "wrong passphrase, or the key file was altered",
    # --- the client (local state and usage) ---
    "client.exists": "an identity already exists in this home directory",
    "client.no_identity": "there is no identity in this home directory yet",
    "client.unknown_group": "no group of yours matches that name or id",
    "client.already_joined": "you are already in that group",
    "client.no_genesis": "the node did not return the group's genesis entry",
    "client.missing_extra": "the command needs an optional part of Holdspace that is not installed (an extra)",
    "client.not_member": "that pseudonym is not a member of the group",
    "client.no_node": "no home node is set: pass --node holdspace://...",
    "client.bad_argument": "a command argument is not in the expected form",
    "client.unknown_message": "no single message you have read matches that id",
    "client.unknown_session": "no single scheduled session matches that id",
    "client.unknown_invite": "no single invite of the group matches that id",
    "client.no_facilitators": "the group has no facilitator (other than you) to write to privately",
    "client.not_facilitator": "only a facilitator of the group may do that",
    "client.no_moderators": "the group has no moderator or facilitator to report to",
    "client.nothing_to_erase": "you have written nothing in that group",
    "client.home_in_use": "another Holdspace process (the app, or a command) is using this home directory",
    "client.keyfile_full": "the key file would exceed the size loading accepts, so nothing was written",
    "client.passphrase": "an empty passphrase was given, and it would protect nothing",
    "client.passphrase_file": "the passphrase file is missing, unreadable, not UTF-8 or empty",
    "client.recovery_shown": "the recovery key was shown once already and is not kept, so it cannot be shown again",
    "client.no_recovery_key": "no recovery key has been made for this identity yet",
    # --- recovery key and identity backup (spec 14.7) ---
    "recovery.word_count": "a recovery key is not the expected number of words",
    "recovery.unknown_word": "a word of a recovery key is not in the word list",
    "recovery.bad_checksum": "a recovery key's checksum does not match: a word was probably mistyped",
    "backup.malformed": "the backup is not a Holdspace identity backup of a known version",
    "backup.too_large": "the backup is larger than a backup may be",
    "backup.bad_key": "wrong recovery key, or the backup was altered",
    "backup.node_too_large": "the backup is larger than a node keeps (64 KiB): keep it as a file instead",
    # --- the device history (local records beside the key file) ---
    "history.damaged": "a record of this device's history did not open (altered or truncated) and was skipped",
    "history.io": "the device history could not be opened or written",
    "history.bad_key": "the history key in the key file is not 32 bytes",
    # --- the participant's app (local, not the wire) ---
    "app.locked": "the app is locked: unlock it with your passphrase first",
    "app.no_node": "this identity has no home node",
    "app.weak_passphrase": "a passphrase must have at least 8 characters",
    "app.passphrase_mismatch": "the two passphrases differ",
    "app.offline": "the app is offline and this needs the home node",
    "app.node_timeout": "the home node did not answer in time",
    "app.bad_input": "a form field is missing or not in the expected form",
    "app.not_confirmed": "a destructive action was not confirmed",
    "app.internal": "the app met an unexpected failure and reconnected",
    # --- operating a node (local commands, not the wire) ---
    "node.not_a_node": "the directory holds no node (no node key)",
    "node.backup_exists": "the backup destination is not empty",
    "node.not_a_backup": "the directory is not a backup made by 'holdspace node backup'",
    "node.restore_target_not_empty": "the restore destination is not empty",
    "node.restore_mismatch": "the restored store differs from the backup's manifest",
    "node.store_failed": "the node's store could not be opened, read or copied",
    "node.metrics_not_loopback": "a metrics address that is not loopback needs the operator's explicit opt-in",
    "node.store_format": "the store's format is newer or unknown, or older and not migrated yet",
    "node.running": "a node is running on the directory, and the operation needs it stopped",
    "node.down": "no node process is running on the directory",
    "node.not_ready": "the node's process exists but has not reported itself ready and live in time",
    "node.check_failed": "the integrity check found entries or indexes that are wrong",
    "node.compact_failed": "the compacted copy did not hold what the store holds; the store was left as it was",
    "node.unknown_group": "the node holds no group with that id",
    "node.unknown_token": "no single operator's token matches that id",
    "node.bad_argument": "a node command's argument is not in the expected form",
    # --- a node's configuration file, node.toml (local, not the wire) ---
    "config.missing": "the node directory has no node.toml",
    "config.unreadable": "node.toml could not be read as UTF-8 text",
    "config.syntax": "node.toml is not valid TOML",
    "config.unknown_key": "node.toml has a key the schema does not know (often a typo)",
    "config.invalid": "a key of node.toml is missing, of the wrong type or out of its range",
    # --- a node's web endpoint (spec 15.8; local, not the wire) ---
    "web.not_built": "the browser client is not built: there is no page and bundle to serve",
    "web.integrity": "the built page has an inline script, or names a script that is missing or fails its hash",
    "web.certificate": "the web certificate or its key cannot be read, or they do not belong together",
    "web.unreachable": "the browser reached the node over neither WebTransport nor a WebSocket",
    "web.bad_info": "the node's /node.json does not describe a node's web endpoint",
    "web.wrong_node": "the node that answered is not the node its page names",
    "web.short_passphrase": "the passphrase chosen in the browser is shorter than 8 characters",
    "web.idle_choice": "the idle lock's time is not one of the offered choices (never, 5, 15, 60 or 240 minutes)",
    # --- the simulator (scenario files, not the wire) ---
    "sim.bad_scenario": "a simulation scenario file is missing, unreadable or breaks the schema",
    "sim.bad_seeds": "seeds are a number, a range A-B or a comma-separated list",
    "sim.bad_study": "a simulation study file is missing, unreadable, breaks the schema or makes a bad scenario",
    # --- primitives ---
    "crypto.bad_key": "a key or nonce has the wrong length",
    "crypto.decrypt_failed": "authenticated decryption failed: wrong key, or the data was altered",
}


class HoldspaceError(Exception):
    """Base of all protocol errors: a stable ``code`` and a human sentence ``message``."""

    family: ClassVar[str] = ""

    def __init__(self, code: str, message: str | None = None) -> None:
        if code not in CODES:
            raise ValueError(f"unregistered error code {code!r}")
        if self.family and not code.startswith(self.family + "."):
            raise ValueError(f"code {code!r} does not belong to {type(self).__name__}")
        self.code = code
        self.message = message or CODES[code]
        super().__init__(f"{code}: {self.message}")


class CodecError(HoldspaceError):
    family = "cbor"


class IdentityError(HoldspaceError):
    family = "identity"


class EntryError(HoldspaceError):
    family = "entry"


class LogError(HoldspaceError):
    family = "log"


class CryptoError(HoldspaceError):
    family = "crypto"


class GroupError(HoldspaceError):
    family = "group"


class ContentError(HoldspaceError):
    family = "content"


class CredentialError(HoldspaceError):
    family = "credential"


class E2eeError(HoldspaceError):
    family = "e2ee"


class AdmissionError(HoldspaceError):
    """A node's operator does not let it host a group (``admission.*``)."""

    family = "admission"


class CallError(HoldspaceError):
    """A live-call signal refused, by the node that relays it or the member it is for (``call.*``)."""

    family = "call"


class QuotaError(HoldspaceError):
    """A storage budget set by a node's operator is used up (``quota.*``)."""

    family = "quota"
