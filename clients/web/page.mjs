// Writes dist/index.html: the minimal page that loads the bundle, pinned by its subresource
// integrity hash (SHA-384 of dist/holdspace.js). Run after esbuild (`npm run build`); an argument
// names another directory holding holdspace.js. The page has no inline script: the node serves it
// under a CSP that forbids one.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const dist = process.argv[2] ? pathToFileURL(resolve(process.argv[2]) + "/") : new URL("./dist/", import.meta.url);
const bundle = readFileSync(new URL("holdspace.js", dist));
const integrity = "sha384-" + createHash("sha384").update(bundle).digest("base64");
const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Holdspace</title>
<script type="module" src="/holdspace.js" integrity="${integrity}" crossorigin="anonymous"></script>
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
