"""The ``holdspace`` command: run a node, hold an identity, talk in groups.

Every error is one line, ``error: <code>: <sentence>``, and exit status 1; never a traceback.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import signal
import time
from contextlib import aclosing
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import nacl.signing
import trio

from holdspace.clients import crisis
from holdspace.clients.app.launch import app
from holdspace.clients.cli_common import (
    friendly,
    home_dir,
    home_lock,
    passphrase,
    passphrase_file_option,
    run,
    session_call,
)
from holdspace.clients.client import NodeSession, connect
from holdspace.clients.corrections import edit_candidates, latest_edit
from holdspace.clients.i18n import _, from_environment, ngettext, set_language
from holdspace.clients.living_cli import register as register_living
from holdspace.clients.moderation_cli import print_standing
from holdspace.clients.moderation_cli import register as register_moderation
from holdspace.clients.participant import ClientError, GroupRecord, Message, Participant, now_ms
from holdspace.clients.people import People
from holdspace.clients.recovery import (
    BACKUP_FILE,
    fetch_from_node,
    make_recovery_key,
    restore,
    store_on_node,
    write_backup,
)
from holdspace.clients.support import group_title, reactions
from holdspace.clients.support_cli import badge_text, parse_duration, print_crisis, register
from holdspace.node import maintenance, sdnotify
from holdspace.node import operations as node_operations
from holdspace.node.config import (
    CONFIG,
    WILDCARDS,
    ConfigError,
    NodeConfig,
    init_node,
    load_node,
    node_id,
    parse_group_id,
    read_config,
    update_peers,
    update_refused,
)
from holdspace.node.liveness import STATUS, STATUS_EVERY, LiveStatus, OperationError, health, node_lock
from holdspace.node.logs import FORMATS, LEVELS, setup_logging
from holdspace.node.peering import PeerBook
from holdspace.node.reload import apply_config
from holdspace.node.store import StoreError
from holdspace.protocol import kinds, textid
from holdspace.protocol.address import InviteToken, NodeAddress, shareable_invite
from holdspace.protocol.content import Text
from holdspace.protocol.identity import fingerprint, parse_pseudonym_id, pseudonym_text_id
from holdspace.protocol.operator_token import parse_token
from holdspace.protocol.payloads import ROLES
from holdspace.simulations.cli import sim

if TYPE_CHECKING:
    from holdspace.node.federation import Federation
    from holdspace.node.metrics import MetricsBind

log = logging.getLogger("holdspace.node")


@click.group()
@click.version_option(package_name="holdspace")
@click.option(
    "--home",
    default=lambda: os.environ.get("HOLDSPACE_HOME", "~/.holdspace"),
    show_default="~/.holdspace or $HOLDSPACE_HOME",
    help="Directory holding your identity (several people can use one machine with several homes).",
)
@click.pass_context
def cli(ctx: click.Context, home: str) -> None:
    """Holdspace: federated, end-to-end-encrypted peer-support groups."""
    ctx.ensure_object(dict)
    ctx.obj["home"] = home
    set_language(from_environment())  # LANGUAGE, LC_ALL, LC_MESSAGES or LANG, as gettext reads them


@cli.command()
def demo() -> None:
    """Walk through a group conversation on a real node, then clean up."""
    from holdspace.clients.demo import run_demo  # noqa: PLC0415 - other commands start without it

    friendly(run_demo)(click.echo)


# --- node -------------------------------------------------------------------------------------


@cli.group()
def node() -> None:
    """Run a community node."""


@node.command("init")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--listen", default="127.0.0.1:4433", show_default=True, help="HOST:PORT to listen on (UDP).")
@click.option(
    "--public",
    help="HOST:PORT others dial, when it differs from --listen (a wildcard listen address, NAT, a port forward).",
)
@passphrase_file_option
@friendly
def node_init(directory: Path, listen: str, public: str | None, passphrase_file: Path | None) -> None:
    """Create a node in DIRECTORY: its key (sealed with a passphrase) and its configuration."""
    address = init_node(directory, listen, passphrase(confirm=True, file=passphrase_file), public)
    click.echo(_("node created in {directory}", directory=directory))
    click.echo(_("address: {address}", address=address))
    if address.host in WILDCARDS:
        click.echo(_("note: nobody can dial a wildcard address; give the address others reach with --public HOST:PORT"))


@node.command("run")
@click.argument("directory", type=click.Path(path_type=Path, exists=True))
@click.option(
    "--metrics",
    "metrics_port",
    type=click.IntRange(1, 65535),
    help="Serve Prometheus metrics on http://127.0.0.1:PORT/metrics (off by default).",
)
@click.option(
    "--metrics-address",
    envvar="HOLDSPACE_METRICS_ADDRESS",
    help="Serve metrics on HOST:PORT (an IP address) instead; overrides [metrics] address in node.toml.",
)
@click.option(
    "--metrics-non-loopback",
    is_flag=True,
    envvar="HOLDSPACE_METRICS_NON_LOOPBACK",
    help="Allow a metrics address beyond loopback (a container's); refused without it.",
)
@click.option(
    "--log-level", type=click.Choice(LEVELS), default="info", show_default=True, help="Least severe level logged."
)
@click.option(
    "--log-format",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text, or json: one JSON object per line (ts, level, logger, msg). Logs go to stderr.",
)
@passphrase_file_option
@friendly
def node_run(
    directory: Path,
    metrics_port: int | None,
    metrics_address: str | None,
    metrics_non_loopback: bool,
    log_level: str,
    log_format: str,
    passphrase_file: Path | None,
) -> None:
    """Run the node in DIRECTORY until Ctrl-C or SIGTERM; SIGHUP re-reads node.toml. Under systemd
    (Type=notify) it reports readiness, reloads and its stop; a store of an older format is migrated."""
    # imported here: the participant's commands start without the node's runtime
    from holdspace.node.metrics import metrics_bind  # noqa: PLC0415

    node_operations.require_node(directory)
    with node_lock(directory, "starting another"):
        setup_logging(log_level, log_format)
        config = read_config(directory)  # a bad configuration is reported before the passphrase is asked
        bind = metrics_bind(config, metrics_port, metrics_address, metrics_non_loopback)
        config, key = load_node(directory, passphrase(file=passphrase_file))
        migrated = maintenance.migrate_store(directory)
        if migrated is not None:
            log.warning("store migrated from format %d to the current format", migrated)
        try:
            run(lambda: _serve(directory, config, key, bind))
        except StoreError as err:
            raise node_operations.store_failed(err, directory) from err
    log.info("node stopped")
    click.echo(_("node stopped"))


async def _serve(directory: Path, config: NodeConfig, key: nacl.signing.SigningKey, bind: MetricsBind | None) -> None:
    """``node run`` once the node's directory is locked, its key open and its store current."""
    from holdspace.node.federation import Federation, quic_connector  # noqa: PLC0415
    from holdspace.node.metrics import serve_metrics  # noqa: PLC0415
    from holdspace.node.server import open_node  # noqa: PLC0415

    # signals are received from the start: one sent while the node starts (systemd stopping or reloading
    # it, say) waits until it serves, instead of killing it midway
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM, signal.SIGHUP) as signals:
        async with (
            open_node(directory, key, config.node_limits(), policy=config.policy()) as running,
            trio.open_nursery() as nursery,
        ):
            if config.turn is not None:
                running.turn = config.turn.relay(directory)  # listen hands out its credentials (17.11)
            book = PeerBook(running.public_key, {p.node_key: p for p in config.peers}, set(config.blocked))
            federation = Federation(running, book, quic_connector(key, running.limits.transport))
            metrics = None
            if bind is not None:
                metrics = serve_metrics(running, federation, bind.port, bind.host, non_loopback=bind.non_loopback)
            nursery.start_soon(federation.run)
            host, port = await nursery.start(running.serve_quic, config.host, config.port)
            address = config.public_address(running.public_key, port)
            log.info(
                "node %s started: listening on %s:%d, address %s; %d peer(s) added, %d blocked",
                node_id(running.public_key),
                host,
                port,
                address,
                len(config.peers),
                len(config.blocked),
            )
            if not config.dialable:
                log.warning(
                    "listening on the wildcard address %s and node.toml sets no public_host: "
                    "the address above is not one others can dial",
                    host,
                )
            web_origin = await _start_web(nursery, directory, config, running, str(address))
            await nursery.start(_write_status, directory, running, federation, address)
            click.echo(_("holdspace node listening: {address}", address=address), err=False)
            if web_origin is not None:
                click.echo(_("holdspace web client: {web_origin}/", web_origin=web_origin), err=False)
            if bind:
                log.info("metrics: http://%s:%d/metrics", bind.host, bind.port)
            ready = f"STATUS=serving at {address}"
            sdnotify.notify("READY=1", ready, f"MAINPID={os.getpid()}")
            if (every := sdnotify.watchdog_interval()) is not None:
                nursery.start_soon(_watchdog, every)
            async for signum in signals:
                if signum == signal.SIGHUP:
                    sdnotify.reloading()
                    await _reload(directory, config, running, book, federation)
                    sdnotify.notify("READY=1", ready)
                    continue
                log.info("stopping (%s)", signal.Signals(signum).name)
                sdnotify.notify("STOPPING=1", "STATUS=stopping")
                break
            if metrics is not None:
                metrics.close()
            nursery.cancel_scope.cancel()
    (directory / STATUS).unlink(missing_ok=True)


