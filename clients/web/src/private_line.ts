/**
 * The private line between one member and the facilitators (spec 13.5, "The private line to the
 * facilitators"; the counterpart of `private_threads` and `reply_privately` in the Python client):
 * whom a message on a line is sealed to, how the direct messages this member can read are grouped
 * into one line per member, and the two actions, a member writing to the facilitators and a
 * facilitator answering on a member's line (or reaching out first), both through the outbox.
 *
 * Invariants:
 * - a message on a line is a direct `text` (kind 0x11), so a Python facilitator reads it as its own;
 *   it is sealed to the current facilitators, the line's member and its author, each a current
 *   member with an X25519 key, once each (the author too, so this browser reads its own words back
 *   from the node: it keeps no copy of them);
 * - a direct `text` whose author is not a current facilitator belongs to its author's line; one whose
 *   author is a facilitator belongs to the line of its one recipient who is not a facilitator (with
 *   several, or none, to no line): the grouping of 13.5, the same as the Python client's;
 * - a member who is not a facilitator is shown its own line only.
 */
import { compareBytes, equalBytes, fromHex, toHex } from "./bytes.js";
import type { DirectEnvelope, DirectRecipient } from "./e2ee.js";
import { fail } from "./errors.js";
import type { GroupState } from "./group.js";
import type { MessageRecord } from "./group_client.js";
import type { Conversation } from "./participant.js";

/** One message on a line, as shown. */
export interface LineMessage {
  readonly id: string;
  readonly author: Uint8Array;
  readonly mine: boolean;
  readonly timeMs: number;
  readonly text: string;
}

/** One member's private line with the facilitators, oldest message first. */
export interface Line {
  readonly member: Uint8Array;
  readonly messages: readonly LineMessage[];
}

function isFacilitator(g: GroupState, key: Uint8Array): boolean {
  return g.state.members.get(toHex(key))?.role === "facilitator";
}

/** Whom a message on `member`'s line written by `author` is sealed to: the current facilitators,
 * `member` and `author`, those of them who are current members with an X25519 key, once each,
 * sorted by key. */
export function lineRecipients(g: GroupState, member: Uint8Array, author: Uint8Array): DirectRecipient[] {
  const out = new Map<string, DirectRecipient>();
  for (const [hex, m] of g.state.members) {
    const x = g.state.x25519.get(hex);
    if (x === undefined) continue;
    if (m.role === "facilitator" || equalBytes(m.key, member) || equalBytes(m.key, author)) out.set(hex, { key: m.key, x25519: x.key });
  }
  return [...out.values()].sort((a, b) => compareBytes(a.key, b.key));
}

/**
 * The private lines in `records` (authorised, not deleted, opened by this member), by member (hex),
 * grouped as the module comment says; `self` is the reader: one who is not a current facilitator
 * gets its own line only. Lines are sorted by the member's key; each line's messages keep the order
 * of `records`.
 */
export function privateLines(records: readonly MessageRecord[], g: GroupState, self: Uint8Array): Line[] {
  const lines = new Map<string, LineMessage[]>();
  for (const r of records) {
    const c = r.content;
    if (!r.direct || !r.authorised || r.deleted !== null || c === null || "unsupported" in c || c.t !== "text") continue;
    const author = r.entry.header.a;
    let member: Uint8Array | null = author;
    if (isFacilitator(g, author)) {
      const env = r.envelope as DirectEnvelope | null;
      const others = (env?.recipients ?? []).map(([k]) => k).filter((k) => !isFacilitator(g, k));
      member = others.length === 1 ? others[0]! : null;
    }
    if (member === null) continue;
    const hex = toHex(member);
    const list = lines.get(hex) ?? [];
    list.push({ id: toHex(r.entry.id), author, mine: equalBytes(author, self), timeMs: Number(r.entry.header.t), text: c.b });
    lines.set(hex, list);
  }
  const all = isFacilitator(g, self);
  return [...lines.entries()]
    .filter(([hex]) => all || hex === toHex(self))
    .sort(([a], [b]) => compareBytes(fromHex(a), fromHex(b)))
    .map(([hex, messages]) => ({ member: fromHex(hex), messages }));
}

/** The private line's actions for one conversation. */
export class PrivateLine {
  constructor(readonly conv: Conversation) {}

  private get g(): GroupState {
    return this.conv.client.state;
  }

  /** This member is a current facilitator (it answers on every member's line). */
  get facilitator(): boolean {
    return isFacilitator(this.g, this.conv.self);
  }

  /** The lines this member can read now (see `privateLines`). */
  lines(): Line[] {
    return privateLines(this.conv.client.messages(), this.g, this.conv.self);
  }

  /**
   * A member writes to the facilitators privately: `text` on its own line, through the outbox (kept
   * if offline). Checked, in order: there are words (`app.bad_input`); this person is a current
   * member (`client.not_member`); the group has a facilitator other than this person
   * (`client.no_facilitators`).
   */
  async write(text: string): Promise<void> {
    if (text.trim() === "") fail("app.bad_input", "write something first");
    const g = this.g;
    if (!g.state.members.has(toHex(this.conv.self))) fail("client.not_member", "you are not a member of this group at the moment");
    const others = [...g.state.members.values()].some((m) => m.role === "facilitator" && !equalBytes(m.key, this.conv.self));
    if (!others) fail("client.no_facilitators", "the group has no facilitator (other than you) to write to privately");
    await this.conv.compose({ t: "text", b: text }, "line", this.conv.self);
  }

  /**
   * A facilitator writes on `member`'s line (an answer, or reaching out first), through the outbox.
   * Checked, in order: there are words (`app.bad_input`); this person is a current facilitator
   * (`client.not_facilitator`); `member` is another current member (`client.not_member`).
   */
  async answer(member: Uint8Array, text: string): Promise<void> {
    if (text.trim() === "") fail("app.bad_input", "write something first");
    if (!this.facilitator) fail("client.not_facilitator", "only a facilitator of the group may do that");
    if (equalBytes(member, this.conv.self) || !this.g.state.members.has(toHex(member)))
      fail("client.not_member", "that person is not a member of this group at the moment");
    await this.conv.compose({ t: "text", b: text }, "line", member);
  }
}
