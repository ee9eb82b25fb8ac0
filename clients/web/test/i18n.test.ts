import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { HistoryStore } from "../src/history.js";
import { addCatalogue, type Catalogue, dateLocales, formatDateTime, language, msg, pickLanguage, setLanguage, t, tn, tParts } from "../src/i18n.js";
import { LanguageSetting, languageFor } from "../src/language.js";
import { MemoryStorage } from "../src/storage.js";

/** The build's translation tools (locale.mjs, plain JavaScript run by Node at build time). */
interface PoEntry {
  readonly msgctxt?: string;
  readonly msgid: string;
  readonly msgidPlural?: string;
  readonly msgstr: readonly string[];
  readonly flags: readonly string[];
}
interface Message {
  readonly msgid: string;
  readonly msgidPlural?: string;
  readonly paths: readonly string[];
}
interface Locale {
  parsePo(text: string): PoEntry[];
  compile(entries: readonly PoEntry[]): Record<string, string | string[]>;
  extract(files: readonly { path: string; text: string }[]): Message[];
  template(messages: readonly Message[]): string;
  placeholders(text: string): string[];
  sources(): { path: string; text: string }[];
  PoError: new (...args: never[]) => Error;
}

const WEB = new URL("../../", import.meta.url); // clients/web, from build/test/
const locale = (await import(new URL("locale.mjs", WEB).href)) as Locale;

function withLanguage(lang: "en" | "es", run: () => void): void {
  const before = language();
  setLanguage(lang);
  try {
    run();
  } finally {
    setLanguage(before);
  }
}

test("t and tn: the catalogue's text, English when a message is missing or empty, placeholders filled after", () => {
  const catalogue: Catalogue = {
    "Mute {name}": "Silenciar a {name}",
    "Empty here": "",
    "{n} new message": ["{n} mensaje nuevo", "{n} mensajes nuevos"],
    "Half {n} thing": ["", "{n} cosas"],
    "{who} and {n} more": ["{who} y {n} más", "{who} y otras {n} personas"],
  };
  addCatalogue("es", catalogue);
  withLanguage("es", () => {
    assert.equal(t("Mute {name}", { name: "ana {n}" }), "Silenciar a ana {n}"); // a value is never read as a placeholder
    assert.equal(t("Not translated {x}", { x: 1 }), "Not translated 1");
    assert.equal(t("Empty here"), "Empty here");
    assert.equal(t("Mute {name}"), "Silenciar a {name}"); // no value: left as written, never dropped
    assert.equal(tn("{n} new message", "{n} new messages", 1), "1 mensaje nuevo");
    assert.equal(tn("{n} new message", "{n} new messages", 0), "0 mensajes nuevos");
    assert.equal(tn("{n} new message", "{n} new messages", 2), "2 mensajes nuevos");
    assert.equal(tn("Half {n} thing", "Half {n} things", 1), "Half 1 thing"); // an empty form: English
    assert.equal(tn("{who} and {n} more", "{who} and {n} others", 3, { who: "Bea" }), "Bea y otras 3 personas");
    assert.equal(tn("Nowhere {n}", "Nowhere {n}s", 5), "Nowhere 5s");
    assert.equal(t("{n} new message"), "{n} new message"); // a plural entry is not a single text
  });
  withLanguage("en", () => {
    assert.equal(t("Mute {name}", { name: "Ana" }), "Mute Ana");
    assert.equal(tn("{n} new message", "{n} new messages", 1), "1 new message");
    assert.equal(tn("{n} new message", "{n} new messages", 7), "7 new messages");
  });
  assert.equal(msg("Marked only"), "Marked only");
});

test("tParts: a sentence with an element inside stays one message, in the language's order", () => {
  addCatalogue("es", { "Kept by {node}, since {when}.": "Desde {when}, lo guarda {node}." });
  const node = { element: "strong" };
  withLanguage("es", () => assert.deepEqual(tParts("Kept by {node}, since {when}.", { node }, { when: "ayer" }), ["Desde ayer, lo guarda ", node, "."]));
  withLanguage("en", () => assert.deepEqual(tParts("Kept by {node}, since {when}.", { node }, { when: "today" }), ["Kept by ", node, ", since today."]));
  assert.deepEqual(tParts("{node}", { node }), [node]);
});

