/**
 * "Members", for moderators and facilitators: every member with its four-word label (17.14) and its
 * role from the group's state, and, where 12.5 allows it, "Remove" (and "Remove and ban"), each
 * asking first in plain words what will happen. The removed member gets no key of what is written
 * afterwards (the removal is followed by a rekey, facilitator.ts).
 */
import type { Facilitation, MemberView } from "../facilitator.js";
import { el, showProblem } from "./dom.js";
import type { ToolScreen } from "./facilitation.js";
import { msg, t } from "../i18n.js";

const ROLE_WORDS = { member: msg("member"), moderator: msg("moderator"), facilitator: msg("facilitator") } as const;

export function membersScreen(doc: Document, fac: Facilitation): ToolScreen {
  const root = el(doc, "section", undefined, { "aria-labelledby": "tool-h" });
  const list = el(doc, "ul", undefined, { id: "members", class: "cards", "aria-label": t("Members") });
  const status = el(doc, "p", undefined, { role: "status" });
  const alert = el(doc, "div", undefined, { role: "alert" });
  root.append(
    el(doc, "h1", t("Members"), { id: "tool-h", tabindex: "-1" }),
    el(doc, "p", t("Each member is shown by four words made from their key in this group; the role comes from the group itself.")),
    status,
    alert,
    list,
  );
  let drawn = "";
  const draw = (): void => {
    const members = fac.members();
    const key = members.map((m) => `${m.hex}:${m.role}:${m.mayRemove}`).join(",");
    if (key === drawn) return; // unchanged: an open confirmation stays open
    drawn = key;
    list.replaceChildren(...members.map((m) => row(doc, fac, m, status, alert)));
  };
  draw();
  return { root, title: t("Members"), update: draw };
}

function row(doc: Document, fac: Facilitation, m: MemberView, status: HTMLElement, alert: HTMLElement): HTMLLIElement {
  const li = el(doc, "li", undefined, { "data-member": m.hex });
  const who = el(doc, "p");
  who.append(el(doc, "strong", m.you ? t("You ({words})", { words: m.label }) : m.label), doc.createTextNode(` · ${t(ROLE_WORDS[m.role])}`));
  li.append(who);
  if (!m.mayRemove) return li;
  const actions = el(doc, "p");
  const confirm = el(doc, "div", undefined, { role: "group", "aria-label": t("Confirm removing {who}", { who: m.label }) });
  confirm.hidden = true;
  const ask = (ban: boolean): void => {
    const sentence = ban
      ? t("Remove {who} and ban them? They will read nothing the group writes from now on, and can never join again with this identity.", { who: m.label })
      : t("Remove {who}? They will read nothing the group writes from now on. A facilitator can invite them again later.", { who: m.label });
    const yes = el(doc, "button", ban ? t("Yes, remove and ban {who}", { who: m.label }) : t("Yes, remove {who}", { who: m.label }), { type: "button", class: "danger" });
    const no = el(doc, "button", t("Keep them"), { type: "button" });
    const question = el(doc, "p", sentence, { tabindex: "-1" });
    confirm.replaceChildren(question, yes, no);
    confirm.hidden = false;
    actions.hidden = true;
    question.focus();
    no.addEventListener("click", () => {
      confirm.hidden = true;
      actions.hidden = false;
    });
    yes.addEventListener("click", () => {
      yes.disabled = true;
      alert.replaceChildren();
      fac
        .remove(m.key, ban)
        .then(() => {
          status.textContent = ban ? t("{who} was removed and may not come back.", { who: m.label }) : t("{who} was removed.", { who: m.label });
        })
        .catch((err: unknown) => {
          yes.disabled = false;
          showProblem(doc, alert, t("{who} could not be removed. Try again when the group's node can be reached.", { who: m.label }), err);
        });
    });
  };
  const remove = el(doc, "button", t("Remove {who}", { who: m.label }), { type: "button" });
  const ban = el(doc, "button", t("Remove and ban {who}", { who: m.label }), { type: "button" });
  remove.addEventListener("click", () => ask(false));
  ban.addEventListener("click", () => ask(true));
  actions.append(remove, ban);
  li.append(actions, confirm);
  return li;
}
