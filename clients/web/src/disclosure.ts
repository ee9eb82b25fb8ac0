/**
 * Disclosures (spec/protocol.md 13.6): the words of exactly one entry handed on verifiably, as
 * the entry's header, its payload and the one key that opens it; carried in a report or a quote.
 *
 * Invariant: `verifyDisclosure` returns words only if the disclosed entry is validly signed, is of
 * this group and opens, under a key matching the commitment its author signed, to padded content;
 * every other outcome is `content.bad_disclosure`.
 */
import { equalBytes } from "./bytes.js";
import { CONTROL_KIND, DIRECT_KIND, MESSAGE_KIND, decodeControlPayload } from "./control.js";
import { decodeDirectEnvelope, decodeMessageEnvelope, openDirectWithKey, openMessage } from "./e2ee.js";
import { decodeEntry, type Entry, groupOf } from "./entry.js";
import { fail, HoldspaceError } from "./errors.js";
import { type Content, decodeContent, type DisclosureFields, type Unsupported } from "./content.js";

/** A verified disclosure: the disclosed entry, its plaintext and its decoded content. */
export interface VerifiedDisclosure {
  readonly entry: Entry;
  readonly plaintext: Uint8Array;
  readonly content: Content | Unsupported;
}

/**
 * Verifies a disclosure for the group `groupId`, in order, the first failure being
 * `content.bad_disclosure`: the header and payload pass 6.2 (without the clock check); the entry
 * belongs to this group (7.1); its kind is `message` (the envelope opened with `k` as the message
 * key and the ad of 13.4 for the disclosed author and seq), `direct` (`k` as the content key, the
 * ad of 13.5) or `session` with non-null `e` (that envelope opened as a message of the session
 * entry's author and seq); the envelope is well formed; `commit(k)` equals its `k`; the AEAD opens;
 * the padding is sound. The plaintext is then decoded as content (17.1): `content.malformed` if it
 * is not content.
 */
export function verifyDisclosure(groupId: Uint8Array, d: DisclosureFields): VerifiedDisclosure {
  let entry: Entry;
  let plaintext: Uint8Array;
  try {
    entry = decodeEntry(d.e, d.p);
    const h = entry.header;
    if (!equalBytes(groupOf(entry), groupId)) return fail("content.bad_disclosure", "the disclosed entry is of another group");
    const at = { groupId, author: h.a, seq: h.s };
    if (h.k === MESSAGE_KIND) plaintext = openMessage(d.k, at, decodeMessageEnvelope(d.p));
    else if (h.k === DIRECT_KIND) plaintext = openDirectWithKey(d.k, at, decodeDirectEnvelope(d.p));
    else if (h.k === CONTROL_KIND.session) {
      const s = decodeControlPayload(h.k, d.p, h.a);
      if (s.kind !== "session" || s.details === null) return fail("content.bad_disclosure", "the disclosed session has no details");
      plaintext = openMessage(d.k, at, decodeMessageEnvelope(s.details));
    } else return fail("content.bad_disclosure", "only a message, a direct message or a session's details can be disclosed");
  } catch (e) {
    if (e instanceof HoldspaceError && e.code !== "content.bad_disclosure")
      return fail("content.bad_disclosure", `the disclosure does not verify (${e.code})`);
    throw e;
  }
  return { entry, plaintext, content: decodeContent(plaintext) };
}
