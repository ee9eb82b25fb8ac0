/**
 * Test histories: signs the control entries of a group as its members would, so tests can state
 * histories the vector files do not have. Every entry is made with the client's own code
 * (createEntry, createIdentityDocument, derivePseudonym, encode) and is valid (6.2, 12.3).
 */
import { ascii, compareBytes, concat, toHex } from "../src/bytes.js";
import { encode, type Encodable } from "../src/cbor.js";
import { joinProofMessage, sortedIds } from "../src/control.js";
import { H, publicKey, sign } from "../src/crypto.js";
import { createEntry, type Entry } from "../src/entry.js";
import { createIdentityDocument, derivePseudonym, type Pseudonym } from "../src/identity.js";

export interface Made {
  readonly name: string;
  readonly note: string;
  readonly entry: Entry;
  readonly payload: Uint8Array;
}

export interface InviteHandle {
  readonly id: Uint8Array;
  readonly seed: Uint8Array;
  readonly expires: bigint;
}

interface Person {
  readonly p: Pseudonym;
  /** Its identity document, made at its first join. */
  doc?: Uint8Array;
  seq: bigint;
  prev: Uint8Array | null;
  lastControl: Uint8Array | null;
}

/** Options every operation takes: `d` (default: every current head, i.e. it saw everything), `t`. */
export interface Opts {
  readonly d?: readonly Uint8Array[];
  readonly t?: bigint;
}

export class Builder {
  readonly made: Made[] = [];
  readonly groupId: Uint8Array;
  private readonly people = new Map<string, Person>();
  private readonly heads = new Set<string>();
  private readonly ids = new Map<string, Uint8Array>();
  private clock = 1_764_000_000_000n;
  private counter = 0;

  constructor(
    readonly label: string,
    founder = "founder",
    history: "joined" | "shared" = "joined",
    home: string | null = null,
  ) {
    const nonce = H(ascii(`nonce:${label}`)).slice(0, 16);
    const p = derivePseudonym(H(ascii(`master:${label}:${founder}`)), concat(ascii("genesis:"), nonce));
    this.people.set(founder, { p, seq: 0n, prev: null, lastControl: null });
    const fields: Record<string, Encodable> = { n: nonce, doc: createIdentityDocument(p, this.clock), hv: history };
    if (home !== null) fields["h"] = home;
    const g = this.sign(founder, 1n, encode(fields), "genesis", [], new Uint8Array(32));
    this.groupId = g.entry.id;
  }

  /** The pseudonym of `name` (created, with its group context, on first use). */
  person(name: string): Person {
    let x = this.people.get(name);
    if (x === undefined) {
      const p = derivePseudonym(H(ascii(`master:${this.label}:${name}`)), concat(ascii("group:"), this.groupId));
      x = { p, seq: 0n, prev: null, lastControl: null };
      this.people.set(name, x);
    }
    return x;
  }

  key(name: string): Uint8Array {
    return this.person(name).p.ed25519Public;
  }

  /** The ids of the current heads (as the group stands after everything made so far). */
  currentHeads(): Uint8Array[] {
    return sortedIds([...this.heads].map((h) => this.ids.get(h)!));
  }

  /** The id of the n-th entry made (0 is the genesis). */
  id(n: number): Uint8Array {
    return this.made[n]!.entry.id;
  }

  /** The last entry made. */
  get last(): Made {
    return this.made.at(-1)!;
  }

  private sign(name: string, kind: bigint, payload: Uint8Array, note: string, deps: readonly Uint8Array[], group: Uint8Array = this.groupId, t?: bigint): Made {
    const x = this.person(name);
    this.clock += 1000n;
    x.seq++;
    const entry = createEntry(x.p.ed25519Seed, { group, seq: x.seq, prev: x.prev, timeMs: t ?? this.clock, kind, payload });
    x.prev = entry.id;
    const made = { name, note, entry, payload };
    this.made.push(made);
    if (kind < 16n) {
      const id = toHex(entry.id);
      this.ids.set(id, entry.id);
      for (const d of deps) this.heads.delete(toHex(d));
      if (x.lastControl !== null) this.heads.delete(toHex(x.lastControl));
      this.heads.add(id);
      x.lastControl = entry.id;
    }
    return made;
  }

  private control(name: string, kind: bigint, fields: Record<string, Encodable>, note: string, o: Opts): Made {
    const d = sortedIds(o.d ?? this.currentHeads());
    return this.sign(name, kind, encode({ ...fields, d }), note, d, this.groupId, o.t);
  }

