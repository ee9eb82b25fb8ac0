/**
 * "Your words, or leaving" (17.5, 12.3): erasing everything this member wrote in the group, and
 * leaving it, each asking first in plain words what will happen.
 */
import { currentProfile } from "../about.js";
import { eraseMine, leaveGroup } from "../member_actions.js";
import type { Conversation } from "../participant.js";
import { askFirst } from "./ask.js";
import { el, showProblem } from "./dom.js";
import type { ToolScreen } from "./facilitation.js";
import { t } from "../i18n.js";

export function wordsScreen(doc: Document, conv: Conversation): ToolScreen {
  const root = el(doc, "section", undefined, { "aria-labelledby": "tool-h" });
  const status = el(doc, "p", undefined, { role: "status" });
  const alert = el(doc, "div", undefined, { role: "alert" });
  const group = currentProfile(conv.read(), conv.client.state)?.name ?? t("this group");
  const attempt = (run: () => Promise<void>, done: string, sentence: string) => async (): Promise<void> => {
    alert.replaceChildren();
    try {
      await run();
      status.textContent = done;
    } catch (err) {
      showProblem(doc, alert, sentence, err);
    }
  };
  root.append(
    el(doc, "h1", t("Your words, or leaving"), { id: "tool-h", tabindex: "-1" }),
    status,
    alert,
    el(doc, "h2", t("Erase everything you wrote here")),
    el(doc, "p", t("Your messages in this group are deleted on every community's server and on every member's device. A note stays where each one was.")),
    askFirst(
      doc,
      t("Erase my messages"),
      t("Erase everything you wrote in {group}? This cannot be undone. Someone who already copied your words elsewhere still has them.", { group }),
      t("Yes, erase everything I wrote"),
      t("No, keep my messages"),
      attempt(() => eraseMine(conv), t("Everything you wrote in this group is erased."), t("Your messages could not be erased right now. Please try again when the group's node can be reached.")),
    ),
    el(doc, "h2", t("Leave the group")),
    el(doc, "p", t("You stop receiving new messages. What you wrote stays unless you erase it first. A facilitator can invite you again later.")),
    askFirst(
      doc,
      t("Leave the group"),
      t("Leave {group}? You will read nothing the group writes from now on.", { group }),
      t("Yes, leave the group"),
      t("No, stay"),
      attempt(() => leaveGroup(conv), t("You left the group."), t("You could not leave right now. Please try again when the group's node can be reached.")),
    ),
  );
  return { root, title: t("Your words, or leaving"), update: () => undefined };
}
