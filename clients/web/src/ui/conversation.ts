/**
 * The conversation screen: messages oldest first with the newest at the bottom (it opens there),
 * a content warning hiding its message until "Show", reactions, reporting a message, writing (with
 * an optional content warning), and a check-in for the facilitators. Messages are kept by id and
 * only what changed is redrawn, so what someone is typing or has opened stays as it is.
 */
import { REACTIONS, type Reaction } from "../content.js";
import { checkinAudience } from "../facilitator.js";
import { reply } from "../member_actions.js";
import { removalNotice } from "../removal.js";
import type { Conversation, ShownMessage } from "../participant.js";
import { People } from "../people.js";
import { authorText, lookalikeWarning, messageActions, replyQuote } from "./corrections.js";
import { el, field, showProblem } from "./dom.js";
import type { Help } from "./help.js";
import { formatDateTime, msg, t } from "../i18n.js";

const REACTION_NAMES: Record<Reaction, string> = { heart: msg("Heart"), hug: msg("Hug"), "me-too": msg("Me too"), "thank-you": msg("Thank you") };
const MOODS = [msg("1, very low"), msg("2, low"), msg("3, okay"), msg("4, good"), msg("5, very good")];

interface Shown {
  li: HTMLLIElement;
  readonly reactions: Map<Reaction, HTMLButtonElement>;
  /** What the message was drawn from (its words, its author's name, its reply): redrawn when it changes. */
  drawn: string;
}

/** What a message's drawing depends on besides its reactions. */
function drawnFrom(m: ShownMessage, who: string, quote: string | null): string {
  return JSON.stringify([m.text, m.warning, m.edited, who, quote]);
}

export class ConversationScreen {
  private readonly list: HTMLOListElement;
  private readonly status: HTMLElement;
  /** "You can read, but not write here until …" while this member is muted (12.6). */
  private readonly muted: HTMLElement;
  /** For a removed member: the kind note the remover sealed to it (12.3), if any. */
  private readonly removal: HTMLElement;
  /** This member can write to the group now (a member, or one still joining or waiting for keys;
   * not muted, not removed): otherwise no message box and no "Reply". */
  private canWrite = true;
  private form: HTMLFormElement | null = null;
  private muteTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly pending: HTMLUListElement;
  private readonly alert: HTMLElement;
  private readonly shown = new Map<string, Shown>();
  private readonly lookalike: HTMLElement;
  private readonly replying: HTMLElement;
  private replyTo: string | null = null;
  private words: HTMLTextAreaElement | null = null;
  private people: People | null = null;
  private first = true;

  constructor(
    private readonly doc: Document,
    private readonly main: HTMLElement,
    private readonly conv: Conversation,
    private readonly help: Help,
  ) {
    this.list = el(doc, "ol", undefined, { id: "messages", "aria-labelledby": "messages-h" });
    this.status = el(doc, "p", undefined, { role: "status", id: "conversation-status" });
    this.muted = el(doc, "p", undefined, { role: "status", id: "mute-notice" });
    this.removal = el(doc, "div", undefined, { id: "removal-note" });
    this.removal.hidden = true;
    this.pending = el(doc, "ul", undefined, { "aria-label": t("Waiting to be sent") });
    this.alert = el(doc, "div", undefined, { role: "alert" });
    this.lookalike = el(doc, "p", undefined, { role: "status", id: "lookalike-warning" });
    this.replying = el(doc, "div", undefined, { id: "replying" });
    main.replaceChildren(el(doc, "h1", t("Your group")), this.status, this.removal, this.muted, this.lookalike, el(doc, "h2", t("Messages"), { id: "messages-h" }), this.list, this.pending, this.alert, this.composer(), this.checkin());
    main.dataset["screen"] = "conversation";
    doc.title = t("Your group · Holdspace");
    conv.onChange = () => this.update();
    this.update();
  }

