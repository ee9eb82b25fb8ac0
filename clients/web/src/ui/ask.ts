/**
 * Asking first: a button that, when pressed, hides itself and asks a question in plain words with
 * "Yes, …" and "No, …"; only "Yes" acts. The question takes the focus, so a screen reader reads it.
 */
import { el } from "./dom.js";
import { t } from "../i18n.js";

/** A block with `label`'s button; `act` runs only after `yes` is pressed, and the button comes back after. */
export function askFirst(doc: Document, label: string, question: string, yes: string, no: string, act: () => Promise<void>): HTMLElement {
  const box = el(doc, "div");
  const start = el(doc, "button", label, { type: "button", class: "danger" });
  const confirm = el(doc, "div", undefined, { role: "group", "aria-label": t("Confirm: {label}", { label }) });
  confirm.hidden = true;
  const reset = (): void => {
    confirm.hidden = true;
    start.hidden = false;
  };
  start.addEventListener("click", () => {
    const q = el(doc, "p", question, { tabindex: "-1" });
    const y = el(doc, "button", yes, { type: "button", class: "danger" });
    const n = el(doc, "button", no, { type: "button" });
    n.addEventListener("click", reset);
    y.addEventListener("click", () => {
      y.disabled = true;
      void act().finally(reset);
    });
    confirm.replaceChildren(q, y, n);
    confirm.hidden = false;
    start.hidden = true;
    q.focus();
  });
  box.append(start, confirm);
  return box;
}
