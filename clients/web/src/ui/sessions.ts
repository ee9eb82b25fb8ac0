/**
 * Sessions on the conversation screen (spec 17.3): who holds the talking piece, on a line above the
 * composer for everyone; the upcoming dates in the reader's own time zone with their answers, and
 * "I'll come" / "Maybe" / "I can't come"; for facilitators, a form to schedule a session (what was
 * typed stays on an error, and a city typed as the zone gets the zone's name suggested), "Cancel
 * this date" only after a confirmation that names the date, passing the talking piece, and each
 * date's check-in summary (ui/checkin_summary.ts).
 *
 * The screen is redrawn only when what it shows changed, so a confirmation being read or a member
 * being chosen stays as it is.
 */
import { toHex } from "../bytes.js";
import { RSVP_ANSWERS, type RsvpAnswer } from "../content.js";
import { HoldspaceError } from "../errors.js";
import { label } from "../labels.js";
import type { Conversation } from "../participant.js";
import {
  answer,
  cancelDate,
  currentOrNext,
  holdsPiece,
  isFacilitator,
  myAnswer,
  passPiece,
  scheduleSession,
  type UpcomingOccurrence,
  upcoming,
} from "../schedule.js";
import { isListedZone } from "../timezone.js";
import { ownZone, suggestZones } from "../zone_names.js";
import { checkinSummaryPart, summaryOf } from "./checkin_summary.js";
import { codeOf, el, field, showProblem } from "./dom.js";

const ANSWER_TEXT: Record<RsvpAnswer, string> = { yes: "I'll come", maybe: "Maybe", no: "I can't come" };
const SHOWN = 5;

/** A date as the reader reads it: in the reader's own time zone, with the zone named. */
export function readerTime(ms: number): string {
  return new Intl.DateTimeFormat(undefined, { weekday: "long", day: "numeric", month: "long", hour: "numeric", minute: "2-digit", timeZoneName: "short" }).format(new Date(ms));
}

function keyOf(o: UpcomingOccurrence): string {
  return `${o.session}:${o.index}`;
}

function holderText(conv: Conversation, o: UpcomingOccurrence): string {
  if (o.holder === undefined) return "";
  if (o.holder === null) return "The talking piece: the circle is open, anyone may share.";
  if (holdsPiece(conv, o)) return "The talking piece is with you: it is your turn to share.";
  return `The talking piece is with ${label(o.holder)}: it is their turn to share.`;
}

