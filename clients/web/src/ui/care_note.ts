/**
 * The care note: when the on-device care check (care.ts) fires on a message in the conversation,
 * a calm note above the conversation, dismissable. Nothing is sent, stored or logged.
 *
 * - On a message the person wrote, or one they read: "You are not alone", help one tap away
 *   (the page's "Need help now?"), and "Only this device noticed; nobody else was told."
 * - For a facilitator (a member who sees check-ins), on a message from another member:
 *   "NAME may be struggling", with a link to that message and "Reach out privately", which opens
 *   that member's private line (ui/private.ts, through the group menu's `REACH_OUT` event on `main`).
 * Each message is checked once; a dismissed note comes back only for a later message.
 */
import { careCheck } from "../care.js";
import { Facilitation } from "../facilitator.js";
import type { Conversation, ShownMessage } from "../participant.js";
import { People } from "../people.js";
import { authorText } from "./corrections.js";
import { toHex } from "../bytes.js";
import { t } from "../i18n.js";
import { el } from "./dom.js";
import { REACH_OUT } from "./group_menu.js";
import type { Help } from "./help.js";
import { type CareChoices, type CareSettings, IDLE_CHOICES, IDLE_TEXT } from "../idle.js";

/** Adds the note above the conversation in `main` and checks each new message while `enabled()`. */
export function attachCareNote(doc: Document, main: HTMLElement, conv: Conversation, help: Help, enabled: () => boolean): void {
  const note = el(doc, "section", undefined, { id: "care-note", "aria-label": t("A note from this device"), hidden: "" });
  main.querySelector("h1")?.after(note);
  const checked = new Set<string>();
  const show = (m: ShownMessage): void => {
    const facilitator = !m.mine && new Facilitation(conv, "").seesCheckins;
    const parts: HTMLElement[] = [];
    if (facilitator) {
      const name = authorText(new People(conv.read(), conv.client.state, conv.self, conv.participant.clock()), m);
      const link = el(doc, "a", t("Go to the message"), { href: `#w-${m.id.slice(0, 16)}` });
      const reach = el(doc, "button", t("Reach out privately"), { type: "button" });
      const member = toHex(m.author);
      reach.addEventListener("click", () => main.dispatchEvent(new CustomEvent(REACH_OUT, { detail: member })));
      parts.push(el(doc, "h2", t("{name} may be struggling", { name })), el(doc, "p", t("Their message may show they are having a hard time.")), link, reach);
    } else {
      const open = el(doc, "button", t("Find help now"), { type: "button" });
      open.addEventListener("click", () => help.toggle());
      parts.push(el(doc, "h2", t("You are not alone")), el(doc, "p", t("It sounds like things may be really hard right now. Help is one tap away.")), open);
    }
    const close = el(doc, "button", t("Dismiss"), { type: "button" });
    close.addEventListener("click", () => {
      note.hidden = true;
      note.replaceChildren();
    });
    note.replaceChildren(...parts, el(doc, "p", t("Only this device noticed; nobody else was told.")), close);
    note.hidden = false;
  };
  const before = conv.onChange;
  conv.onChange = () => {
    before();
    const on = enabled();
    let hit: ShownMessage | null = null;
    for (const m of conv.view().messages) {
      if (checked.has(m.id)) continue;
      checked.add(m.id);
      if (on && careCheck(m.text) !== null) hit = m;
    }
    if (hit !== null) show(hit);
  };
  conv.onChange();
}

/** "On this device": the care check on or off, and the idle lock's time; `changed` runs after each choice is kept. */
export function attachCareSettings(doc: Document, main: HTMLElement, settings: CareSettings, changed: (c: CareChoices) => void): void {
  const box = el(doc, "details", undefined, { id: "care-settings" });
  const check = el(doc, "input", undefined, { type: "checkbox", id: "care-check" });
  const idle = el(doc, "select", undefined, { id: "idle-lock" });
  for (const m of IDLE_CHOICES) idle.append(el(doc, "option", t(IDLE_TEXT[m] ?? ""), { value: String(m) }));
  box.append(
    el(doc, "summary", t("On this device")),
    el(doc, "p", undefined),
    el(doc, "p", undefined),
  );
  box.children[1]?.append(check, el(doc, "label", " " + t("Notice hard moments and offer help (only this device checks)"), { for: "care-check" }));
  box.children[2]?.append(el(doc, "label", t("Lock after no use:") + " ", { for: "idle-lock" }), idle);
  void settings.read().then((c) => {
    check.checked = c.check;
    idle.value = String(c.idleMinutes);
  });
  const keep = async (): Promise<void> => {
    await settings.setCheck(check.checked);
    await settings.setIdle(Number(idle.value));
    changed(await settings.read());
  };
  check.addEventListener("change", () => void keep());
  idle.addEventListener("change", () => void keep());
  main.append(box);
}
