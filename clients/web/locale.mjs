// The browser's translations at build time: a small gettext `.po` reader, the compiler of a `.po`
// into the JSON catalogue the bundle embeds (src/catalogues.ts imports locale/<lang>.catalogue),
// and the extractor that writes locale/messages.pot from every `t(`/`tn(`/`msg(` call in src/.
//
//   node locale.mjs            compile every locale/<lang>.po (run by `npm run build`)
//   node locale.mjs extract    write locale/messages.pot (`npm run extract`)
//
// The reader accepts what gettext tools write: comments (`#`, `#.`, `#:`, `#,` with flags), `msgctxt`
// (kept, unused), `msgid`, `msgid_plural`, `msgstr`, `msgstr[n]`, strings continued on following
// lines, and the escapes \n \t \r \" \\. Anything else is refused with the line's number
// (PoError). Compiled: no header, no fuzzy entry, no empty translation (those fall back to English).
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export class PoError extends Error {
  constructor(line, sentence) {
    super(`line ${line}: ${sentence}`);
    this.name = "PoError";
    this.line = line;
  }
}

const ESCAPES = { n: "\n", t: "\t", r: "\r", '"': '"', "\\": "\\" };

/** The text of a quoted `.po` string (`"…"`), its escapes read. */
function unquote(raw, line) {
  const s = raw.trim();
  if (s.length < 2 || !s.startsWith('"') || !s.endsWith('"')) throw new PoError(line, `expected a quoted string, got ${JSON.stringify(s)}`);
  let out = "";
  for (let i = 1; i < s.length - 1; i++) {
    const c = s[i];
    if (c === '"') throw new PoError(line, "an unescaped quote inside a string");
    if (c !== "\\") {
      out += c;
      continue;
    }
    const next = s[++i];
    if (i >= s.length - 1 || !(next in ESCAPES)) throw new PoError(line, `unknown escape \\${next ?? ""}`);
    out += ESCAPES[next];
  }
  return out;
}

/** The entries of a `.po` text: `{ msgctxt, msgid, msgidPlural, msgstr: string[], flags: string[], line }`. */
export function parsePo(text) {
  const entries = [];
  let entry = null;
  let field = null; // the field a continued string adds to: ["msgid"] or ["msgstr", n]
  let flags = [];
  const finish = () => {
    if (entry === null) return;
    if (entry.msgid === undefined) throw new PoError(entry.line, "an entry without msgid");
    if (entry.msgstr.length === 0) throw new PoError(entry.line, `no msgstr for ${JSON.stringify(entry.msgid)}`);
    if (entry.msgidPlural === undefined && entry.plural) throw new PoError(entry.line, "msgstr[n] without msgid_plural");
    if (entry.msgidPlural !== undefined && !entry.plural) throw new PoError(entry.line, "msgid_plural needs msgstr[n]");
    if (Array.from(entry.msgstr).some((s) => s === undefined)) throw new PoError(entry.line, "a gap in the msgstr[n] forms");
    delete entry.plural;
    entries.push(entry);
    entry = null;
  };
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  lines.forEach((rawLine, index) => {
    const no = index + 1;
    const l = rawLine.trim();
    if (l === "") return;
    if (l.startsWith("#")) {
      if (entry !== null && entry.msgstr.length > 0) finish();
      if (l.startsWith("#,")) flags.push(...l.slice(2).split(",").map((f) => f.trim()).filter((f) => f !== ""));
      return;
    }
    if (l.startsWith('"')) {
      if (entry === null || field === null) throw new PoError(no, "a string outside any field");
      const piece = unquote(l, no);
      if (field[0] === "msgstr") entry.msgstr[field[1]] += piece;
      else entry[field[0]] += piece;
      return;
    }
    const m = /^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(.*)$/.exec(l);
    if (m === null) throw new PoError(no, `not a .po line: ${JSON.stringify(l.slice(0, 40))}`);
    const [, keyword, index_, rest] = m;
    const value = unquote(rest, no);
    const continues = entry !== null && entry.msgid === undefined && entry.msgstr.length === 0; // after a msgctxt
    if (keyword === "msgctxt" || (keyword === "msgid" && !continues)) {
      finish();
      entry = { msgctxt: undefined, msgid: undefined, msgidPlural: undefined, msgstr: [], flags, line: no, plural: false };
      flags = [];
    }
    if (entry === null) throw new PoError(no, `${keyword} before msgid`);
    if (keyword === "msgctxt") {
      entry.msgctxt = value;
      field = ["msgctxt"];
    } else if (keyword === "msgid") {
      entry.msgid = value;
      field = ["msgid"];
    } else if (keyword === "msgid_plural") {
      if (entry.msgid === undefined || entry.msgstr.length > 0) throw new PoError(no, "msgid_plural out of place");
      entry.msgidPlural = value;
      field = ["msgidPlural"];
    } else {
      if (entry.msgid === undefined) throw new PoError(no, "msgstr before msgid");
      const n = index_ === undefined ? 0 : Number(index_);
      if (index_ !== undefined) entry.plural = true;
      if (entry.msgstr[n] !== undefined) throw new PoError(no, `a second msgstr${index_ === undefined ? "" : `[${n}]`}`);
      entry.msgstr[n] = value;
      field = ["msgstr", n];
    }
  });
  finish();
  const seen = new Set();
  for (const e of entries) {
    const key = `${e.msgctxt ?? ""}\u0004${e.msgid}`;
    if (seen.has(key)) throw new PoError(e.line, `a second entry for ${JSON.stringify(e.msgid)}`);
    seen.add(key);
  }
  return entries;
}

