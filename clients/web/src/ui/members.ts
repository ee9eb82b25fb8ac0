/**
 * "Members", for moderators and facilitators: every member with its four-word label (17.14) and its
 * role from the group's state, whether it is muted and until when, and, where 12.5 allows it,
 * "Mute for…" (an hour, a day or a week, as the local app offers) or "Unmute", "Remove" and "Remove
 * and ban", each asking first in plain words what will happen (a removal offering an optional kind
 * note for the removed person and an optional reason for the facilitators, each at most
 * `MAX_REMOVAL_WORDS` bytes, checked before sending). The removed member gets no key of
 * what is written afterwards (the removal is followed by a rekey, facilitator.ts).
 */
import { type Facilitation, type MemberView, MUTE_MINUTES } from "../facilitator.js";
import { HoldspaceError } from "../errors.js";
import { MAX_REMOVAL_WORDS, wordsBytes } from "../removal.js";
import { el, field, showProblem } from "./dom.js";
import type { ToolScreen } from "./facilitation.js";
import { formatDateTime, msg, t } from "../i18n.js";

/** How long a mute lasts, in words, by minutes. */
function muteWords(minutes: number): string {
  if (minutes === 60) return t("1 hour");
  if (minutes === 1440) return t("1 day");
  return t("1 week");
}

/** A date and time in the reader's own zone, in the page's language. */
export function whenText(ms: number): string {
  return formatDateTime(ms);
}

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
    const key = members.map((m) => `${m.hex}:${m.role}:${m.mayRemove}:${m.mutedUntil}`).join(",");
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
  if (m.mutedUntil !== null) li.append(el(doc, "p", t("Muted until {when}: they can read, but not write to the group.", { when: whenText(m.mutedUntil) }), { class: "state" }));
  if (m.mayMute) li.append(muteControls(doc, fac, m, status, alert));
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
    const short = m.hex.slice(0, 16);
    const note = wordsField(doc, `remove-note-${short}`, t("A kind note for {name} (optional)", { name: m.label }), t("Only {name} can read it, on their page. For example, where else they might find support. At most {max} characters.", { name: m.label, max: MAX_REMOVAL_WORDS }));
    const reason = wordsField(doc, `remove-reason-${short}`, t("The reason, for the facilitators (optional)"), t("Only the facilitators can read it, in the moderation log. At most {max} characters.", { max: MAX_REMOVAL_WORDS }));
    confirm.replaceChildren(question, note.wrap, reason.wrap, yes, no);
    confirm.hidden = false;
    actions.hidden = true;
    question.focus();
    no.addEventListener("click", () => {
      confirm.hidden = true;
      actions.hidden = false;
    });
    yes.addEventListener("click", () => {
      alert.replaceChildren();
      const long = [note, reason].find((w) => wordsBytes(w.box.value.trim()) > MAX_REMOVAL_WORDS);
      if (long !== undefined) {
        showProblem(doc, alert, t("That is too long: write at most {max} characters (fewer with accents or emoji).", { max: MAX_REMOVAL_WORDS }), new HoldspaceError("group.malformed_payload", "a removal's words are too long"));
        long.box.focus();
        return;
      }
      yes.disabled = true;
      fac
        .remove(m.key, ban, { note: note.box.value, reason: reason.box.value })
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

/** A text box for a removal's optional words, labelled, with a hint of who reads them and the limit
 * (the box stops at `MAX_REMOVAL_WORDS` characters; the bytes are checked before sending). */
function wordsField(doc: Document, id: string, label: string, hint: string): { wrap: HTMLElement; box: HTMLTextAreaElement } {
  const box = el(doc, "textarea", undefined, { rows: "2", maxlength: String(MAX_REMOVAL_WORDS), "aria-describedby": `${id}-hint` });
  const wrap = field(doc, id, label, box);
  wrap.append(el(doc, "span", hint, { id: `${id}-hint`, class: "hint" }));
  return { wrap, box };
}

/** "Mute {label} for…" (then the length and a question in plain words), or "Unmute {label}" for a
 * member muted now; what was done is said in `status`, a failure in `alert`. */
function muteControls(doc: Document, fac: Facilitation, m: MemberView, status: HTMLElement, alert: HTMLElement): HTMLElement {
  const box = el(doc, "div");
  const open = el(doc, "button", m.mutedUntil === null ? t("Mute {name} for…", { name: m.label }) : t("Unmute {name}", { name: m.label }), { type: "button" });
  const confirm = el(doc, "div", undefined, { role: "group", "aria-label": m.mutedUntil === null ? t("Confirm muting {name}", { name: m.label }) : t("Confirm unmuting {name}", { name: m.label }) });
  confirm.hidden = true;
  const close = (): void => {
    confirm.hidden = true;
    open.hidden = false;
    open.focus();
  };
  const done = (run: () => Promise<string>, yes: HTMLButtonElement, failed: string): void => {
    yes.disabled = true;
    alert.replaceChildren();
    run()
      .then((said) => {
        status.textContent = said;
      })
      .catch((err: unknown) => {
        yes.disabled = false;
        showProblem(doc, alert, failed, err);
      });
  };
  open.addEventListener("click", () => {
    const no = el(doc, "button", t("Cancel"), { type: "button" });
    no.addEventListener("click", close);
    const failed = t("That did not work. Try again when the group's node can be reached.");
    if (m.mutedUntil === null) {
      const question = el(doc, "p", t("Mute {name} for a while? They keep reading and can still check in and report privately, but every server refuses their messages to the group until the time is up.", { name: m.label }), { tabindex: "-1" });
      const length = el(doc, "select", undefined, { id: `mute-${m.hex.slice(0, 16)}` });
      for (const minutes of MUTE_MINUTES) length.append(el(doc, "option", muteWords(minutes), { value: String(minutes) }));
      const pick = el(doc, "p");
      pick.append(el(doc, "label", t("For how long"), { for: length.id }), length);
      const yes = el(doc, "button", t("Yes, mute {name}", { name: m.label }), { type: "button", class: "danger" });
      yes.addEventListener("click", () =>
        done(async () => t("{name} is muted until {when}: they can still read.", { name: m.label, when: whenText(await fac.mute(m.key, Number(length.value))) }), yes, failed),
      );
      confirm.replaceChildren(question, pick, yes, no);
      open.hidden = true;
      confirm.hidden = false;
      question.focus();
    } else {
      const question = el(doc, "p", t("Let {name} write to the group again? Their next messages reach everyone.", { name: m.label }), { tabindex: "-1" });
      const yes = el(doc, "button", t("Yes, unmute {name}", { name: m.label }), { type: "button" });
      yes.addEventListener("click", () =>
        done(async () => {
          await fac.unmute(m.key);
          return t("{name} can write to the group again.", { name: m.label });
        }, yes, failed),
      );
      confirm.replaceChildren(question, yes, no);
      open.hidden = true;
      confirm.hidden = false;
      question.focus();
    }
  });
  box.append(open, confirm);
  return box;
}
