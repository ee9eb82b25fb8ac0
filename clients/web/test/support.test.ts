import assert from "node:assert/strict";
import { test } from "node:test";
import { fromHex, toHex } from "../src/bytes.js";
import { decode } from "../src/cbor.js";
import { decodeContent, encodeContent, isSupported } from "../src/content.js";
import { decodeControlPayload, encodeControlPayload, type SessionVersion } from "../src/control.js";
import { createAttestation, createRevocation, decodeAttestation, decodeRevocation, verifyBadge } from "../src/credentials.js";
import { messageStatus, payloadKept } from "../src/deletion.js";
import { envelopeExpiry } from "../src/e2ee.js";
import { decodeEntry, type Entry } from "../src/entry.js";
import { GroupState } from "../src/group.js";
import { deadline, localStarts, occurrences, retentionDeadline } from "../src/sessions.js";
import { fromLocal, isListedZone, localIso, UTC, zoneOf } from "../src/timezone.js";
import { codeOf, jsonForm, loadVectors, toJsonForm } from "./helpers.js";

type V = Record<string, unknown>;
const file = loadVectors<V[]>("support.json");
const named = (pred: (v: V) => boolean): V[] => file.filter(pred);

test("support.json: 104 vectors, each of a kind some test checks (here, in e2ee.test.ts or moderation.test.ts)", () => {
  assert.equal(file.length, 104);
  const kinds = new Map<string, number>();
  for (const v of file) {
    const name = v["name"] as string;
    const kind =
      "entries" in v ? "history"
      : name.endsWith(" entry") && "fields" in v ? "control entry"
      : typeof v["kind"] === "number" && "error" in v ? "malformed payload (e2ee.test.ts)"
      : name.startsWith("disclosure") || name === "direct message" || name === "two-faced direct message" || name === "message envelope with an expiry" ? "envelope (e2ee.test.ts)"
      : "occurrences" in v ? "occurrences"
      : "content" in v ? "content"
      : name.startsWith("credential ") ? "credential"
      : name.startsWith("badge:") ? "badge"
      : name === "a removal's note and reason" ? "removal words (moderation.test.ts)"
      : "unknown";
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  assert.deepEqual(Object.fromEntries(kinds), {
    history: 2,
    "control entry": 7,
    "malformed payload (e2ee.test.ts)": 30,
    "envelope (e2ee.test.ts)": 6,
    occurrences: 8,
    content: 38,
    credential: 2,
    badge: 10,
    "removal words (moderation.test.ts)": 1,
  });
});

test("support.json: content of every type, unsupported and malformed (17.1)", () => {
  const vectors = named((v) => "content" in v && !("entry" in v) && !("entries" in v));
  assert.equal(vectors.length, 38);
  let known = 0;
  for (const v of vectors) {
    const bytes = fromHex(v["content"] as string);
    if (v["error"] !== undefined) {
      assert.equal(codeOf(() => decodeContent(bytes)), v["error"], v["name"] as string);
      continue;
    }
    const c = decodeContent(bytes);
    assert.equal(c.t, v["type"], v["name"] as string);
    if (v["unsupported"] === true) {
      assert.equal(isSupported(c), false);
      continue;
    }
    assert.ok(isSupported(c));
    assert.deepEqual(jsonForm(c), v["fields"], v["name"] as string);
    assert.equal(toHex(encodeContent(c)), v["content"], `${v["name"] as string}: re-encoded`);
    known++;
  }
  assert.equal(known, 22);
});

test("support.json: credential attestation and revocation: fields, signed message, id, and signing reproduces them", () => {
  const att = named((v) => v["name"] === "credential attestation")[0]!;
  const a = decodeAttestation(fromHex(att["attestation"] as string));
  assert.deepEqual(toJsonForm(decode(fromHex(att["attestation"] as string))), att["fields"]);
  assert.equal(toHex(a.signedMessage), att["signed_message"]);
  assert.equal(toHex(a.id), att["credential_id"]);
  assert.equal(toHex(a.issuer), att["issuer"]);
  const again = createAttestation(fromHex(att["issuer_seed"] as string), {
    subject: a.subject,
    group: a.group,
    role: a.role,
    notBefore: a.notBefore,
    expires: a.expires,
    serial: a.serial,
  });
  assert.equal(toHex(again), att["attestation"]);
  const rev = named((v) => v["name"] === "credential revocation")[0]!;
  const r = decodeRevocation(fromHex(rev["revocation"] as string));
  assert.deepEqual(toJsonForm(decode(fromHex(rev["revocation"] as string))), rev["fields"]);
  assert.equal(toHex(r.signedMessage), rev["signed_message"]);
  assert.equal(toHex(createRevocation(fromHex(rev["issuer_seed"] as string), r.credential, r.time)), rev["revocation"]);
});

test("support.json: every badge check (17.7), in order", () => {
  const vectors = named((v) => (v["name"] as string).startsWith("badge:"));
  assert.equal(vectors.length, 10);
  for (const v of vectors) {
    const q = {
      attestation: fromHex(v["attestation"] as string),
      subject: fromHex(v["subject"] as string),
      groupId: fromHex(v["group_id"] as string),
      issuers: (v["issuers"] as string[]).map(fromHex),
      revocations: (v["revocations"] as string[]).map(fromHex),
      nowMs: BigInt(v["now_ms"] as number),
    };
    if (v["verified"] === true) assert.equal(verifyBadge(q), v["role"], v["name"] as string);
    else assert.equal(codeOf(() => verifyBadge(q)), v["error"], v["name"] as string);
  }
});

function sessionOf(v: V, tz = v["tz"] as string): SessionVersion {
  const rc = v["recurrence"] as [string, number] | null;
  return {
    kind: "session",
    deps: [],
    replaces: null,
    start: BigInt(v["start_ms"] as number),
    duration: BigInt(v["duration_ms"] as number),
    tz,
    recurrence: rc === null ? null : { period: rc[0] as "daily" | "weekly", count: BigInt(rc[1]) },
    retention: v["retention_ms"] === undefined || v["retention_ms"] === null ? null : BigInt(v["retention_ms"] as number),
    cancelled: false,
    details: null,
  };
}

test("support.json: occurrences of single sessions across summer-time changes (17.3)", () => {
  const vectors = named((v) => "occurrences" in v && "start_ms" in v);
  assert.equal(vectors.length, 8);
  for (const v of vectors) {
    const s = sessionOf(v);
    const cancelled = v["cancelled_at_ms"] === null ? null : BigInt(v["cancelled_at_ms"] as number);
    const list = occurrences(s, cancelled);
    assert.deepEqual(list.map((o) => [o.start, o.end]), v["occurrences"], v["name"] as string);
    assert.deepEqual(localStarts(s, list), v["local_starts"], v["name"] as string);
  }
});

interface HistoryEntry {
  author: string;
  entry: string;
  entry_id: string;
  kind: string;
  note: string;
  outcome?: string | null;
  payload: string | null;
  seq: number;
}

test("support.json: the support group's history: outcomes, final state, sessions, and what hosts keep", () => {
  const h = file[0]!;
  assert.equal(h["name"], "a support group's history");
  const entries = h["entries"] as HistoryEntry[];
  const fs = h["final_state"] as Record<string, unknown>;
  const g = new GroupState(fromHex(fs["group_id"] as string));
  const byId = new Map<string, { entry: Entry; payload: Uint8Array | null }>();
  for (const v of entries) {
    const payload = v.payload === null ? null : fromHex(v.payload);
    const entry = decodeEntry(fromHex(v.entry), payload);
    byId.set(v.entry_id, { entry, payload });
    g.add(entry, payload);
  }
  let outcomes = 0;
  for (const v of entries) {
    if (v.outcome === undefined) continue;
    assert.equal(g.outcome(fromHex(v.entry_id)), v.outcome, v.note);
    outcomes++;
  }
  assert.equal(outcomes, entries.length - 11);
  const s = g.state;
  assert.deepEqual(Object.fromEntries([...s.members].map(([k, m]) => [k, m.role])), fs["members"]);
  assert.deepEqual([...s.banned].sort(), fs["banned"]);
  assert.deepEqual(
    Object.fromEntries([...s.intervals].map(([k, l]) => [k, l.map(([a, b]) => [Number(a), b === null ? null : Number(b)])])),
    fs["intervals"],
  );
  assert.deepEqual(Object.fromEntries([...s.hosts]), fs["hosts"]);
  assert.deepEqual(g.order().map(toHex), fs["order"]);
  assert.deepEqual(g.headIds().map(toHex), fs["heads"]);
  assert.deepEqual(g.epochIds().map(toHex), fs["epochs"]);
  assert.equal(s.history, fs["history"]);
  const redactions = [...s.redactions].map(([key, slot]) => {
    const [author, target] = key.split(":");
    return { author, redaction: toHex(g.idOfSlot(slot)), target };
  });
  redactions.sort((a, b) => (a.author! + a.target! < b.author! + b.target! ? -1 : 1));
  assert.deepEqual(redactions, fs["redactions"]);
  assert.deepEqual(Object.fromEntries([...s.erased].map(([k, n]) => [k, Number(n)])), fs["erased"]);
  assert.deepEqual(Object.fromEntries([...s.issuers].map(([k, slot]) => [k, toHex(g.idOfSlot(slot))])), fs["issuers"]);
  const sessions = Object.fromEntries(
    [...s.sessions].map(([id, x]) => {
      const list = occurrences(x.version, x.cancelledAt);
      const v = x.version;
      return [
        id,
        {
          author: toHex(x.author),
          cancelled_at_ms: x.cancelledAt === null ? null : Number(x.cancelledAt),
          duration_ms: Number(v.duration),
          entry_id: toHex(g.idOfSlot(x.slot)),
          local_starts: localStarts(v, list),
          occurrences: list.map((o) => [o.start, o.end]),
          recurrence: v.recurrence === null ? null : [v.recurrence.period, Number(v.recurrence.count)],
          retention_ms: v.retention === null ? null : Number(v.retention),
          start_ms: Number(v.start),
          tz: v.tz,
        },
      ];
    }),
  );
  assert.deepEqual(sessions, fs["sessions"]);
  // What a host keeps of each message-kind entry, at each checkpoint.
  const checkpoints = h["checkpoints"] as number[];
  const view = h["host_view"] as V[];
  assert.equal(view.length, 11);
  for (const w of view) {
    const { entry, payload } = byId.get(w["entry_id"] as string)!;
    const st = messageStatus(g, entry, envelopeExpiry(entry.header.k, payload!));
    assert.equal(Number(entry.header.t), w["timestamp_ms"]);
    assert.deepEqual(
      {
        authorised: st.authorised,
        deleted: st.deleted,
        expires_ms: st.expiresMs,
        retention_deadline_ms: st.retentionDeadlineMs,
        deadline_ms: st.deadlineMs,
        payload_kept: checkpoints.map((t) => payloadKept(st, t)),
      },
      {
        authorised: w["authorised"],
        deleted: w["deleted"],
        expires_ms: w["expires_ms"],
        retention_deadline_ms: w["retention_deadline_ms"],
        deadline_ms: w["deadline_ms"],
        payload_kept: w["payload_kept"],
      },
      w["entry_id"] as string,
    );
  }
});

test("support.json: one entry of each new control kind: fields, re-encoding and outcome", () => {
  const vectors = named((v) => (v["name"] as string).endsWith(" entry") && "fields" in v);
  assert.equal(vectors.length, 7);
  const histories = named((v) => "entries" in v);
  const outcomes = new Map(histories.flatMap((h) => (h["entries"] as HistoryEntry[]).map((e) => [e.entry_id, e.outcome] as const)));
  for (const v of vectors) {
    const payload = fromHex(v["payload"] as string);
    const entry = decodeEntry(fromHex(v["entry"] as string), payload);
    assert.equal(entry.header.k, BigInt(v["kind"] as number));
    assert.equal(toHex(entry.id), v["entry_id"]);
    assert.equal(toHex(entry.header.a), v["author"]);
    const p = decodeControlPayload(entry.header.k, payload, entry.header.a);
    assert.deepEqual(toJsonForm(decode(payload)), v["fields"], v["name"] as string);
    assert.equal(toHex(encodeControlPayload(p)), v["payload"], v["name"] as string);
    assert.equal(outcomes.get(v["entry_id"] as string), v["outcome"], v["name"] as string);
  }
});

test("sessions: cancelling keeps an occurrence starting at the cancellation; retention takes the least deadline of the occurrences a message is in", () => {
  const weekly = (start: number, retention: number | null): SessionVersion => ({
    ...sessionOf({ start_ms: start, duration_ms: 3_600_000, recurrence: ["weekly", 3], retention_ms: retention }, "Europe/London"),
  });
  const s = weekly(1_762_196_400_000, 2_000_000); // Mondays 19:00 London, from 3 November 2025
  const all = occurrences(s, null);
  assert.equal(all.length, 3);
  assert.equal(occurrences(s, BigInt(all[1]!.start)).length, 2, "an occurrence starting at the cancellation stays");
  assert.equal(occurrences(s, BigInt(all[1]!.start - 1)).length, 1);
  const second = weekly(all[0]!.start + 1_800_000, 500); // overlaps the first occurrence's second half
  const sessions = [
    { version: s, cancelledAt: null },
    { version: second, cancelledAt: null },
  ];
  const inBoth = BigInt(all[0]!.start + 2_000_000);
  assert.equal(retentionDeadline(sessions, inBoth), all[0]!.start + 1_800_000 + 3_600_000 + 500);
  assert.equal(retentionDeadline(sessions, BigInt(all[0]!.start + 100)), all[0]!.end + 2_000_000);
  assert.equal(retentionDeadline(sessions, BigInt(all[0]!.end + 1_800_000)), null, "the end of an occurrence is not in it");
  assert.equal(retentionDeadline([{ version: s, cancelledAt: null }], BigInt(all[0]!.end)), null);
  assert.equal(retentionDeadline([{ version: weekly(all[0]!.start, null), cancelledAt: null }], inBoth), null);
  assert.equal(deadline(5n, 7), 5);
  assert.equal(deadline(null, 7), 7);
  assert.equal(deadline(9n, null), 9);
  assert.equal(deadline(null, null), null);
});

test("time zones: names are matched exactly; unlisted and excluded names are read as UTC", () => {
  assert.notEqual(zoneOf("Europe/London"), UTC);
  for (const tz of ["europe/london", "EUROPE/LONDON", "Nowhere/Atlantis", "localtime", "posixrules", "Factory", "posix/Europe/London", "right/UTC"])
    assert.equal(zoneOf(tz), UTC, tz);
  assert.ok(isListedZone("UTC"));
  assert.ok(isListedZone("Etc/UTC"));
  assert.ok(isListedZone("America/New_York"));
  assert.ok(!isListedZone("america/new_york"));
  // New York: 2 AM on 9 March 2025 does not occur; 1:30 AM on 2 November 2025 occurs twice.
  const ny = zoneOf("America/New_York");
  assert.equal(new Date(fromLocal(ny, Date.UTC(2025, 2, 9, 2, 30))).toISOString(), "2025-03-09T07:30:00.000Z");
  assert.equal(new Date(fromLocal(ny, Date.UTC(2025, 10, 2, 1, 30))).toISOString(), "2025-11-02T05:30:00.000Z");
  assert.equal(localIso(ny, Date.UTC(2025, 10, 2, 6, 30, 0, 5)), "2025-11-02T01:30:00.005-05:00");
});
