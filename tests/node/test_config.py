"""node.toml: a strict schema (every refusal names its key and has a typed code), a [limits] table, a
public address apart from the listen address, edits that keep the operator's comments, and what a
SIGHUP reload applies at once or leaves for a restart."""

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from holdspace.node.config import ConfigError, check_config, init_node, read_config, update_peers
from holdspace.node.limits import NodeLimits
from holdspace.node.peering import PeerBook
from holdspace.node.rates import PublishRates
from holdspace.node.reload import apply_config
from holdspace.protocol.address import NodeAddress

PEER = "holdspace://hsn1enwdnkqh8asn4lagu3dqtyk4n9l9fhevgccqsg6fe24hvlql4nmsqtyqzj@127.0.0.1:4434"
PEER_ID = "hsn1enwdnkqh8asn4lagu3dqtyk4n9l9fhevgccqsg6fe24hvlql4nmsqtyqzj"
BASE = 'listen_host = "127.0.0.1"\nlisten_port = 4433\n'


def test_peers_round_trip_and_bad_entries_are_refused(tmp_path: Path) -> None:
    init_node(tmp_path, "127.0.0.1:4433", "pass")
    config, changed = update_peers(tmp_path, add=PEER)
    assert changed and [str(p) for p in config.peers] == [PEER]
    assert update_peers(tmp_path, add=PEER) == (config, False)  # the same address again: nothing to do
    config, changed = update_peers(tmp_path, block=PEER)
    assert changed and config.peers == () and len(config.blocked) == 1
    config, changed = update_peers(tmp_path, unblock=PEER_ID)
    assert changed and config.blocked == frozenset()
    assert not update_peers(tmp_path, remove=PEER_ID)[1]  # not a peer any more


@pytest.mark.parametrize(
    ("extra", "code", "named"),
    [
        ("listen_port = 99999\n", "config.invalid", "listen_port"),  # used to listen on 99999 % 65536
        ('listen_port = "4433"\n', "config.invalid", "listen_port"),
        ("listen_prot = 4433\n", "config.unknown_key", "listen_prot"),
        ("public_port = 0\n", "config.invalid", "public_port"),
        ('public_host = ""\n', "config.invalid", "public_host"),
        ('peers = ["nonsense"]\n', "config.invalid", "peers[0]"),
        ('blocked = "hsn1x"\n', "config.invalid", "blocked"),
        ('blocked = ["hsn1x"]\n', "config.invalid", "blocked[0]"),
        ("[limits]\nmax_connections = 0\n", "config.invalid", "limits.max_connections"),
        ("[limits]\nmax_conections = 10\n", "config.unknown_key", "limits.max_conections"),
        ("[limits]\npublish_rate = -1.0\n", "config.invalid", "limits.publish_rate"),
        ("[limits]\nrequest_burst = 0.5\n", "config.invalid", "limits.request_burst"),
        ("[limits]\nidle_timeout = 1e9\n", "config.invalid", "limits.idle_timeout"),
        ("[limit]\nmax_connections = 10\n", "config.unknown_key", "limit"),
        ("peers = [1,,]\n", "config.syntax", "line 3"),
    ],
)
def test_the_schema_refuses_with_the_key_named(extra: str, code: str, named: str) -> None:
    text = BASE.replace("listen_port = 4433\n", "") if extra.startswith("listen_port") else BASE
    with pytest.raises(ConfigError) as err:
        check_config(text + extra)
    assert err.value.code == code
    assert named in err.value.message, err.value.message


def test_a_missing_listen_key_and_a_missing_file_are_typed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        check_config('listen_host = "::"\n')
    assert err.value.code == "config.invalid" and "listen_port" in err.value.message
    with pytest.raises(ConfigError) as err:
        read_config(tmp_path)
    assert err.value.code == "config.missing"


@given(st.integers(min_value=-(2**31), max_value=2**31))
def test_a_listen_port_is_taken_as_written_or_refused(port: int) -> None:
    text = f'listen_host = "127.0.0.1"\nlisten_port = {port}\n'
    if 0 <= port <= 65535:
        assert check_config(text).port == port
    else:
        with pytest.raises(ConfigError) as err:
            check_config(text)
        assert err.value.code == "config.invalid" and "listen_port" in err.value.message


def test_the_limits_table_sets_the_node_limits() -> None:
    config = check_config(BASE + "[limits]\nmax_connections = 64\npublish_rate = 5\nidle_timeout = 10.5\n")
    limits = config.node_limits()
    assert limits.transport.max_connections == 64 and isinstance(limits.transport.max_connections, int)
    assert limits.publish_rate == 5.0 and limits.transport.idle_timeout == 10.5
    defaults = check_config(BASE).node_limits()
    assert defaults.transport == NodeLimits().transport and defaults.publish_rate == NodeLimits().publish_rate


def test_the_public_address_is_what_others_dial(tmp_path: Path) -> None:
    key = bytes(32)
    wildcard = check_config('listen_host = "0.0.0.0"\nlisten_port = 0\n')
    assert not wildcard.dialable  # `--listen 0.0.0.0` printed an address nobody can dial
    public = check_config('listen_host = "0.0.0.0"\nlisten_port = 0\npublic_host = "node.example.org"\n')
    assert public.dialable and public.public_address(key, 5000) == NodeAddress(key, "node.example.org", 5000)
    both = check_config(BASE + 'public_host = "node.example.org"\npublic_port = 443\n')
    assert both.public_address(key, 4433).port == 443
    address = init_node(tmp_path / "n", "0.0.0.0:4433", "pass", public="node.example.org:443")
    assert (address.host, address.port) == ("node.example.org", 443)
    assert read_config(tmp_path / "n").public_host == "node.example.org"


