/**
 * The group's profile (17.12) and crisis resources (17.8) from the browser: what every member reads
 * on "About the group", and what a facilitator publishes.
 *
 * Invariants: the current profile follows the rule of the pin (17.8) with `profile` in place of
 * `pin`: of the profiles read (directly or through a verified `quote`), those whose author is a
 * facilitator now and that the group has not deleted, the one with the greatest (timestamp, entry id)
 * of the profile entry itself. Only a facilitator publishes either (`client.not_facilitator`); a
 * profile's fields are checked as 17.1 says before anything is kept (`content.malformed`).
 */
import { compareBytes, toHex } from "./bytes.js";
import type { Content, ProfileContent, QuoteContent } from "./content.js";
import { CONTROL_KIND, encodeControlPayload, type HistoryVisibility, MAX_HISTORY_DAYS, type Rekey } from "./control.js";
import { deletedBy } from "./deletion.js";
import { verifyDisclosure } from "./disclosure.js";
import type { Entry } from "./entry.js";
import { fail, HoldspaceError } from "./errors.js";
import type { GroupState } from "./group.js";
import { publishControl } from "./facilitator.js";
import { t, tn } from "./i18n.js";
import { currentEpoch } from "./keyring.js";
import type { Conversation } from "./participant.js";
import type { ReadMessage } from "./support.js";

/** The group's name, description and guidelines as shown. */
export interface GroupAbout {
  readonly name: string;
  readonly description: string | null;
  readonly guidelines: string | null;
}

/** The current profile (17.12) among `messages`, or null. */
export function currentProfile(messages: Iterable<ReadMessage>, g: GroupState): GroupAbout | null {
  const candidates: { entry: Entry; c: ProfileContent }[] = [];
  for (const m of messages) {
    const c = m.content;
    if (m.direct || c === null || "unsupported" in c) continue;
    if (c.t === "profile") candidates.push({ entry: m.entry, c });
    if (c.t !== "quote") continue;
    try {
      const d = verifyDisclosure(g.groupId, c as QuoteContent);
      if (d.content.t === "profile" && !("unsupported" in d.content)) candidates.push({ entry: d.entry, c: d.content as ProfileContent });
    } catch (e) {
      if (!(e instanceof HoldspaceError)) throw e;
    }
  }
  let best: { entry: Entry; c: ProfileContent } | null = null;
  for (const p of candidates) {
    if (g.state.members.get(toHex(p.entry.header.a))?.role !== "facilitator" || deletedBy(g, p.entry) !== null) continue;
    const later = best === null || p.entry.header.t > best.entry.header.t || (p.entry.header.t === best.entry.header.t && compareBytes(p.entry.id, best.entry.id) > 0);
    if (later) best = p;
  }
  return best === null ? null : { name: best.c.n, description: best.c.d ?? null, guidelines: best.c.g ?? null };
}

/** Whether this member may publish the group's profile and pin its crisis resources: a facilitator now. */
export function mayEditAbout(conv: Conversation): boolean {
  return conv.client.state.state.members.get(toHex(conv.self))?.role === "facilitator";
}

function facilitatorOnly(conv: Conversation): void {
  if (!mayEditAbout(conv)) fail("client.not_facilitator", "only a facilitator of the group may do that");
}

/** Publishes the group's whole profile (a facilitator only). Empty description or guidelines are left out. */
export async function saveProfile(conv: Conversation, about: GroupAbout): Promise<void> {
  facilitatorOnly(conv);
  const c: { t: "profile"; n: string; d?: string; g?: string } = { t: "profile", n: about.name.trim() };
  if ((about.description ?? "").trim() !== "") c.d = about.description!.trim();
  if ((about.guidelines ?? "").trim() !== "") c.g = about.guidelines!.trim();
  await conv.compose(c);
}

/** Pins the group's crisis resources (17.8; a facilitator only): the help panel then shows them. */
export async function pinResources(conv: Conversation, text: string): Promise<void> {
  facilitatorOnly(conv);
  if (text.trim() === "") fail("app.bad_input", "write the resources first");
  await conv.compose({ t: "pin", b: text.trim() });
}

/** What a person who joins now can read of what came before (12.2, 13.1), in one sentence. */
export function newcomersRead(history: HistoryVisibility): string {
  if (history === "shared") return t("New members read everything the group has said, from its start.");
  if (typeof history === "bigint")
    return tn("New members read the last day before they join, and everything after.", "New members read the last {n} days before they join, and everything after.", Number(history));
  return t("New members read from the day they join.");
}