test("the language: es* is Spanish, en* English, the first that is either wins; the device's choice comes first", () => {
  assert.equal(pickLanguage(["es-MX", "en-US"]), "es");
  assert.equal(pickLanguage(["ES"]), "es");
  assert.equal(pickLanguage(["fr-FR", "es_AR", "en"]), "es");
  assert.equal(pickLanguage(["de", "en-GB", "es"]), "en");
  assert.equal(pickLanguage(["fr", "estonian-ish", "et"]), "en");
  assert.equal(pickLanguage([]), "en");
  assert.equal(languageFor("en", ["es-ES"]), "en");
  assert.equal(languageFor(null, ["es-ES"]), "es");
});

test("dates are written the language's way", () => {
  const ms = Date.UTC(2026, 0, 15, 12, 0);
  const options = { dateStyle: "long", timeZone: "UTC" } as const;
  withLanguage("es", () => assert.match(formatDateTime(ms, options), /15 de enero de 2026/));
  withLanguage("en", () => assert.match(formatDateTime(ms, options), /January 15, 2026|15 January 2026/));
});

test("dates follow the device's own variant of the language (a British browser keeps its clock)", () => {
  assert.deepEqual(dateLocales("en", ["en-GB", "es-MX"]), ["en-GB", "en"]);
  assert.deepEqual(dateLocales("es", ["en-GB", "es-MX"]), ["es-MX", "es"]);
  assert.deepEqual(dateLocales("es", []), ["es"]);
  const ms = Date.UTC(2026, 0, 15, 15, 29);
  const at = (locales: string[]): string => new Intl.DateTimeFormat(locales, { timeStyle: "short", timeZone: "UTC" }).format(ms);
  assert.equal(at(dateLocales("en", ["en-GB"])), "15:29");
});

test("the language choice is kept sealed in the history; a damaged or unknown value reads as no choice", async () => {
  const storage = new MemoryStorage();
  const key = new Uint8Array(32).fill(4);
  const setting = new LanguageSetting(await HistoryStore.open(storage, key, 1 << 20));
  assert.equal(await setting.read(), null);
  await setting.set("es");
  assert.equal(await new LanguageSetting(await HistoryStore.open(storage, key, 1 << 20)).read(), "es");
  await setting.set(null);
  assert.equal(await setting.read(), null);
  await storage.put("seen", "language", new Uint8Array([1, 2, 3])); // not sealed: damaged
  assert.equal(await setting.read(), null);
});

test("the .po reader: plurals, continued strings, escapes, comments and flags; compiled without header, fuzzy or empty", () => {
  const po = [
    "# a translator's comment",
    'msgid ""',
    'msgstr ""',
    '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"',
    "",
    "#: src/ui/x.ts",
    'msgid "Say \\"hi\\"\\tthen\\\\go\\n"',
    'msgstr "Di \\"hola\\"\\ty\\\\vete\\n"',
    "",
    "#, fuzzy, c-format",
    'msgid "Unsure"',
    'msgstr "Dudoso"',
    "",
    'msgid "Empty"',
    'msgstr ""',
    "",
    'msgctxt "menu"',
    'msgid "Open"',
    'msgstr "Abrir"',
    "",
    'msgid ""',
    '"{n} long "',
    '"message"',
    'msgid_plural "{n} long messages"',
    'msgstr[0] "{n} mensaje "',
    '"largo"',
    'msgstr[1] "{n} mensajes largos"',
  ].join("\r\n");
  const entries = locale.parsePo(po);
  assert.equal(entries.length, 6);
  assert.deepEqual(entries[1]!.msgstr, ['Di "hola"\ty\\vete\n']);
  assert.equal(entries[1]!.msgid, 'Say "hi"\tthen\\go\n');
  assert.deepEqual(entries[2]!.flags, ["fuzzy", "c-format"]);
  assert.equal(entries[4]!.msgctxt, "menu");
  assert.deepEqual(entries[5], { msgctxt: undefined, msgid: "{n} long message", msgidPlural: "{n} long messages", msgstr: ["{n} mensaje largo", "{n} mensajes largos"], flags: [], line: 21 });
  assert.deepEqual(locale.compile(entries), { 'Say "hi"\tthen\\go\n': 'Di "hola"\ty\\vete\n', "{n} long message": ["{n} mensaje largo", "{n} mensajes largos"] });
});

