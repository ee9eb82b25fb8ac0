/**
 * Recovery screens (spec 14.7, 14.8): after joining, the recovery key shown once as 13 words with a
 * plain explanation and whether the backup reached the node; and "Restore on this device", which
 * takes the words and a new passphrase. A refusal is a sentence that says what to check, with its
 * code behind "Details"; what was typed stays.
 */
import { checkNewPassphrase } from "../participant.js";
import { codeOf, el, field, showProblem } from "./dom.js";
import { t } from "../i18n.js";

/** "Your recovery key": the words, numbered, shown this once; `done` when the person has them. */
export function showRecoveryKey(doc: Document, main: HTMLElement, words: readonly string[], backedUp: unknown, done: () => void): void {
  const list = el(doc, "ol", undefined, { id: "recovery-words", "aria-label": t("Your 13 recovery words, in order") });
  for (const w of words) list.append(el(doc, "li", w));
  const kept = el(doc, "div", undefined, { role: "status" });
  if (backedUp === null) kept.append(el(doc, "p", t("A copy of your keys, locked with these words, is kept on your group's node. The node cannot open it.")));
  else showProblem(doc, kept, t("The locked copy of your keys could not be kept on the group's node just now. Keep the words all the same."), backedUp);
  const go = el(doc, "button", t("I have written them down"), { type: "button" });
  go.addEventListener("click", done);
  main.replaceChildren(
    el(doc, "h1", t("Your recovery key")),
    el(doc, "p", t("If this browser ever forgets your keys (a new phone, cleared browsing data, a forgotten passphrase), these 13 words bring your groups back on any device.")),
    el(doc, "p", t("Write them down on paper, in order, and keep them somewhere safe. They are shown only this once: nobody can show them to you again.")),
    el(doc, "p", t("Anyone who has these words can read your groups as you. Never share them, not even with a facilitator.")),
    list,
    kept,
    go,
  );
  main.dataset["screen"] = "recovery-key";
  doc.title = t("Your recovery key · Holdspace");
  go.focus();
}

function sentenceFor(err: unknown): string {
  const message = err instanceof Error ? err.message : "";
  switch (codeOf(err)) {
    case "recovery.word_count":
      return t("Your recovery key is 13 words. Please check that you typed each of them.");
    case "recovery.unknown_word":
      return t("One of the words is not a recovery word. Please check the spelling of each word.");
    case "recovery.bad_checksum":
      return t("These words do not fit together: one was probably mistyped or two are swapped. Please check them.");
    case "proto.not_found":
      return t("This node keeps no copy of keys for these words. Open the page of your group's node, or check the words.");
    case "backup.bad_key":
    case "backup.malformed":
      return t("These words do not open the copy of your keys kept here. Please check the words.");
    case "web.short_passphrase":
      return t("Please choose a longer passphrase: at least 8 characters.");
    case "app.passphrase_mismatch":
      return t("The two passphrases are not the same. Please type the same one twice.");
    case "web.unreachable":
    case "web.bad_info":
    case "web.wrong_node":
      return t("The group's node cannot be reached right now. Please try again in a while.");
    default:
      return t("Something went wrong. Please try again in a moment.");
  }
}

/** "Restore on this device": `restore` gets the words typed and a new passphrase typed twice the same. */
export function showRestore(doc: Document, main: HTMLElement, restore: (words: string, passphrase: string) => Promise<void>): void {
  const words = el(doc, "textarea", undefined, { rows: "4", autocomplete: "off", autocapitalize: "none", spellcheck: "false", required: "" });
  const pass = el(doc, "input", undefined, { type: "password", autocomplete: "new-password", required: "" });
  const again = el(doc, "input", undefined, { type: "password", autocomplete: "new-password", required: "" });
  const f = el(doc, "form");
  const status = el(doc, "div", undefined, { role: "status" });
  const alert = el(doc, "div", undefined, { role: "alert" });
  const button = el(doc, "button", t("Restore"), { type: "submit" });
  f.append(
    field(doc, "recovery-words-input", t("Your 13 recovery words"), words),
    el(doc, "p", t("Choose a new passphrase to lock your keys on this device.")),
    field(doc, "restore-pass", t("New passphrase"), pass),
    field(doc, "restore-pass-again", t("Type it again"), again),
    button,
    status,
    alert,
  );
  f.addEventListener("submit", (ev) => {
    ev.preventDefault();
    button.disabled = true;
    alert.replaceChildren();
    status.textContent = t("Restoring. This takes a few seconds…");
    Promise.resolve()
      .then(() => checkNewPassphrase(pass.value, again.value))
      .then(() => restore(words.value, pass.value))
      .catch((err: unknown) => {
        status.textContent = "";
        showProblem(doc, alert, sentenceFor(err), err);
      })
      .finally(() => {
        button.disabled = false;
      });
  });
  main.replaceChildren(
    el(doc, "h1", t("Restore on this device")),
    el(doc, "p", t("Type the 13 recovery words you wrote down when you joined. Your group's node keeps a locked copy of your keys that only these words open.")),
    f,
  );
  main.dataset["screen"] = "restore";
  doc.title = t("Restore on this device · Holdspace");
  words.focus();
}

/** A button that leads to "Restore on this device", for the screens at `/`. */
export function restoreButton(doc: Document, text: string, open: () => void): HTMLElement {
  const p = el(doc, "p");
  const b = el(doc, "button", text, { type: "button" });
  b.addEventListener("click", open);
  p.append(b);
  return p;
}
