/**
 * On the conversation screen: "New since your last visit" above the first message that arrived
 * after the person last had the conversation on screen, the choice "Tell me about new messages on
 * this device" (off by default; the browser's permission is asked only when it is chosen; "Turn off"
 * as plain), and the notices themselves while the page is open but hidden (notify.ts has the rules:
 * no words, at most one a minute per group, a session's reminder once per date).
 *
 * Invariants: the line is placed once per visit, when the first reading of the group settled, above
 * a message of someone else that arrived after the kept visit mark and by then (never above one that
 * arrived while the page was open, nor on a first visit); the visit mark only moves forward, and only
 * while the page is visible; a message noticed (or on screen) is never noticed again.
 */
import { toHex } from "../bytes.js";
import { dueReminders, firstNew, messageNotice, type NoticeWindow, occurrenceKey, profileName, arrivedAfter, sessionNotice, showNotice, Throttle, type VisitBook, type VisitRecord } from "../notify.js";
import type { Conversation } from "../participant.js";
import { upcoming } from "../schedule.js";
import { el } from "./dom.js";
import { msg, t } from "../i18n.js";

/** How often a hidden page looks whether a session starts soon (ms). */
export const REMINDER_CHECK_MS = 30_000;
export const UNREAD_LINE = msg("New since your last visit");

const OFF_TEXT = msg("Off. This device can tell you when a message arrives in this group, or a session is about to start, while this page is open in the background.");
const ON_TEXT = msg(
  'On. While this page is open in the background, this device shows "New message in" and the group\'s name, at most once a minute, and "The session starts in 15 minutes". Never who wrote or what was said. Nothing comes while the page is closed: Holdspace uses no push server.',
);

export interface Notices {
  /** Call once the first reading of the group is over (or failed): places the line, starts notices. */
  settle(): Promise<void>;
}

/** Adds the line, the choice and the notices to the conversation screen in `main` built for `conv`;
 * they stop when `signal` aborts (the page opens another group). */
export function attachNotices(doc: Document, main: HTMLElement, conv: Conversation, book: VisitBook, win: NoticeWindow | null, clock: () => number = Date.now, signal?: AbortSignal): Notices {
  const groupId = conv.record.groupId;
  const tag = toHex(groupId).slice(0, 16);
  const throttle = new Throttle();
  let record: VisitRecord | null = null;
  let since: bigint | null = null;
  let on = false;
  let settled = false;
  let noticed = 0n;
  let saving: Promise<void> = Promise.resolve();
  const ready = Promise.all([book.visit(groupId), book.choice()]).then(([r, c]) => {
    record = r;
    since = r.mark;
    on = c;
    drawChoice();
  });

  const visible = (): boolean => doc.visibilityState !== "hidden";
  const name = (): string | null => profileName(conv) ?? record?.name ?? null;
  const save = (): void => {
    const r = record;
    if (r === null) return;
    saving = saving.then(() => book.saveVisit(groupId, r)).catch(() => undefined);
  };
  const advance = (): void => {
    if (!settled || record === null || !visible()) return;
    if (record.mark === null || conv.position > record.mark) {
      record.mark = conv.position;
      save();
    }
  };
  const remind = (): void => {
    if (!settled || !on || visible() || record === null || win === null) return;
    const now = clock();
    const due = dueReminders(upcoming(conv, now).map((o) => ({ session: o.session, index: o.index, start: o.start })), now, record.reminded);
    const first = due[0];
    if (first === undefined || !throttle.take(tag, now)) return;
    record.reminded.push(occurrenceKey(first));
    save();
    void showNotice(win, sessionNotice(first.start, now), `hs-session-${tag}`, name() ?? undefined);
  };
  const changed = (): void => {
    if (!settled) return;
    const fresh = arrivedAfter(conv.view().messages, (id) => conv.arrivedAt(id), noticed);
    noticed = conv.position;
    advance();
    if (fresh.length > 0 && on && !visible() && win !== null && throttle.take(tag, clock())) void showNotice(win, messageNotice(name()), `hs-message-${tag}`);
    remind();
  };

  // The choice, below the check-in.
  const section = el(doc, "section", undefined, { "aria-labelledby": "notify-h", class: "notify" });
  const state = el(doc, "p", undefined, { id: "notify-state" });
  const button = el(doc, "button", t("Tell me about new messages on this device"), { type: "button", "aria-describedby": "notify-state" });
  const said = el(doc, "p", undefined, { role: "status" });
  section.append(el(doc, "h2", t("Notifications"), { id: "notify-h" }), state, button, said);
  main.append(section);
  function drawChoice(): void {
    state.textContent = on ? t(ON_TEXT) : t(OFF_TEXT);
    button.textContent = on ? t("Turn off") : t("Tell me about new messages on this device");
  }
  drawChoice();
  button.addEventListener("click", () => {
    void ready.then(async () => {
      if (on) {
        on = false;
        drawChoice();
        said.textContent = t("Notifications are off on this device.");
        await book.setChoice(false);
        return;
      }
      const N = win?.Notification;
      if (N === undefined) {
        said.textContent = t("This browser cannot show notifications.");
        return;
      }
      const allowed = N.permission === "default" ? await N.requestPermission() : N.permission;
      if (allowed !== "granted") {
        said.textContent = t("Your browser blocks notifications for this page. Allow them in the browser's settings for this site, then choose again.");
        return;
      }
      on = true;
      drawChoice();
      said.textContent = t("Notifications are on for this device.");
      await book.setChoice(true);
    });
  });

  const before = conv.onChange;
  conv.onChange = () => {
    before();
    changed();
  };
  doc.addEventListener(
    "visibilitychange",
    () => {
      advance();
      remind();
    },
    signal === undefined ? {} : { signal },
  );
  const timer = win?.setInterval(remind, REMINDER_CHECK_MS);
  signal?.addEventListener("abort", () => clearInterval(timer)); // the page opens another group

  return {
    async settle(): Promise<void> {
      await ready;
      if (settled) return;
      const list = doc.getElementById("messages");
      const id = firstNew(conv.view().messages, (m) => conv.arrivedAt(m), since, conv.position);
      const at = id === null ? null : list?.querySelector(`li[data-id="${id}"]`);
      if (at !== null && at !== undefined) at.before(el(doc, "li", t(UNREAD_LINE), { class: "unread-line", id: "unread-line" }));
      noticed = conv.position;
      settled = true;
      advance();
    },
  };
}