  private attempt(run: () => Promise<void>, sentence: string): void {
    this.alert.replaceChildren();
    run().catch((err: unknown) => showProblem(this.doc, this.alert, sentence, err));
  }

  private composer(): HTMLElement {
    const doc = this.doc;
    const f = el(doc, "form", undefined, { "aria-labelledby": "write-h" });
    const words = el(doc, "textarea", undefined, { rows: "3", required: "" });
    const warning = el(doc, "input", undefined, { type: "text", maxlength: "100" });
    this.words = words;
    this.form = f;
    f.append(el(doc, "h2", t("Write to the group"), { id: "write-h" }), this.replying, field(doc, "compose", t("Your message"), words), field(doc, "compose-cw", t("Content warning, if it may upset someone (optional)"), warning), el(doc, "button", t("Send"), { type: "submit" }));
    f.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const text = words.value.trim();
      if (text === "") return;
      const cw = warning.value.trim();
      words.value = "";
      warning.value = "";
      const to = this.replyTo;
      this.setReply(null);
      this.attempt(() => (to === null ? this.conv.send(text, cw === "" ? null : cw) : reply(this.conv, to, text, cw === "" ? null : cw)), t("Your message could not be kept for sending. Please try again."));
    });
    return f;
  }

  /** Writes the next message as a reply to `m` (null: not a reply); says so above the message box. */
  private setReply(m: ShownMessage | null): void {
    this.replyTo = m?.id ?? null;
    if (m === null) {
      this.replying.replaceChildren();
      return;
    }
    const who = this.people?.person(m.author).name ?? "";
    const quote = m.warning === null ? m.text : t("a message under a content warning: {warning}", { warning: m.warning });
    const cancel = el(this.doc, "button", t("Cancel the reply"), { type: "button" });
    cancel.addEventListener("click", () => this.setReply(null));
    this.replying.replaceChildren(el(this.doc, "p", t("Replying to {who}: {quote}", { who, quote: [...quote].slice(0, 160).join("") })), cancel);
    this.words?.focus();
  }

  private checkin(): HTMLElement {
    const doc = this.doc;
    const f = el(doc, "form", undefined, { "aria-labelledby": "checkin-h" });
    const set = el(doc, "fieldset");
    set.append(el(doc, "legend", t("How are you feeling? Only the group's facilitators see this.")));
    MOODS.forEach((mood, i) => {
      const label = t(mood);
      const id = `mood-${i + 1}`;
      const p = el(doc, "p");
      const r = el(doc, "input", undefined, { type: "radio", name: "mood", value: String(i + 1), id });
      p.append(r, el(doc, "label", ` ${label}`, { for: id }));
      set.append(p);
    });
    const done = el(doc, "p", undefined, { role: "status" });
    f.append(el(doc, "h2", t("Check in"), { id: "checkin-h" }), set, el(doc, "button", t("Send check-in"), { type: "submit" }), done);
    f.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const chosen = f.querySelector<HTMLInputElement>("input[name=mood]:checked");
      if (chosen === null) {
        done.textContent = t("Choose how you feel first.");
        return;
      }
      chosen.checked = false;
      done.textContent = t("Thank you. {audience}", { audience: checkinAudience(this.conv.client.state, this.conv.self) });
      this.attempt(() => this.conv.checkin(Number(chosen.value)), t("Your check-in could not be kept for sending. Please try again."));
    });
    return f;
  }

  /** The node could not be reached (or the session broke): said calmly, the code behind "Details". */
  unreachable(err: unknown): void {
    showProblem(this.doc, this.alert, t("The group's node cannot be reached right now. What you write is kept on this device; open this page again later to send it."), err);
  }

  /** A session with the node is open again: the notice that it could not be reached goes. */
  reachable(): void {
    this.alert.replaceChildren();
  }

  private statusText(): string {
    switch (this.conv.view().status) {
      case "joining":
        return t("Joining the group…");
      case "waiting":
        return t("Waiting for the group to share its keys with you. This happens when a facilitator's app is next online; what you write waits here until then.");
      case "gone":
        return t("You are no longer a member of this group.");
      default:
        return "";
    }
  }

  /** While this member is muted: the notice, and no message box (the outbox would hold words every
   * host refuses); drawn again when the mute ends. */
  private showMute(member: boolean): boolean {
    const now = this.conv.participant.clock();
    const until = member ? this.conv.client.state.mutedUntil(this.conv.self, BigInt(now)) : null;
    const text = until === null ? "" : t("You can read, but not write here until {when}.", { when: new Date(Number(until)).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }) });
    if (this.muted.textContent !== text) this.muted.textContent = text;
    if (this.muteTimer !== null) clearTimeout(this.muteTimer);
    this.muteTimer = until === null ? null : setTimeout(() => this.update(), Math.min(Number(until) - now + 500, 2 ** 31 - 1));
    return until !== null;
  }

  /** For a removed member, the note sealed to it by the remover (12.3), opened once it is shown. */
  private showRemoval(gone: boolean): void {
    if (!gone || !this.removal.hidden) return;
    const c = this.conv;
    const notice = removalNotice(c.client.state, c.record.groupId, c.self, c.participant.pseudonym(c.record).x25519Secret);
    if (notice === null || notice.note === null) return;
    const figure = el(this.doc, "figure", undefined, { class: "note-for-you" });
    const words = el(this.doc, "blockquote", notice.note);
    words.style.whiteSpace = "pre-wrap";
    figure.append(el(this.doc, "figcaption", t("A note for you from the facilitators (only you can read it):")), words);
    this.removal.replaceChildren(figure);
    this.removal.hidden = false;
  }

  /** Shows or hides the message box and every "Reply" as this member can write or not. */
  private setWriting(can: boolean): void {
    if (this.form !== null) this.form.hidden = !can;
    if (can === this.canWrite) return;
    this.canWrite = can;
    if (!can) this.setReply(null);
    for (const b of this.list.querySelectorAll<HTMLButtonElement>("button.reply")) b.hidden = !can;
  }

  update(): void {
    const v = this.conv.view();
    const people = new People(this.conv.read(), this.conv.client.state, this.conv.self, this.conv.participant.clock());
    this.people = people;
    const warn = lookalikeWarning(people) ?? "";
    if (this.lookalike.textContent !== warn) this.lookalike.textContent = warn;
    this.help.pinned = v.pin;
    const status = this.statusText();
    if (this.status.textContent !== status) this.status.textContent = status;
    const muted = this.showMute(v.status === "member");
    this.showRemoval(v.status === "gone");
    this.setWriting(v.status !== "gone" && !muted);
    for (const m of v.messages) {
      let s = this.shown.get(m.id);
      const drawn = drawnFrom(m, authorText(people, m), replyQuote(this.doc, people, m)?.textContent ?? null);
      if (s === undefined) {
        const last = this.list.lastElementChild;
        const atBottom = last !== null && last.getBoundingClientRect().top < (this.doc.defaultView?.innerHeight ?? 0);
        s = this.message(m, people, drawn);
        this.shown.set(m.id, s);
        this.list.append(s.li);
        if (!this.first && atBottom) s.li.scrollIntoView({ block: "nearest" }); // following the newest
      } else if (s.drawn !== drawn && s.reactions.size > 0) {
        const next = this.message(m, people, drawn); // corrected, or its author renamed
        s.li.replaceWith(next.li);
        this.shown.set(m.id, (s = next));
      }
      for (const [r, b] of s.reactions) {
        const text = t("{reaction} {count}", { reaction: t(REACTION_NAMES[r]), count: m.reactions[r] });
        if (b.textContent !== text) b.textContent = text;
      }
    }
    const ids = new Set(v.messages.map((m) => m.id));
    for (const [id, s] of this.shown) {
      if (ids.has(id) || s.reactions.size === 0) continue;
      s.li.replaceChildren(el(this.doc, "p", t("This message was removed."))); // redacted: its words are gone
      s.reactions.clear();
    }
    this.pending.replaceChildren(...v.outbox.map((o) => {
      const li = el(this.doc, "li", o.error === null ? t("Sending: {text}", { text: o.text }) : t("Not sent: {text}. The node refused it.", { text: o.text }));
      return li;
    }));
    if (this.first && v.messages.length > 0) {
      this.first = false;
      this.list.lastElementChild?.scrollIntoView({ block: "end" });
    }
  }

  private message(m: ShownMessage, people: People, drawn: string): Shown {
    const doc = this.doc;
    const li = el(doc, "li", undefined, { "data-id": m.id });
    const meta = el(doc, "p");
    meta.append(el(doc, "strong", authorText(people, m)), doc.createTextNode(m.edited ? t(" · {when} · edited", { when: formatDateTime(m.timeMs) }) : ` · ${formatDateTime(m.timeMs)}`));
    const quote = replyQuote(doc, people, m);
    // Behind a content warning the words are not in the page at all until "Show" (so neither
    // find-in-page nor a screen reader's browse mode reaches them), and leave it again on "Hide".
    const words = el(doc, "p", m.warning === null ? m.text : undefined, { class: "words", id: `w-${m.id.slice(0, 16)}` });
    words.style.whiteSpace = "pre-wrap"; // the author's line breaks
    li.append(meta);
    if (quote !== null) li.append(quote);
    if (m.warning !== null) {
      words.hidden = true;
      const cw = el(doc, "p", t("Content warning: {warning}", { warning: m.warning }));
      const show = el(doc, "button", t("Show"), { type: "button", "aria-expanded": "false", "aria-controls": words.id });
      show.addEventListener("click", () => {
        const open = words.hidden;
        words.textContent = open ? m.text : "";
        words.hidden = !open;
        show.textContent = open ? t("Hide") : t("Show");
        show.setAttribute("aria-expanded", String(open));
      });
      cw.append(doc.createTextNode(" "), show);
      li.append(cw);
    }
    li.append(words);
    const group = el(doc, "div", undefined, { role: "group", "aria-label": t("Reactions") });
    const reactions = new Map<Reaction, HTMLButtonElement>();
    for (const r of REACTIONS) {
      const b = el(doc, "button", t("{reaction} {count}", { reaction: t(REACTION_NAMES[r]), count: m.reactions[r] }), { type: "button" });
      b.addEventListener("click", () => this.attempt(() => this.conv.react(m.id, r), t("Your reaction could not be kept for sending.")));
      reactions.set(r, b);
      group.append(b, doc.createTextNode(" "));
    }
    const actions = messageActions(doc, this.conv, m, () => this.setReply(m), (act, sentence) => this.attempt(act, sentence));
    for (const b of actions.querySelectorAll<HTMLButtonElement>("button.reply")) b.hidden = !this.canWrite;
    li.append(group, actions);
    if (!m.mine) li.append(this.reportForm(m));
    return { li, reactions, drawn };
  }

  private reportForm(m: ShownMessage): HTMLElement {
    const doc = this.doc;
    const d = el(doc, "details");
    const why = el(doc, "input", undefined, { type: "text", maxlength: "1000" });
    const f = el(doc, "form");
    const done = el(doc, "p", undefined, { role: "status" });
    f.append(field(doc, `why-${m.id.slice(0, 16)}`, t("What is wrong with it? (optional)"), why), el(doc, "button", t("Send report"), { type: "submit" }), done);
    f.addEventListener("submit", (ev) => {
      ev.preventDefault();
      done.textContent = t("Thank you. Your report goes to the group's moderators and facilitators, with this message.");
      this.attempt(() => this.conv.report(m.id, why.value.trim()), t("Your report could not be kept for sending."));
    });
    d.append(el(doc, "summary", t("Report this message")), f);
    return d;
  }
}
