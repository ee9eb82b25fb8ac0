"""Plain words for the refusals a participant meets because of their home node's operator (spec 14.6):
admission (who may start a group there) and storage budgets. The node's own sentence names the rule;
these say what it means for the person and what they can do. Every other refusal keeps its sentence."""

from __future__ import annotations

from holdspace.clients.i18n import N_, _
from holdspace.protocol.errors import HoldspaceError

PLAIN: dict[str, str] = {
    "admission.closed": N_(
        "your home node's operator does not let anyone start a group there, or join a group hosted elsewhere through it"
    ),
    "admission.token_required": N_(
        "your home node starts a group only for someone its operator gave a token to: ask the operator for one "
        "and give it with --node-token"
    ),
    "admission.bad_token": N_("your home node does not know that token: it was mistyped, or its operator revoked it"),
    "admission.token_expired": N_("that token from your home node's operator has expired: ask them for a new one"),
    "admission.token_used_up": N_(
        "that token from your home node's operator was already used as many times as it allows: ask them for a new one"
    ),
    "admission.max_groups": N_("your home node already hosts as many groups as its operator allows"),
    "admission.group_refused": N_(
        "your home node's operator no longer hosts this group there; the group's other hosts may still have it"
    ),
    "quota.group_full": N_(
        "this group has used the storage your home node's operator allows it, so nothing new was stored; "
        "what you wrote is kept in your outbox. A facilitator can erase old messages, or ask the operator for room"
    ),
    "quota.node_full": N_(
        "your home node has used the storage its operator allows, so nothing new was stored; what you wrote is "
        "kept in your outbox until the operator makes room"
    ),
}


def plain(err: HoldspaceError) -> str:
    """The sentence to show a person for ``err``, in the current language: :data:`PLAIN`'s for the codes
    it has, else its own (which the code that raised it wrote in the person's language where it could)."""
    found = PLAIN.get(err.code)
    return _(found) if found is not None else err.message