  invite(by: string, o: Opts & { role?: string; uses?: bigint; expires?: bigint; target?: Uint8Array | null } = {}): InviteHandle {
    const seed = H(ascii(`invite:${this.label}:${this.counter++}`));
    const expires = o.expires ?? this.clock + 86_400_000n;
    const m = this.control(by, 2n, { r: o.role ?? "member", x: expires, u: o.uses ?? 1n, p: o.target ?? null, i: publicKey(seed) }, `${by} invites`, o);
    return { id: m.entry.id, seed, expires };
  }

  join(name: string, inv: InviteHandle, o: Opts & { home?: string; proofSeed?: Uint8Array } = {}): Made {
    const x = this.person(name);
    const doc = (x.doc ??= createIdentityDocument(x.p, this.clock));
    const w = sign(o.proofSeed ?? inv.seed, joinProofMessage(this.groupId, x.p.ed25519Public, inv.id));
    const fields: Record<string, Encodable> = { i: inv.id, w, doc };
    if (o.home !== undefined) fields["h"] = o.home;
    return this.control(name, 3n, fields, `${name} joins`, { d: o.d ?? [inv.id], ...(o.t === undefined ? {} : { t: o.t }) });
  }

  remove(by: string, target: string, o: Opts & { ban?: boolean; cut?: bigint } = {}): Made {
    const cut = o.cut ?? this.person(target).seq;
    return this.control(by, 4n, { m: this.key(target), c: cut, b: o.ban ?? false }, `${by} removes ${target}`, o);
  }

  role(by: string, target: string, role: string, o: Opts = {}): Made {
    return this.control(by, 5n, { m: this.key(target), r: role }, `${by} sets ${target}'s role to ${role}`, o);
  }

  leave(by: string, o: Opts = {}): Made {
    return this.control(by, 6n, {}, `${by} leaves`, o);
  }

  settings(by: string, o: Opts = {}): Made {
    return this.control(by, 7n, { hv: "joined", e: null }, `${by} changes the settings`, o);
  }

  /** A rekey sealed (with dummy boxes: the rules read only the keys) to `to`. */
  rekey(by: string, to: readonly string[], o: Opts = {}): Made {
    const r = to.map((n) => this.key(n)).sort(compareBytes).map((k) => [k, new Uint8Array(80)]);
    return this.control(by, 8n, { r, doc: null, h: [] }, `${by} rekeys to ${to.join(", ")}`, o);
  }

  host(by: string, address: string, add: boolean, o: Opts = {}): Made {
    return this.control(by, 9n, { h: address, a: add }, `${by} ${add ? "adds" : "removes"} a host`, o);
  }

  redact(by: string, target: string, ids: readonly Uint8Array[], o: Opts = {}): Made {
    return this.control(by, 10n, { m: this.key(target), r: sortedIds(ids) }, `${by} redacts ${target}'s entries`, o);
  }

  session(
    by: string,
    v: { replaces?: Uint8Array | null; start: bigint; duration: bigint; tz?: string; recurrence?: ["daily" | "weekly", bigint] | null; retention?: bigint | null; cancelled?: boolean },
    o: Opts = {},
  ): Made {
    const fields = {
      s: v.replaces ?? null,
      st: v.start,
      du: v.duration,
      tz: v.tz ?? "Europe/London",
      rc: v.recurrence ?? null,
      rt: v.retention ?? null,
      x: v.cancelled ?? false,
      e: null,
    };
    return this.control(by, 12n, fields, `${by} ${v.replaces ? "updates" : "schedules"} a session`, o);
  }

  trust(by: string, issuer: Uint8Array, add: boolean, o: Opts = {}): Made {
    return this.control(by, 13n, { k: issuer, a: add }, `${by} ${add ? "trusts" : "stops trusting"} an issuer`, o);
  }

  erase(by: string, seq: bigint, o: Opts = {}): Made {
    return this.control(by, 11n, { s: seq }, `${by} erases up to ${seq}`, o);
  }

  close(by: string, inv: InviteHandle, o: Opts = {}): Made {
    return this.control(by, 14n, { i: inv.id }, `${by} closes an invite`, o);
  }

  /** The seq `name`'s next entry will have. */
  nextSeq(name: string): bigint {
    return this.person(name).seq + 1n;
  }

  /** A control entry with a payload made elsewhere (its `d` given, for the heads). */
  raw(by: string, kind: bigint, payload: Uint8Array, deps: readonly Uint8Array[], note: string): Made {
    return this.sign(by, kind, payload, note, kind < 16n ? deps : []);
  }

  /** A group message (its payload is not a real envelope: the rules never read it). */
  message(by: string): Made {
    return this.sign(by, 16n, new Uint8Array(0), `${by} writes`, []);
  }
}
