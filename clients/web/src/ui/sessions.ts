/**
 * Sessions on the conversation screen (spec 17.3): who holds the talking piece, on a line above the
 * composer for everyone; the upcoming dates in the reader's own time zone with their answers, and
 * "I'll come" / "Maybe" / "I can't come"; for facilitators, a form to schedule a session (what was
 * typed stays on an error, and a city typed as the zone gets the zone's name suggested), "Cancel
 * this date" only after a confirmation that names the date, passing the talking piece, and each
 * date's check-in summary (ui/checkin_summary.ts).
 *
 * The live circle (spec 17.11, `call/open.ts`): a line at the top of the conversation says whether it
 * is open. While a session is on (from ten minutes before its start) the line and that date offer
 * "Live circle (voice)", which opens the call screen (joining is a further choice there); otherwise
 * the line says when the next session opens it, and no call is offered. Facilitators get "Open a
 * live circle now" (a one-hour session starting now) and "Close the circle".
 *
 * The screen is redrawn only when what it shows changed, so a confirmation being read or a member
 * being chosen stays as it is; it is looked at again every `RECHECK_MS`, as time opens and closes
 * the circle.
 */
import { toHex } from "../bytes.js";
import { RSVP_ANSWERS, type RsvpAnswer } from "../content.js";
import { HoldspaceError } from "../errors.js";
import { label } from "../labels.js";
import type { Conversation } from "../participant.js";
import type { CircleDate } from "../call/open.js";
import {
  answer,
  cancelDate,
  circleOf,
  closeCircle,
  currentOrNext,
  holdsPiece,
  isFacilitator,
  myAnswer,
  openCircleNow,
  passPiece,
  scheduleSession,
  type UpcomingOccurrence,
  upcoming,
} from "../schedule.js";
import { isListedZone } from "../timezone.js";
import { ownZone, suggestZones } from "../zone_names.js";
import { askFirst } from "./ask.js";
import { checkinSummaryPart, summaryOf } from "./checkin_summary.js";
import { codeOf, el, field, showProblem } from "./dom.js";
import { formatDateTime, msg, t, tn } from "../i18n.js";

const ANSWER_TEXT: Record<RsvpAnswer, string> = { yes: msg("I'll come"), maybe: msg("Maybe"), no: msg("I can't come") };
const SHOWN = 5;
/** How often the circle's line is looked at again as time passes (ms). */
export const RECHECK_MS = 20_000;

/** A date as the reader reads it: in the reader's own time zone, with the zone named. */
export function readerTime(ms: number): string {
  return formatDateTime(ms, { weekday: "long", day: "numeric", month: "long", hour: "numeric", minute: "2-digit", timeZoneName: "short" });
}

function keyOf(o: UpcomingOccurrence): string {
  return `${o.session}:${o.index}`;
}

function holderText(conv: Conversation, o: UpcomingOccurrence): string {
  if (o.holder === undefined) return "";
  if (o.holder === null) return t("The talking piece: the circle is open, anyone may share.");
  if (holdsPiece(conv, o)) return t("The talking piece is with you: it is your turn to share.");
  return t("The talking piece is with {who}: it is their turn to share.", { who: label(o.holder) });
}

/** What the circle's line says when no circle is open: when the next session opens it, if any. */
export function closedSentence(next: { start: number; title: string | null } | null): string {
  if (next === null) return t("The live circle is closed: no session is planned. It opens during a session.");
  const when = readerTime(next.start);
  return next.title === null
    ? t("The circle opens with the next session: {when}.", { when })
    : t("The circle opens with the next session: {title}, {when}.", { title: next.title, when });
}

export class SessionsPanel {
  /** The live circle's line, at the top of the conversation. */
  readonly circle: HTMLElement;
  private closeAsk: HTMLElement | undefined; // "Close the circle", asking first (facilitators, circle open)
  /** The talking piece line, above the composer. */
  readonly piece: HTMLElement;
  /** The sessions section. */
  readonly section: HTMLElement;
  private readonly list: HTMLUListElement;
  private readonly alert: HTMLElement;
  private readonly form: HTMLElement;
  private confirming: string | null = null;
  private drawn = "";

  constructor(
    private readonly doc: Document,
    private readonly conv: Conversation,
    private readonly now: () => number = Date.now,
    /** Opens the group's live circle (a separate screen; joining it is a further choice there). */
    private readonly liveCircle?: () => void,
  ) {
    this.circle = el(doc, "div", undefined, { id: "circle-line" });
    this.piece = el(doc, "p", undefined, { id: "talking-piece", role: "status" });
    this.list = el(doc, "ul", undefined, { id: "sessions", "aria-labelledby": "sessions-h" });
    this.alert = el(doc, "div", undefined, { role: "alert" });
    this.form = el(doc, "div");
    this.section = el(doc, "section", undefined, { "aria-labelledby": "sessions-h" });
    this.section.append(el(doc, "h2", t("Sessions"), { id: "sessions-h" }), this.list, this.alert, this.form);
    this.update();
  }

