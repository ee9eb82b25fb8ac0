"""node.logs: JSON lines that parse, levels that filter, aioquic's lines through the same handler."""

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from holdspace.node.logs import setup_logging
from holdspace.protocol import codec
from tests.node.conftest import running_node, session
from tests.node.test_adversarial import raw_request


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root, quic = logging.getLogger(), logging.getLogger("quic")
    handlers, level, quic_level = list(root.handlers), root.level, quic.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    quic.setLevel(quic_level)


@pytest.mark.usefixtures("restore_logging")
def test_json_lines_parse_and_levels_filter() -> None:
    out = io.StringIO()
    setup_logging("info", "json", out)
    log = logging.getLogger("holdspace.node")
    log.debug("not shown")
    log.info("linked to peer %s", "abcd")
    log.warning("two\nlines")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed")
    lines = out.getvalue().splitlines()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert [r["level"] for r in records] == ["info", "warning", "error"]
    assert records[0]["msg"] == "linked to peer abcd" and records[0]["logger"] == "holdspace.node"
    assert records[1]["msg"] == "two\nlines"  # a newline in a message never splits a record
    assert "ValueError: boom" in records[2]["exc"]
    assert all(r["ts"].endswith("Z") and r["ts"][10] == "T" for r in records)


@pytest.mark.usefixtures("restore_logging")
def test_text_format_warning_level_and_no_doubled_handler() -> None:
    out = io.StringIO()
    setup_logging("info", "text", io.StringIO())
    setup_logging("warning", "text", out)  # replaces the first: one line per record
    log = logging.getLogger("holdspace.federation")
    log.info("hidden at warning")
    log.warning("peer %s penalised", "abcd")
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].endswith("WARNING holdspace.federation: peer abcd penalised")


@pytest.mark.usefixtures("restore_logging")
def test_aioquic_lines_go_through_the_same_handler() -> None:
    out = io.StringIO()
    setup_logging("info", "json", out)
    quic = logging.getLogger("quic")
    quic.info("Negotiated protocol version %s", "v1")  # per-connection chatter: only at debug
    quic.warning("a QUIC warning")
    assert [json.loads(line)["msg"] for line in out.getvalue().splitlines()] == ["a QUIC warning"]
    out = io.StringIO()
    setup_logging("debug", "json", out)
    quic.info("Negotiated protocol version %s", "v1")
    assert json.loads(out.getvalue())["logger"] == "quic"


def test_unknown_levels_and_formats_are_refused() -> None:
    with pytest.raises(ValueError, match="log level"):
        setup_logging("verbose", "json", io.StringIO())
    with pytest.raises(ValueError, match="log format"):
        setup_logging("info", "xml", io.StringIO())


@pytest.mark.usefixtures("restore_logging")
async def test_a_refused_client_request_is_a_debug_line_with_its_code_only(tmp_path: Path) -> None:
    out = io.StringIO()
    setup_logging("debug", "json", out)
    async with running_node(tmp_path / "node") as (_, address), session(address) as s:
        assert await raw_request(s, codec.encode({"op": "launch"})) == "proto.unknown_op"
        setup_logging("info", "json", out)  # at info, refusals of client requests are not logged
        assert await raw_request(s, codec.encode({"op": "launch", "x": 1})) == "proto.unknown_op"
    ours = [r for r in map(json.loads, out.getvalue().splitlines()) if r["logger"].startswith("holdspace")]
    assert [(r["level"], r["msg"]) for r in ours] == [("debug", "refused a client request: proto.unknown_op")]