export class SessionsPanel {
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
  ) {
    this.piece = el(doc, "p", undefined, { id: "talking-piece", role: "status" });
    this.list = el(doc, "ul", undefined, { id: "sessions", "aria-labelledby": "sessions-h" });
    this.alert = el(doc, "div", undefined, { role: "alert" });
    this.form = el(doc, "div");
    this.section = el(doc, "section", undefined, { "aria-labelledby": "sessions-h" });
    this.section.append(el(doc, "h2", "Sessions", { id: "sessions-h" }), this.list, this.alert, this.form);
    this.update();
  }

  /** Puts the line above the composer of the conversation screen in `main`, and the section after it. */
  mount(main: HTMLElement): void {
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
    const drawn = JSON.stringify([
      facilitator,
      this.confirming,
      members,
      list.map((o) => [keyOf(o), o.start, o.title, o.about, [...o.answers], o.holder === undefined ? "-" : o.holder === null ? "open" : toHex(o.holder)]),
      facilitator ? list.map((o) => summaryOf(this.conv, o.session, o.index)) : [],
    ]);
    if (drawn === this.drawn) return;
    this.drawn = drawn;
    this.list.replaceChildren(...(list.length === 0 ? [el(this.doc, "li", "No sessions are planned yet.")] : list.map((o) => this.item(o, facilitator))));
    if (facilitator && this.form.childElementCount === 0) this.form.append(this.scheduleForm());
    if (!facilitator) this.form.replaceChildren();
  }

  private item(o: UpcomingOccurrence, facilitator: boolean): HTMLLIElement {
    const doc = this.doc;
    const li = el(doc, "li", undefined, { "data-session": o.session, "data-occurrence": String(o.index) });
    const title = o.title ?? "A session";
    li.append(el(doc, "h3", title), el(doc, "p", readerTime(o.start)));
    if (o.about !== null) li.append(el(doc, "p", o.about));
    const coming = [...o.answers.values()].filter((a) => a === "yes").length;
    li.append(el(doc, "p", coming === 1 ? "1 person is coming." : `${coming} people are coming.`));
    const mine = myAnswer(this.conv, o);
    const answers = el(doc, "div", undefined, { role: "group", "aria-label": `Will you come to ${title}?` });
    for (const a of RSVP_ANSWERS) {
      const b = el(doc, "button", ANSWER_TEXT[a], { type: "button", "aria-pressed": String(mine === a) });
      b.addEventListener("click", () => this.attempt(() => answer(this.conv, o.session, o.index, a), "Your answer could not be kept for sending."));
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
    select.append(el(doc, "option", "Open the circle (anyone may share)", { value: "" }));
    for (const m of this.conv.client.state.state.members.values()) {
      const hex = toHex(m.key);
      select.append(el(doc, "option", hex === toHex(this.conv.self) ? "You" : label(m.key), { value: hex }));
    }
    if (o.holder instanceof Uint8Array) select.value = toHex(o.holder); // who has it now
    const p = el(doc, "p");
    p.append(el(doc, "label", "Give the talking piece to", { for: id }), select);
    f.append(p, el(doc, "button", "Pass the talking piece", { type: "submit" }));
    f.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const to = select.value === "" ? null : Uint8Array.from(select.value.match(/../g)!.map((h) => parseInt(h, 16)));
      this.attempt(() => passPiece(this.conv, o.session, o.index, to), "The talking piece could not be passed.");
    });
    return f;
  }

  private cancelPart(o: UpcomingOccurrence, title: string): HTMLElement {
    const doc = this.doc;
    const box = el(doc, "div");
    const key = keyOf(o);
    const when = readerTime(o.start);
    if (this.confirming !== key) {
      const b = el(doc, "button", "Cancel this date", { type: "button" });
      b.addEventListener("click", () => {
        this.confirming = key;
        this.update();
        this.doc.getElementById(`confirm-${key.replace(":", "-")}`)?.focus();
      });
      box.append(b);
      return box;
    }
    const others = o.dates > 1 ? " The other dates of this session stay as they are." : "";
    const ask = el(doc, "p", `Cancel ${title} on ${when}? Everyone in the group will see it is cancelled.${others}`, { id: `confirm-${key.replace(":", "-")}`, tabindex: "-1" });
    const yes = el(doc, "button", "Yes, cancel this date", { type: "button" });
    const no = el(doc, "button", "Keep it", { type: "button" });
    yes.addEventListener("click", () => {
      this.confirming = null;
      this.attempt(() => cancelDate(this.conv, o.session, o.index), "The date could not be cancelled.");
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
    const help = el(doc, "p", "A city works too, such as London or New York.", { id: "session-zone-help" });
    const suggest = el(doc, "div");
    const status = el(doc, "p", undefined, { role: "status" });
    const alert = el(doc, "div", undefined, { role: "alert" });
    f.append(
      field(doc, "session-title", "Title", title),
      field(doc, "session-about", "What it is about (optional)", about),
      field(doc, "session-date", "Date", date),
      field(doc, "session-time", "Starts at", time),
      field(doc, "session-zone", "Time zone", zone),
      help,
      suggest,
      field(doc, "session-minutes", "Length in minutes", minutes),
      field(doc, "session-weeks", "How many weeks (1 for a single date)", weeks),
      el(doc, "button", "Schedule", { type: "submit" }),
      status,
      alert,
    );
    const offer = (typed: string): void => {
      const names = suggestZones(typed, 3);
      suggest.replaceChildren();
      if (names.length === 0) return;
      suggest.append(el(doc, "p", "Did you mean:"));
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
        showProblem(doc, alert, `"${tz}" is not a time zone name we know. Choose one of the suggestions, or type a name such as Europe/London.`, new HoldspaceError("client.bad_argument", "unlisted time zone"));
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
      status.textContent = "Scheduling…";
      scheduleSession(this.conv, s)
        .then(() => {
          status.textContent = `Scheduled: ${s.title.trim()}.`;
          title.value = "";
          about.value = "";
        })
        .catch((err: unknown) => {
          status.textContent = "";
          const sentence = codeOf(err) === "client.bad_argument" && err instanceof Error ? `Please check the form: ${err.message}.` : "The session could not be scheduled. What you typed is kept; please try again.";
          showProblem(doc, alert, sentence, err);
        });
    });
    d.append(el(doc, "summary", "Schedule a session"), f);
    return d;
  }
}

/** Adds the sessions to the conversation screen in `main` (built for `conv`), following its changes. */
export function addSessions(doc: Document, main: HTMLElement, conv: Conversation): SessionsPanel {
  const panel = new SessionsPanel(doc, conv);
  panel.mount(main);
  const shown = conv.onChange;
  conv.onChange = () => {
    shown();
    panel.update();
  };
  return panel;
}
