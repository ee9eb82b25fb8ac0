/**
 * Notifications and the last visit, per group, on this device (issue 19, point 11).
 *
 * - **Opt-in, never words.** Nothing is shown unless the person chose "Tell me about new messages on
 *   this device" (kept sealed in the history, off by default; the browser's permission is asked only
 *   then). A notice says "New message in <group name>" or "The session starts in 15 minutes": never
 *   who wrote, never a word of a message or of a session's title.
 * - **Only while the page is open and hidden** (`document.visibilityState`): there is no push server,
 *   so a closed page tells nothing; a page on screen needs no notice.
 * - **At most one notice per group per minute** (`NOTICE_EVERY_MS`): a message notice that would come
 *   sooner is dropped (the first one already told); a session reminder waits for the next check.
 * - **A session reminder once per date**: the occurrences reminded of are kept per group, so neither
 *   a reload nor a second tab reminds again.
 * - **The last visit**: the node's cursor the person had on screen (page visible) is kept per group
 *   (the visit mark), so the next visit can show "New since your last visit" above the first message
 *   that arrived after it (ui/unread.ts).
 *
 * Where: the history's `seen` store (sealed like every record, history.ts), under `notify` the
 * choice, CBOR `{"on": bool}`, and under `visit.<group hex>` the group's record, CBOR
 * `{"m": uint / null, "n": tstr / null, "r": [* tstr]}`: the visit mark, the group's name as the
 * invite gave it, the occurrences reminded of (`<session hex>:<index>`, at most `MAX_REMINDED`,
 * oldest dropped). A record that does not open or decode reads as none (nothing shown is lost: the
 * next visit shows no line, a reminder may come once more).
 */
import { compareBytes, toHex } from "./bytes.js";
import { type CborValue, decode, encode } from "./cbor.js";
import { verifyDisclosure } from "./disclosure.js";
import type { Entry } from "./entry.js";
import { deletedBy } from "./deletion.js";
import { HoldspaceError } from "./errors.js";
import type { HistoryStore } from "./history.js";
import { t, tn } from "./i18n.js";
import type { Conversation } from "./participant.js";

/** At most one notice per group in this time (ms). */
export const NOTICE_EVERY_MS = 60_000;
/** A session is reminded of when it starts within this time (ms). */
export const SESSION_SOON_MS = 15 * 60_000;
/** Occurrences remembered as reminded, per group. */
export const MAX_REMINDED = 64;
const CHOICE_KEY = "notify";

/** What this device keeps of a group for notices and the last visit. */
export interface VisitRecord {
  /** The node's cursor the person last had on screen, or null before any visit. */
  mark: bigint | null;
  /** The group's name as the invite carried it, or null. */
  name: string | null;
  /** Occurrences reminded of (`<session hex>:<index>`), oldest first. */
  reminded: string[];
}

export function emptyVisit(): VisitRecord {
  return { mark: null, name: null, reminded: [] };
}

export function encodeVisit(v: VisitRecord): Uint8Array {
  return encode({ m: v.mark, n: v.name, r: v.reminded.slice(-MAX_REMINDED) });
}

/** The record in `bytes`, or an empty one if it is not a visit record (a map of exactly `m` (uint or
 * null), `n` (text or null) and `r` (a list of texts)). */
export function decodeVisit(bytes: Uint8Array): VisitRecord {
  let v: CborValue;
  try {
    v = decode(bytes);
  } catch {
    return emptyVisit();
  }
  if (!(v instanceof Map) || v.size !== 3) return emptyVisit();
  const m = v.get("m");
  const n = v.get("n");
  const r = v.get("r");
  if (!(m === null || (typeof m === "bigint" && m >= 0n)) || !(n === null || typeof n === "string")) return emptyVisit();
  if (!Array.isArray(r) || !r.every((x) => typeof x === "string")) return emptyVisit();
  return { mark: m, name: n, reminded: (r as string[]).slice(-MAX_REMINDED) };
}

/** The notices' texts: never a word of a message, never who wrote it. */
export function messageNotice(groupName: string | null): string {
  return groupName === null ? t("New message in your group") : t("New message in {group}", { group: groupName });
}

export function sessionNotice(startMs: number, nowMs: number): string {
  const minutes = Math.max(1, Math.ceil((startMs - nowMs) / 60_000));
  return tn("The session starts in {n} minute", "The session starts in {n} minutes", minutes);
}

/** One notice per group per `NOTICE_EVERY_MS`. */
export class Throttle {
  private readonly last = new Map<string, number>();

  /** True (and the group's time noted) if a notice for `group` may be shown at `nowMs`. */
  take(group: string, nowMs: number): boolean {
    const before = this.last.get(group);
    if (before !== undefined && nowMs - before < NOTICE_EVERY_MS) return false;
    this.last.set(group, nowMs);
    return true;
  }
}

/** An occurrence of a session as the reminder needs it. */
export interface Soon {
  readonly session: string;
  readonly index: bigint;
  readonly start: number;
}

/** The occurrences to remind of at `nowMs`: starting within `SESSION_SOON_MS` (and not started), not
 * reminded of yet; soonest first. */
