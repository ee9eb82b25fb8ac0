"""node.toml: peers and blocked nodes are checked when read, with typed errors."""

from pathlib import Path

import pytest

from node.config import init_node, read_config, update_peers
from protocol.errors import HoldspaceError

PEER = "holdspace://hsn1enwdnkqh8asn4lagu3dqtyk4n9l9fhevgccqsg6fe24hvlql4nmsqtyqzj@127.0.0.1:4434"


def test_peers_round_trip_and_bad_entries_are_refused(tmp_path: Path) -> None:
    init_node(tmp_path, "127.0.0.1:4433", "pass")
    assert [str(p) for p in update_peers(tmp_path, add=PEER).peers] == [PEER]
    config = update_peers(tmp_path, block=PEER)
    assert config.peers == () and len(config.blocked) == 1
    for bad in ('peers = ["nonsense"]', 'blocked = "hsn1x"', 'blocked = ["hsn1x"]'):
        (tmp_path / "node.toml").write_text(f'listen_host = "127.0.0.1"\nlisten_port = 4433\n{bad}\n')
        with pytest.raises(HoldspaceError) as err:
            read_config(tmp_path)
        assert err.value.code in {"address.malformed", "identity.bad_text_id"}, err.value