  /** Puts the line above the composer of the conversation screen in `main`, and the section after it. */
  mount(main: HTMLElement): void {
    const messages = main.querySelector("#messages-h");
    if (messages !== null) messages.before(this.circle);
    else main.prepend(this.circle);
    const composer = main.querySelector('form[aria-labelledby="write-h"]');
    if (composer !== null) composer.before(this.piece);
    else main.append(this.piece);
    main.append(this.section);
  }

  private attempt(run: () => Promise<void>, sentence: string): void {
    this.alert.replaceChildren();
    run().catch((err: unknown) => showProblem(this.doc, this.alert, sentence, err));
  }

  update(): void {
    const now = this.now();
    const list = upcoming(this.conv, now, SHOWN);
    const facilitator = isFacilitator(this.conv);
    const current = currentOrNext(this.conv, now);
    const line = current === null ? "" : holderText(this.conv, current);
    if (this.piece.textContent !== line) this.piece.textContent = line;
    this.piece.hidden = line === "";
    const members = [...this.conv.client.state.state.members.values()].map((m) => toHex(m.key)).sort();
    const circle = circleOf(this.conv, now);
    const titled = (d: CircleDate | null): { start: number; end: number; title: string | null; key: string } | null => {
      if (d === null) return null;
      const o = upcoming(this.conv, now, 50).find((u) => u.session === d.session && u.index === d.index);
      return { start: d.start, end: d.end, title: o?.title ?? null, key: `${d.session}:${d.index}` };
    };
    const open = titled(circle.open);
    const next = open === null ? titled(circle.next) : null;
    const drawn = JSON.stringify([
      open,
      next,
      facilitator,
      this.confirming,
      members,
      list.map((o) => [keyOf(o), o.start, o.title, o.about, [...o.answers], o.holder === undefined ? "-" : o.holder === null ? "open" : toHex(o.holder)]),
      facilitator ? list.map((o) => summaryOf(this.conv, o.session, o.index)) : [],
    ]);
    if (drawn === this.drawn) return;
    this.drawn = drawn;
    this.drawCircle(open, next, facilitator);
    this.list.replaceChildren(...(list.length === 0 ? [el(this.doc, "li", t("No sessions are planned yet."))] : list.map((o) => this.item(o, facilitator, open?.key === keyOf(o)))));
    if (facilitator && this.form.childElementCount === 0) this.form.append(this.scheduleForm());
    if (!facilitator) this.form.replaceChildren();
  }

  /** The circle's line: open (the way in, and "Close the circle" for facilitators) or when it opens. */
  private drawCircle(open: { end: number; title: string | null } | null, next: { start: number; title: string | null } | null, facilitator: boolean): void {
    const doc = this.doc;
    const parts: Node[] = [];
    if (open !== null) {
      const until = readerTime(open.end);
      parts.push(
        el(doc, "p", open.title === null ? t("A session is on: the live circle is open until {until}.", { until }) : t("{title} is on: the live circle is open until {until}.", { title: open.title, until }), { id: "circle-state" }),
      );
      if (this.liveCircle !== undefined) parts.push(this.circleButton(t("Live circle (voice)")));
      if (facilitator) {
        // kept across redraws while the circle is open, so a question being read is not taken away
        this.closeAsk ??= askFirst(
          doc,
          t("Close the circle"),
          t("Close the live circle for everyone now? The session ends here, and anyone in the circle leaves it."),
          t("Yes, close the circle"),
          t("No, keep it open"),
          async () => {
            this.alert.replaceChildren();
            await closeCircle(this.conv, this.now()).catch((err: unknown) => showProblem(this.doc, this.alert, t("The circle could not be closed. Please try again."), err));
          },
        );
        parts.push(this.closeAsk);
      }
    } else {
      this.closeAsk = undefined;
      parts.push(el(doc, "p", closedSentence(next), { id: "circle-state" }));
      if (facilitator) {
        const start = el(doc, "button", t("Open a live circle now"), { type: "button" });
        start.addEventListener("click", () => this.attempt(async () => void (await openCircleNow(this.conv, this.now())), t("The circle could not be opened. Please try again.")));
        parts.push(start);
      }
    }
    const focused = this.circle.contains(doc.activeElement) ? (doc.activeElement as HTMLElement) : null;
    this.circle.replaceChildren(...parts);
    if (focused !== null) (focused.isConnected ? focused : this.circle.querySelector("button"))?.focus(); // a button pressed may be replaced
  }

