/**
 * "Crisis resources" for a facilitator (17.8): the text every member sees under "Need help now?",
 * in place of the built-in pointers. Numbers and web addresses in it become tappable there.
 */
import { pinResources } from "../about.js";
import type { Conversation } from "../participant.js";
import { el, field, showProblem } from "./dom.js";
import { t } from "../i18n.js";

export function pinSection(doc: Document, conv: Conversation, status: HTMLElement, alert: HTMLElement): HTMLElement {
  const f = el(doc, "form", undefined, { "aria-labelledby": "pin-h" });
  const text = el(doc, "textarea", undefined, { rows: "5", required: "" });
  text.value = conv.view().pin ?? "";
  f.append(
    el(doc, "h2", t("Crisis resources"), { id: "pin-h" }),
    el(doc, "p", t("What members see when they press \u201cNeed help now?\u201d: helplines and numbers for where your group lives, one per line.")),
    field(doc, "pin-text", t("The group's crisis resources"), text),
    el(doc, "button", t("Pin the resources"), { type: "submit" }),
  );
  f.addEventListener("submit", (ev) => {
    ev.preventDefault();
    alert.replaceChildren();
    pinResources(conv, text.value).then(
      () => (status.textContent = t("Pinned. Every member's \u201cNeed help now?\u201d shows them.")),
      (err: unknown) => showProblem(doc, alert, t("The resources could not be pinned."), err),
    );
  });
  return f;
}
