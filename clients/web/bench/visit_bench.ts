/**
 * A later visit to a group (device_log.ts): what it asks the node for and what it costs, against the
 * first visit measured in the same run (no timed assertion anywhere). A member joins a group whose
 * founder then writes N messages; the first visit fetches and keeps everything, the second reads it
 * from the device (in memory here: IndexedDB costs more per record) and fetches only what is new.
 *
 * Run: `npm run bench`.
 */
import type { CborMap, CborValue } from "../src/cbor.js";
import { encodeContent } from "../src/content.js";
import { CONTROL_KIND, MESSAGE_KIND } from "../src/control.js";
import { GroupClient } from "../src/group_client.js";
import { encodeInviteToken, parseInvite } from "../src/invite.js";
import { buildRekey } from "../src/keyring.js";
import { KeyStore } from "../src/keystore.js";
import { Conversation, type NodeLink, Participant } from "../src/participant.js";
import { MemoryStorage } from "../src/storage.js";
import { Builder } from "../test/builder.js";

const NODE = "holdspace://hsn1enwdnkqh8asn4lagu3dqtyk4n9l9fhevgccqsg6fe24hvlql4nmsqtyqzj@127.0.0.1:4433";
type Item = [bigint, Uint8Array, Uint8Array | null];

/** A node in memory: stores, fetches in pages of at most `limit`, counts the entries it sends. */
class Node implements NodeLink {
  readonly items: Item[] = [];
  sent = 0;
  async authenticate(): Promise<void> {}
  add(header: Uint8Array, payload: Uint8Array | null): void {
    this.items.push([BigInt(this.items.length + 1), header, payload]);
  }
  async request(op: string, f: CborMap): Promise<CborMap> {
    if (op === "publish") {
      this.add(f.get("e") as Uint8Array, f.get("b") as Uint8Array);
      return new Map<string, CborValue>([["c", BigInt(this.items.length)]]);
    }
    const after = f.get("after") as bigint;
    const limit = Number(f.get("limit"));
    const page = this.items.filter(([c]) => c > after).slice(0, limit);
    this.sent += page.length;
    const more = this.items.length > 0 && page.at(-1)?.[0] !== this.items.at(-1)![0];
    return new Map<string, CborValue>([["entries", page], ["next", page.at(-1)?.[0] ?? after], ["more", more && page.length > 0]]);
  }
  subscribe(): { id: bigint; done: Promise<CborMap> } {
    return { id: 1n, done: new Promise(() => undefined) };
  }
}

async function run(n: number): Promise<void> {
  const b = new Builder("visit");
  const inv = b.invite("founder");
  const node = new Node();
  for (const m of b.made) node.add(m.entry.bytes, m.payload);
  let now = 1_764_000_100_000;
  const clock = (): number => (now += 1000);
  const storage = new MemoryStorage();
  const keys = new KeyStore(storage, { ops: 1, mem: 8192 });
  const me = await Participant.create(keys, storage, "a passphrase", NODE, clock);
  const link = parseInvite(encodeInviteToken({ groupId: b.groupId, inviteId: inv.id, seed: inv.seed, nodes: [NODE] }));
  await me.join(node, link.token, true);
  const founder = b.person("founder").p;
  const fay = new GroupClient(b.groupId, founder.ed25519Public, [founder.x25519Secret]);
  for (const [, h, p] of node.items) fay.receive(h, p);
  const { payload } = buildRekey(fay.state, fay.self);
  const rk = b.raw("founder", CONTROL_KIND.rekey, payload, fay.state.headIds(), "rekey");
  node.add(rk.entry.bytes, rk.payload);
  fay.receive(rk.entry.bytes, rk.payload);
  for (let i = 0; i < n; i++) {
    const at = { groupId: b.groupId, author: fay.self, seq: b.nextSeq("founder") };
    const m = b.raw("founder", MESSAGE_KIND, fay.ring.seal(fay.state, at, encodeContent({ t: "text", b: `message ${i} `.padEnd(200, ".") })), [], "message");
    node.add(m.entry.bytes, m.payload);
  }
  const visit = async (): Promise<{ ms: number; fetched: number; shown: number }> => {
    const before = node.sent;
    const t0 = performance.now();
    const again = await Participant.unlock(keys, storage, "a passphrase", clock);
    const conv = new Conversation(again, again.profile.groups[0]!);
    await conv.connect(node);
    const ms = performance.now() - t0;
    await conv.kept();
    return { ms, fetched: node.sent - before, shown: conv.view().messages.length };
  };
  const first = await visit();
  const second = await visit();
  console.log(`  ${n} messages: first visit ${first.ms.toFixed(0)} ms, ${first.fetched} entries fetched; second visit ${second.ms.toFixed(0)} ms, ${second.fetched} fetched (${second.shown} shown): time ratio second/first ${(second.ms / first.ms).toFixed(2)}x`);
}

console.log("a later visit to a group (device history in memory; Argon2id at its cheapest):");
for (const n of [200, 2000]) await run(n);
