"""The browser reaches the node (spec 15.8), in Debian's Chromium driven by Playwright: a page the node
serves over HTTPS loads the bundle (pinned by SRI, under the node's CSP), reads /node.json, opens
WebTransport (pinning the node's short-lived certificate by its hash), says hello, authenticates a
member's pseudonym, publishes an entry (a message envelope) and reads it back; then the same in a
browser without WebTransport, over the WebSocket fallback. The node stores the browser's entry like
any other. In both, a WebTransport session that does not connect falls back to the WebSocket."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import pytest
import trio
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from playwright.sync_api import ConsoleMessage, sync_playwright

from holdspace.clients.participant import Participant
from holdspace.protocol import kinds
from tests.app.conftest import CHROMIUM_ARGS, chromium_or_skip
from tests.node.conftest import session
from tests.web.web_node import WebNode, web_node

ROUND_TRIP = """async ({seedHex, groupHex}) => {
  const hs = await import("/holdspace.js");
  const endpoints = await hs.fetchEndpoints();
  const channel = await hs.openChannel(endpoints, {timeoutMs: 15000});
  const client = new hs.NodeClient(channel);
  await client.greet(hs.parseNodeAddress(endpoints.address).nodeKey);
  const seed = hs.fromHex(seedHex);
  const me = hs.publicKey(seed);
  await client.authenticate(seed);
  const group = hs.fromHex(groupHex);
  const fetchAll = async () => {
    const found = [];
    let after = 0n;
    for (;;) {
      const page = await client.request("fetch", new Map([["g", group], ["after", after], ["limit", 512n]]));
      for (const [cursor, header, payload] of page.get("entries"))
        found.push({cursor, entry: hs.decodeEntry(header), payload});
      after = page.get("next");
      if (!page.get("more")) return found;
    }
  };
  const mine = (await fetchAll()).filter((x) => hs.equalBytes(x.entry.header.a, me));
  const head = mine[mine.length - 1].entry;
  // A message envelope (13.4) as the node checks it; its ciphertext is random bytes, not sealed to the
  // group's epoch (the browser's end-to-end encryption is not this test's subject).
  const epochs = (await client.request("state", new Map([["g", group]]))).get("epochs");
  const random = (n) => crypto.getRandomValues(new Uint8Array(n));
  const payload = hs.encode(new Map([["e", epochs[epochs.length - 1]], ["i", 0n], ["n", random(24)],
                                      ["c", random(80)], ["k", random(32)]]));
  const entry = hs.createEntry(seed, {group, seq: head.header.s + 1n, prev: head.id, timeMs: BigInt(Date.now()),
                                     kind: 16n, payload});
  const published = await client.request("publish", new Map([["e", entry.bytes], ["b", payload]]));
  const back = (await fetchAll()).find((x) => hs.equalBytes(x.entry.id, entry.id));
  client.close();
  // WebTransport that does not connect (here: refused by the node) falls back to the WebSocket.
  const refused = {...endpoints, webtransport: endpoints.webtransport.replace("/wt", "/nowhere")};
  const fallback = new hs.NodeClient(await hs.openChannel(refused, {timeoutMs: 15000}));
  const fell = fallback.channel.kind;
  await fallback.greet(hs.parseNodeAddress(endpoints.address).nodeKey);
  fallback.close();
  return {
    kind: channel.kind,
    fellBackTo: fell,
    published: [...published.keys()].sort().join(","),
    readBack: back !== undefined && hs.equalBytes(back.payload, payload),
    seq: Number(entry.header.s),
    id: hs.toHex(entry.id),
    secure: window.isSecureContext,
  };
}"""


def spki_hash(certfile: Path) -> str:
    """What Chromium's --ignore-certificate-errors-spki-list takes: base64 SHA-256 of the SPKI."""
    spki = (
        x509.load_pem_x509_certificate(certfile.read_bytes())
        .public_key()
        .public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def expected(message: ConsoleMessage) -> bool:
    """Errors the page is meant to cause: the browser's own request for /favicon.ico (404: the node
    serves nothing else), and the WebTransport session refused on purpose (``/nowhere``)."""
    return str(message.location.get("url", "")).endswith("/favicon.ico") or "/nowhere: " in message.text


def browse(web: WebNode, seed: bytes, group: bytes, *, without_webtransport: bool) -> dict[str, Any]:
    """Run the round trip in a fresh Chromium; returns what the page reports. Fails on any page error
    or CSP violation the page reports to its console."""
    args = [a for a in CHROMIUM_ARGS if a != "--disable-quic"]  # WebTransport runs on QUIC
    args.append(f"--ignore-certificate-errors-spki-list={spki_hash(web.certfile)}")
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_or_skip(), headless=True, args=args)
        try:
            page = browser.new_page()
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" and not expected(m) else None)
            if without_webtransport:  # a browser that has no WebTransport
                page.add_init_script("delete globalThis.WebTransport;")
            page.goto(f"{web.web.origin}/")
            result: dict[str, Any] = page.evaluate(ROUND_TRIP, {"seedHex": seed.hex(), "groupHex": group.hex()})
        finally:
            browser.close()
    assert not problems, problems
    return result


@pytest.mark.parametrize("without_webtransport", [False, True], ids=["webtransport", "websocket-fallback"])
async def test_a_page_served_by_the_node_publishes_and_reads_an_entry(
    tmp_path: Path, bundle: Path, without_webtransport: bool
) -> None:
    chromium_or_skip()
    async with web_node(tmp_path, bundle) as web:
        fay = Participant.create(tmp_path / "fay", "pass fay", web.address)
        async with session(web.address) as s_fay:
            group = await fay.create_group(s_fay, "Thursday circle")
        me = fay.pseudonym(group)
        with trio.fail_after(90):
            result = await trio.to_thread.run_sync(
                lambda: browse(web, me.seed, group.group_id, without_webtransport=without_webtransport)
            )
        assert result["kind"] == ("websocket" if without_webtransport else "webtransport")
        assert result["fellBackTo"] == "websocket"
        assert result["secure"] and result["readBack"] and "c" in result["published"].split(","), result
        stored = web.node.store.get_at(group.group_id, me.public_key, result["seq"])
        assert stored is not None and stored.kind == kinds.MESSAGE and stored.entry_id.hex() == result["id"]
