/**
 * What any member does from the browser beyond writing (the counterpart of the local app's message
 * actions and its "Your words, or leaving" page): a display name for the group (17.13), replies and
 * corrections (17.15), removing one's own message for everyone (a redaction, 12.5), erasing
 * everything one wrote in the group (an erasure, 17.5), and leaving the group (12.3).
 *
 * Invariants:
 * - content goes through the outbox (sealed in the history before anything is sent); a control entry
 *   is published by `publishControl`, at the next position of this member's log between two flushes;
 * - each action checks what the rule would refuse, with a typed code, before anything is written:
 *   a correction only of one's own readable text within 15 minutes (`app.bad_input`), a reply only to
 *   a message read (`client.unknown_message`), a name only as a one-line name of 1..64 bytes
 *   (`content.malformed`), an erasure only after something was written (`client.nothing_to_erase`);
 * - removing a text removes, in the same redaction, every correction of it this member holds.
 */
import { fromHex, toHex } from "./bytes.js";
import { type Content } from "./content.js";
import { CONTROL_KIND, encodeControlPayload, sortedIds } from "./control.js";
import { edits, mayEdit } from "./corrections.js";
import { fail } from "./errors.js";
import { mayRedact, publishControl } from "./facilitator.js";
import type { Conversation } from "./participant.js";

/** Sets (or, with null or "", withdraws) this member's display name in the group (17.13). */
export async function setDisplayName(conv: Conversation, name: string | null): Promise<void> {
  const n = name === null || name.trim() === "" ? null : name.trim();
  await conv.compose({ t: "name", n });
}

function readText(conv: Conversation, id: string): ReturnType<Conversation["read"]>[number] {
  const m = conv.read().find((r) => toHex(r.entry.id) === id);
  if (m === undefined || m.content === null || m.content.t !== "text" || "unsupported" in m.content) return fail("client.unknown_message", "no message you have read has that id");
  return m;
}

/** A reply to message `id` (17.15): a text whose `re` names it. */
export async function reply(conv: Conversation, id: string, text: string, warning: string | null = null): Promise<void> {
  readText(conv, id);
  if (text.trim() === "") fail("app.bad_input", "write something first");
  const c: Content = warning === null || warning === "" ? { t: "text", b: text, re: fromHex(id) } : { t: "text", b: text, cw: warning, re: fromHex(id) };
  await conv.compose(c);
}

/** A correction of this member's own message `id` within 15 minutes of sending it (17.15). */
export async function correct(conv: Conversation, id: string, text: string, warning: string | null = null): Promise<void> {
  const original = readText(conv, id);
  if (!mayEdit(original, conv.self, conv.participant.clock())) fail("app.bad_input", "only your own messages can be corrected, within 15 minutes of sending");
  if (text.trim() === "") fail("app.bad_input", "write something first, or remove the message instead");
  const c: Content = warning === null || warning === "" ? { t: "edit", m: fromHex(id), b: text } : { t: "edit", m: fromHex(id), b: text, cw: warning };
  await conv.compose(c);
}

/** Removes message `id` for everyone (a redaction naming it and every correction of it held).
 * Checked: it is a message read (`client.unknown_message`); 12.5 lets this member remove it (`group.forbidden`). */
export async function removeForEveryone(conv: Conversation, id: string): Promise<void> {
  const m = conv.read().find((r) => toHex(r.entry.id) === id) ?? fail("client.unknown_message", "no message you have read has that id");
  const author = m.entry.header.a;
  if (!mayRedact(conv.client.state, conv.self, author)) fail("group.forbidden", "your role does not allow removing that message");
  const ids = sortedIds([m.entry.id, ...(edits(conv.read()).get(id)?.editIds ?? [])]); // 12.5: in order, or malformed
  await publishControl(conv, CONTROL_KIND.redact, (g) => encodeControlPayload({ kind: "redact", deps: g.headIds(), target: author, ids }));
}

/** Erases every message this member wrote in the group so far, on every host and device (17.5):
 * an erasure up to its latest seq. `client.nothing_to_erase` before it wrote anything but its join. */
export async function eraseMine(conv: Conversation): Promise<void> {
  if (!conv.read().some((r) => toHex(r.entry.header.a) === toHex(conv.self))) fail("client.nothing_to_erase", "you have written nothing in this group");
  await publishControl(conv, CONTROL_KIND.erase, (g) => encodeControlPayload({ kind: "erase", deps: g.headIds(), seq: conv.head().seq }));
}

/** Leaves the group (12.3): what this member wrote stays unless it erased it first. */
export async function leaveGroup(conv: Conversation): Promise<void> {
  if (!conv.client.state.state.members.has(toHex(conv.self))) fail("client.not_member", "you are not a member of this group any more");
  await publishControl(conv, CONTROL_KIND.leave, (g) => encodeControlPayload({ kind: "leave", deps: g.headIds() }));
}
