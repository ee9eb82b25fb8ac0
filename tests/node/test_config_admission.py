"""node.toml's [admission], [operator] and storage budgets: checked with the key named, edited with the
operator's comments kept, and taken by a running node on SIGHUP."""

from pathlib import Path

import pytest

from holdspace.node.admission import Policy
from holdspace.node.config import ConfigError, check_config, group_text_id, init_node, read_config, update_refused
from holdspace.node.peering import PeerBook
from holdspace.node.rates import PublishRates
from holdspace.node.reload import apply_config

BASE = 'listen_host = "127.0.0.1"\nlisten_port = 4433\n'
GROUP = bytes(range(32))


def test_admission_operator_and_budgets_are_read() -> None:
    config = check_config(
        BASE
        + '[limits]\nmax_group_bytes = "1GiB"\nmax_node_bytes = 20_000_000_000\n'
        + f'[admission]\ncreate = "token"\nfederate = "peers"\nmax_groups = 50\nrefused = ["{group_text_id(GROUP)}"]\n'
        + '[operator]\ncontact = "mailto:abuse@example.org"\n'
    )
    assert config.policy() == Policy(
        create="token",
        federate="peers",
        max_groups=50,
        refused=frozenset({GROUP}),
        max_group_bytes=1 << 30,
        max_node_bytes=20_000_000_000,
        contact="mailto:abuse@example.org",
    )
    assert check_config(BASE).policy() == Policy()  # open, any, no cap, no budget, no contact


@pytest.mark.parametrize(
    ("extra", "code", "named"),
    [
        ('[admission]\ncreate = "invite"\n', "config.invalid", "admission.create"),
        ('[admission]\nfederate = "all"\n', "config.invalid", "admission.federate"),
        ("[admission]\nmax_groups = -1\n", "config.invalid", "admission.max_groups"),
        ('[admission]\nrefused = ["hsg1nope"]\n', "config.invalid", "admission.refused[0]"),
        ("[admission]\ncreat = 1\n", "config.unknown_key", "admission.creat"),
        ('[limits]\nmax_group_bytes = "lots"\n', "config.invalid", "limits.max_group_bytes"),
        ("[limits]\nmax_node_bytes = 10\n", "config.invalid", "limits.max_node_bytes"),
        ('[operator]\ncontact = "abuse at example"\n', "config.invalid", "operator.contact"),
        ('[operator]\nemail = "a@b"\n', "config.unknown_key", "operator.email"),
    ],
)
def test_bad_admission_keys_are_refused_naming_the_key(extra: str, code: str, named: str) -> None:
    with pytest.raises(ConfigError) as err:
        check_config(BASE + extra)
    assert err.value.code == code and named in err.value.message


def test_refusing_and_allowing_a_group_keeps_the_comments(tmp_path: Path) -> None:
    init_node(tmp_path, "127.0.0.1:4433", "pass")
    text = (tmp_path / "node.toml").read_text()
    config, changed = update_refused(tmp_path, refuse=GROUP)
    assert changed and config.refused == {GROUP}
    assert update_refused(tmp_path, refuse=GROUP)[1] is False
    edited = (tmp_path / "node.toml").read_text()
    assert "# Who may start a group here" in edited and group_text_id(GROUP) in edited
    config, changed = update_refused(tmp_path, allow=GROUP)
    assert changed and config.refused == frozenset()
    assert read_config(tmp_path).policy() == Policy()
    assert (tmp_path / "node.toml").read_text() == text


def test_a_reload_replaces_the_policy_and_names_the_newly_refused_groups() -> None:
    class Core:
        policy = Policy()

    started = check_config(BASE)
    limits = started.node_limits()
    rates, book, core = PublishRates(1, 1), PeerBook(b"me", {}, set()), Core()
    new = check_config(BASE + f'[admission]\ncreate = "closed"\nrefused = ["{group_text_id(GROUP)}"]\n')
    done = apply_config(new, started, limits, rates, book, core)
    assert core.policy == new.policy() and core.policy.create == "closed"
    assert done.newly_refused == {GROUP} and done.need_restart == ()
    assert apply_config(new, started, limits, rates, book, core).newly_refused == frozenset()
