/**
 * The parts of a message that come from 17.13–17.15, for the conversation screen: who wrote it
 * (display name or four-word label, role and verified badge as tags, a look-alike marked), the
 * message it replies to (quoted, or its warning only), "edited", and the author's own actions:
 * "Correct" within 15 minutes and "Remove for everyone", which asks first in plain words.
 *
 * Invariant: the words shown are text nodes only; a role tag comes from the group state and a badge
 * from a checked credential (people.ts), never from anything the author wrote.
 */
import { toHex } from "../bytes.js";
import { correct, removeForEveryone } from "../member_actions.js";
import { mayEdit } from "../corrections.js";
import type { Conversation, ShownMessage } from "../participant.js";
import { describe, type People } from "../people.js";
import { el, field } from "./dom.js";
import { t } from "../i18n.js";

/** The author line's name: "You", or the display name or label, then its tags. */
export function authorText(people: People, m: ShownMessage): string {
  return describe(people.person(m.author));
}

/** A sentence for the top of the conversation when two members' names look alike, else null. */
export function lookalikeWarning(people: People): string | null {
  return people.lookalikes
    ? t("Two members' names look alike. They are shown with words in brackets, made from each one's key, which nobody can choose: tell them apart by those words.")
    : null;
}

/** The quote above a reply, or null for a message that is not one. */
export function replyQuote(doc: Document, people: People, m: ShownMessage): HTMLElement | null {
  if (m.reply === null) return null;
  const q = el(doc, "blockquote", undefined, { class: "reply-to" });
  if (m.reply.author === null) {
    q.append(el(doc, "p", t("In reply to a message that cannot be shown (it was removed, or you cannot read it).")));
    return q;
  }
  const who = people.person(m.reply.author).name;
  q.append(el(doc, "p", m.reply.quote !== null ? t("In reply to {who}: {quote}", { who, quote: m.reply.quote }) : t("In reply to {who}'s message under a content warning: {warning}", { who, warning: m.reply.warning ?? "" })));
  return q;
}

/** What a message offers besides reactions and reporting: "Reply" to any (class `reply`: the
 * conversation hides it while this member cannot write), and for one's own "Correct" (within 15
 * minutes) and "Remove for everyone", asking first. `run` shows a failure. */
export function messageActions(doc: Document, conv: Conversation, m: ShownMessage, onReply: () => void, run: (act: () => Promise<void>, sentence: string) => void): HTMLElement {
  const box = el(doc, "div", undefined, { class: "message-actions" });
  const buttons = el(doc, "p");
  const replyButton = el(doc, "button", t("Reply"), { type: "button", class: "reply" });
  replyButton.addEventListener("click", onReply);
  buttons.append(replyButton);
  box.append(buttons);
  if (!m.mine) return box;
  const short = m.id.slice(0, 16);
  const original = conv.read().find((r) => toHex(r.entry.id) === m.id);
  if (original !== undefined && mayEdit(original, conv.self, conv.participant.clock())) {
    const edit = el(doc, "button", t("Correct"), { type: "button", "aria-expanded": "false", "aria-controls": `edit-${short}` });
    const form = el(doc, "form", undefined, { id: `edit-${short}`, "aria-label": t("Correct your message") });
    form.hidden = true;
    const words = el(doc, "textarea", undefined, { rows: "3", required: "" });
    words.value = m.text;
    const warning = el(doc, "input", undefined, { type: "text", maxlength: "100" });
    warning.value = m.warning ?? "";
    form.append(field(doc, `edit-words-${short}`, t("The corrected message"), words), field(doc, `edit-cw-${short}`, t("Content warning (optional)"), warning), el(doc, "button", t("Save the correction"), { type: "submit" }));
    edit.addEventListener("click", () => {
      form.hidden = !form.hidden;
      edit.setAttribute("aria-expanded", String(!form.hidden));
      if (!form.hidden) words.focus();
    });
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      form.hidden = true;
      run(() => correct(conv, m.id, words.value.trim(), warning.value.trim() || null), t("Your correction could not be kept for sending. Corrections are possible for 15 minutes after sending."));
    });
    buttons.append(edit);
    box.append(form);
  }
  const remove = el(doc, "button", t("Remove for everyone"), { type: "button" });
  const confirm = el(doc, "div", undefined, { role: "group", "aria-label": t("Confirm removing your message") });
  confirm.hidden = true;
  remove.addEventListener("click", () => {
    const question = el(doc, "p", t("Remove this message for everyone? It is deleted from every member's screen and from the group's servers. A note shows that something was removed."), { tabindex: "-1" });
    const yes = el(doc, "button", t("Yes, remove it"), { type: "button", class: "danger" });
    const no = el(doc, "button", t("No, keep it"), { type: "button" });
    confirm.replaceChildren(question, yes, no);
    confirm.hidden = false;
    buttons.hidden = true;
    question.focus();
    no.addEventListener("click", () => {
      confirm.hidden = true;
      buttons.hidden = false;
    });
    yes.addEventListener("click", () => {
      confirm.replaceChildren(el(doc, "p", t("Removing…"), { role: "status" }));
      const back = (): void => {
        confirm.hidden = true;
        buttons.hidden = false;
      };
      run(() => removeForEveryone(conv, m.id).finally(back), t("The message could not be removed right now. Please try again when the group's node can be reached."));
    });
  });
  buttons.append(remove);
  box.append(confirm);
  return box;
}
