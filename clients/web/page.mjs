// Writes dist/index.html: the minimal page that loads the bundle, pinned by its subresource
// integrity hash (SHA-384 of dist/holdspace.js), with the web app manifest (dist/manifest.webmanifest)
// and its icons (dist/icon-192.png, dist/icon-512.png, drawn here) that make it installable. Run after
// esbuild (`npm run build`); a first argument names another directory holding holdspace.js, and any
// further arguments name more scripts of that directory for the page to load, each pinned the same
// way (tests add a hook module so). The page has no inline script: the node serves it under a CSP
// that forbids one. Everything written is a function of the inputs: the build stays reproducible.
import { createHash } from "node:crypto";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { crc32, deflateSync } from "node:zlib";

const dist = process.argv[2] ? pathToFileURL(resolve(process.argv[2]) + "/") : new URL("./dist/", import.meta.url);
const extra = process.argv.slice(3);

const THEME = "#3d6b66"; // a calm deep teal
const BACKGROUND = "#f4f1ea"; // warm paper

function sri(name) {
  return "sha384-" + createHash("sha384").update(readFileSync(new URL(name, dist))).digest("base64");
}

function hex(colour) {
  return [1, 3, 5].map((i) => parseInt(colour.slice(i, i + 2), 16));
}

/** A square PNG: the theme colour, and a soft paper-coloured circle in the middle (within the
 * maskable safe zone, so a phone may crop it to any shape). */
function icon(size) {
  const [tr, tg, tb] = hex(THEME);
  const [br, bg, bb] = hex(BACKGROUND);
  const rows = Buffer.alloc(size * (size * 4 + 1));
  const c = (size - 1) / 2;
  const radius = size * 0.26;
  for (let y = 0; y < size; y++) {
    const row = y * (size * 4 + 1);
    rows[row] = 0; // filter: none
    for (let x = 0; x < size; x++) {
      const d = Math.hypot(x - c, y - c);
      const t = Math.max(0, Math.min(1, radius + 0.5 - d)); // anti-aliased edge
      const at = row + 1 + x * 4;
      rows[at] = Math.round(tr + (br - tr) * t);
      rows[at + 1] = Math.round(tg + (bg - tg) * t);
      rows[at + 2] = Math.round(tb + (bb - tb) * t);
      rows[at + 3] = 255;
    }
  }
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk("IHDR", ihdr), chunk("IDAT", deflateSync(rows, { level: 9 })), chunk("IEND", Buffer.alloc(0))]);
}

const icons = [192, 512].map((size) => ({ src: `/icon-${size}.png`, sizes: `${size}x${size}`, type: "image/png", purpose: "any maskable" }));
for (const i of icons) writeFileSync(new URL(i.src.slice(1), dist), icon(parseInt(i.sizes, 10)));
const manifest = {
  name: "Holdspace",
  short_name: "Holdspace",
  description: "A peer-support space, end-to-end encrypted.",
  start_url: "/",
  scope: "/",
  display: "standalone",
  background_color: BACKGROUND,
  theme_color: THEME,
  icons,
};
writeFileSync(new URL("manifest.webmanifest", dist), JSON.stringify(manifest, null, 1) + "\n");

copyFileSync(new URL("./style.css", import.meta.url), new URL("holdspace.css", dist)); // the one stylesheet
const scripts = ["holdspace.js", ...extra]
  .map((name) => `<script type="module" src="/${name}" integrity="${sri(name)}" crossorigin="anonymous"></script>`)
  .join("\n");
const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="theme-color" content="${THEME}">
<title>Holdspace</title>
<link rel="manifest" href="/manifest.webmanifest">
<link rel="icon" href="/icon-192.png" type="image/png">
<link rel="stylesheet" href="/holdspace.css" integrity="${sri("holdspace.css")}" crossorigin="anonymous">
${scripts}
</head>
<body>
<main>
<h1>Holdspace</h1>
<p>A peer-support space. This page needs JavaScript.</p>
</main>
</body>
</html>
`;
writeFileSync(new URL("index.html", dist), page);
