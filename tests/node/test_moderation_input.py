"""The operator's token and group commands refuse bad input with their typed codes, and change nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from holdspace.node import moderation
from holdspace.node.config import init_node, parse_group_id, read_config
from holdspace.protocol.errors import HoldspaceError


@pytest.fixture
def node_dir(tmp_path: Path) -> Path:
    init_node(tmp_path, "127.0.0.1:0", "pass")
    return tmp_path


def code_of(call: object) -> str:
    with pytest.raises(HoldspaceError) as info:
        call()  # type: ignore[operator]
    return info.value.code


def test_token_commands_refuse_bad_input(node_dir: Path) -> None:
    assert code_of(lambda: moderation.issue_token(node_dir, 0, uses=1, days=None, label="x" * 201)) == (
        "node.bad_argument"
    )
    assert moderation.list_tokens(node_dir) == []  # nothing stored by the refused one
    assert code_of(lambda: moderation.revoke_token(node_dir, "0123456789ab")) == "node.unknown_token"


def test_group_commands_refuse_bad_input(node_dir: Path) -> None:
    assert code_of(lambda: moderation.drop_group(node_dir, b"\x01" * 32)) == "node.unknown_group"
    assert read_config(node_dir).refused == frozenset()  # an unknown group is not refused on the way
    for text in ("hsg1notanid", "12" * 31, ""):
        assert code_of(lambda text=text: parse_group_id(text)).startswith("identity.")