/** How much a newcomer reads under `history`: "joined" 0, N days N, "shared" more than any N. */
function breadth(history: HistoryVisibility): bigint {
  return history === "shared" ? MAX_HISTORY_DAYS + 1n : history === "joined" ? 0n : history;
}

/** True iff `after` lets newcomers read more than `before` (the screen asks first). */
export function widens(before: HistoryVisibility, after: HistoryVisibility): boolean {
  return breadth(after) > breadth(before);
}

/** The setting for a form's choice: "joined", "shared", or "days" with `days` (1..365, else
 * `app.bad_input`). */
export function historyChoice(choice: string, days: string): HistoryVisibility {
  if (choice === "joined" || choice === "shared") return choice;
  const n = /^[0-9]{1,3}$/.test(days.trim()) ? BigInt(days.trim()) : 0n;
  if (choice !== "days" || n < 1n || n > MAX_HISTORY_DAYS) return fail("app.bad_input", "choose nothing before, everything, or a number of days from 1 to 365");
  return n;
}

/** Publishes the group's history visibility (a facilitator only; 12.3 `settings`), keeping its `e`. */
export async function saveHistory(conv: Conversation, history: HistoryVisibility): Promise<void> {
  facilitatorOnly(conv);
  await publishControl(conv, CONTROL_KIND.settings, (g) => encodeControlPayload({ kind: "settings", deps: g.headIds(), history, meta: g.state.meta }));
}

/** A profile or pin read, with what carried it: its own message (`quote` null) or a verified quote. */
interface Carried {
  readonly entry: Entry;
  readonly quote: QuoteContent | null;
}

/** The current item of type `kind` ("profile" or "pin", 17.12 and 17.8: a facilitator's now, not
 * deleted, the greatest (timestamp, entry id) of the item's own entry) and what carried it. */
function currentCarried(messages: Iterable<ReadMessage>, g: GroupState, kind: "profile" | "pin"): Carried | null {
  let best: Carried | null = null;
  const consider = (c: Carried): void => {
    if (g.state.members.get(toHex(c.entry.header.a))?.role !== "facilitator" || deletedBy(g, c.entry) !== null) return;
    const e = c.entry;
    if (best === null || e.header.t > best.entry.header.t || (e.header.t === best.entry.header.t && compareBytes(e.id, best.entry.id) > 0)) best = c;
  };
  for (const m of messages) {
    const c = m.content;
    if (m.direct || c === null || "unsupported" in c) continue;
    if (c.t === kind) consider({ entry: m.entry, quote: null });
    if (c.t !== "quote") continue;
    try {
      const d = verifyDisclosure(g.groupId, c as QuoteContent);
      if (d.content.t === kind && !("unsupported" in d.content)) consider({ entry: d.entry, quote: c as QuoteContent });
    } catch (e) {
      if (!(e instanceof HoldspaceError)) throw e;
    }
  }
  return best;
}

const welcomed = new WeakMap<Conversation, Set<string>>();

/**
 * The welcome a newcomer reads at once (17.12): after a rekey of this member that added members,
 * quotes the group's current profile and pin into the new epoch (a quote received is passed on as
 * it is; the member's own or another's message is disclosed with the key that opened it), once per
 * epoch. Nothing when the current epoch added nobody, or when this member cannot disclose them.
 * Queues the quotes in the outbox and does not wait for them to be sent.
 */
export async function carryWelcome(conv: Conversation): Promise<void> {
  const g = conv.client.state;
  const epoch = currentEpoch(g);
  const slots = g.state.epochs;
  if (epoch === null || slots.length === 0) return;
  const done = welcomed.get(conv) ?? new Set<string>();
  welcomed.set(conv, done);
  if (done.has(toHex(epoch))) return;
  const sealedTo = (slot: number): string[] => (g.payloadOfSlot(slot) as Rekey).sealed.map(([k]) => toHex(k));
  const now = sealedTo(slots.at(-1)!);
  const before = new Set(slots.length > 1 ? sealedTo(slots.at(-2)!) : []);
  if (now.every((k) => before.has(k))) return; // nobody new to welcome
  done.add(toHex(epoch));
  const read = conv.read();
  for (const kind of ["profile", "pin"] as const) {
    const c = currentCarried(read, g, kind);
    const quote: Content | null = c === null ? null : (c.quote ?? conv.disclosure(c.entry.id));
    if (quote !== null) await conv.compose(quote);
  }
}