async def _watchdog(every: float) -> None:
    """Tell systemd the event loop is alive (``WatchdogSec=``): a stalled loop gets the node restarted."""
    while True:
        sdnotify.notify("WATCHDOG=1")
        await trio.sleep(every)


async def _start_web(nursery: trio.Nursery, directory: Path, config: NodeConfig, node: Any, address: str) -> str | None:
    """Start the web endpoint if ``[web]`` is enabled (spec 15.8); return its origin."""
    if config.web is None:
        return None
    from holdspace.node.web.serve import serve_web  # noqa: PLC0415 - only a node with [web] enabled needs it

    certfile, keyfile = config.web.files(directory)
    endpoint = await nursery.start(
        functools.partial(
            serve_web,
            node,
            listen_host=config.host,
            port=config.web.port,
            public_host=config.public_web_host(),
            certfile=certfile,
            keyfile=keyfile,
            address=address,
        )
    )
    log.info("web client: %s/ (HTTPS, WebSocket on TCP; WebTransport on UDP %d)", endpoint.origin, endpoint.port)
    return str(endpoint.origin)


async def _reload(directory: Path, started: NodeConfig, node: Any, book: PeerBook, federation: Federation) -> None:
    """SIGHUP: apply an edited node.toml (see node.reload); a file that fails its check changes nothing."""
    try:
        new = read_config(directory)
    except ConfigError as err:
        log.error("node.toml not reloaded, nothing changed: %s: %s", err.code, err.message)
        return
    done = apply_config(new, started, node.limits, node.rates, book, node.core)
    for key in sorted(done.newly_blocked):
        log.info("blocked node %s: closing its connections", node_id(key))
        await federation.drop(key)
    for group in done.newly_refused:  # its subscribers are told at once
        node.refresh(group)
    if done.newly_refused:
        log.info("%d more group(s) refused: no longer stored or served", len(done.newly_refused))
    node.topology_changed()  # links follow the new peers and blocks
    log.info("node.toml reloaded: %d peer(s) added, %d blocked", len(new.peers), len(new.blocked))
    if done.need_restart:
        log.warning("changed in node.toml, applied at the next restart: %s", ", ".join(done.need_restart))


