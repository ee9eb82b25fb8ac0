"""The node's pages make the client installable and keep it offline (spec 15.8.3), sans-I/O through
:class:`node.web.site.Site`: the page links the web app manifest, which names two icons; the site serves
the manifest, the icons and the service worker with their exact types under a policy that allows the
worker and the manifest from the node only, and refuses to start when the page names a missing file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from holdspace.node.web.site import Site, WebError
from tests.web.web_node import page_for

ORIGIN = "https://127.0.0.1:8443"


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    built = page_for(tmp_path / "dist")
    (built / "sw.js").write_bytes(b'"use strict";self.addEventListener("fetch",()=>{});\n')
    return built


def load(dist: Path) -> Site:
    return Site.load(dist, origin=ORIGIN, info={"address": "holdspace://x@127.0.0.1:4433"})


def test_the_manifest_icons_and_worker_are_served_with_their_types(dist: Path) -> None:
    site = load(dist)
    page = site.respond("GET", "/").body.decode()
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page
    manifest = site.respond("GET", "/manifest.webmanifest")
    assert manifest.status == 200 and dict(manifest.headers)["content-type"] == "application/manifest+json"
    fields = json.loads(manifest.body)
    assert fields["display"] == "standalone" and fields["start_url"] == "/" and fields["short_name"]
    assert fields["theme_color"].startswith("#") and fields["background_color"].startswith("#")
    assert sorted(i["sizes"] for i in fields["icons"]) == ["192x192", "512x512"]
    for icon in fields["icons"]:
        r = site.respond("GET", icon["src"])
        assert r.status == 200 and dict(r.headers)["content-type"] == "image/png"
        assert r.body.startswith(b"\x89PNG\r\n\x1a\n")
        size = int(icon["sizes"].split("x")[0])
        assert int.from_bytes(r.body[16:20], "big") == size == int.from_bytes(r.body[20:24], "big")
    worker = site.respond("GET", "/sw.js")
    assert worker.status == 200 and dict(worker.headers)["content-type"].startswith("text/javascript")


def test_the_policy_allows_the_worker_and_manifest_from_the_node_only(dist: Path) -> None:
    csp = dict(load(dist).respond("GET", "/").headers)["content-security-policy"]
    assert "worker-src 'self';" in csp and "manifest-src 'self';" in csp and "default-src 'none'" in csp


def test_nothing_else_is_served(dist: Path) -> None:
    site = load(dist)
    for target in ("/index.html", "/sw.js.map", "/icon-64.png", "/dist/sw.js", "/../sw.js", "/holdspace.js.map"):
        assert site.respond("GET", target).status == 404, target
    (dist / "sw.js").unlink()
    assert load(dist).respond("GET", "/sw.js").status == 404  # no worker built, none served


def test_a_page_naming_a_missing_manifest_or_icon_does_not_start(tmp_path: Path, dist: Path) -> None:
    no_icon = Path(shutil.copytree(dist, tmp_path / "no-icon"))
    (no_icon / "icon-512.png").unlink()
    with pytest.raises(WebError) as err:
        load(no_icon)
    assert err.value.code == "web.integrity"
    foreign = Path(shutil.copytree(dist, tmp_path / "foreign"))
    page = (foreign / "index.html").read_text()
    (foreign / "index.html").write_text(page.replace('href="/manifest.webmanifest"', 'href="../secret"'))
    with pytest.raises(WebError) as err:
        load(foreign)
    assert err.value.code == "web.integrity"


def test_text_files_go_gzip_compressed_to_a_browser_that_accepts_it(tmp_path: Path) -> None:
    """A phone on a slow connection fetches the compressed bytes; they decode to exactly the file the
    page pins by its integrity hash. A client that does not accept gzip gets the file as it is."""
    import gzip

    from holdspace.node.web.site import accepts_gzip, sri

    bundle = b'"use strict";' + b"".join(b"console.log(%d);" % i for i in range(2000)) + b"\n"
    site = load(page_for(tmp_path / "big", bundle))
    page = site.respond("GET", "/").body.decode()
    script = page.split('src="', 1)[1].split('"', 1)[0]
    pinned = page.split(f'src="{script}" integrity="', 1)[1].split('"', 1)[0]
    plain = site.respond("GET", script)
    packed = site.respond("GET", script, "gzip, deflate, br")
    assert "content-encoding" not in dict(plain.headers) and dict(plain.headers)["vary"] == "accept-encoding"
    headers = dict(packed.headers)
    assert headers["content-encoding"] == "gzip" and headers["vary"] == "accept-encoding"
    assert int(headers["content-length"]) == len(packed.body) < len(plain.body)
    assert gzip.decompress(packed.body) == plain.body and sri(gzip.decompress(packed.body)) == pinned
    assert site.respond("HEAD", script, "gzip").body == b""
    assert "content-encoding" not in dict(site.respond("GET", "/icon-192.png", "gzip").headers)  # not text
    for header, ok in [
        ("gzip", True), ("GZIP;q=0.5", True), ("x-gzip", True), ("*", True), ("br, *;q=0.1", True),
        ("", False), ("br", False), ("gzip;q=0", False), ("gzip;q=0, *", False), ("gzip;q=zero", False),
        ("identity", False),
    ]:  # fmt: skip
        assert accepts_gzip(header) is ok, header
