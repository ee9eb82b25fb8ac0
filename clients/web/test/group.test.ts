import assert from "node:assert/strict";
import { test } from "node:test";
import { fromHex, toHex } from "../src/bytes.js";
import { decodeEntry, type Entry } from "../src/entry.js";
import { GroupState } from "../src/group.js";
import { makeForkProof, place, verifyForkProof } from "../src/log.js";
import { Builder } from "./builder.js";
import { codeOf, loadVectors, rng } from "./helpers.js";

interface VectorEntry {
  author: string;
  entry: string;
  entry_id: string;
  kind: string;
  note: string;
  outcome?: string | null;
  payload: string | null;
  seq: number;
}
interface FinalState {
  group_id: string;
  members: Record<string, string>;
  intervals: Record<string, [number, number | null][]>;
  banned: string[];
  history: string | number; // "joined", "shared" or days
  epochs: string[];
  order: string[];
  heads: string[];
  hosts: Record<string, string>;
}
interface Scenario {
  name: string;
  label?: string;
  entries: VectorEntry[];
  final_state: FinalState;
  fork_proof?: string;
  fingerprint?: string;
  hosts?: Record<string, { holds: string[]; other_branch: string[] }>;
}

/** The state in the vectors' form (section 10, `final_state`). */
function snapshot(g: GroupState): FinalState {
  const s = g.state;
  const num = (x: bigint | null): number | null => (x === null ? null : Number(x));
  return {
    group_id: toHex(g.groupId),
    members: Object.fromEntries([...s.members].map(([k, m]) => [k, m.role])),
    intervals: Object.fromEntries([...s.intervals].map(([k, list]) => [k, list.map(([a, b]) => [Number(a), num(b)] as [number, number | null])])),
    banned: [...s.banned].sort(),
    history: typeof s.history === "bigint" ? Number(s.history) : s.history,
    epochs: g.epochIds().map(toHex),
    order: g.order().map(toHex),
    heads: g.headIds().map(toHex),
    hosts: Object.fromEntries([...s.hosts]),
  };
}

/** The vector's own final_state, keeping the keys `snapshot` computes (and sorting maps). */
function expected(f: FinalState): FinalState {
  const { group_id, members, intervals, banned, history, epochs, order, heads, hosts } = f;
  return { group_id, members, intervals, banned, history, epochs, order, heads, hosts };
}

const sortKeys = <T>(o: Record<string, T>): Record<string, T> => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
function normal(f: FinalState): FinalState {
  return { ...f, members: sortKeys(f.members), intervals: sortKeys(f.intervals), hosts: sortKeys(f.hosts) };
}

interface Parsed {
  v: VectorEntry;
  entry: Entry;
  payload: Uint8Array | null;
}

const parsedCache = new Map<string, Parsed>();
/** A vector entry decoded (6.2) once per test file. */
function parse(v: VectorEntry): Parsed {
  const known = parsedCache.get(v.entry);
  if (known !== undefined) return { ...known, v };
  const payload = v.payload === null ? null : fromHex(v.payload);
  const p = { v, entry: decodeEntry(fromHex(v.entry), payload), payload };
  parsedCache.set(v.entry, p);
  return p;
}

/** Feeds entries in order, checking each is placed in its author's log (7.1) first. */
function feed(g: GroupState, list: Parsed[]): void {
  const heads = new Map<string, { seq: bigint; id: Uint8Array }>();
  for (const p of list) {
    const a = toHex(p.entry.header.a);
    assert.equal(place(p.entry, heads.get(a) ?? null), "append", p.v.note);
    heads.set(a, { seq: p.entry.header.s, id: p.entry.id });
    g.add(p.entry, p.payload);
  }
}

function checkOutcomes(g: GroupState, list: Parsed[], name: string): number {
  let n = 0;
  for (const p of list) {
    if (p.v.outcome === undefined) continue;
    assert.equal(g.outcome(p.entry.id), p.v.outcome, `${name}: ${p.v.note}`);
    n++;
  }
  return n;
}

const rulesFile = (): Scenario[] => loadVectors<Scenario[]>("group_rules.json");

test("group_rules.json: every history, entry by entry, gives every outcome and the final state", () => {
  const all = rulesFile();
  assert.equal(all.length, 27);
  let histories = 0;
  let outcomes = 0;
  for (const sc of all) {
    if (sc.hosts !== undefined) continue; // the forked-position history: its own test below
    const list = sc.entries.map(parse);
    const g = new GroupState(fromHex(sc.final_state.group_id));
    feed(g, list);
    outcomes += checkOutcomes(g, list, sc.name);
    assert.deepEqual(normal(snapshot(g)), normal(expected(sc.final_state)), sc.name);
    histories++;
  }
  assert.equal(histories, 26);
  assert.equal(outcomes, all.filter((s) => s.hosts === undefined).reduce((n, s) => n + s.entries.length, 0));
});