async def _write_status(
    directory: Path,
    node: Any,
    federation: Federation,
    address: NodeAddress,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Keep ``status.json`` current for ``holdspace node status`` (clients, peers connected); started
    once the first one is written (``node status --check`` then sees a ready node)."""
    started = time.time()
    while True:
        peers = [textid.encode_id(textid.NODE_PREFIX, k) for k in sorted(federation.connected)]
        LiveStatus(os.getpid(), str(address), started, node.clients, peers, time.time()).write(directory)
        task_status.started()
        task_status = trio.TASK_STATUS_IGNORED
        await trio.sleep(STATUS_EVERY)


@node.group("config")
def node_config() -> None:
    """The node's configuration file, node.toml."""


@node_config.command("check")
@click.argument("directory", type=click.Path(path_type=Path, exists=True))
@friendly
def node_config_check(directory: Path) -> None:
    """Check DIRECTORY/node.toml against its schema, without starting anything."""
    config = read_config(directory)
    click.echo(_("{path}: valid", path=directory / CONFIG))
    public = f"{config.public_host or config.host}:{config.public_port or config.port}"
    click.echo(_("listen {host}:{port}; public address {public}", host=config.host, port=config.port, public=public))
    click.echo(_("peers: {peers}; blocked: {blocked}", peers=len(config.peers), blocked=len(config.blocked)))
    limits = ", ".join(f"{k} = {v:g}" for k, v in sorted({**config.limits, **config.budgets}.items())) or "defaults"
    click.echo(_("limits: {limits}", limits=limits))
    admission = config.admission
    if admission.max_groups is not None:
        said = _(
            "admission: create {create}, federate {federate}, at most {max_groups} groups; {refused} refused",
            create=admission.create,
            federate=admission.federate,
            max_groups=admission.max_groups,
            refused=len(config.refused),
        )
    else:
        said = _(
            "admission: create {create}, federate {federate}; {refused} refused",
            create=admission.create,
            federate=admission.federate,
            refused=len(config.refused),
        )
    click.echo(said)
    click.echo(_("abuse contact: {contact}", contact=config.contact or _("(none: set [operator] contact)")))
    if config.web is not None:
        click.echo(
            _(
                "web: https://{public_web_host}:{port}/ (TCP and UDP {port})",
                public_web_host=config.public_web_host(),
                port=config.web.port,
            )
        )
    if not config.dialable:
        click.echo(_("warning: the listen host is a wildcard and public_host is not set: others cannot dial this node"))


@node.command("web-cert")
@click.argument("directory", type=click.Path(path_type=Path, exists=True))
@click.option("--host", help="The host browsers reach the node at (default: public_host, else listen_host).")
@click.option("--days", type=click.IntRange(1, 14), default=13, show_default=True, help="Validity (at most 14).")
@friendly
def node_web_cert(directory: Path, host: str | None, days: int) -> None:
    """Write a short-lived self-signed web certificate (web-cert.pem, web-key.pem in DIRECTORY).

    Browsers accept it over WebTransport by its hash, which the node publishes; for the pages and the
    WebSocket a browser must be told to trust it. Use a CA-issued certificate for public nodes; renew
    this one (and restart the node) before it expires."""
    from holdspace.node.transport.certs import web_certificate  # noqa: PLC0415 - only this command needs it

    config = read_config(directory)
    cert, key = web_certificate(host or config.public_web_host(), days=days)
    (directory / "web-cert.pem").write_bytes(cert)
    fd = os.open(directory / "web-key.pem", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, key)
    finally:
        os.close(fd)
    click.echo(
        _(
            "wrote {cert} and {key} (valid {days} days)",
            cert=directory / "web-cert.pem",
            key=directory / "web-key.pem",
            days=days,
        )
    )
    click.echo(_('in node.toml: [web] enabled = true, cert = "web-cert.pem", key = "web-key.pem"'))


@node.command("status")
@click.argument("directory", type=click.Path(path_type=Path, exists=True))
@click.option("--json", "as_json", is_flag=True)
@click.option(
    "--check",
    is_flag=True,
    help="Only say whether the node runs and is ready: exit status 0, or 1 with one line saying why not"
    " (for health checks: reads no store and no key).",
)
@friendly
def node_status(directory: Path, as_json: bool, check: bool) -> None:
    """Peers, clients, groups, entries and store size of the node in DIRECTORY (running or not)."""
    if check:
        click.echo(health(directory))
        return
    found = node_operations.status(directory)
    if as_json:
        click.echo(json.dumps(found))
        return
    state = f"running at {found['address']}" if found["running"] else "not running"
    click.echo(_("node: {state}", state=state))
    if found["running"]:
        click.echo(
            _(
                "clients connected: {clients}; peers connected: {peers}",
                clients=found["clients"],
                peers=len(found["peers_connected"]),
            )
        )
    click.echo(
        _(
            "peers configured: {peers}; blocked: {peers_blocked}",
            peers=len(found["peers_configured"]),
            peers_blocked=found["peers_blocked"],
        )
    )
    click.echo(_("groups: {groups}; entries: {entries}", groups=found["groups"], entries=found["entries"]))
    live, free, disk = (found[k] / 1e6 for k in ("store_live_bytes", "store_free_bytes", "store_bytes"))
    click.echo(
        _(
            "store: {live:.1f} MB of live data, {free:.1f} MB in free pages, {disk:.1f} MB on disk",
            live=live,
            free=free,
            disk=disk,
        )
    )
    if free > max(live, 1.0):
        click.echo(_("free pages are reused by later writes; 'holdspace node compact' gives them back to the disk"))


@node.command("backup")
@click.argument("directory", type=click.Path(path_type=Path, exists=True))
@click.argument("out", type=click.Path(path_type=Path))
@friendly
def node_backup(directory: Path, out: Path) -> None:
    """Write a consistent, compacted copy of the node in DIRECTORY to OUT (the node may keep running)."""
    manifest = node_operations.backup(directory, out)
    click.echo(
        _(
            "backup written to {out}: {entries} entries in {groups} groups",
            out=out,
            entries=manifest["entries"],
            groups=len(manifest["groups"]),
        )
    )
    click.echo(_("the node key in it stays sealed with your passphrase; keep the backup private all the same"))


@node.command("restore")
@click.argument("backup", type=click.Path(path_type=Path, exists=True))
@click.argument("directory", type=click.Path(path_type=Path))
@friendly
def node_restore(backup: Path, directory: Path) -> None:
    """Restore BACKUP into DIRECTORY (new or empty), checking every entry against the backup's manifest.
    Nothing is left in DIRECTORY unless the whole check passed."""
    manifest = node_operations.restore(backup, directory)
    click.echo(
        _(
            "restored {entries} entries in {groups} groups into {directory}; verified",
            entries=manifest["entries"],
            groups=len(manifest["groups"]),
            directory=directory,
        )
    )


@node.command("check")
@click.argument("directory", type=click.Path(path_type=Path, exists=True))
@click.option("--json", "as_json", is_flag=True)
@friendly
def node_check(directory: Path, as_json: bool) -> None:
    """Check the store of DIRECTORY: every entry's hash, signature and place, and every index against
    the logs (the node may keep running). Exit status 1, naming what is wrong, if anything is."""
    found = maintenance.check(directory)
    if as_json:
        click.echo(json.dumps(found))
    else:
        for problem in found["problems"]:
            click.echo(problem)
    if found["problems"]:
        first = found["problems"][0]
        raise OperationError("node.check_failed", f"{len(found['problems'])} problem(s); the first: {first}")
    if not as_json:
        click.echo(
            _(
                "store sound: {entries} entries in {groups} groups checked",
                entries=found["entries"],
                groups=found["groups"],
            )
        )


@node.command("compact")
@click.argument("directory", type=click.Path(path_type=Path, exists=True))
@friendly
def node_compact(directory: Path) -> None:
    """Give the free pages of DIRECTORY's store back to the disk (the node must be stopped): a
    compacted copy, checked, then renamed over the store."""
    sizes = maintenance.compact(directory)
    click.echo(
        _(
            "store compacted: {before:.1f} MB -> {after:.1f} MB",
            before=sizes["before"] / 1e6,
            after=sizes["after"] / 1e6,
        )
    )


@node.command("migrate")
@click.argument("directory", type=click.Path(path_type=Path, exists=True))
@friendly
def node_migrate(directory: Path) -> None:
    """Bring DIRECTORY's store to this version's format (the node must be stopped; 'node run' does
    it too). All or nothing: interrupted, the store stays in its old format."""
    node_operations.require_node(directory)
    with node_lock(directory, "migrating its store"):
        migrated = maintenance.migrate_store(directory)
    click.echo(
        _("store already in the current format")
        if migrated is None
        else _("store migrated from format {migrated}", migrated=migrated)
    )


@node.group("peer")
def peer() -> None:
    """Federation peers: link to one, block one, list them (a running node applies edits on SIGHUP)."""


APPLY = "a running node applies this on SIGHUP (kill -HUP PID) or at its next start"


def _peer_edit(directory: Path, done: str, unchanged: str, **edit: str) -> None:
    config, changed = update_peers(directory, **edit)
    click.echo(
        ngettext(
            "{done}; {n} peer, {blocked} blocked",
            "{done}; {n} peers, {blocked} blocked",
            len(config.peers),
            done=done if changed else unchanged,
            blocked=len(config.blocked),
        )
    )
    if changed:
        click.echo(APPLY)


@peer.command("add")
@click.argument("directory", type=click.Path(path_type=Path, exists=True))
@click.argument("address")
@friendly
def peer_add(directory: Path, address: str) -> None:
    """Link the node in DIRECTORY to the node at ADDRESS (holdspace://hsn1...@host:port)."""
    _peer_edit(directory, "peer added", "already a peer", add=address)


@peer.command("remove")
@click.argument("directory", type=click.Path(path_type=Path, exists=True))
@click.argument("node_id_or_address", metavar="NODE_ID")
@friendly
def peer_remove(directory: Path, node_id_or_address: str) -> None:
    """Stop linking to NODE_ID (hsn1... or its address); the groups both nodes host still link them."""
    _peer_edit(directory, "peer removed", "not a peer: nothing changed", remove=node_id_or_address)


@peer.command("block")
@click.argument("directory", type=click.Path(path_type=Path, exists=True))
@click.argument("node_id_or_address", metavar="NODE_ID")
@friendly
def peer_block(directory: Path, node_id_or_address: str) -> None:
    """Refuse the node NODE_ID (hsn1... or its address) in both directions."""
    _peer_edit(directory, "peer blocked", "already blocked", block=node_id_or_address)


@peer.command("unblock")
@click.argument("directory", type=click.Path(path_type=Path, exists=True))
@click.argument("node_id_or_address", metavar="NODE_ID")
@friendly
def peer_unblock(directory: Path, node_id_or_address: str) -> None:
    """Lift a block on NODE_ID (hsn1... or its address)."""
    _peer_edit(directory, "block lifted", "not blocked: nothing changed", unblock=node_id_or_address)


@peer.command("list")
@click.argument("directory", type=click.Path(path_type=Path, exists=True))
@click.option("--json", "as_json", is_flag=True)
@friendly
def peer_list(directory: Path, as_json: bool) -> None:
    """The peers added and the nodes blocked in DIRECTORY/node.toml."""
    config = read_config(directory)
    peers = [str(p) for p in config.peers]
    blocked = [node_id(k) for k in sorted(config.blocked)]
    if as_json:
        click.echo(json.dumps({"peers": peers, "blocked": blocked}))
        return
    for address in peers:
        click.echo(_("peer     {address}", address=address))
    for text in blocked:
        click.echo(_("blocked  {text}", text=text))
    if not peers and not blocked:
        click.echo(_("no peers added and none blocked (the other hosts of this node's groups are linked to anyway)"))


@node.group("token")
def node_token() -> None:
    """Tokens that let someone start a group on this node (with [admission] create = "token")."""


@node_token.command("new")
@click.argument("directory", type=click.Path(path_type=Path, exists=True))
@click.option("--uses", type=click.IntRange(1, 1_000_000), help="How many groups it may start (default: no limit).")
@click.option("--days", type=click.FloatRange(min=0, min_open=True), help="Valid for this many days (default: always).")
@click.option("--label", default="", help="A note for yourself: who you gave it to (stored on this node only).")
@friendly
def node_token_new(directory: Path, uses: int | None, days: float | None, label: str) -> None:
    """Make a token; it is shown once. Give it privately; the node keeps only its hash."""
    from holdspace.node import moderation  # noqa: PLC0415 - the participant's commands start without it

    text = moderation.issue_token(directory, now_ms(), uses=uses, days=days, label=label)
    click.echo(text)
    click.echo(_("shown once: the node keeps only its hash. It works at once, even on a running node."), err=True)


@node_token.command("list")
@click.argument("directory", type=click.Path(path_type=Path, exists=True))
@click.option("--json", "as_json", is_flag=True)
@friendly
def node_token_list(directory: Path, as_json: bool) -> None:
    """The tokens not revoked: id, uses, expiry, label."""
    from holdspace.node import moderation  # noqa: PLC0415

    now = now_ms()
    tokens = moderation.list_tokens(directory)
    if as_json:
        click.echo(json.dumps([{**asdict(t), "state": t.state(now)} for t in tokens]))
        return
    for t in tokens:
        until = time.strftime("%Y-%m-%d %H:%M", time.localtime(t.expires_ms / 1000)) if t.expires_ms else "never"
        allowed = t.max_uses if t.max_uses is not None else "unlimited"
        click.echo(
            _(
                "{id}  {uses}/{allowed} used  expires {until}  {state}  {label}",
                id=t.id,
                uses=t.uses,
                allowed=allowed,
                until=until,
                state=t.state(now),
                label=t.label,
            )
        )
    if not tokens:
        click.echo(_("no tokens (holdspace node token new DIRECTORY)"))


@node_token.command("revoke")
@click.argument("directory", type=click.Path(path_type=Path, exists=True))
@click.argument("token_id")
@friendly
def node_token_revoke(directory: Path, token_id: str) -> None:
    """Revoke the token TOKEN_ID (see 'token list'); groups it started stay."""
    from holdspace.node import moderation  # noqa: PLC0415

    click.echo(
        _(
            "token {revoke_token} revoked (at once, even on a running node)",
            revoke_token=moderation.revoke_token(directory, token_id),
        )
    )


@node.group("groups")
def node_groups() -> None:
    """The groups this node hosts: list them, refuse one, drop one's data."""


@node_groups.command("list")
@click.argument("directory", type=click.Path(path_type=Path, exists=True))
@click.option("--json", "as_json", is_flag=True)
@friendly
def node_groups_list(directory: Path, as_json: bool) -> None:
    """Every group stored here: id, entries, bytes, latest entry. The node sees no names and no words."""
    from holdspace.node import moderation  # noqa: PLC0415

    config = read_config(directory)
    rows = moderation.list_groups(directory, config.refused)
    if as_json:
        click.echo(json.dumps([asdict(r) for r in rows]))
        return
    for r in rows:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.last_entry_ms / 1000)) if r.last_entry_ms else "-"
        note = "  refused" if r.refused else ""
        click.echo(
            _(
                "{id}  {entries} entries  {bytes:,} bytes  latest {when}{note}",
                id=r.id,
                entries=r.entries,
                bytes=r.bytes,
                when=when,
                note=note,
            )
        )
    if not rows:
        click.echo(_("no groups stored"))


