/**
 * The talking piece a call shows (spec/protocol.md 17.3, 17.11): the holder of the group's session
 * under way, if this member's client holds such a `turn`; otherwise the call's own piece, which a
 * facilitator sets with a `piece` signal (`CallMesh.holder`).
 */
import { fromHex, toHex } from "../bytes.js";
import type { GroupState } from "../group.js";
import type { GroupClient } from "../group_client.js";
import { occurrences } from "../sessions.js";
import { type ReadMessage, talkingPiece } from "../support.js";

/**
 * The session's talking piece at `nowMs`: for the first session (in the state's order) with an
 * occurrence under way (`start <= now < end`) that has a `turn` among `read`, its holder (hex) or
 * null (the circle is open); undefined when no session under way has one.
 */
export function sessionHolder(g: GroupState, read: readonly ReadMessage[], nowMs: number): string | null | undefined {
  for (const [id, s] of g.state.sessions) {
    const list = occurrences(s.version, s.cancelledAt);
    const k = list.findIndex((o) => o.start <= nowMs && nowMs < o.end);
    if (k < 0) continue;
    const h = talkingPiece(read, g, fromHex(id), BigInt(k));
    if (h !== undefined) return h === null ? null : toHex(h);
  }
  return undefined;
}

/** `sessionHolder` over what a group client has read (authorised, not deleted). */
export function sessionHolderOf(group: GroupClient, nowMs: number): string | null | undefined {
  return sessionHolder(group.state, group.messages().filter((r) => r.authorised && r.deleted === null), nowMs);
}

/** Who holds the piece in the call: the session's holder when there is one, else the call's. */
export function shownHolder(session: string | null | undefined, call: string | null): string | null {
  return session !== undefined ? session : call;
}
