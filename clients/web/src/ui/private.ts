/**
 * "Private messages" (spec 13.5; the screen `holdspace app` shows at `/g/<id>/private`): for a
 * member, its line with the facilitators and "Message the facilitators privately"; for a
 * facilitator, each member's line with "Answer NAME privately", and a line opened to a member who
 * has written nothing yet (reaching out first, from the care note). Whatever is written goes through
 * the outbox (kept if offline). A redraw replaces only the messages of a line: what someone is
 * typing stays.
 */
import { fromHex, toHex } from "../bytes.js";
import { t } from "../i18n.js";
import type { Conversation } from "../participant.js";
import { People } from "../people.js";
import { type LineMessage, PrivateLine } from "../private_line.js";
import { el, showProblem } from "./dom.js";
import type { ToolScreen } from "./facilitation.js";

function when(ms: number): string {
  return new Date(ms).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

interface Shown {
  readonly section: HTMLElement;
  readonly list: HTMLOListElement;
  readonly empty: HTMLElement;
  /** This member's words on the line that no node has acknowledged yet. */
  readonly waiting: HTMLUListElement;
  /** A facilitator's answer form (null for a member), hidden once the line's member has left, and the
   * sentence that says so. */
  readonly form: HTMLElement | null;
  readonly gone: HTMLElement;
  drawn: string;
}

/** The screen; `open`: a member (hex) whose line a facilitator opens at once, its answer field focused. */
export function privateScreen(doc: Document, conv: Conversation, open: string | null = null): ToolScreen {
  const line = new PrivateLine(conv);
  const root = el(doc, "section", undefined, { "aria-labelledby": "tool-h" });
  const hint = el(doc, "p");
  const status = el(doc, "p", undefined, { role: "status" });
  const alert = el(doc, "div", undefined, { role: "alert" });
  const lines = el(doc, "div", undefined, { id: "private-lines" });
  const none = el(doc, "p", t("No private messages yet."));
  const own = el(doc, "div");
  root.append(el(doc, "h1", t("Private messages"), { id: "tool-h", tabindex: "-1" }), hint, status, alert, none, lines, own);
  const shown = new Map<string, Shown>();
  const opened = new Set<string>(open === null ? [] : [open]);
  let role = "";

  const send = (form: HTMLFormElement, area: HTMLTextAreaElement, act: () => Promise<void>, done: string): void => {
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      alert.replaceChildren();
      act().then(
        () => {
          area.value = "";
          status.textContent = done;
        },
        (err: unknown) => showProblem(doc, alert, t("That could not be sent. Write something first, and check that you are still in the group."), err),
      );
    });
  };

  const section = (member: string, name: string, facilitator: boolean): Shown => {
    const s = el(doc, "section", undefined, { class: "card thread", id: `line-${member.slice(0, 16)}`, "aria-labelledby": `line-${member.slice(0, 16)}-h` });
    const list = el(doc, "ol", undefined, { class: "messages" });
    const empty = el(doc, "p", t("Nothing written on this line yet."));
    const waiting = el(doc, "ul", undefined, { "aria-label": t("Waiting to be sent"), class: "waiting" });
    s.append(el(doc, "h2", facilitator ? name : t("You and the facilitators"), { id: `line-${member.slice(0, 16)}-h` }), empty, list, waiting);
    const gone = el(doc, "p", t("They are no longer in the group: nothing more can be sent on this line."));
    gone.hidden = true;
    let form: HTMLElement | null = null;
    if (facilitator) {
      const f = el(doc, "form");
      form = f;
      const id = `answer-${member.slice(0, 16)}`;
      const area = el(doc, "textarea", undefined, { id, rows: "2", required: "", maxlength: "8000" });
      const label = el(doc, "label", t("Answer {name} privately", { name }), { for: id });
      const p = el(doc, "p");
      p.append(label, area);
      f.append(p, el(doc, "button", t("Send the answer"), { type: "submit" }));
      send(f, area, () => line.answer(fromHex(member), area.value), t("Sent privately to {name}. Only they and the group's facilitators can read it.", { name }));
      s.append(gone, f);
    }
    return { section: s, list, empty, waiting, form, gone, drawn: "" };
  };

  const item = (m: LineMessage, people: People): HTMLLIElement => {
    const li = el(doc, "li");
    const head = el(doc, "p");
    const time = el(doc, "time", when(m.timeMs), { datetime: new Date(m.timeMs).toISOString() });
    head.append(el(doc, "strong", m.mine ? t("You") : people.person(m.author).name), doc.createTextNode(" · "), time);
    const words = el(doc, "p", m.text);
    words.style.whiteSpace = "pre-wrap";
    li.append(head, words);
    return li;
  };

  const draw = (): void => {
    const facilitator = line.facilitator;
    const people = new People(conv.read(), conv.client.state, conv.self, conv.participant.clock());
    const nowRole = facilitator ? "facilitator" : "member";
    if (nowRole !== role) {
      role = nowRole;
      shown.clear();
      lines.replaceChildren();
      hint.textContent = facilitator
        ? t("Each member's private line with the facilitators. Only that member and the facilitators can read it: not the group, not the servers.")
        : t("Write to the facilitators privately. Only they can read it: not the group, not the servers.");
      own.replaceChildren(...(facilitator ? [] : [writeForm()]));
    }
    const found = line.lines();
    const members = new Map(found.map((l) => [toHex(l.member), l.messages]));
    if (facilitator) for (const m of opened) if (!members.has(m) && conv.client.state.state.members.has(m)) members.set(m, []);
    const pending = new Map<string, { key: string; words: string; error: string | null }[]>();
    for (const o of conv.view().outbox) {
      if (o.member === null) continue;
      if (!members.has(o.member)) members.set(o.member, []);
      pending.set(o.member, [...(pending.get(o.member) ?? []), { key: o.key, words: o.words, error: o.error }]);
    }
    none.hidden = members.size > 0;
    for (const [member, messages] of members) {
      let s = shown.get(member);
      if (s === undefined) {
        s = section(member, people.person(fromHex(member)).name, facilitator);
        shown.set(member, s);
        lines.append(s.section);
      }
      const current = conv.client.state.state.members.has(member);
      if (s.form !== null && s.form.hidden === current) {
        s.form.hidden = !current;
        s.gone.hidden = current;
      }
      const queued = pending.get(member) ?? [];
      const key = JSON.stringify([messages.map((m) => m.id), queued]);
      if (key === s.drawn) continue;
      s.drawn = key;
      s.empty.hidden = messages.length + queued.length > 0;
      s.waiting.hidden = queued.length === 0;
      s.waiting.replaceChildren(...queued.map((o) => el(doc, "li", o.error === null ? t("Waiting to be sent: {words}", { words: o.words }) : t("Not sent ({code}): {words}", { code: o.error, words: o.words }))));
      s.list.hidden = messages.length === 0;
      s.list.replaceChildren(...messages.map((m) => item(m, people)));
    }
  };

  const writeForm = (): HTMLElement => {
    const f = el(doc, "form", undefined, { class: "card" });
    const area = el(doc, "textarea", undefined, { id: "private-text", rows: "3", required: "", maxlength: "8000" });
    const p = el(doc, "p");
    p.append(el(doc, "label", t("Message the facilitators privately"), { for: "private-text" }), area);
    f.append(p, el(doc, "button", t("Send to the facilitators"), { type: "submit", class: "primary" }), el(doc, "p", t("If you are offline, it is kept safely and sent later."), { class: "hint" }));
    send(f, area, () => line.write(area.value), t("Sent privately to the facilitators: only they can read it."));
    return f;
  };

  draw();
  if (open !== null) queueMicrotask(() => root.querySelector<HTMLTextAreaElement>(`#answer-${open.slice(0, 16)}`)?.focus());
  return { root, title: t("Private messages"), update: draw };
}
