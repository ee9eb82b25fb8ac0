/**
 * Who shares the group's keys with a newcomer, and when (spec 13.1, "Sharing keys with newcomers"),
 * as the Python client computes it (`clients/keyshare.py`; the same cases in
 * `test/fixtures/keyshare.json`).
 *
 * When a join leaves the current epoch unclean, each current member holding the epoch computes the
 * same order of those members for that join (facilitators first, then the others, each by
 * SHA-256(join entry id || member key)) and waits rank × step seconds (capped) before publishing
 * the rekey, unless one that makes the epoch clean arrived meanwhile: usually exactly one member
 * publishes it. Concurrent rekeys that still happen are settled by the rules (12.4, 13.1).
 *
 * Pure: no clock, no I/O.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { compareBytes, concat, toHex } from "./bytes.js";
import type { HistoryVisibility, Rekey, Role } from "./control.js";
import type { GroupState } from "./group.js";

/** Seconds between two ranks. */
export const STEP = 3;
/** Ranks from here on all wait MAX_RANK × STEP (one minute). */
export const MAX_RANK = 20;

/** The members `[key, role]` in the order they share keys for the join `join`: facilitators
 * first, then the others, each by SHA-256(join || key). */
export function sharingOrder(join: Uint8Array, members: readonly (readonly [Uint8Array, Role])[]): Uint8Array[] {
  return members
    .map(([key, role]) => ({ key, first: role === "facilitator" ? 0 : 1, d: sha256(concat(join, key)) }))
    .sort((a, b) => a.first - b.first || compareBytes(a.d, b.d) || compareBytes(a.key, b.key))
    .map((m) => m.key);
}

/** Seconds the member at `rank` (0 first) waits before sharing keys: min(rank, MAX_RANK) × step. */
export function sharingDelay(rank: number, step: number = STEP): number {
  return Math.min(Math.max(rank, 0), MAX_RANK) * step;
}

/** The keys (hex) the current epoch was sealed to, or null if there is no epoch. */
function recipients(g: GroupState): Set<string> | null {
  const slot = g.state.epochs.at(-1);
  if (slot === undefined) return null;
  return new Set((g.payloadOfSlot(slot) as Rekey).sealed.map(([k]) => toHex(k)));
}

/** The join a rekey is owed for: of the current members the current epoch was not sealed to, the
 * smallest id (byte order) of the join (or genesis) that opened their membership; null if the
 * epoch was sealed to every current member. */
export function pendingJoin(g: GroupState): Uint8Array | null {
  const held = recipients(g);
  let found: Uint8Array | null = null;
  for (const [hex, m] of g.state.members) {
    if (held?.has(hex)) continue;
    const join = g.idOfSlot(m.join);
    if (found === null || compareBytes(join, found) < 0) found = join;
  }
  return found;
}

/** The members who may share keys: those holding the current epoch, or all if there is none. */
export function sharers(g: GroupState): [Uint8Array, Role][] {
  const held = recipients(g);
  return [...g.state.members].filter(([hex]) => held === null || held.has(hex)).map(([, m]) => [m.key, m.role]);
}

/** `{ join, delay }` (seconds) if a join is owed a rekey and `me` shares keys; null otherwise
 * (nothing owed, or `me` is the newcomer or not a member). */
export function myTurn(g: GroupState, me: Uint8Array, step: number = STEP): { join: Uint8Array; delay: number } | null {
  const join = pendingJoin(g);
  if (join === null) return null;
  const rank = sharingOrder(join, sharers(g)).findIndex((k) => compareBytes(k, me) === 0);
  return rank < 0 ? null : { join, delay: sharingDelay(rank, step) };
}

/** Earlier epochs' keys one history blob carries at most (13.1). */
export const MAX_HISTORY_EPOCHS = 512;
/** A day, in ms. */
export const DAY_MS = 86_400_000n;

/** Whether a newcomer who joined at `joinedMs` (its join's signed time) may read an earlier epoch
 * whose rekey was signed at `startedMs` (13.1): never under "joined", always under "shared", and
 * under N days iff `startedMs >= joinedMs - N days`. */
export function inHistoryWindow(history: HistoryVisibility, joinedMs: bigint, startedMs: bigint): boolean {
  if (history === "joined") return false;
  if (history === "shared") return true;
  return startedMs >= joinedMs - history * DAY_MS;
}

/** An epoch as `historyToShare` reads it: its id and its rekey's signed time. */
export interface StartedEpoch {
  readonly id: Uint8Array;
  readonly startedMs: bigint;
}

/** The ids of the earlier epochs whose keys a sharer seals to a newcomer (13.1), newest first: of
 * the MAX_HISTORY_EPOCHS newest of `epochs` (L order), walked back from the newest, each whose key
 * it `held`, stopping at the first that started outside the window (`inHistoryWindow`) or at
 * `limit` ids. */
export function historyToShare(
  history: HistoryVisibility,
  joinedMs: bigint,
  epochs: readonly StartedEpoch[],
  held: (id: Uint8Array) => boolean,
  limit: number = MAX_HISTORY_EPOCHS,
): Uint8Array[] {
  const out: Uint8Array[] = [];
  if (history === "joined") return out;
  for (let i = epochs.length - 1, seen = 0; i >= 0 && seen < MAX_HISTORY_EPOCHS; i--, seen++) {
    const e = epochs[i]!;
    if (!inHistoryWindow(history, joinedMs, e.startedMs) || out.length >= limit) break;
    if (held(e.id)) out.push(e.id);
  }
  return out;
}

/** Earlier epochs' keys one rekey's `h` carries in all (about 330 KB). */
export const MAX_HISTORY_PAIRS = 4096;

/** Keys each of `newcomers` gets in one rekey: at most MAX_HISTORY_EPOCHS, and MAX_HISTORY_PAIRS
 * over all of them (at least one each). */
export function historyLimit(newcomers: number): number {
  return Math.max(1, Math.min(MAX_HISTORY_EPOCHS, Math.floor(MAX_HISTORY_PAIRS / Math.max(newcomers, 1))));
}

/** The signed time of the join (or genesis) that opened `member`'s current membership, or null
 * if it is not a member. */
export function joinedAt(g: GroupState, member: Uint8Array): bigint | null {
  const m = g.state.members.get(toHex(member));
  return m === undefined ? null : g.entryOfSlot(m.join).header.t;
}
