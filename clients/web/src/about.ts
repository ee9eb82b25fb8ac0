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
import type { ProfileContent, QuoteContent } from "./content.js";
import { deletedBy } from "./deletion.js";
import { verifyDisclosure } from "./disclosure.js";
import type { Entry } from "./entry.js";
import { fail, HoldspaceError } from "./errors.js";
import type { GroupState } from "./group.js";
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