/** The JSON catalogue of a `.po`'s entries: msgid → translation, or singular → plural forms.
 * Left out: the header (msgid ""), fuzzy entries, entries with a context, empty translations. */
export function compile(entries) {
  const out = {};
  for (const e of entries) {
    if (e.msgid === "" || e.flags.includes("fuzzy") || e.msgctxt !== undefined) continue;
    if (e.msgidPlural !== undefined) {
      if (e.msgstr.every((s) => s !== "")) out[e.msgid] = e.msgstr;
    } else if (e.msgstr[0] !== "") out[e.msgid] = e.msgstr[0];
  }
  return out;
}

/** A JS string literal's text (`'…'` or `"…"`, its escapes read), or null for anything else. */
function literal(src) {
  if (!/^(["'])(?:[^\\\n]|\\.)*\1$/s.test(src)) return null;
  return src.slice(1, -1).replace(/\\(u\{[0-9a-fA-F]+\}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|.)/gs, (_, e) => {
    if (e.startsWith("u{")) return String.fromCodePoint(parseInt(e.slice(2, -1), 16));
    if (e.length > 1) return String.fromCodePoint(parseInt(e.slice(1), 16));
    return { n: "\n", t: "\t", r: "\r", 0: "\0" }[e] ?? e;
  });
}

const STRING = String.raw`(?:"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')`;
const CALL = new RegExp(String.raw`(?<![\w$])(?<![^.]\.)(t|tn|msg|tParts)\(\s*(${STRING})(?:\s*,\s*(${STRING}))?`, "gs");

/** The messages of source files (`[{ path, text }]`): `{ msgid, msgidPlural, paths }` each, in
 * the order first met. A `tn` call's message is its singular and plural; `t` and `msg` a single text.
 * A call whose first argument is not a string literal is not a message (its text is marked elsewhere). */
export function extract(files) {
  const found = new Map();
  for (const { path, text } of files) {
    for (const m of text.matchAll(CALL)) {
      const [, fn, first, second] = m;
      const msgid = literal(first);
      const plural = fn === "tn" && second !== undefined ? literal(second) : undefined;
      if (msgid === null || plural === null || (fn === "tn" && plural === undefined)) continue;
      const key = msgid;
      const known = found.get(key);
      if (known === undefined) found.set(key, { msgid, msgidPlural: plural, paths: [path] });
      else if (!known.paths.includes(path)) known.paths.push(path);
    }
  }
  return [...found.values()];
}

/** A `.po` string: quoted, escaped, long texts left on one line (diffs stay one line a message). */
export function quote(s) {
  return '"' + s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n").replace(/\t/g, "\\t").replace(/\r/g, "\\r") + '"';
}

/** The template (`messages.pot`) of extracted messages. */
export function template(messages) {
  const head = ['msgid ""', 'msgstr ""', quote("Content-Type: text/plain; charset=UTF-8\n"), quote("Plural-Forms: nplurals=2; plural=(n != 1);\n"), ""];
  const body = messages.flatMap((m) => [
    `#: ${m.paths.join(" ")}`,
    `msgid ${quote(m.msgid)}`,
    ...(m.msgidPlural === undefined ? ['msgstr ""'] : [`msgid_plural ${quote(m.msgidPlural)}`, 'msgstr[0] ""', 'msgstr[1] ""']),
    "",
  ]);
  return [...head, ...body].join("\n");
}

/** The `{placeholders}` of a text, sorted. */
export function placeholders(text) {
  return [...new Set([...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]))].sort();
}

const HERE = fileURLToPath(new URL(".", import.meta.url));

/** Every `.ts` file under `dir`, `{ path, text }` with paths relative to clients/web, sorted. */
export function sources(dir = join(HERE, "src")) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith(".ts")) continue;
    const full = join(entry.parentPath ?? entry.path, entry.name);
    out.push({ path: full.slice(HERE.length).replaceAll("\\", "/"), text: readFileSync(full, "utf8") });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = join(HERE, "locale");
  if (process.argv[2] === "extract") {
    writeFileSync(join(dir, "messages.pot"), template(extract(sources())));
  } else {
    for (const name of readdirSync(dir).filter((n) => n.endsWith(".po")).sort()) {
      const catalogue = compile(parsePo(readFileSync(join(dir, name), "utf8")));
      writeFileSync(join(dir, name.replace(/\.po$/, ".catalogue")), JSON.stringify(catalogue) + "\n");
    }
  }
}
