/**
 * "Reports", for moderators and facilitators (spec 13.6, 17.6; issue 19 point 9): each report sent
 * to this member, newest first, with who sent it and why; the reported message shown only if the
 * disclosure verifies (then "<author> wrote exactly these words"), else a warning not to act on it
 * alone. From the report itself: remove the message for everyone, remove its author (each asking
 * first), mark it resolved. What was done is kept in this browser (facilitator.ts).
 */
import { type Facilitation, mayRemove, type ReportAction, type ReportView } from "../facilitator.js";
import { label } from "../labels.js";
import { details, el, showProblem } from "./dom.js";
import type { ToolScreen } from "./facilitation.js";
import { formatDateTime, msg, t } from "../i18n.js";

const DONE_WORDS: Record<ReportAction, string> = { resolved: msg("Resolved"), redacted: msg("The message was removed for everyone"), removed: msg("Its author was removed from the group") };

function when(ms: number): string {
  return formatDateTime(ms);
}

export function reportsScreen(doc: Document, fac: Facilitation): ToolScreen {
  const root = el(doc, "section", undefined, { "aria-labelledby": "tool-h" });
  const list = el(doc, "ul", undefined, { id: "reports", class: "cards", "aria-label": t("Reports") });
  const empty = el(doc, "p", t("No reports."));
  const alert = el(doc, "div", undefined, { role: "alert" });
  root.append(
    el(doc, "h1", t("Reports"), { id: "tool-h", tabindex: "-1" }),
    el(doc, "p", t("Reports members sent to the group's moderators and facilitators. Nobody else sees them, and the node cannot read them.")),
    alert,
    empty,
    list,
  );
  let drawn = "";
  const draw = (): void => {
    const reports = fac.reports();
    const key = reports.map((r) => `${r.id}:${r.done.join("+")}:${r.gone}:${r.author === null ? "" : mayRemove(fac.conv.client.state, fac.conv.self, r.author)}`).join(",");
    if (key === drawn) return;
    drawn = key;
    empty.hidden = reports.length > 0;
    list.replaceChildren(...reports.map((r) => card(doc, fac, r, alert)));
  };
  draw();
  return { root, title: t("Reports"), update: draw };
}

function card(doc: Document, fac: Facilitation, r: ReportView, alert: HTMLElement): HTMLLIElement {
  const li = el(doc, "li", undefined, { "data-report": r.id });
  const resolved = r.done.includes("resolved");
  li.append(el(doc, "p", resolved ? t("Resolved") : t("Open"), { class: resolved ? "state" : "state open" }));
  const head = el(doc, "p");
  head.append(el(doc, "strong", label(r.reporter)), doc.createTextNode(t(" reported, {when}: {why}", { when: when(r.timeMs), why: r.why === "" ? t("(no reason given)") : r.why })));
  li.append(head);
  if (!r.verified) {
    li.append(el(doc, "p", t("This report could not be checked: the message in it does not match what its author signed. Do not act on it alone.")), details(doc, r.problem ?? "content.bad_disclosure"));
  } else if (r.gone) {
    li.append(el(doc, "p", t("Checked: {who} wrote the reported message. It is removed for everyone now, and its words with it.", { who: label(r.author!) })));
  } else {
    li.append(el(doc, "p", t("Checked: {who} wrote exactly these words:", { who: label(r.author!) })));
    const quote = el(doc, "blockquote", r.words ?? t("(a message that is not text)"), { class: "words" });
    if (r.warning !== null) {
      quote.hidden = true;
      const cw = el(doc, "p", t("Content warning: {warning}", { warning: r.warning }));
      const show = el(doc, "button", t("Show"), { type: "button", "aria-expanded": "false" });
      show.addEventListener("click", () => {
        quote.hidden = !quote.hidden;
        show.textContent = quote.hidden ? t("Show") : t("Hide");
        show.setAttribute("aria-expanded", String(!quote.hidden));
      });
      cw.append(doc.createTextNode(" "), show);
      li.append(cw);
    }
    li.append(quote);
  }
  const done = r.done.filter((a) => a !== "resolved");
  if (done.length > 0) li.append(el(doc, "p", t("Done: {actions}.", { actions: done.map((a) => t(DONE_WORDS[a])).join(". ") })));
  const actions = el(doc, "div", undefined, { role: "group", "aria-label": t("What to do about this report") });
  const confirm = el(doc, "div");
  confirm.hidden = true;
  const act = (action: ReportAction, button: HTMLButtonElement, failed: string): void => {
    button.disabled = true;
    alert.replaceChildren();
    fac.act(r.id, action).catch((err: unknown) => {
      button.disabled = false;
      showProblem(doc, alert, failed, err);
    });
  };
  const ask = (sentence: string, yesText: string, action: ReportAction, failed: string): void => {
    const question = el(doc, "p", sentence, { tabindex: "-1" });
    const yes = el(doc, "button", yesText, { type: "button", class: "danger" });
    const no = el(doc, "button", t("Not now"), { type: "button" });
    confirm.replaceChildren(question, yes, no);
    confirm.hidden = false;
    actions.hidden = true;
    question.focus();
    no.addEventListener("click", () => {
      confirm.hidden = true;
      actions.hidden = false;
    });
    yes.addEventListener("click", () => act(action, yes, failed));
  };
  if (r.verified && r.author !== null) {
    const who = label(r.author);
    if (!r.gone) {
      const b = el(doc, "button", t("Remove the message for everyone"), { type: "button" });
      b.addEventListener("click", () =>
        ask(t("Remove this message for everyone? It disappears from every member's screen and the node deletes it; a note shows that something was removed."), t("Yes, remove the message"), "redacted", t("The message could not be removed. Try again when the group's node can be reached.")),
      );
      actions.append(b);
    }
    if (mayRemove(fac.conv.client.state, fac.conv.self, r.author)) {
      const b = el(doc, "button", t("Remove {who} from the group", { who }), { type: "button" });
      b.addEventListener("click", () => ask(t("Remove {who} from the group? They will read nothing the group writes from now on.", { who }), t("Yes, remove {who}", { who }), "removed", t("{who} could not be removed. Try again when the group's node can be reached.", { who })));
      actions.append(b);
    }
  }
  if (!resolved) {
    const b = el(doc, "button", t("Mark as resolved"), { type: "button" });
    b.addEventListener("click", () => act("resolved", b, t("The report could not be marked as resolved.")));
    actions.append(b);
  }
  li.append(actions, confirm);
  return li;
}
