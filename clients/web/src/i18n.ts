/**
 * Translations: every string a person reads goes through `t` (or `tn` for a count).
 *
 * Message ids are the English text; placeholders are written `{name}` and filled after
 * translation, so a translator can move them. The catalogues are gettext `.po` files
 * (`clients/web/locale/*.po`), compiled to JSON by the build (`locale.mjs`) and embedded in the
 * bundle (`catalogues.ts`); `addCatalogue` installs one, `setLanguage` chooses it.
 *
 * Invariants: English (`en`) needs no catalogue and is always available; a message missing from
 * the current catalogue (or empty there) falls back to its English text, never to nothing; a
 * placeholder with no value is left as written (`{name}`), never dropped. `msg` only marks a
 * message for extraction where it is defined (a table of texts), `t` then translates it where it
 * is shown.
 */

export type Values = Readonly<Record<string, string | number>>;

/** A compiled catalogue: msgid → translation, or for a plural message (keyed by its singular) the
 * translated forms, in the language's plural order. */
export type Catalogue = Readonly<Record<string, string | readonly string[]>>;

export const LANGUAGES = ["en", "es"] as const;
export type Language = (typeof LANGUAGES)[number];

/** Each language's name in itself (never translated: a person finds their own language so). */
export const LANGUAGE_NAMES: Readonly<Record<Language, string>> = { en: "English", es: "Español" };

const catalogues = new Map<Language, Catalogue>();
let current: Language = "en";

export function isLanguage(x: unknown): x is Language {
  return typeof x === "string" && (LANGUAGES as readonly string[]).includes(x);
}

/** Installs the catalogue of `lang` (replacing any before). */
export function addCatalogue(lang: Language, catalogue: Catalogue): void {
  catalogues.set(lang, catalogue);
}

/** Chooses the language `t` and `tn` answer in. */
export function setLanguage(lang: Language): void {
  current = lang;
}

export function language(): Language {
  return current;
}

/** The language for a browser's preferences (`navigator.languages`, best first): the first that
 * is English (`en`, `en-GB`, …) or Spanish (`es`, `es-MX`, …); English when none is. */
export function pickLanguage(preferred: readonly string[]): Language {
  for (const tag of preferred) {
    const base = tag.toLowerCase().split(/[-_]/)[0];
    if (isLanguage(base)) return base;
  }
  return "en";
}

/** The index of the plural form for `n` (English and Spanish: one, other). */
export function pluralIndex(lang: Language, n: number): number {
  switch (lang) {
    case "en":
    case "es":
      return n === 1 ? 0 : 1;
  }
}

function fill(text: string, values: Values): string {
  return text.replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole,
  );
}

/** Marks `msgid` for extraction without translating it (a table's texts): `t(text)` shows it. */
export function msg(msgid: string): string {
  return msgid;
}

/** The text for `msgid` in the current language, its `{placeholders}` filled from `values`. */
export function t(msgid: string, values: Values = {}): string {
  const found = catalogues.get(current)?.[msgid];
  return fill(typeof found === "string" && found !== "" ? found : msgid, values);
}

/** The singular or plural text for `n` in the current language; `{n}` is filled with `n`. */
export function tn(singular: string, plural: string, n: number, values: Values = {}): string {
  const found = catalogues.get(current)?.[singular];
  const form = Array.isArray(found) ? (found as readonly string[])[pluralIndex(current, n)] : undefined;
  const english = n === 1 ? singular : plural;
  return fill(form !== undefined && form !== "" ? form : english, { ...values, n });
}

/** The locales to write dates in: the device's own preferences in the current language first (so
 * a browser set to British English keeps its 24-hour clock and a Mexican one its own ways), then the
 * bare language. */
export function dateLocales(lang: Language = current, preferred: readonly string[] = devicePreferences()): string[] {
  return [...preferred.filter((tag) => tag.toLowerCase().split(/[-_]/)[0] === lang), lang];
}

function devicePreferences(): readonly string[] {
  const nav = (globalThis as { navigator?: { languages?: readonly string[] } }).navigator;
  return nav?.languages ?? [];
}

/** A date and time written the current language's way (`Intl`), in the device's time zone. */
export function formatDateTime(ms: number, options: Intl.DateTimeFormatOptions = { dateStyle: "medium", timeStyle: "short" }): string {
  return new Intl.DateTimeFormat(dateLocales(), options).format(new Date(ms));
}

/** The text for `msgid` as pieces to `append`: each `{name}` of `parts` becomes that node (a link,
 * a bold host), the rest text, so a sentence with markup inside stays one message. Placeholders
 * not in `parts` are filled from `values` as in `t`. */
export function tParts<N>(msgid: string, parts: Readonly<Record<string, N>>, values: Values = {}): (string | N)[] {
  const text = t(msgid, values);
  const out: (string | N)[] = [];
  let at = 0;
  for (const m of text.matchAll(/\{(\w+)\}/g)) {
    const node = Object.prototype.hasOwnProperty.call(parts, m[1]!) ? parts[m[1]!] : undefined;
    if (node === undefined) continue;
    if (m.index > at) out.push(text.slice(at, m.index));
    out.push(node);
    at = m.index + m[0].length;
  }
  if (at < text.length) out.push(text.slice(at));
  return out;
}
