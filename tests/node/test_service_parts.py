"""The small parts of running a node as a service: the sd_notify datagrams, the passphrase file (and where a
bare name is looked for), and the metrics address with its opt-in beyond loopback."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from holdspace.clients import cli_common
from holdspace.clients.cli_common import read_passphrase_file
from holdspace.clients.participant import ClientError
from holdspace.node import sdnotify
from holdspace.node.config import ConfigError, MetricsError, check_config
from holdspace.node.metrics import MetricsBind, metrics_bind

BASE = 'listen_host = "127.0.0.1"\nlisten_port = 4433\n'


def test_notify_sends_one_datagram_to_an_abstract_socket() -> None:
    name = f"holdspace-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind("\0" + name)
        listener.settimeout(5)
        assert sdnotify.notify("READY=1", "STATUS=serving", environ={"NOTIFY_SOCKET": "@" + name})
        assert listener.recv(1024) == b"READY=1\nSTATUS=serving"
        assert sdnotify.reloading(environ={"NOTIFY_SOCKET": "@" + name})
        reload = dict(line.split("=") for line in listener.recv(1024).decode().splitlines())
        assert reload["RELOADING"] == "1" and int(reload["MONOTONIC_USEC"]) > 0


def test_notify_without_systemd_or_with_a_dead_socket_does_nothing(tmp_path: Path) -> None:
    assert not sdnotify.notify("READY=1", environ={})
    assert not sdnotify.notify("READY=1", environ={"NOTIFY_SOCKET": str(tmp_path / "gone")})  # never raises


def test_watchdog_interval_is_half_the_units_and_only_for_this_process() -> None:
    assert sdnotify.watchdog_interval({"WATCHDOG_USEC": "60000000"}) == 30.0
    assert sdnotify.watchdog_interval({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": str(os.getpid())}) == 30.0
    assert sdnotify.watchdog_interval({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": "1"}) is None
    assert sdnotify.watchdog_interval({"WATCHDOG_USEC": "x"}) is None
    assert sdnotify.watchdog_interval({}) is None


def test_passphrase_file_paths_credentials_and_container_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    creds, secrets = tmp_path / "creds", tmp_path / "secrets"
    creds.mkdir()
    secrets.mkdir()
    monkeypatch.setattr(cli_common, "CONTAINER_SECRETS", secrets)
    (secrets / "pass").write_text("from a container secret\n")
    assert read_passphrase_file(Path("pass")) == "from a container secret"  # one trailing newline dropped
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    (creds / "pass").write_text("from systemd \n\n")
    assert read_passphrase_file(Path("pass")) == "from systemd \n"  # only one newline; spaces are the user's
    (tmp_path / "pass").write_text("here")
    assert read_passphrase_file(Path("pass")) == "here"  # a file of that name here comes first
    assert read_passphrase_file(secrets / "pass") == "from a container secret"  # a path is only that path
    (tmp_path / "empty").write_text("\n")
    for name, said in (("empty", "is empty"), ("nowhere", "no passphrase file nowhere here, in $CREDENTIALS")):
        with pytest.raises(ClientError) as err:
            read_passphrase_file(Path(name))
        assert err.value.code == "client.passphrase_file" and said in err.value.message
    with pytest.raises(ClientError) as err:
        read_passphrase_file(tmp_path / "missing" / "pass")
    assert err.value.message == f"no passphrase file {tmp_path / 'missing' / 'pass'}"


def test_metrics_table_refuses_a_non_loopback_address_without_the_opt_in() -> None:
    config = check_config(BASE + '[metrics]\naddress = "127.0.0.1:9464"\n')
    assert config.metrics_address == ("127.0.0.1", 9464) and not config.metrics_non_loopback
    for address, said in (
        ("0.0.0.0:9464", "not a loopback address"),
        ("metrics.example:9464", "an IP address"),
        ("127.0.0.1:0", "needs a port"),
        ("127.0.0.1", "HOST:PORT"),
    ):
        with pytest.raises(ConfigError) as err:
            check_config(BASE + f'[metrics]\naddress = "{address}"\n')
        assert err.value.code == "config.invalid" and "metrics.address" in err.value.message, address
        assert said in err.value.message, err.value.message
    opted = check_config(BASE + '[metrics]\naddress = "[::]:9464"\nallow_non_loopback = true\n')
    assert opted.metrics_address == ("::", 9464) and opted.metrics_non_loopback
    with pytest.raises(ConfigError) as err:
        check_config(BASE + "[metrics]\nport = 9464\n")
    assert err.value.code == "config.unknown_key" and "metrics.port" in err.value.message


def test_where_node_run_serves_metrics() -> None:
    plain = check_config(BASE)
    assert metrics_bind(plain, None, None, False) is None
    assert metrics_bind(plain, 9464, None, False) == MetricsBind("127.0.0.1", 9464, False)
    with pytest.raises(MetricsError) as err:
        metrics_bind(plain, None, "0.0.0.0:9464", False)
    assert err.value.code == "node.metrics_not_loopback"
    assert metrics_bind(plain, None, "0.0.0.0:9464", True) == MetricsBind("0.0.0.0", 9464, True)
    table = check_config(BASE + '[metrics]\naddress = "10.0.0.5:9100"\nallow_non_loopback = true\n')
    assert metrics_bind(table, None, None, False) == MetricsBind("10.0.0.5", 9100, True)
    assert metrics_bind(table, None, "10.0.0.6:9200", False) == MetricsBind("10.0.0.6", 9200, True)  # its opt-in
    assert metrics_bind(table, 9464, None, False) == MetricsBind("127.0.0.1", 9464, True)
