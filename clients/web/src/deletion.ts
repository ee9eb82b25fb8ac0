/**
 * What becomes of a message-kind entry's words (spec/protocol.md 12.6, 17.5): whether it is
 * authorised, redacted or erased in the group state, and its deadline (the envelope's expiry and
 * the sessions' retention, 17.3). Hosts delete the payload, and clients their decrypted copy and
 * its key, when any of these says so.
 */
import { toHex } from "./bytes.js";
import type { Entry } from "./entry.js";
import type { GroupState } from "./group.js";
import { deadline, retentionDeadline } from "./sessions.js";

export interface MessageStatus {
  /** The entry's seq lies in one of its author's membership intervals (12.6). */
  readonly authorised: boolean;
  /** Why the group deleted it: a redaction naming (author, id), an erasure up to its seq, or null. */
  readonly deleted: "redacted" | "erased" | null;
  /** The envelope's expiry `x`, or null. */
  readonly expiresMs: number | null;
  /** The least `end + rt` of the session occurrences it is in, or null (17.3). */
  readonly retentionDeadlineMs: number | null;
  /** The earlier of the two, or null. */
  readonly deadlineMs: number | null;
}

/** Whether the group deleted the entry's words (a redaction naming it, or an erasure up to its
 * seq), without the deadlines: cheap enough to ask after every control entry. */
export function deletedBy(g: GroupState, e: Entry): "redacted" | "erased" | null {
  const s = g.state;
  const author = toHex(e.header.a);
  if (s.redactions.has(`${author}:${toHex(e.id)}`)) return "redacted";
  if (e.header.s <= (s.erased.get(author) ?? 0n)) return "erased";
  return null;
}

/** The status of a message-kind entry in the group's current state; `expires` is its envelope's
 * `x` (`envelopeExpiry`). */
export function messageStatus(g: GroupState, e: Entry, expires: bigint | null): MessageStatus {
  const retention = retentionDeadline(g.state.sessions.values(), e.header.t);
  return {
    authorised: g.isAuthorised(e.header.a, e.header.s) && !g.isMuted(e),
    deleted: deletedBy(g, e),
    expiresMs: expires === null ? null : Number(expires),
    retentionDeadlineMs: retention,
    deadlineMs: deadline(expires, retention),
  };
}

/** True iff the words may be kept at time `nowMs`: authorised, not deleted, and the deadline
 * (if any) not reached (a host deletes when its clock reaches the deadline). */
export function payloadKept(status: MessageStatus, nowMs: number): boolean {
  return status.authorised && status.deleted === null && (status.deadlineMs === null || status.deadlineMs > nowMs);
}
