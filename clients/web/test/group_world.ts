/**
 * What the browser client's Node tests of a group share: a node in memory, a group founded by Fay
 * (a Python-like founder built with the test Builder), her writing to it, and a browser person
 * joining by an invite.
 */
import type { CborMap, CborValue } from "../src/cbor.js";
import { equalBytes, toHex } from "../src/bytes.js";
import { type Content, encodeContent } from "../src/content.js";
import { CONTROL_KIND, MESSAGE_KIND } from "../src/control.js";
import { decodeEntry, groupOf } from "../src/entry.js";
import { HoldspaceError } from "../src/errors.js";
import { GroupClient } from "../src/group_client.js";
import { parseInvite } from "../src/invite.js";
import { buildRekey } from "../src/keyring.js";
import { KeyStore } from "../src/keystore.js";
import { Conversation, type NodeLink, Participant } from "../src/participant.js";
import { MemoryStorage } from "../src/storage.js";
import { Builder } from "./builder.js";

export const NODE = "holdspace://hsn1enwdnkqh8asn4lagu3dqtyk4n9l9fhevgccqsg6fe24hvlql4nmsqtyqzj@127.0.0.1:4433";
export const ORIGIN = "https://127.0.0.1:8443";
export const CHEAP = { ops: 1, mem: 8192 };
export const PASS = "a quiet harbour at dawn";

export type Item = [bigint, Uint8Array, Uint8Array | null];

/** A node in memory: stores what is published (a duplicate answers cursor 0), fetches, subscribes,
 * each by group (`mixed`: a node that sends every group's entries to every fetch and subscription);
 * `refuse` makes the next publish fail with that code; `token`: a node whose operator lets people
 * start groups only with that token (14.6, once each), its admission checked on a genesis, with
 * every `token` sent kept in `tokensSeen` (null: a request without one). */
export class FakeNode implements NodeLink {
  readonly items: Item[] = [];
  private readonly listeners: { group: string; on: (ev: string, f: CborMap) => void }[] = [];
  mixed = false;
  refuse: string | null = null;
  token: Uint8Array | null = null;
  tokenUsed = false;
  readonly tokensSeen: (Uint8Array | null)[] = [];

  async authenticate(): Promise<void> {}

  closePage(): void {
    this.listeners.length = 0;
  }

  add(header: Uint8Array, payload: Uint8Array | null): bigint {
    const id = decodeEntry(header, payload).id;
    if (this.items.some(([, h]) => equalBytes(decodeEntry(h).id, id))) return 0n;
    const item: Item = [BigInt(this.items.length + 1), header, payload];
    this.items.push(item);
    const group = toHex(groupOf(decodeEntry(header, payload)));
    setTimeout(() => {
      for (const l of this.listeners) if (this.mixed || l.group === group) l.on("entries", new Map<string, CborValue>([["entries", [item]], ["next", item[0]]]));
    }, 0);
    return item[0];
  }

  private inGroup(group: Uint8Array): (item: Item) => boolean {
    return ([, h, p]) => this.mixed || equalBytes(groupOf(decodeEntry(h, p)), group);
  }

  async request(op: string, f: CborMap): Promise<CborMap> {
    if ((op === "publish" || op === "adopt") && this.refuse !== null) {
      const code = this.refuse;
      this.refuse = null;
      throw new HoldspaceError(code, "refused by the test's node");
    }
    if (op === "publish" || op === "adopt") {
      const sent = f.get("token");
      this.tokensSeen.push(sent instanceof Uint8Array ? sent : null);
      if (this.token !== null && decodeEntry(f.get("e") as Uint8Array).header.k === CONTROL_KIND.genesis) {
        if (!(sent instanceof Uint8Array)) throw new HoldspaceError("admission.token_required", "a token is required");
        if (!equalBytes(sent, this.token)) throw new HoldspaceError("admission.bad_token", "not a token of this node");
        if (this.tokenUsed) throw new HoldspaceError("admission.token_used_up", "the token was used");
        this.tokenUsed = true;
      }
    }
    if (op === "publish" || op === "adopt") return new Map<string, CborValue>([["c", this.add(f.get("e") as Uint8Array, f.get("b") as Uint8Array)]]);
    if (op === "fetch") {
      const after = f.get("after") as bigint;
      const items = this.items.filter(([c]) => c > after).filter(this.inGroup(f.get("g") as Uint8Array));
      return new Map<string, CborValue>([["entries", items], ["next", items.at(-1)?.[0] ?? after], ["more", false]]);
    }
    throw new Error(`the fake node has no ${op}`);
  }

  subscribe(g: Uint8Array, _after: bigint, onEvent: (ev: string, f: CborMap) => void): { id: bigint; done: Promise<CborMap> } {
    this.listeners.push({ group: toHex(g), on: onEvent });
    return { id: 1n, done: new Promise(() => undefined) };
  }

  by(author: Uint8Array): { kind: bigint; id: Uint8Array }[] {
    return this.items.map(([, h, p]) => decodeEntry(h, p)).filter((e) => equalBytes(e.header.a, author)).map((e) => ({ kind: e.header.k, id: e.id }));
  }
}

export const tick = async (): Promise<void> => {
  for (let i = 0; i < 8; i++) await new Promise((r) => setTimeout(r, 0));
};

export interface World {
  node: FakeNode;
  b: Builder;
  fay: GroupClient;
  seen: { n: number };
  now: { ms: number };
  clock: () => number;
}

export interface Joined {
  me: Participant;
  conv: Conversation;
  storage: MemoryStorage;
}

/** A group founded by Fay, with nothing in it yet; `label` seeds the builder's keys; `node`: the
 * node it is on (a new one unless given: two worlds on one node are two groups there). */
export function world(label: string, node: FakeNode = new FakeNode()): World {
  const b = new Builder(label);
  const founder = b.person("founder").p;
  const now = { ms: 1_764_000_100_000 };
  return { node, b, fay: new GroupClient(b.groupId, founder.ed25519Public, [founder.x25519Secret]), seen: { n: 0 }, now, clock: () => (now.ms += 1000) };
}

/** Fay reads what the node received since she last looked. */
export function catchUp(w: World): void {
  for (const [, h, p] of w.node.items.slice(w.seen.n)) if (equalBytes(groupOf(decodeEntry(h, p)), w.b.groupId)) w.fay.receive(h, p);
  w.seen.n = w.node.items.length;
}

/** Fay rekeys to the current members if she must, then writes `content` to the group. */
export function fayWrites(w: World, content: Content): Uint8Array {
  catchUp(w);
  const g = w.fay.state;
  if (!w.fay.ring.canSend(g)) {
    const m = w.b.raw("founder", CONTROL_KIND.rekey, buildRekey(g, w.fay.self).payload, g.headIds(), "rekey");
    w.node.add(m.entry.bytes, m.payload);
    catchUp(w);
  }
  const at = { groupId: w.b.groupId, author: w.fay.self, seq: w.b.nextSeq("founder") };
  const m = w.b.raw("founder", MESSAGE_KIND, w.fay.ring.seal(w.fay.state, at, encodeContent(content)), [], "message");
  w.node.add(m.entry.bytes, m.payload);
  return m.entry.id;
}

/** A new browser person (identity, storage) who joins by `token` and connects to the node. */
export async function joinBy(w: World, token: string): Promise<Joined> {
  const storage = new MemoryStorage();
  const me = await Participant.create(new KeyStore(storage, CHEAP), storage, PASS, NODE, w.clock);
  const record = await me.join(w.node, parseInvite(token).token, true);
  const conv = new Conversation(me, record);
  await conv.connect(w.node);
  return { me, conv, storage };
}