export function dueReminders(list: readonly Soon[], nowMs: number, reminded: readonly string[]): Soon[] {
  const done = new Set(reminded);
  return list.filter((o) => o.start > nowMs && o.start - nowMs <= SESSION_SOON_MS && !done.has(occurrenceKey(o))).sort((a, b) => a.start - b.start);
}

export function occurrenceKey(o: Soon): string {
  return `${o.session}:${o.index}`;
}

/** The first message of `messages` (in the order shown) not written by this member that arrived after
 * `since` and by `until`; null if none or before any visit (`since` null). */
export function firstNew(messages: readonly { readonly id: string; readonly mine: boolean }[], arrivedAt: (id: string) => bigint | undefined, since: bigint | null, until: bigint): string | null {
  if (since === null) return null;
  for (const m of messages) {
    const c = arrivedAt(m.id);
    if (!m.mine && c !== undefined && c > since && c <= until) return m.id;
  }
  return null;
}

/** The messages not written by this member that arrived after `after` (their ids). */
export function arrivedAfter(messages: readonly { readonly id: string; readonly mine: boolean }[], arrivedAt: (id: string) => bigint | undefined, after: bigint): string[] {
  return messages.filter((m) => !m.mine && (arrivedAt(m.id) ?? 0n) > after).map((m) => m.id);
}

function later(a: Entry, b: Entry): boolean {
  if (a.header.t !== b.header.t) return a.header.t > b.header.t;
  return compareBytes(a.id, b.id) > 0;
}

/** The name in the group's current profile (17.12: the rule of the pin, for `profile`), or null. */
export function profileName(conv: Conversation): string | null {
  const g = conv.client.state;
  let best: { entry: Entry; name: string } | null = null;
  for (const r of conv.client.messages()) {
    const c = r.content;
    if (!r.authorised || r.deleted !== null || r.direct || c === null || "unsupported" in c) continue;
    let found: { entry: Entry; name: string } | null = null;
    if (c.t === "profile") found = { entry: r.entry, name: c.n };
    else if (c.t === "quote") {
      try {
        const d = verifyDisclosure(g.groupId, c);
        if (d.content.t === "profile" && !("unsupported" in d.content)) found = { entry: d.entry, name: (d.content as { n: string }).n };
      } catch (e) {
        if (!(e instanceof HoldspaceError)) throw e;
      }
    }
    if (found === null) continue;
    if (g.state.members.get(toHex(found.entry.header.a))?.role !== "facilitator" || deletedBy(g, found.entry) !== null) continue;
    if (best === null || later(found.entry, best.entry)) best = found;
  }
  return best?.name ?? null;
}

/** The notices choice and the groups' records in the device history. */
export class VisitBook {
  constructor(private readonly history: HistoryStore) {}

  private async read(key: string): Promise<Uint8Array | undefined> {
    try {
      return await this.history.get("seen", key);
    } catch (e) {
      if (e instanceof HoldspaceError) return undefined; // damaged: read as none
      throw e;
    }
  }

  /** Whether the person chose notices on this device (false unless chosen). */
  async choice(): Promise<boolean> {
    const raw = await this.read(CHOICE_KEY);
    if (raw === undefined) return false;
    try {
      const v = decode(raw);
      return v instanceof Map && v.get("on") === true;
    } catch {
      return false;
    }
  }

  async setChoice(on: boolean): Promise<void> {
    await this.history.put("seen", CHOICE_KEY, encode({ on }));
  }

  async visit(groupId: Uint8Array): Promise<VisitRecord> {
    const raw = await this.read(`visit.${toHex(groupId)}`);
    return raw === undefined ? emptyVisit() : decodeVisit(raw);
  }

  async saveVisit(groupId: Uint8Array, v: VisitRecord): Promise<void> {
    await this.history.put("seen", `visit.${toHex(groupId)}`, encodeVisit(v));
  }

  /** Keeps the name the invite carried for the group (shown until the group's profile is read). */
  async rememberName(groupId: Uint8Array, name: string | null): Promise<void> {
    if (name === null) return;
    const v = await this.visit(groupId);
    v.name = name;
    await this.saveVisit(groupId, v);
  }
}

/** What the notifier needs of the browser (a window; a test gives its own). */
export interface NoticeWindow {
  readonly document: Document;
  readonly Notification?: typeof Notification;
  readonly navigator: Navigator;
  setInterval(f: () => void, ms: number): number;
  focus(): void;
}

/** Shows a notice: `new Notification` where the page may, else through the service worker (a phone's
 * browser allows only that). Resolves false if neither could. */
export async function showNotice(win: NoticeWindow, title: string, tag: string, body?: string): Promise<boolean> {
  const N = win.Notification;
  if (N === undefined || N.permission !== "granted") return false;
  const options: NotificationOptions = body === undefined ? { tag } : { tag, body };
  try {
    const n = new N(title, options);
    n.onclick = () => {
      win.focus();
      n.close();
    };
    return true;
  } catch {
    try {
      const reg = await win.navigator.serviceWorker?.getRegistration();
      if (reg === undefined) return false;
      await reg.showNotification(title, options);
      return true;
    } catch {
      return false;
    }
  }
}
