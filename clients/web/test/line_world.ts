/**
 * What the private line's and the credentials' Node tests share: Fay's group (founded with the test
 * Builder, as a Python client would) on a fake node, and a browser person joined by an invite with a
 * role, both holding the group's keys.
 */
import { CONTROL_KIND } from "../src/control.js";
import { GroupClient } from "../src/group_client.js";
import { encodeInviteToken, parseInvite } from "../src/invite.js";
import { buildRekey } from "../src/keyring.js";
import { KeyStore } from "../src/keystore.js";
import { Conversation, Participant } from "../src/participant.js";
import { PrivateLine } from "../src/private_line.js";
import { MemoryStorage } from "../src/storage.js";
import { Builder } from "./builder.js";
import { CHEAP, FakeNode, NODE, PASS, tick } from "./group_world.js";

export interface Line {
  node: FakeNode;
  b: Builder;
  fay: GroupClient;
  conv: Conversation;
  line: PrivateLine;
  seen: { n: number };
  now: { ms: number };
}

export function catchUp(w: Line): void {
  for (const [, h, p] of w.node.items.slice(w.seen.n)) w.fay.receive(h, p);
  w.seen.n = w.node.items.length;
}

/** Fay's group (she founded it, a facilitator) on a fake node, and a browser person joined by an
 * invite with `role`; Fay rekeys to it, so both hold the group's keys. */
export async function joined(role: string): Promise<Line> {
  const b = new Builder(`private-${role}`);
  const inv = b.invite("founder", { role });
  const node = new FakeNode();
  for (const m of b.made) node.add(m.entry.bytes, m.payload);
  const founder = b.person("founder").p;
  const fay = new GroupClient(b.groupId, founder.ed25519Public, [founder.x25519Secret]);
  const token = parseInvite(encodeInviteToken({ groupId: b.groupId, inviteId: inv.id, seed: inv.seed, nodes: [NODE] })).token;
  const now = { ms: 1_764_000_100_000 };
  const storage = new MemoryStorage();
  const me = await Participant.create(new KeyStore(storage, CHEAP), storage, PASS, NODE, () => (now.ms += 1000));
  const conv = new Conversation(me, await me.join(node, token, true));
  await conv.connect(node);
  const w: Line = { node, b, fay, conv, line: new PrivateLine(conv), seen: { n: 0 }, now };
  catchUp(w);
  const rekey = b.raw("founder", CONTROL_KIND.rekey, buildRekey(fay.state, fay.self).payload, fay.state.headIds(), "rekey");
  node.add(rekey.entry.bytes, rekey.payload);
  catchUp(w);
  await tick();
  return w;
}

