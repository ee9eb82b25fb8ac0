/**
 * A removal's words (spec/protocol.md 12.3): a note for the removed person and a reason for the
 * facilitators, each a direct envelope (13.5) encrypted at the removal entry's own seq.
 *
 * Invariants: a reader gets only the words sealed to it (null for the others); a box sealed to it
 * that does not open is refused with the code of 13.5, and words that are not UTF-8 with
 * `content.malformed`. What this client seals is 1 to `MAX_REMOVAL_WORDS` bytes of UTF-8 text, the
 * note to the removed member only and the reason to the facilitators (and the remover), as the
 * reference client does (protocol/removal.py); nodes see neither.
 */
import { equalBytes, toHex } from "./bytes.js";
import type { Remove } from "./control.js";
import { decodeDirectEnvelope, type DirectRecipient, openDirect, sealDirect } from "./e2ee.js";
import type { Entry } from "./entry.js";
import { fail, HoldspaceError } from "./errors.js";
import type { GroupState } from "./group.js";

/** Bytes of UTF-8 in a removal's note or reason, as the reference client sends them. */
export const MAX_REMOVAL_WORDS = 1000;

export interface RemovalWords {
  readonly note: string | null;
  readonly reason: string | null;
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });
const ENCODER = new TextEncoder();

/** The size of `text` in bytes of UTF-8, the unit of `MAX_REMOVAL_WORDS`. */
export function wordsBytes(text: string): number {
  return ENCODER.encode(text).length;
}

/** What `self` (with its X25519 secret) can open of the removal `p`, the payload of `entry`. */
export function removalWords(groupId: Uint8Array, entry: Entry, p: Remove, self: Uint8Array, x25519Secret: Uint8Array): RemovalWords {
  const at = { groupId, author: entry.header.a, seq: entry.header.s };
  const open = (field: Uint8Array | null): string | null => {
    if (field === null) return null;
    const env = decodeDirectEnvelope(field);
    if (!env.recipients.some(([k]) => equalBytes(k, self))) return null;
    const plaintext = openDirect(env, at, self, x25519Secret);
    try {
      return UTF8.decode(plaintext);
    } catch {
      return fail("content.malformed", "a removal's words are not UTF-8 text");
    }
  };
  return { note: open(p.note), reason: open(p.reason) };
}

/** Where the sealed words sit: the group, the remover and the seq of its removal entry. */
export interface RemovalAt {
  readonly groupId: Uint8Array;
  readonly remover: Uint8Array;
  readonly seq: bigint;
}

/**
 * The `n` and `y` fields of a removal at `at`: `note` sealed to `target` only, `reason` to
 * `facilitators` (the remover among them when it should read it again). Empty or absent words give
 * null. Checked, in order: each of the words is 1 to `MAX_REMOVAL_WORDS` bytes of UTF-8
 * (`group.malformed_payload`); a reason has a facilitator to read it (`e2ee.no_recipients`).
 */
export function sealRemovalWords(
  at: RemovalAt,
  target: DirectRecipient,
  facilitators: readonly DirectRecipient[],
  words: { readonly note: string | null; readonly reason: string | null },
): { note: Uint8Array | null; reason: Uint8Array | null } {
  const raw = (text: string, what: string): Uint8Array => {
    const bytes = ENCODER.encode(text);
    if (bytes.length > MAX_REMOVAL_WORDS) fail("group.malformed_payload", `a removal's ${what} is 1 to ${MAX_REMOVAL_WORDS} bytes of text`);
    return bytes;
  };
  const position = { groupId: at.groupId, author: at.remover, seq: at.seq };
  const note = words.note ? raw(words.note, "note") : null;
  const reason = words.reason ? raw(words.reason, "reason") : null;
  if (reason !== null && facilitators.length === 0) fail("e2ee.no_recipients", "a removal's reason needs a facilitator to read it");
  return {
    note: note === null ? null : sealDirect(position, [target], note),
    reason: reason === null ? null : sealDirect(position, facilitators, reason),
  };
}

/** Why this member may no longer write here: its latest applied removal. */
export interface RemovalNotice {
  readonly by: Uint8Array;
  readonly timeMs: number;
  readonly ban: boolean;
  /** The note sealed to this member, or null (none, or a box that does not open). */
  readonly note: string | null;
}

/**
 * The latest applied removal of `self` in `g` (later in `L` wins), with its note opened, while
 * `self` is not a member; null while it is one or when no applied removal names it. A note that
 * does not open is shown as no words.
 */
export function removalNotice(g: GroupState, groupId: Uint8Array, self: Uint8Array, x25519Secret: Uint8Array): RemovalNotice | null {
  if (g.state.members.has(toHex(self))) return null;
  let found: { entry: Entry; p: Remove } | null = null;
  for (const id of g.order()) {
    const slot = g.slotOf(id)!;
    const p = g.payloadOfSlot(slot);
    if (p.kind !== "remove" || !equalBytes(p.target, self) || g.outcome(id) !== null) continue;
    found = { entry: g.entryOfSlot(slot), p };
  }
  if (found === null) return null;
  let note: string | null = null;
  if (found.p.note !== null) {
    try {
      note = removalWords(groupId, found.entry, found.p, self, x25519Secret).note;
    } catch (err) {
      if (!(err instanceof HoldspaceError)) throw err;
    }
  }
  return { by: found.entry.header.a, timeMs: Number(found.entry.header.t), ban: found.p.ban, note };
}