  private circleButton(text: string, name?: string): HTMLButtonElement {
    const b = el(this.doc, "button", text, name === undefined ? { type: "button" } : { type: "button", "aria-label": name });
    b.addEventListener("click", () => this.liveCircle?.());
    return b;
  }

  private item(o: UpcomingOccurrence, facilitator: boolean, circleOpen = false): HTMLLIElement {
    const doc = this.doc;
    const li = el(doc, "li", undefined, { "data-session": o.session, "data-occurrence": String(o.index) });
    const title = o.title ?? t("A session");
    li.append(el(doc, "h3", title), el(doc, "p", readerTime(o.start)));
    if (circleOpen && this.liveCircle !== undefined) li.append(el(doc, "p", t("This session is on: its live circle is open.")), this.circleButton(t("Go to the live circle"), t("Go to the live circle of {title}", { title })));
    if (o.about !== null) li.append(el(doc, "p", o.about));
    const coming = [...o.answers.values()].filter((a) => a === "yes").length;
    li.append(el(doc, "p", tn("{n} person is coming.", "{n} people are coming.", coming)));
    const mine = myAnswer(this.conv, o);
    const answers = el(doc, "div", undefined, { role: "group", "aria-label": t("Will you come to {title}?", { title }) });
    for (const a of RSVP_ANSWERS) {
      const b = el(doc, "button", t(ANSWER_TEXT[a]), { type: "button", "aria-pressed": String(mine === a) });
      b.addEventListener("click", () => this.attempt(() => answer(this.conv, o.session, o.index, a), t("Your answer could not be kept for sending.")));
      answers.append(b, doc.createTextNode(" "));
    }
    li.append(answers);
    const piece = holderText(this.conv, o);
    if (piece !== "") li.append(el(doc, "p", piece));
    if (facilitator) li.append(checkinSummaryPart(doc, summaryOf(this.conv, o.session, o.index)), this.passForm(o), this.cancelPart(o, title));
    return li;
  }