test("group_rules.json: a forked position is void on every host, whichever twin it holds", () => {
  const sc = rulesFile().find((s) => s.hosts !== undefined)!;
  assert.equal(sc.name, "a forked position is void on every host, whichever twin it holds");
  const proof = verifyForkProof(fromHex(sc.fork_proof!));
  assert.equal(proof.seq, 2n);
  const byId = new Map(sc.entries.map((v) => [v.entry_id, parse(v)]));
  const hosts = Object.entries(sc.hosts!);
  assert.equal(hosts.length, 2);
  for (const [name, host] of hosts) {
    for (const proofFirst of [false, true]) {
      const g = new GroupState(fromHex(sc.final_state.group_id));
      if (proofFirst) g.addForkProof(fromHex(sc.fork_proof!));
      const held = host.holds.map((id) => byId.get(id)!);
      for (const p of held) g.add(p.entry, p.payload);
      if (!proofFirst) g.addForkProof(fromHex(sc.fork_proof!));
      for (const h of host.other_branch) assert.ok(g.addBranchHeader(fromHex(h)));
      checkOutcomes(g, held, `host ${name}`);
      assert.deepEqual(normal(snapshot(g)), normal(expected(sc.final_state)), `host ${name}, proof first: ${proofFirst}`);
    }
  }
});

test("group_conversation.json: outcomes and final state of the whole conversation", () => {
  const all = loadVectors<Scenario[]>("group_conversation.json");
  assert.equal(all.length, 1);
  const sc = all[0]!;
  const list = sc.entries.map(parse);
  const g = new GroupState(fromHex(sc.final_state.group_id));
  feed(g, list);
  assert.equal(checkOutcomes(g, list, sc.name), 12);
  assert.deepEqual(normal(snapshot(g)), normal(expected(sc.final_state)));
  // Every control entry of this history saw every head: none needed a full computation.
  assert.equal(g.stats.full, 0);
  assert.equal(g.stats.incremental, 12);
  // Messages: authorised within their authors' intervals (12.6).
  for (const p of list.filter((x) => x.v.kind === "message")) assert.ok(g.isAuthorised(p.entry.header.a, p.entry.header.s), p.v.note);
});

/** A random arrival order that keeps each author's log in seq order. */
function shuffleKeepingLogs(list: Parsed[], r: () => number): Parsed[] {
  const queues = new Map<string, Parsed[]>();
  for (const p of list) {
    const a = toHex(p.entry.header.a);
    const q = queues.get(a);
    if (q === undefined) queues.set(a, [p]);
    else q.push(p);
  }
  const out: Parsed[] = [];
  while (out.length < list.length) {
    const live = [...queues.values()].filter((q) => q.length > 0);
    out.push(live[Math.floor(r() * live.length)]!.shift()!);
  }
  return out;
}

test("property: every history gives the same state and outcomes whatever order its entries arrive in", () => {
  const r = rng(1205);
  const histories = [...rulesFile().filter((s) => s.hosts === undefined), ...loadVectors<Scenario[]>("group_conversation.json")];
  let runs = 0;
  for (const sc of histories) {
    const list = sc.entries.map(parse);
    const want = normal(expected(sc.final_state));
    for (let k = 0; k < 5; k++) {
      const order = shuffleKeepingLogs(list, r);
      const g = new GroupState(fromHex(sc.final_state.group_id));
      for (const p of order) g.add(p.entry, p.payload);
      checkOutcomes(g, list, `${sc.name} (arrival order ${k})`);
      assert.deepEqual(normal(snapshot(g)), want, `${sc.name} (arrival order ${k})`);
      runs++;
    }
  }
  assert.equal(runs, 27 * 5);
});

test("incremental and afresh agree after every entry of every history", () => {
  const histories = [...rulesFile().filter((s) => s.hosts === undefined), ...loadVectors<Scenario[]>("group_conversation.json")];
  let fast = 0;
  for (const sc of histories) {
    const list = sc.entries.map(parse);
    const g = new GroupState(fromHex(sc.final_state.group_id));
    const fresh = new GroupState(fromHex(sc.final_state.group_id));
    for (const p of list) {
      g.add(p.entry, p.payload);
      fresh.add(p.entry, p.payload);
      fresh.recompute();
      assert.deepEqual(snapshot(g), snapshot(fresh), `${sc.name} after ${p.v.note}`);
      for (const q of list) assert.equal(g.outcome(q.entry.id), fresh.outcome(q.entry.id), `${sc.name}: ${q.v.note}`);
    }
    fast += g.stats.incremental;
  }
  assert.ok(fast > 150, `most entries are applied without recomputation (${fast})`);
});

