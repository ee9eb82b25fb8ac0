/**
 * The page's language: the device's choice ("On this device"), else the browser's preferences
 * (`navigator.languages`: es* → Spanish, otherwise English).
 *
 * The choice is kept sealed in the history's `seen` store, like the care settings (idle.ts); a
 * damaged or unknown stored value reads as no choice. A plain copy (`localStorage`, one word: the
 * language's code) lets the screens before the unlock, which cannot read the history, show the
 * chosen language too; it holds nothing but that word. `applyLanguage` sets what `t` answers in
 * and `<html lang>` together, so assistive technology reads the page in its language.
 */
import { decode, encode } from "./cbor.js";
import { HoldspaceError } from "./errors.js";
import type { HistoryStore } from "./history.js";
import { isLanguage, type Language, pickLanguage, setLanguage } from "./i18n.js";

const KEY = "language";
export const HINT_KEY = "holdspace.language";

/** This device's language choice, kept in the history. */
export class LanguageSetting {
  constructor(private readonly history: HistoryStore) {}

  /** The language chosen on this device, or null (follow the browser). */
  async read(): Promise<Language | null> {
    try {
      const raw = await this.history.get("seen", KEY);
      if (raw === undefined) return null;
      const v = decode(raw);
      return isLanguage(v) ? v : null;
    } catch (e) {
      if (e instanceof HoldspaceError) return null; // damaged: no choice
      throw e;
    }
  }

  /** Keeps `lang` (null: follow the browser again). */
  async set(lang: Language | null): Promise<void> {
    await this.history.put("seen", KEY, encode(lang ?? ""));
  }
}

/** The language to show: `chosen` if any, else the first English or Spanish of `preferred`. */
export function languageFor(chosen: Language | null, preferred: readonly string[]): Language {
  return chosen ?? pickLanguage(preferred);
}

/** The copy of the choice the screens before the unlock read (null when none, or unreadable). */
export function readHint(win: Window | null): Language | null {
  try {
    const v = win?.localStorage.getItem(HINT_KEY);
    return isLanguage(v) ? v : null;
  } catch {
    return null; // storage refused (a private mode): the browser's preferences
  }
}

export function writeHint(win: Window | null, lang: Language | null): void {
  try {
    if (lang === null) win?.localStorage.removeItem(HINT_KEY);
    else win?.localStorage.setItem(HINT_KEY, lang);
  } catch {
    // storage refused: the unlock screen follows the browser's preferences
  }
}

/** Shows the page in `lang`: the text of every screen drawn from now on, and `<html lang>`. */
export function applyLanguage(doc: Document, lang: Language): void {
  setLanguage(lang);
  doc.documentElement.lang = lang;
}
