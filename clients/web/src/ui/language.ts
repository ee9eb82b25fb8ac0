/**
 * "Language: English / Español" in "On this device" (the `#care-settings` box): the choice is
 * kept in the history (language.ts), then the page locks and opens again in that language (as
 * "Lock" does: every screen is drawn anew, and no key stays in memory).
 */
import { LANGUAGE_NAMES, LANGUAGES, type Language, t } from "../i18n.js";
import { type LanguageSetting, writeHint } from "../language.js";
import { el } from "./dom.js";

/** Adds the language choice to `box`, showing `shown`; `reopen` runs once a new choice is kept. */
export function attachLanguageSetting(doc: Document, box: HTMLElement, setting: LanguageSetting, shown: Language, reopen: () => void): void {
  const select = el(doc, "select", undefined, { id: "language", lang: shown });
  for (const lang of LANGUAGES) select.append(el(doc, "option", LANGUAGE_NAMES[lang], { value: lang, lang }));
  select.value = shown;
  const p = el(doc, "p");
  p.append(el(doc, "label", t("Language:"), { for: "language" }), " ", select, " ", el(doc, "small", t("Changing it locks the page and opens it again in that language.")));
  box.append(p);
  select.addEventListener("change", () => {
    const lang = LANGUAGES.find((l) => l === select.value) ?? shown;
    void setting.set(lang).then(() => {
      writeHint(doc.defaultView, lang);
      reopen();
    });
  });
}
