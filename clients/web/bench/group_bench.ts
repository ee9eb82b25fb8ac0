/**
 * Benchmarks of the browser client's group state and end-to-end encryption, each reported as a
 * ratio against a baseline measured in the same run (no timed assertion anywhere):
 *
 * - group state: applying a history's control entries one at a time (12.8: at the end of L) against
 *   computing the state afresh after each entry, as a client without the incremental path would;
 * - messages: sealing and opening a group message against one Ed25519 verification (what every
 *   received entry costs anyway).
 *
 * Run: `npm run bench` (entries are signed and verified once before timing starts).
 */
import { GroupState } from "../src/group.js";
import { decodeMessageEnvelope, ReceiverChains, sealMessage, SenderChain } from "../src/e2ee.js";
import { publicKey, sign, verify } from "../src/crypto.js";
import { Builder } from "../test/builder.js";

function time(f: () => void): number {
  const t0 = performance.now();
  f();
  return performance.now() - t0;
}

function history(members: number, rounds: number): Builder {
  const b = new Builder("bench");
  for (let i = 0; i < members; i++) b.join(`m${i}`, b.invite("founder"));
  for (let r = 0; r < rounds; r++) {
    b.settings("founder");
    b.role("founder", `m${r % members}`, r % 2 === 0 ? "moderator" : "member");
  }
  return b;
}

/** Per-entry cost of applying a history one entry at a time, and (if asked) afresh after each. */
function measure(n: number, withAfresh: boolean): { b: Builder; incremental: number; afresh: number | null } {
  const b = history(Math.floor(n / 4), Math.floor(n / 4));
  // Warm the verification memo, so both sides measure the state machine only.
  for (const m of b.made) new GroupState(b.groupId).add(m.entry, m.payload);
  const incremental = time(() => {
    const g = new GroupState(b.groupId);
    for (const m of b.made) g.add(m.entry, m.payload);
    if (g.stats.full !== 0) throw new Error("expected every entry at the end of L");
  }) / b.made.length;
  const afresh = !withAfresh
    ? null
    : time(() => {
        const g = new GroupState(b.groupId);
        for (const m of b.made) {
          g.add(m.entry, m.payload);
          g.recompute();
        }
      }) / b.made.length;
  return { b, incremental, afresh };
}

const n = Number(process.argv[2] ?? 120);
const small = measure(n, true);
const large = measure(4 * n, false);
console.log(`group state (ms per control entry):`);
console.log(`  ${small.b.made.length} entries: one at a time ${small.incremental.toFixed(3)}, afresh after each ${small.afresh!.toFixed(3)}: ratio ${(small.afresh! / small.incremental).toFixed(1)}x`);
console.log(`  ${large.b.made.length} entries: one at a time ${large.incremental.toFixed(3)}: ratio to ${small.b.made.length} entries ${(large.incremental / small.incremental).toFixed(2)}x (1x: independent of the group's size)`);
const b = small.b;
const groupId = b.groupId;
const author = publicKey(new Uint8Array(32).fill(2));
const epoch = new Uint8Array(32).fill(3);
const key = new Uint8Array(32).fill(4);
const plaintext = new Uint8Array(200).fill(7);
const count = 300;
const sender = new SenderChain(key, author);
const payloads: Uint8Array[] = [];
const sealMs = time(() => {
  for (let i = 0; i < count; i++) {
    const { index, key: mk } = sender.take();
    payloads.push(sealMessage(mk, { groupId, author, seq: BigInt(i + 2) }, epoch, index, plaintext));
  }
});
const chains = new ReceiverChains();
chains.addEpoch(epoch, key, [author]);
const openMs = time(() => {
  payloads.forEach((p, i) => chains.open({ groupId, author, seq: BigInt(i + 2) }, decodeMessageEnvelope(p)));
});
const seed = new Uint8Array(32).fill(9);
const sigs = Array.from({ length: 30 }, (_, i) => {
  const m = Uint8Array.of(i, 1, 2);
  return { m, s: sign(seed, m) };
});
const pk = publicKey(seed);
const verifyMs = time(() => {
  for (const { m, s } of sigs) verify(pk, m, s);
}) / sigs.length;
console.log(`messages (200-byte plaintext):`);
console.log(`  seal ${(sealMs / count).toFixed(3)} ms, open ${(openMs / count).toFixed(3)} ms, one Ed25519 verification ${verifyMs.toFixed(3)} ms`);
console.log(`  ratio verification / (seal + open): ${(verifyMs / ((sealMs + openMs) / count)).toFixed(1)}x`);