test("the .po reader refuses what it cannot read, naming the line", () => {
  const bad: [string, RegExp][] = [
    ['msgid "a"\nmsgstr "b\\q"', /line 2: unknown escape/],
    ['msgid "a"\nmsgstr "b" "c"', /line 2/],
    ['msgid "a"\nmsgstr "b"\nmsgid "a"\nmsgstr "c"', /line 3: a second entry/],
    ['msgid "a"\n\nmsgid "b"\nmsgstr "c"', /line 1: no msgstr/],
    ['msgstr "b"', /line 1: msgstr before msgid/],
    ['"loose"', /line 1: a string outside/],
    ['msgid "a"\nmsgstr[0] "b"', /msgstr\[n\] without msgid_plural/],
    ['msgid "a"\nmsgid_plural "as"\nmsgstr "b"', /msgid_plural needs msgstr\[n\]/],
    ['msgid "a"\nmsgid_plural "as"\nmsgstr[1] "b"', /a gap/],
    ['msgid "a"\nmsgstr "b"\nmsgstr "c"', /line 3: a second msgstr/],
    ["msgid 'a'", /line 1: expected a quoted string/],
    ['msgid "a"\nmsgtxt "b"', /line 2: not a .po line/],
  ];
  for (const [text, why] of bad) assert.throws(() => locale.parsePo(text), (e: unknown) => e instanceof locale.PoError && why.test((e as Error).message), text);
});

test("extraction: t, tn and msg calls with string literals, their escapes read; other calls are not messages", () => {
  const text = [
    't("Save")',
    "tn('{n} day', \"{n} days\", n)",
    'msg("It\\u2019s \\"here\\"")',
    'format("Not me"); at("nor me"); x.t("nor me either"); t(variable); p.append(...tParts("Kept by {node}.", { node }))',
    't(\n  "Over two lines",\n)',
  ].join("\n");
  const found = locale.extract([
    { path: "src/a.ts", text },
    { path: "src/b.ts", text: 't("Save")' },
  ]);
  assert.deepEqual(
    found.map((m) => [m.msgid, m.msgidPlural, m.paths]),
    [
      ["Save", undefined, ["src/a.ts", "src/b.ts"]],
      ["{n} day", "{n} days", ["src/a.ts"]],
      ["It’s \"here\"", undefined, ["src/a.ts"]],
      ["Kept by {node}.", undefined, ["src/a.ts"]],
      ["Over two lines", undefined, ["src/a.ts"]],
    ],
  );
  const pot = locale.template(found);
  assert.deepEqual(
    locale.parsePo(pot).map((e) => e.msgid),
    ["", "Save", "{n} day", 'It’s "here"', "Kept by {node}.", "Over two lines"],
  );
});

test("catalogue es.po: every message of the source has a Spanish translation with the same placeholders; messages.pot is current", () => {
  const files = locale.sources();
  const templated = files.filter((f) => /(?<![\w$])(?<![^.]\.)(t|tn|tParts)\(\s*`/.test(f.text)).map((f) => f.path);
  assert.deepEqual(templated, [], "a message id is a plain string with {placeholders}, never a template literal");
  const messages = locale.extract(files);
  assert.ok(messages.length > 300, `only ${messages.length} messages found`);
  const entries = locale.parsePo(readFileSync(new URL("locale/es.po", WEB), "utf8"));
  const byId = new Map(entries.filter((e) => e.msgctxt === undefined).map((e) => [e.msgid, e]));
  const problems: string[] = [];
  for (const m of messages) {
    const e = byId.get(m.msgid);
    if (e === undefined || e.flags.includes("fuzzy") || e.msgstr.some((s) => s === "")) {
      problems.push(`no Spanish for ${JSON.stringify(m.msgid)} (${m.paths.join(", ")})`);
      continue;
    }
    const english = m.msgidPlural === undefined ? [m.msgid] : [m.msgid, m.msgidPlural];
    if ((e.msgidPlural === undefined) !== (m.msgidPlural === undefined) || e.msgstr.length !== english.length) {
      problems.push(`${JSON.stringify(m.msgid)}: ${english.length} form(s) in the source, ${e.msgstr.length} in es.po`);
      continue;
    }
    e.msgstr.forEach((s, i) => {
      const want = locale.placeholders(english[i]!).join(", ");
      const got = locale.placeholders(s).join(", ");
      if (want !== got) problems.push(`${JSON.stringify(m.msgid)}: placeholders {${want}} in English, {${got}} in Spanish`);
    });
  }
  assert.deepEqual(problems, []);
  const pot = readFileSync(new URL("locale/messages.pot", WEB), "utf8");
  assert.equal(pot, locale.template(messages), "locale/messages.pot is out of date: run 'npm run extract'");
  const catalogue = locale.compile(entries);
  addCatalogue("es", catalogue);
  withLanguage("es", () => {
    assert.equal(t("Join this group"), "Unirme a este grupo");
    assert.equal(tn("{n} person is coming.", "{n} people are coming.", 4), "Vienen 4 personas.");
  });
});