@node_groups.command("refuse")
@click.argument("directory", type=click.Path(path_type=Path, exists=True))
@click.argument("group_id")
@friendly
def node_groups_refuse(directory: Path, group_id: str) -> None:
    """Neither store nor serve GROUP_ID (hsg1...): its members here and its other hosts are refused
    with admission.group_refused. Its data stays until 'groups drop'."""
    config, changed = update_refused(directory, refuse=parse_group_id(group_id))
    click.echo(
        _("group refused; {refused} refused", refused=len(config.refused))
        if changed
        else _("already refused; {refused} refused", refused=len(config.refused))
    )
    if changed:
        click.echo(APPLY)


@node_groups.command("allow")
@click.argument("directory", type=click.Path(path_type=Path, exists=True))
@click.argument("group_id")
@friendly
def node_groups_allow(directory: Path, group_id: str) -> None:
    """Lift a refusal of GROUP_ID."""
    config, changed = update_refused(directory, allow=parse_group_id(group_id))
    click.echo(
        _("refusal lifted; {refused} refused", refused=len(config.refused))
        if changed
        else _("not refused: nothing changed; {refused} refused", refused=len(config.refused))
    )
    if changed:
        click.echo(APPLY)


@node_groups.command("drop")
@click.argument("directory", type=click.Path(path_type=Path, exists=True))
@click.argument("group_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@friendly
def node_groups_drop(directory: Path, group_id: str, yes: bool) -> None:
    """Refuse GROUP_ID and delete everything this node stores of it (the node must be stopped).
    Members whose home is this node lose their access through it; other hosts keep the group."""
    from holdspace.node import moderation  # noqa: PLC0415

    group = parse_group_id(group_id)
    if not yes:
        click.confirm(
            _("Delete every entry of {group_id} from this node and refuse it?", group_id=group_id), abort=True
        )
    deleted = moderation.drop_group(directory, group)
    click.echo(_("dropped {deleted} entries; the group is refused (node.toml [admission] refused)", deleted=deleted))
    click.echo(_("its bytes leave data.mdb's live pages now; 'holdspace node backup' copies leave them out"))


# --- identity ---------------------------------------------------------------------------------


@cli.group("id")
def identity() -> None:
    """Your identity: one master secret from which every group pseudonym is derived."""


@identity.command("new")
@click.option("--node", "node_address", help="Your home node: holdspace://hsn1...@host:port")
@click.pass_context
@friendly
def id_new(ctx: click.Context, node_address: str | None) -> None:
    """Create your identity in --home, sealed with a passphrase."""
    address = NodeAddress.parse(node_address) if node_address else None
    home = home_dir(ctx)
    with home_lock(home):
        Participant.create(home, passphrase(confirm=True), address)
    click.echo(_("identity created in {home}", home=home))
    click.echo(_("Your passphrase protects your keys and every message you have read. It cannot be recovered."))


@identity.command("show")
@click.pass_context
@friendly
def id_show(ctx: click.Context) -> None:
    """Your home node and your pseudonym in each group."""
    me = Participant.load(home_dir(ctx), passphrase())
    click.echo(_("home node: {node}", node=me.node or _("(none)")))
    for record in me.groups.values():
        p = me.pseudonym(record)
        click.echo(f"{group_title(record) or record.group_id.hex()[:12]}: {p.text_id}  ({fingerprint(p.public_key)})")


@cli.command("contact")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@friendly
def contact(ctx: click.Context, as_json: bool) -> None:
    """Who runs your home node, and where to report abuse to them (as the node says in its hello)."""

    async def go(me: Participant, s: Any) -> dict[str, Any]:
        return {"node": str(me.node), "contact": s.contact, "create": s.create_policy}

    _me, found = session_call(ctx, go)
    if as_json:
        click.echo(json.dumps(found))
        return
    click.echo(_("home node: {node}", node=found["node"]))
    if found["contact"]:
        click.echo(_("report abuse to its operator: {contact}", contact=found["contact"]))
    else:
        click.echo(_("its operator publishes no abuse contact"))
    click.echo(_("the operator sees no words: report what a message says to the group's moderators (holdspace report)"))
    starts = {"open": "anyone", "token": "only with a token from its operator", "closed": "nobody"}
    click.echo(_("who may start a group there: {get}", get=starts.get(found["create"], found["create"])))


# --- recovery ---------------------------------------------------------------------------------


@cli.group()
def recovery() -> None:
    """A recovery key shown once as words, and a backup of your identity sealed under it."""


def _backup_out(ctx: click.Context, out: Path | None) -> Path:
    return out if out is not None else home_dir(ctx) / BACKUP_FILE


@recovery.command("show-key")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), help="Where to write the backup.")
@click.option("--new", "replace", is_flag=True, help="Make a new key (older words then open only older backups).")
@click.pass_context
@friendly
def recovery_show_key(ctx: click.Context, out: Path | None, replace: bool) -> None:
    """Make your recovery key, show it once, and write a backup of your identity sealed under it."""
    home = home_dir(ctx)
    with home_lock(home):
        me = Participant.load(home, passphrase())
        words = make_recovery_key(me, replace=replace)
        path = _backup_out(ctx, out)
        size = write_backup(me, path)
    click.echo(_("Your recovery key (write it down now, on paper; it will NOT be shown again):"))
    click.echo("")
    click.echo("    " + " ".join(words[:7]))
    click.echo("    " + " ".join(words[7:]))
    click.echo("")
    click.echo(
        _("backup written to {path} ({size:,} bytes): your identity and groups, no messages.", path=path, size=size)
    )
    click.echo(_("Keep a copy of that file off this device. With it and these words you can restore on a new device."))
    click.echo(_("To keep a backup on your home node too: holdspace recovery backup --to-node"))


