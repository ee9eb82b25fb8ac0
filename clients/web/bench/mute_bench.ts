/**
 * The governing mute of a message (12.6) found by the index of cuts (`GroupStateData.governing`,
 * O(log mutes)) against the rule as written, a scan of every mute of the author (what `group.ts`
 * did before), for an author muted and unmuted many times. Reported as a ratio against the scan
 * measured in the same run (no timed assertion anywhere); both give the same answers (checked).
 *
 * Run: `npm run bench`.
 */
import { GroupStateData, type MuteState } from "../src/group_rules.js";

function time(f: () => void): number {
  const t0 = performance.now();
  f();
  return performance.now() - t0;
}

function scan(applied: readonly MuteState[], seq: bigint): MuteState | null {
  let best: MuteState | null = null;
  for (const m of applied) if (m.cut < seq && (best === null || m.cut >= best.cut)) best = m;
  return best;
}

for (const mutes of [10, 100, 1000]) {
  const s = new GroupStateData();
  const applied: MuteState[] = [];
  for (let i = 0; i < mutes; i++) {
    const m = { slot: i, cut: BigInt(i * 3), until: BigInt(i % 2 === 0 ? 2_000_000_000_000 : 0) };
    s.addMute("a", m);
    applied.push(m);
  }
  const lookups = 200_000;
  const seqs = Array.from({ length: lookups }, (_, i) => BigInt((i * 7919) % (mutes * 3 + 5)));
  for (const q of seqs.slice(0, 1000)) if (s.governing("a", q) !== scan(applied, q)) throw new Error("the index and the rule disagree");
  let sink = 0;
  const baseline = time(() => {
    for (const q of seqs) sink += scan(applied, q) === null ? 0 : 1;
  });
  const indexed = time(() => {
    for (const q of seqs) sink += s.governing("a", q) === null ? 0 : 1;
  });
  console.log(
    `governing mute, ${mutes} mutes of one author: scan ${((baseline * 1000) / lookups).toFixed(3)} µs, index ${((indexed * 1000) / lookups).toFixed(3)} µs a message: ${(baseline / indexed).toFixed(1)}x faster (${sink > 0 ? "checked" : ""})`,
  );
}