test("refusals: a malformed payload, an entry of another group, a control entry without payload", () => {
  const sc = loadVectors<Scenario[]>("group_conversation.json")[0]!;
  const list = sc.entries.map(parse);
  const g = new GroupState(fromHex(sc.final_state.group_id));
  g.add(list[0]!.entry, list[0]!.payload);
  const invite = list[2]!;
  assert.equal(codeOf(() => g.add(invite.entry, null)), "proto.payload_required");
  assert.equal(codeOf(() => g.add(invite.entry, Uint8Array.of(0xa0))), "group.malformed_payload");
  assert.equal(g.outcome(invite.entry.id), undefined, "a refused entry is not held");
  const other = new GroupState(new Uint8Array(32).fill(1));
  assert.equal(codeOf(() => other.add(list[0]!.entry, list[0]!.payload)), "group.bad_genesis");
  assert.equal(codeOf(() => other.add(invite.entry, invite.payload)), "group.bad_genesis");
  // An entry naming what is not held waits, and is applied once its dependency arrives.
  const later = new GroupState(fromHex(sc.final_state.group_id));
  for (const p of list.slice(0, 2)) assert.deepEqual(later.add(p.entry, p.payload), { status: "applied" });
  assert.deepEqual(later.add(list[3]!.entry, list[3]!.payload), { status: "pending" }); // ana's join names the invite
  assert.equal(later.outcome(list[3]!.entry.id), "group.missing_dependency");
  assert.deepEqual(later.add(list[2]!.entry, list[2]!.payload), { status: "applied" });
  assert.equal(later.outcome(list[3]!.entry.id), null);
});

interface LogVector {
  name: string;
  entry: string;
  head: { seq: number; entry_id: string } | null;
  stored_at_seq: string | null;
  placement?: string;
  error?: string;
}
interface ForkVector {
  name: string;
  proof: string;
  valid?: true;
  author?: string;
  seq?: number;
  entry_ids?: string[];
  error?: string;
}

test("logs.json: every placement (7.1)", () => {
  const vectors = loadVectors<LogVector[]>("logs.json");
  assert.equal(vectors.length, 7);
  for (const v of vectors) {
    const e = decodeEntry(fromHex(v.entry));
    const head = v.head === null ? null : { seq: BigInt(v.head.seq), id: fromHex(v.head.entry_id) };
    const stored = v.stored_at_seq === null ? null : decodeEntry(fromHex(v.stored_at_seq));
    if (v.error !== undefined) assert.equal(codeOf(() => place(e, head, stored)), v.error, v.name);
    else assert.equal(place(e, head, stored), v.placement, v.name);
  }
});

test("fork_proofs.json: every proof (7.2), and a proof made from its two headers is the same bytes", () => {
  const vectors = loadVectors<ForkVector[]>("fork_proofs.json");
  assert.equal(vectors.length, 5);
  for (const v of vectors) {
    if (v.error !== undefined) {
      assert.equal(codeOf(() => verifyForkProof(fromHex(v.proof))), v.error, v.name);
      continue;
    }
    const p = verifyForkProof(fromHex(v.proof));
    assert.equal(toHex(p.author), v.author);
    assert.equal(p.seq, BigInt(v.seq!));
    assert.deepEqual([toHex(p.a.id), toHex(p.b.id)], v.entry_ids);
    assert.equal(toHex(makeForkProof(p.b, p.a)), v.proof);
  }
});

test("orphans cost one try each: a chain fed newest first links once its root arrives", () => {
  // A sender (or a node) may deliver control entries whose parents are missing. Each waits for the
  // one parent it lacks; nothing rescans the waiting set, so n orphans cost O(n) tries, not O(n²).
  const b = new Builder("orphan-chain");
  const n = 200;
  for (let i = 0; i < n; i++) b.settings("founder");
  const forward = new GroupState(b.groupId);
  for (const m of b.made) forward.add(m.entry, m.payload);
  const reversed = new GroupState(b.groupId);
  reversed.add(b.made[0]!.entry, b.made[0]!.payload);
  for (const m of b.made.slice(1).reverse()) {
    const r = reversed.add(m.entry, m.payload);
    if (m !== b.made[1]) assert.equal(r.status, "pending");
  }
  assert.deepEqual(reversed.order().map(toHex), forward.order().map(toHex));
  assert.ok(reversed.stats.tries <= 3 * n, `${reversed.stats.tries} tries for ${n} orphans`);
});
