/**
 * The passphrase screens: choosing one (twice, with why it matters) before the identity is made,
 * and typing it again to unlock the identity on a later visit. Each calls `submit` and shows its
 * refusal as a sentence, with the code behind "Details"; the button is disabled while it works.
 */
import { checkNewPassphrase } from "../participant.js";
import { codeOf, el, field, showProblem } from "./dom.js";
import { t } from "../i18n.js";

function passwordInput(doc: Document, autocomplete: string): HTMLInputElement {
  return el(doc, "input", undefined, { type: "password", autocomplete, required: "" });
}

function sentenceFor(code: string): string {
  switch (code) {
    case "web.short_passphrase":
      return t("Please choose a longer passphrase: at least 8 characters. A few words you will remember work well.");
    case "app.passphrase_mismatch":
      return t("The two passphrases are not the same. Please type the same one twice.");
    case "keyfile.bad_passphrase":
      return t("That passphrase does not open your keys on this device. Please try again.");
    case "web.unreachable":
    case "web.bad_info":
    case "web.wrong_node":
      return t("The group's node cannot be reached right now. Please try again in a while.");
    case "client.already_joined":
      return t("You are already in this group.");
    default:
      return t("Something went wrong. Please try again in a moment.");
  }
}

function form(doc: Document, main: HTMLElement, parts: HTMLElement[], label: string, working: string, run: () => Promise<void>): void {
  const f = el(doc, "form");
  const status = el(doc, "div", undefined, { role: "status" });
  const alert = el(doc, "div", undefined, { role: "alert" });
  const button = el(doc, "button", label, { type: "submit" });
  f.append(...parts, button, status, alert);
  f.addEventListener("submit", (ev) => {
    ev.preventDefault();
    button.disabled = true;
    alert.replaceChildren();
    status.textContent = working;
    run()
      .catch((err: unknown) => {
        status.textContent = "";
        showProblem(doc, alert, sentenceFor(codeOf(err)), err);
      })
      .finally(() => {
        button.disabled = false;
      });
  });
  main.append(f);
}

/** "Choose a passphrase": `create` gets a passphrase both fields agree on (at least 8 characters).
 * `button` and `working`: the submit button's words and what shows while it works (joining a group
 * unless given). */
export function showChoosePassphrase(doc: Document, main: HTMLElement, create: (passphrase: string) => Promise<void>, button = t("Join the group"), working = t("Joining. This takes a few seconds…")): void {
  const pass = passwordInput(doc, "new-password");
  const again = passwordInput(doc, "new-password");
  main.replaceChildren(
    el(doc, "h1", t("Choose a passphrase")),
    el(doc, "p", t("Your passphrase locks your keys on this device. Nobody else has it, not the group and not the node, so nobody can reset it for you: choose one you will remember.")),
  );
  main.dataset["screen"] = "passphrase";
  doc.title = t("Choose a passphrase · Holdspace");
  form(doc, main, [field(doc, "pass", t("Passphrase"), pass), field(doc, "pass-again", t("Type it again"), again)], button, working, async () => {
    checkNewPassphrase(pass.value, again.value);
    await create(pass.value);
  });
  pass.focus();
}

/** "Welcome back": `unlock` gets the passphrase typed. */
export function showUnlock(doc: Document, main: HTMLElement, unlock: (passphrase: string) => Promise<void>): void {
  const pass = passwordInput(doc, "current-password");
  main.replaceChildren(el(doc, "h1", t("Welcome back")), el(doc, "p", t("Type your passphrase to open your conversation on this device.")));
  main.dataset["screen"] = "unlock";
  doc.title = t("Welcome back · Holdspace");
  form(doc, main, [field(doc, "pass", t("Passphrase"), pass)], t("Open"), t("Opening…"), () => unlock(pass.value));
  pass.focus();
}