  private passForm(o: UpcomingOccurrence): HTMLElement {
    const doc = this.doc;
    const f = el(doc, "form");
    const id = `pass-${o.session.slice(0, 12)}-${o.index}`;
    const select = el(doc, "select", undefined, { id });
    select.append(el(doc, "option", t("Open the circle (anyone may share)"), { value: "" }));
    for (const m of this.conv.client.state.state.members.values()) {
      const hex = toHex(m.key);
      select.append(el(doc, "option", hex === toHex(this.conv.self) ? t("You") : label(m.key), { value: hex }));
    }
    if (o.holder instanceof Uint8Array) select.value = toHex(o.holder); // who has it now
    const p = el(doc, "p");
    p.append(el(doc, "label", t("Give the talking piece to"), { for: id }), select);
    f.append(p, el(doc, "button", t("Pass the talking piece"), { type: "submit" }));
    f.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const to = select.value === "" ? null : Uint8Array.from(select.value.match(/../g)!.map((h) => parseInt(h, 16)));
      this.attempt(() => passPiece(this.conv, o.session, o.index, to), t("The talking piece could not be passed."));
    });
    return f;
  }

  private cancelPart(o: UpcomingOccurrence, title: string): HTMLElement {
    const doc = this.doc;
    const box = el(doc, "div");
    const key = keyOf(o);
    const when = readerTime(o.start);
    if (this.confirming !== key) {
      const b = el(doc, "button", t("Cancel this date"), { type: "button" });
      b.addEventListener("click", () => {
        this.confirming = key;
        this.update();
        this.doc.getElementById(`confirm-${key.replace(":", "-")}`)?.focus();
      });
      box.append(b);
      return box;
    }
    const question =
      o.dates > 1
        ? t("Cancel {title} on {when}? Everyone in the group will see it is cancelled. The other dates of this session stay as they are.", { title, when })
        : t("Cancel {title} on {when}? Everyone in the group will see it is cancelled.", { title, when });
    const ask = el(doc, "p", question, { id: `confirm-${key.replace(":", "-")}`, tabindex: "-1" });
    const yes = el(doc, "button", t("Yes, cancel this date"), { type: "button" });
    const no = el(doc, "button", t("Keep it"), { type: "button" });
    yes.addEventListener("click", () => {
      this.confirming = null;
      this.attempt(() => cancelDate(this.conv, o.session, o.index), t("The date could not be cancelled."));
    });
    no.addEventListener("click", () => {
      this.confirming = null;
      this.update();
    });
    box.append(ask, yes, doc.createTextNode(" "), no);
    return box;
  }

  private scheduleForm(): HTMLElement {
    const doc = this.doc;
    const d = el(doc, "details");
    const f = el(doc, "form");
    const title = el(doc, "input", undefined, { type: "text", maxlength: "200", required: "" });
    const about = el(doc, "textarea", undefined, { rows: "2", maxlength: "2000" });
    const date = el(doc, "input", undefined, { type: "date", required: "" });
    const time = el(doc, "input", undefined, { type: "time", required: "" });
    const zone = el(doc, "input", undefined, { type: "text", autocomplete: "off", "aria-describedby": "session-zone-help" });
    zone.value = ownZone();
    const minutes = el(doc, "input", undefined, { type: "number", min: "1", max: "1440", required: "" });
    minutes.value = "90";
    const weeks = el(doc, "input", undefined, { type: "number", min: "1", max: "520", required: "" });
    weeks.value = "1";
    const help = el(doc, "p", t("A city works too, such as London or New York."), { id: "session-zone-help" });
    const suggest = el(doc, "div");
    const status = el(doc, "p", undefined, { role: "status" });
    const alert = el(doc, "div", undefined, { role: "alert" });
    f.append(
      field(doc, "session-title", t("Title"), title),
      field(doc, "session-about", t("What it is about (optional)"), about),
      field(doc, "session-date", t("Date"), date),
      field(doc, "session-time", t("Starts at"), time),
      field(doc, "session-zone", t("Time zone"), zone),
      help,
      suggest,
      field(doc, "session-minutes", t("Length in minutes"), minutes),
      field(doc, "session-weeks", t("How many weeks (1 for a single date)"), weeks),
      el(doc, "button", t("Schedule"), { type: "submit" }),
      status,
      alert,
    );
    const offer = (typed: string): void => {
      const names = suggestZones(typed, 3);
      suggest.replaceChildren();
      if (names.length === 0) return;
      suggest.append(el(doc, "p", t("Did you mean:")));
      for (const n of names) {
        const b = el(doc, "button", n, { type: "button" });
        b.addEventListener("click", () => {
          zone.value = n;
          suggest.replaceChildren();
          alert.replaceChildren();
          zone.focus();
        });
        suggest.append(b, doc.createTextNode(" "));
      }
    };
    zone.addEventListener("change", () => {
      if (!isListedZone(zone.value.trim())) offer(zone.value);
      else suggest.replaceChildren();
    });
    f.addEventListener("submit", (ev) => {
      ev.preventDefault();
      alert.replaceChildren();
      status.textContent = "";
      const tz = zone.value.trim();
      if (!isListedZone(tz)) {
        offer(tz);
        showProblem(doc, alert, t("\"{zone}\" is not a time zone name we know. Choose one of the suggestions, or type a name such as Europe/London.", { zone: tz }), new HoldspaceError("client.bad_argument", "unlisted time zone"));
        zone.focus();
        return;
      }
      const s = {
        title: title.value,
        about: about.value.trim() === "" ? null : about.value,
        date: date.value,
        time: time.value,
        tz,
        minutes: Number(minutes.value),
        weeks: Number(weeks.value),
      };
      status.textContent = t("Scheduling…");
      scheduleSession(this.conv, s)
        .then(() => {
          status.textContent = t("Scheduled: {title}.", { title: s.title.trim() });
          title.value = "";
          about.value = "";
        })
        .catch((err: unknown) => {
          status.textContent = "";
          const sentence = codeOf(err) === "client.bad_argument" && err instanceof Error ? t("Please check the form: {problem}.", { problem: err.message }) : t("The session could not be scheduled. What you typed is kept; please try again.");
          showProblem(doc, alert, sentence, err);
        });
    });
    d.append(el(doc, "summary", t("Schedule a session")), f);
    return d;
  }
}

/** Adds the sessions to the conversation screen in `main` (built for `conv`), following its changes. */
export function addSessions(doc: Document, main: HTMLElement, conv: Conversation, liveCircle?: () => void, signal?: AbortSignal): SessionsPanel {
  const panel = new SessionsPanel(doc, conv, Date.now, liveCircle);
  panel.mount(main);
  const timer = doc.defaultView?.setInterval(() => panel.update(), RECHECK_MS); // time opens and closes the circle
  signal?.addEventListener("abort", () => doc.defaultView?.clearInterval(timer)); // the person left this group's page
  const shown = conv.onChange;
  conv.onChange = () => {
    shown();
    panel.update();
  };
  return panel;
}