@recovery.command("backup")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), help="Where to write the backup.")
@click.option("--to-node", is_flag=True, help="Keep the backup on your home node instead of in a file.")
@click.pass_context
@friendly
def recovery_backup(ctx: click.Context, out: Path | None, to_node: bool) -> None:
    """Write a fresh backup under your existing recovery key (after joining or leaving a group)."""
    if to_node:
        _me, size = session_call(ctx, store_on_node)
        click.echo(
            _(
                ("backup kept on your home node ({size:,} bytes); restore it with 'recovery restore --from-node'"),
                size=size,
            )
        )
        return
    home = home_dir(ctx)
    with home_lock(home):
        me = Participant.load(home, passphrase())
        path = _backup_out(ctx, out)
        size = write_backup(me, path)
    click.echo(_("backup written to {path} ({size:,} bytes)", path=path, size=size))


@recovery.command("restore")
@click.argument("backup_file", required=False, type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--from-node", "node", help="Fetch the backup from this home node (holdspace://...) instead of a file.")
@click.pass_context
@friendly
def recovery_restore(ctx: click.Context, backup_file: Path | None, node: str | None) -> None:
    """Restore your identity into --home from BACKUP_FILE (or your home node) and your recovery key's words."""
    if (backup_file is None) == (node is None):
        raise ClientError("client.bad_argument", _("give either a BACKUP_FILE or --from-node ADDRESS"))
    home = home_dir(ctx)
    words = click.prompt(_("Recovery key (the words, in order)"))
    if node is not None:
        address = NodeAddress.parse(node)

        async def fetch() -> bytes:
            async with connect(address) as session:
                return await fetch_from_node(session, words)

        sealed = run(fetch)
    else:
        assert backup_file is not None
        sealed = backup_file.read_bytes()
    with home_lock(home):
        me = restore(home, passphrase(confirm=True), words, sealed)
    click.echo(
        ngettext(
            "identity restored in {home}: {n} group; messages are fetched again from the nodes.",
            "identity restored in {home}: {n} groups; messages are fetched again from the nodes.",
            len(me.groups),
            home=home,
        )
    )


# --- groups -----------------------------------------------------------------------------------


@cli.command("groups")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
@friendly
def groups(ctx: click.Context, as_json: bool) -> None:
    """The groups you are in."""
    me = Participant.load(home_dir(ctx), passphrase())
    rows: list[dict[str, Any]] = [
        {"group": r.group_id.hex(), "name": group_title(r), "messages": len(r.messages)} for r in me.groups.values()
    ]
    if as_json:
        click.echo(json.dumps(rows))
        return
    for row in rows:
        click.echo(
            _(
                "{group_id}  {name}  ({messages} messages)",
                group_id=row["group"][:12],
                name=row["name"] or "",
                messages=row["messages"],
            )
        )


@cli.group()
def group() -> None:
    """Create, join and look after groups."""


NODE_TOKEN_HELP = "A token from your home node's operator (hstoken:...), if the node asks for one."  # noqa: S105 - help text


def _node_token(text: str | None) -> bytes | None:
    return parse_token(text) if text else None


@group.command("create")
@click.argument("name")
@click.option("--node-token", help=NODE_TOKEN_HELP)
@click.pass_context
@friendly
def group_create(ctx: click.Context, name: str, node_token: str | None) -> None:
    """Create a group on your home node; you are its first facilitator."""
    token = _node_token(node_token)
    _me, record = session_call(ctx, lambda me, s: me.create_group(s, name, token))
    click.echo(_("group created: {name} ({group_id})", name=name, group_id=record.group_id.hex()[:12]))


@group.command("invite")
@click.argument("group_name")
@click.option("--role", type=click.Choice(ROLES), default="member", show_default=True)
@click.option("--uses", type=click.IntRange(1, 10_000), default=1, show_default=True)
@click.option("--days", type=click.IntRange(1, 365), default=7, show_default=True, help="Valid for this many days.")
@click.option("--for", "target", help="Only this pseudonym (hsp1...) may use the invite.")
@click.option("--qr", is_flag=True, help="Also print it as a QR code, to scan with a phone.")
@click.pass_context
@friendly
def group_invite(
    ctx: click.Context, group_name: str, role: str, uses: int, days: int, target: str | None, qr: bool
) -> None:
    """Print an invite to give to someone privately: a link (https://…/join#hsinvite:…) if your home
    node serves the browser client, else the token (hsinvite:…). Either works with 'group join'."""
    target_key = parse_pseudonym_id(target) if target else None

    async def go(me: Participant, s: NodeSession) -> str:
        record = me.find_group(group_name)
        token = await me.invite(
            s, record, role=role, uses=uses, expires_ms=now_ms() + days * 86_400_000, target=target_key
        )
        return shareable_invite(token, s.web_origin)

    _me, invite = session_call(ctx, go)
    click.echo(invite)
    if qr:
        from holdspace.clients.qr import qr_terminal  # noqa: PLC0415 - only --qr draws

        click.echo(qr_terminal(invite), nl=False)


@group.command("invites")
@click.argument("group_name")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@friendly
def group_invites(ctx: click.Context, group_name: str, as_json: bool) -> None:
    """The group's invites: who they admit, how many times, until when, and whether they are closed."""

    async def go(me: Participant, s: Any) -> list[dict[str, Any]]:
        state = await me.sync(s, me.find_group(group_name))
        now = me.clock()
        return [
            {
                "invite": i.entry_id.hex()[:12],
                "role": i.invite.role,
                "uses": i.uses,
                "max_uses": i.invite.max_uses,
                "expires": time.strftime("%Y-%m-%d %H:%M", time.localtime(i.invite.expires_ms / 1000)),
                "status": "closed"
                if i.closed_by is not None
                else "used up"
                if i.uses >= i.invite.max_uses
                else "expired"
                if now > i.invite.expires_ms
                else "open",
            }
            for i in state.invites.values()
        ]

    _me, rows = session_call(ctx, go)
    if as_json:
        click.echo(json.dumps(rows))
        return
    for r in rows:
        click.echo(
            _(
                "{invite}  {role}  {uses}/{max_uses} used  until {expires}  {status}",
                invite=r["invite"],
                role=r["role"],
                uses=r["uses"],
                max_uses=r["max_uses"],
                expires=r["expires"],
                status=r["status"],
            )
        )
    if not rows:
        click.echo(_("no invites yet"))


@group.command("close-invite")
@click.argument("group_name")
@click.argument("invite")
@click.pass_context
@friendly
def group_close_invite(ctx: click.Context, group_name: str, invite: str) -> None:
    """Close an invite (see 'group invites'): nobody can join with it any more, on any node."""

    async def go(me: Participant, s: Any) -> None:
        record = me.find_group(group_name)
        await me.sync(s, record)
        await me.close_invite(s, record, me.find_invite(record, invite))

    session_call(ctx, go)
    click.echo(_("the invite is closed: nobody can join with it any more"))


@group.command("join")
@click.argument("token")
@click.option("--name", help="What to call this group on your device.")
@click.option(
    "--reuse-pseudonym-of",
    "reuse",
    help="Use the pseudonym you have in this other group (members of both could link you).",
)
@click.option("--node-token", help=NODE_TOKEN_HELP + " Needed to join a group hosted elsewhere.")
@click.pass_context
@friendly
def group_join(ctx: click.Context, token: str, name: str | None, reuse: str | None, node_token: str | None) -> None:
    """Join a group with an invite: its link (https://…/join#hsinvite:…) or its token (hsinvite:…).
    You get a fresh, unlinkable pseudonym for it."""
    invite = InviteToken.parse(token)
    operator_token = _node_token(node_token)

    async def go(me: Participant, s: Any) -> GroupRecord:
        return await me.join(s, invite, name, reuse=me.find_group(reuse) if reuse else None, node_token=operator_token)

    _me, record = session_call(ctx, go)
    click.echo(
        _(
            "joined {group}; messages become readable once a member\n"
            "shares the group's keys with you (their app does it automatically).",
            group=group_title(record) or record.group_id.hex()[:12],
        )
    )


@group.command("members")
@click.argument("group_name")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@friendly
def group_members(ctx: click.Context, group_name: str, as_json: bool) -> None:
    """Members and their roles."""

    async def go(me: Participant, s: Any) -> list[dict[str, str]]:
        record = me.find_group(group_name)
        state = await me.sync(s, record)
        mine = me.pseudonym(record).public_key
        forked = set(await me.equivocators(s, record))
        return [
            {
                "pseudonym": pseudonym_text_id(k),
                "role": m.role,
                "you": "yes" if k == mine else "",
                "equivocated": "yes" if k in forked else "",
                "badge": badge_text(record, k, me.clock()).strip(),
            }
            for k, m in sorted(state.members.items())
        ]

    _me, rows = session_call(ctx, go)
    if as_json:
        click.echo(json.dumps(rows))
        return
    for row in rows:
        warning = "  WARNING: signed two different versions of its log" if row["equivocated"] else ""
        badge = f"  {row['badge']}" if row["badge"] else ""
        click.echo(f"{row['pseudonym']}  {row['role']}{'  (you)' if row['you'] else ''}{badge}{warning}")


@group.command("hosts")
@click.argument("group_name")
@click.option("--add", "add_address", help="Add this node (holdspace://...) as a host (facilitators).")
@click.option("--remove", "remove_address", help="Remove this node from the hosts (facilitators).")
@click.pass_context
@friendly
def group_hosts(ctx: click.Context, group_name: str, add_address: str | None, remove_address: str | None) -> None:
    """The community nodes that store and serve this group; facilitators can add or remove one."""

    async def go(me: Participant, s: Any) -> list[str]:
        record = me.find_group(group_name)
        if add_address or remove_address:
            address = add_address or remove_address
            assert address is not None
            state = await me.change_host(s, record, address, add=add_address is not None)
        else:
            state = await me.sync(s, record)
        return [state.hosts[k] for k in sorted(state.hosts)]

    _me, hosts = session_call(ctx, go)
    for address in hosts:
        click.echo(address)


@group.command("remove")
@click.argument("group_name")
@click.argument("member")
@click.option("--ban", is_flag=True, help="Also refuse this pseudonym forever.")
@click.option("--note", help="A kind note for the removed person: only they can read it.")
@click.option("--reason", help="Why, kept for the facilitators: only they can read it.")
@click.pass_context
@friendly
def group_remove(
    ctx: click.Context, group_name: str, member: str, ban: bool, note: str | None, reason: str | None
) -> None:
    """Remove a member; the group moves to new keys the removed member never gets."""
    key = parse_pseudonym_id(member)

    async def go(me: Participant, s: Any) -> None:
        await me.remove_member(s, me.find_group(group_name), key, ban=ban, note=note, reason=reason)

    session_call(ctx, go)
    click.echo(f"{'banned' if ban else 'removed'} {member}")


@group.command("leave")
@click.argument("group_name")
@click.pass_context
@friendly
def group_leave(ctx: click.Context, group_name: str) -> None:
    """Leave a group."""

    async def go(me: Participant, s: Any) -> None:
        await me.leave_group(s, me.find_group(group_name))

    session_call(ctx, go)
    click.echo(_("you left the group"))


# --- messages ---------------------------------------------------------------------------------


@cli.command()
@click.argument("group_name")
@click.argument("text")
@click.option("--cw", "warning", help="A content warning: readers see it and choose to open the message.")
@click.option("--ttl", help="Delete the message everywhere after this long (e.g. 30m, 24h, 7d).")
@click.pass_context
@friendly
def send(ctx: click.Context, group_name: str, text: str, warning: str | None, ttl: str | None) -> None:
    """Send a message (end-to-end encrypted)."""
    ttl_ms = parse_duration(ttl) if ttl else None

    async def go(me: Participant, s: Any) -> GroupRecord:
        record = me.find_group(group_name)
        await me.send(s, record, text, warning=warning, ttl_ms=ttl_ms)
        return record

    me, record = session_call(ctx, go)
    click.echo(_("sent"))
    if me.crisis_check and crisis.check(text):
        print_crisis(record)


def _message_row(
    me: Participant,
    record: GroupRecord,
    m: Message,
    given: dict[bytes, Any],
    people: People,
    edits: dict[bytes, list[Message]],
) -> dict[str, Any] | None:
    content = m.content
    if m.kind == kinds.SESSION or (content is not None and not isinstance(content, Text)):
        return None  # reactions, check-ins, sessions...: shown by their own commands
    mine = me.pseudonym(record).public_key
    person = people(m.author)
    warning = content.warning if isinstance(content, Text) else None
    text = m.text
    edited = latest_edit(m, edits.get(m.entry_id, []))
    if edited is not None:
        text, warning = edited.body, edited.warning
    return {
        "id": m.entry_id.hex(),
        "cursor": m.cursor,
        "author": pseudonym_text_id(m.author),
        "name": person.name,
        "role": person.role,
        "lookalike": person.lookalike,
        "you": m.author == mine,
        "time_ms": m.timestamp_ms,
        "text": None if warning else text,
        "warning": warning,
        "edited": edited is not None,
        "reply_to": content.reply.hex() if isinstance(content, Text) and content.reply else None,
        "direct": m.kind == kinds.DIRECT,
        "expires_ms": m.expires_ms,
        "deleted": m.deleted,
        "problem": m.problem,
        "reactions": dict(given.get(m.entry_id, {})),
        "badge": badge_text(record, m.author, me.clock()).strip(),
    }


def _print_rows(rows: list[dict[str, Any]], as_json: bool) -> None:
    for row in rows:
        if as_json:
            click.echo(json.dumps(row))
            continue
        who = "you" if row["you"] else row["name"]
        if row["role"]:
            who += f" [{row['role']}]"
        if row["lookalike"] and not row["you"]:
            who += " (name looks like another member's)"
        if row["deleted"] == "pruned":
            body = "(removed to stay within this device's storage budget)"
        elif row["deleted"]:
            body = f"(message {row['deleted']})"
        elif row["warning"]:
            body = f"[content warning: {row['warning']}] hidden; to read it: holdspace open GROUP {row['id'][:8]}"
        elif row["text"] is not None:
            body = row["text"]
        else:
            body = f"(cannot decrypt: {row['problem']})"
        extras = "".join(f"  {name} {n}" for name, n in sorted(row["reactions"].items()))
        badge = f" {row['badge']}" if row["badge"] else ""
        if row["edited"]:
            body += " (edited)"
        reply = f" (reply to {row['reply_to'][:8]})" if row["reply_to"] else ""
        click.echo(f"{row['id'][:8]} {who}{badge}{reply}: {body}{extras}")


def _show(me: Participant, record: GroupRecord, messages: list[Message], as_json: bool) -> None:
    given = reactions(record)
    people = People(record, me.pseudonym(record).public_key)
    edits = edit_candidates(record)
    rows = [row for m in messages if (row := _message_row(me, record, m, given, people, edits)) is not None]
    _print_rows(rows, as_json)
    fired = me.crisis_check and any(r["text"] and not r["you"] and crisis.check(r["text"]) for r in rows)
    if fired and not as_json:
        print_crisis(record)


@cli.command()
@click.argument("group_name")
@click.option("--follow", is_flag=True, help="Keep printing new messages as they arrive.")
@click.option("--last", default=500, show_default=True, help="Show the latest N messages (0: all of them).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_context
@friendly
def read(ctx: click.Context, group_name: str, follow: bool, last: int, as_json: bool) -> None:
    """Read a group's messages (content-warned ones stay hidden until you open them)."""

    async def go(me: Participant, s: Any) -> None:
        record = me.find_group(group_name)
        await me.sync(s, record)
        shown = len(record.messages)
        page = record.messages.page(limit=last) if last > 0 else list(record.messages)
        pruned = me.pruned(record)
        if not as_json and pruned:
            click.echo(pruned_note(pruned))
        if not as_json and len(page) < shown:
            click.echo(_("({count} earlier messages not shown: --last 0 shows them all)", count=shown - len(page)))
        _show(me, record, page, as_json)
        if not as_json:
            print_standing(me, record)
        if not follow:
            return
        after = page[-1].cursor if page else 0
        async with aclosing(s.subscribe(record.group_id, after)) as batches:
            async for _item in batches:
                await me.sync(s, record)
                _show(me, record, record.messages[shown:], as_json)
                shown = len(record.messages)

    session_call(ctx, go)


def pruned_note(count: int) -> str:
    return (
        f"{count} older message{'s were' if count != 1 else ' was'} removed to stay within this device's"
        " storage budget (see 'holdspace storage')."
    )


@cli.command("storage")
@click.option("--budget", help="Set this device's storage budget, e.g. 512MiB, 2GiB or a number of bytes.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
@friendly
def storage(ctx: click.Context, budget: str | None, as_json: bool) -> None:
    """How much history this device keeps, and its storage budget: beyond it, the words of the
    oldest messages are removed (never keys, pins or what the groups' state needs)."""
    with home_lock(home_dir(ctx)):
        me = Participant.load(home_dir(ctx), passphrase())
        pruned_now = me.set_budget(parse_size(budget)) if budget is not None else 0
        info = {**me.storage(), "pruned_now": pruned_now}
    if as_json:
        click.echo(json.dumps(info))
        return
    click.echo(_("budget:   {budget:,} bytes", budget=info["budget"]))
    click.echo(
        _(
            "used:     {used:,} bytes in {messages:,} messages (file: {file:,} bytes)",
            used=info["used"],
            messages=info["messages"],
            file=info["file"],
        )
    )
    if info["pruned"]:
        click.echo(pruned_note(info["pruned"]))
    if pruned_now:
        click.echo(_("{pruned_now} messages lost their words to the new budget.", pruned_now=pruned_now))
    if info["damaged"]:
        click.echo(
            _("{damaged} history records did not open (history.damaged) and were skipped.", damaged=info["damaged"])
        )


UNITS = {"": 1, "b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2, "gb": 1000**3, "gib": 1024**3}


def parse_size(text: str) -> int:
    """A size: a number of bytes, optionally with a unit (kB, KiB, MB, MiB, GB, GiB), e.g. 512MiB."""
    raw = text.strip().lower().replace(" ", "")
    number = raw.rstrip("abgikm")
    unit = raw[len(number) :]
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if unit not in UNITS or not math.isfinite(value) or value < 0:
        raise ClientError("client.bad_argument", _("{text!r} is not a size (for example 512MiB or 2GiB)", text=text))
    return int(value * UNITS[unit])


register(cli, group, node)
register_living(cli, group)
register_moderation(group)
cli.add_command(sim)
cli.add_command(app)


def main() -> None:
    cli(obj={}, prog_name="holdspace")
