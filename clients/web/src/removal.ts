/**
 * A removal's words (spec/protocol.md 12.3): a note for the removed person and a reason for the
 * facilitators, each a direct envelope (13.5) encrypted at the removal entry's own seq.
 *
 * Invariant: a reader gets only the words sealed to it (null for the others); a box sealed to it that
 * does not open is refused with the code of 13.5, and words that are not UTF-8 with
 * `content.malformed`.
 */
import { equalBytes } from "./bytes.js";
import type { Remove } from "./control.js";
import { decodeDirectEnvelope, openDirect } from "./e2ee.js";
import type { Entry } from "./entry.js";
import { fail } from "./errors.js";

export interface RemovalWords {
  readonly note: string | null;
  readonly reason: string | null;
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

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
