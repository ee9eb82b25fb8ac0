/**
 * What the browser keeps sealed under the passphrase (keystore.ts): the master secret, the key of
 * the device history (history.ts), the home node, and per group only secrets and positions — the
 * pseudonym's derivation context, the group's hosts, this member's log position, the join entry
 * while it is not acknowledged, and per epoch the next index of this member's sender chain (13.3:
 * a message key is never used twice, even across reloads); and, once a recovery key was made, the
 * backup key derived from it (14.7: never the key or its words), to seal later backups. It does not
 * grow with messages.
 *
 * Encoding: canonical CBOR `{"v": 1, "master": bstr 32, "hk": bstr 32, "node": tstr,
 * "groups": [* {"g": bstr 32, "ctx": bstr 1..64, "hosts": [* tstr], "seq": uint, "prev": bstr 32 /
 * null, "join": [bstr, bstr] / null, "sent": [* [bstr 32, uint]]}], ? "bk": bstr 32}` (`bk` only
 * when a backup key is kept).
 *
 * `decodeProfile` checks, each failure `keyfile.malformed`: canonical CBOR; a map of exactly those
 * fields (and optionally `bk`) with `v` = 1; `master`, `hk` and `bk` 32 bytes; `node` text; each group a map of exactly its
 * fields, `g` 32 bytes, `ctx` 1 to 64 bytes, `hosts` texts, `seq` an unsigned integer, `prev` 32
 * bytes or null (null exactly when `seq` is 0), `join` null or two byte strings, `sent` pairs of a
 * 32-byte epoch id and an unsigned integer; no group twice.
 */
import { fromHex, toHex } from "./bytes.js";
import { type CborValue, decode, encode, type Encodable } from "./cbor.js";
import { fail } from "./errors.js";

export interface GroupRecord {
  readonly groupId: Uint8Array;
  readonly context: Uint8Array;
  readonly hosts: string[];
  /** This member's last acknowledged entry in the group's log (0 and null before the join). */
  seq: bigint;
  prev: Uint8Array | null;
  /** The signed join (header, payload) until a node acknowledged it. */
  join: [Uint8Array, Uint8Array] | null;
  /** Epoch id (hex) -> the next index of this member's sender chain in it. */
  readonly sent: Map<string, bigint>;
}

export interface Profile {
  readonly master: Uint8Array;
  readonly historyKey: Uint8Array;
  readonly node: string;
  readonly groups: GroupRecord[];
  /** The backup key (14.7) once a recovery key was made, else null. */
  backupKey: Uint8Array | null;
}

export function encodeProfile(p: Profile): Uint8Array {
  const groups: Encodable[] = p.groups.map((g) => ({
    g: g.groupId,
    ctx: g.context,
    hosts: [...g.hosts],
    seq: g.seq,
    prev: g.prev,
    join: g.join === null ? null : [g.join[0], g.join[1]],
    sent: [...g.sent].map(([hex, n]) => [fromHex(hex), n]),
  }));
  return encode({ v: 1n, master: p.master, hk: p.historyKey, node: p.node, groups, ...(p.backupKey === null ? {} : { bk: p.backupKey }) });
}

const bad = (why: string): never => fail("keyfile.malformed", `not a browser profile: ${why}`);

function exactly(v: CborValue, names: readonly string[]): Map<string, CborValue> {
  if (!(v instanceof Map) || v.size !== names.length || !names.every((k) => v.has(k))) return bad(`a map of ${names.join(", ")}`);
  return v;
}

function bytesOf(v: CborValue | undefined, min: number, max = min): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length < min || v.length > max) return bad("a byte string of the wrong size");
  return v;
}

function groupOf(v: CborValue): GroupRecord {
  const m = exactly(v, ["g", "ctx", "hosts", "seq", "prev", "join", "sent"]);
  const hosts = m.get("hosts");
  const seq = m.get("seq");
  const prev = m.get("prev");
  const join = m.get("join");
  const sent = m.get("sent");
  if (!Array.isArray(hosts) || !hosts.every((h) => typeof h === "string")) return bad("hosts are texts");
  if (typeof seq !== "bigint" || seq < 0n) return bad("seq is an unsigned integer");
  if ((prev === null) !== (seq === 0n)) bad("prev is null exactly at seq 0");
  let pending: [Uint8Array, Uint8Array] | null = null;
  if (join !== null) {
    if (!Array.isArray(join) || join.length !== 2 || !(join[0] instanceof Uint8Array) || !(join[1] instanceof Uint8Array)) return bad("join is [header, payload]");
    pending = [join[0], join[1]];
  }
  if (!Array.isArray(sent)) return bad("sent is a list");
  const chains = new Map<string, bigint>();
  for (const item of sent) {
    if (!Array.isArray(item) || item.length !== 2 || typeof item[1] !== "bigint" || item[1] < 0n) return bad("sent holds [epoch, index]");
    chains.set(toHex(bytesOf(item[0], 32)), item[1]);
  }
  return {
    groupId: bytesOf(m.get("g"), 32),
    context: bytesOf(m.get("ctx"), 1, 64),
    hosts: hosts as string[],
    seq,
    prev: prev === null ? null : bytesOf(prev, 32),
    join: pending,
    sent: chains,
  };
}

/** The profile in `bytes` (checks in the order of the module comment). */
export function decodeProfile(bytes: Uint8Array): Profile {
  let v: CborValue;
  try {
    v = decode(bytes);
  } catch {
    return bad("not canonical CBOR");
  }
  const m = exactly(v, v instanceof Map && v.has("bk") ? ["v", "master", "hk", "node", "groups", "bk"] : ["v", "master", "hk", "node", "groups"]);
  if (m.get("v") !== 1n) bad("version 1");
  const node = m.get("node");
  const groups = m.get("groups");
  if (typeof node !== "string") return bad("node is text");
  if (!Array.isArray(groups)) return bad("groups is a list");
  const out = groups.map(groupOf);
  if (new Set(out.map((g) => toHex(g.groupId))).size !== out.length) bad("a group is listed twice");
  const bk = m.get("bk");
  return { master: bytesOf(m.get("master"), 32), historyKey: bytesOf(m.get("hk"), 32), node, groups: out, backupKey: bk === undefined ? null : bytesOf(bk, 32) };
}
