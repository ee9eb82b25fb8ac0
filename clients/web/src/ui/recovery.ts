/**
 * Recovery screens (spec 14.7, 14.8): after joining, the recovery key shown once as 13 words with a
 * plain explanation and whether the backup reached the node; and "Restore on this device", which
 * takes the words and a new passphrase. A refusal is a sentence that says what to check, with its
 * code behind "Details"; what was typed stays.
 */
import { checkNewPassphrase } from "../participant.js";
import { codeOf, el, field, showProblem } from "./dom.js";

/** "Your recovery key": the words, numbered, shown this once; `done` when the person has them. */
export function showRecoveryKey(doc: Document, main: HTMLElement, words: readonly string[], backedUp: unknown, done: () => void): void {
  const list = el(doc, "ol", undefined, { id: "recovery-words", "aria-label": "Your 13 recovery words, in order" });
  for (const w of words) list.append(el(doc, "li", w));
  const kept = el(doc, "div", undefined, { role: "status" });
  if (backedUp === null) kept.append(el(doc, "p", "A copy of your keys, locked with these words, is kept on your group's node. The node cannot open it."));
  else showProblem(doc, kept, "The locked copy of your keys could not be kept on the group's node just now. Keep the words all the same.", backedUp);
  const go = el(doc, "button", "I have written them down", { type: "button" });
  go.addEventListener("click", done);
  main.replaceChildren(
    el(doc, "h1", "Your recovery key"),
    el(doc, "p", "If this browser ever forgets your keys (a new phone, cleared browsing data, a forgotten passphrase), these 13 words bring your groups back on any device."),
    el(doc, "p", "Write them down on paper, in order, and keep them somewhere safe. They are shown only this once: nobody can show them to you again."),
    el(doc, "p", "Anyone who has these words can read your groups as you. Never share them, not even with a facilitator."),
    list,
    kept,
    go,
  );
  main.dataset["screen"] = "recovery-key";
  doc.title = "Your recovery key · Holdspace";
  go.focus();
}

function sentenceFor(err: unknown): string {
  const message = err instanceof Error ? err.message : "";
  switch (codeOf(err)) {
    case "recovery.word_count":
      return `Your recovery key is 13 words. ${message.replace(/^.*?; /, "").replace(/^./, (c) => c.toUpperCase())}.`;
    case "recovery.unknown_word":
      return "One of the words is not a recovery word. Please check the spelling of each word.";
    case "recovery.bad_checksum":
      return "These words do not fit together: one was probably mistyped or two are swapped. Please check them.";
    case "proto.not_found":
      return "This node keeps no copy of keys for these words. Open the page of your group's node, or check the words.";
    case "backup.bad_key":
    case "backup.malformed":
      return "These words do not open the copy of your keys kept here. Please check the words.";
    case "web.short_passphrase":
      return "Please choose a longer passphrase: at least 8 characters.";
    case "app.passphrase_mismatch":
      return "The two passphrases are not the same. Please type the same one twice.";
    case "web.unreachable":
    case "web.bad_info":
    case "web.wrong_node":
      return "The group's node cannot be reached right now. Please try again in a while.";
    default:
      return "Something went wrong. Please try again in a moment.";
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
  const button = el(doc, "button", "Restore", { type: "submit" });
  f.append(
    field(doc, "recovery-words-input", "Your 13 recovery words", words),
    el(doc, "p", "Choose a new passphrase to lock your keys on this device."),
    field(doc, "restore-pass", "New passphrase", pass),
    field(doc, "restore-pass-again", "Type it again", again),
    button,
    status,
    alert,
  );
  f.addEventListener("submit", (ev) => {
    ev.preventDefault();
    button.disabled = true;
    alert.replaceChildren();
    status.textContent = "Restoring. This takes a few seconds…";
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
    el(doc, "h1", "Restore on this device"),
    el(doc, "p", "Type the 13 recovery words you wrote down when you joined. Your group's node keeps a locked copy of your keys that only these words open."),
    f,
  );
  main.dataset["screen"] = "restore";
  doc.title = "Restore on this device · Holdspace";
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