def test_edits_keep_the_operators_comments(tmp_path: Path) -> None:
    text = (
        "# Riverside's node: ask Sam before changing anything\n"
        + BASE
        + "peers = [\n  # Hillview, linked since March\n]\n"
        + "blocked = []  # none yet\n\n[limits]\nmax_connections = 200  # a small VPS\n"
    )
    (tmp_path / "node.toml").write_text(text)
    update_peers(tmp_path, add=PEER)
    update_peers(tmp_path, block="holdspace://hsn1aj92mejcra7zqcdh5nhm2yukn668y9mnrrg44u2v9ear3q0vwhdq60quhr@x:1")
    after = (tmp_path / "node.toml").read_text()
    for comment in ("# Riverside's node: ask Sam", "# Hillview, linked since March", "# none yet", "# a small VPS"):
        assert comment in after, after
    config = read_config(tmp_path)
    assert [str(p) for p in config.peers] == [PEER] and len(config.blocked) == 1
    assert config.limits == {"max_connections": 200}
    update_peers(tmp_path, remove=PEER_ID)
    assert "# Hillview, linked since March" in (tmp_path / "node.toml").read_text()
    assert read_config(tmp_path).peers == ()


def test_an_edit_adds_missing_lists_at_the_top_level_not_in_a_table(tmp_path: Path) -> None:
    (tmp_path / "node.toml").write_text(BASE + "\n[limits]\nmax_connections = 5  # small\n")
    config, _ = update_peers(tmp_path, block=PEER_ID)
    assert len(config.blocked) == 1 and config.limits == {"max_connections": 5}
    assert "# small" in (tmp_path / "node.toml").read_text()


def test_an_edit_of_a_broken_file_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "node.toml").write_text(BASE + "listen_prot = 1\n")
    with pytest.raises(ConfigError) as err:
        update_peers(tmp_path, add=PEER)
    assert err.value.code == "config.unknown_key"
    assert (tmp_path / "node.toml").read_text() == BASE + "listen_prot = 1\n"


def test_a_reload_applies_peers_blocks_and_live_limits_and_names_what_waits() -> None:
    started = check_config(BASE + f'peers = ["{PEER}"]\n')
    limits = started.node_limits()
    rates = PublishRates(limits.publish_rate, limits.publish_burst)
    bucket = rates.bucket(b"author", 0.0)
    book = PeerBook(b"me", {p.node_key: p for p in started.peers}, set())
    new = check_config(
        'listen_host = "127.0.0.1"\nlisten_port = 5000\n'
        + f'blocked = ["{PEER_ID}"]\n[limits]\npublish_rate = 3\npublish_burst = 6\nmax_connections = 9\n'
    )
    done = apply_config(new, started, limits, rates, book)
    assert book.added == {} and book.blocked == set(new.blocked) and done.newly_blocked == new.blocked
    assert limits.publish_rate == 3.0 and (bucket.rate, bucket.burst, bucket.tokens) == (3.0, 6.0, 6.0)
    assert limits.transport.max_connections == NodeLimits().transport.max_connections  # bound at start
    assert done.need_restart == ("listen_port", "limits.max_connections")
    again = apply_config(new, started, limits, rates, book)
    assert again.newly_blocked == frozenset()


WEB = '[web]\nenabled = true\nport = 8443\ncert = "web-cert.pem"\nkey = "/etc/holdspace/web-key.pem"\n'


def test_the_web_table_names_its_port_and_files_and_the_public_host(tmp_path: Path) -> None:
    config = check_config(BASE + 'public_host = "node.example.org"\n' + WEB)
    assert config.web is not None and config.web.port == 8443
    assert config.web.files(tmp_path) == (tmp_path / "web-cert.pem", Path("/etc/holdspace/web-key.pem"))
    assert config.public_web_host() == "node.example.org"  # one host for the node address and the pages
    assert check_config(BASE + WEB).public_web_host() == "127.0.0.1"
    assert check_config(BASE + WEB.replace("enabled = true", "enabled = false")).web is None
    assert check_config(BASE).web is None


@pytest.mark.parametrize(
    ("text", "code", "named"),
    [
        (BASE + '[web]\nenabled = true\nkey = "k.pem"\n', "config.invalid", "web.cert"),
        (BASE + '[web]\nenabled = true\ncert = "c.pem"\n', "config.invalid", "web.key"),
        (BASE + "[web]\nenabled = true\nport = 70000\n", "config.invalid", "web.port"),
        (BASE + '[web]\nenabled = "yes"\n', "config.invalid", "web.enabled"),
        (BASE + "[web]\nprot = 443\n", "config.unknown_key", "web.prot"),
        ('listen_host = "0.0.0.0"\nlisten_port = 4433\n' + WEB, "config.invalid", "public_host"),
    ],
)
def test_the_web_table_refuses_with_the_key_named(text: str, code: str, named: str) -> None:
    with pytest.raises(ConfigError) as err:
        check_config(text)
    assert err.value.code == code and named in err.value.message, err.value.message


def test_a_changed_web_table_waits_for_a_restart() -> None:
    old, new = check_config(BASE), check_config(BASE + WEB)
    limits = old.node_limits()
    done = apply_config(new, old, limits, PublishRates(1, 1), PeerBook(bytes(32), {}, set()))
    assert "web" in done.need_restart
