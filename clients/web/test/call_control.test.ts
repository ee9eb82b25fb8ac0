import assert from "node:assert/strict";
import { test } from "node:test";
import { ascii, fromHex, toHex } from "../src/bytes.js";
import type { Content } from "../src/content.js";
import { H, publicKey, x25519PublicKey } from "../src/crypto.js";
import { GroupState } from "../src/group.js";
import type { ReadMessage } from "../src/support.js";
import { type CallEvent, CallMesh } from "../src/call/mesh.js";
import { sessionHolder, shownHolder } from "../src/call/piece.js";
import { openSignal, sealSignal, type SignalType } from "../src/call/signal.js";
import { Builder } from "./builder.js";
import { rng } from "./helpers.js";

// The call control of a mesh (spec 17.11), seen from bob: signals sealed to him by alice (a
// facilitator), carol and dan (members). No link is opened: control needs no RTCPeerConnection.

interface Person {
  seed: Uint8Array;
  key: Uint8Array;
  hex: string;
  xSecret: Uint8Array;
  x: Uint8Array;
}

function person(name: string): Person {
  const seed = H(ascii(`seed:${name}`));
  const xSecret = H(ascii(`x:${name}`));
  const key = publicKey(seed);
  return { seed, key, hex: toHex(key), xSecret, x: x25519PublicKey(xSecret) };
}

const GROUP = H(ascii("a group for calls"));
const CALL = H(ascii("a call")).slice(0, 16);
const NOW = 1_764_000_000_000n;
const [alice, bob, carol, dan] = ["alice", "bob", "carol", "dan"].map(person) as [Person, Person, Person, Person];
const ROLES = new Map([[alice.hex, "facilitator"], [bob.hex, "member"], [carol.hex, "member"], [dan.hex, "member"]]);

class FakeTrack {
  enabled = true;
  readonly kind = "audio";
}

function bobsMesh(): { mesh: CallMesh; track: FakeTrack; events: CallEvent[]; sent: string[]; boxes: [string, Uint8Array][] } {
  const track = new FakeTrack();
  const media = { getTracks: () => [track], getAudioTracks: () => [track], getVideoTracks: () => [] } as unknown as MediaStream;
  const sent: string[] = [];
  const boxes: [string, Uint8Array][] = [];
  const mesh = new CallMesh({
    group: GROUP,
    seed: bob.seed,
    x25519Secret: bob.xSecret,
    call: CALL,
    media,
    iceServers: [],
    nowMs: () => NOW,
    signaller: {
      send: async (to, box) => {
        sent.push(toHex(to));
        boxes.push([toHex(to), box]);
        return 1;
      },
    },
  });
  mesh.setMembers(new Map([alice, bob, carol, dan].map((p) => [p.hex, p.x])), ROLES);
  const events: CallEvent[] = [];
  mesh.onEvent = (e) => events.push(e);
  return { mesh, track, events, sent, boxes };
}

async function from(mesh: CallMesh, sender: Person, type: SignalType, data = ""): Promise<void> {
  const box = sealSignal(sender.seed, GROUP, bob.key, bob.x, { call: CALL, type, data, timeMs: NOW });
  await mesh.receive(sender.key, box);
}

test("only a facilitator's mute-request mutes; the member's is refused with its code", async () => {
  const { mesh, track, events } = bobsMesh();
  await mesh.join();
  await from(mesh, carol, "mute-request");
  assert.equal(mesh.muted, false);
  assert.ok(track.enabled);
  assert.deepEqual(mesh.refusals, ["call.not_facilitator"]);
  await from(mesh, alice, "mute-request");
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(mesh.muted, true);
  assert.equal(track.enabled, false);
  assert.deepEqual(events.map((e) => [e.kind, e.by]), [["mute-request", alice.hex]]);
});

test("hands go up in arrival order, the piece's holder's hand comes down, a member cannot give the piece", async () => {
  const { mesh } = bobsMesh();
  await mesh.join();
  await from(mesh, dan, "hand", "up");
  await from(mesh, carol, "hand", "up");
  await from(mesh, dan, "hand", "up"); // again: keeps its place
  assert.deepEqual(mesh.hands, [dan.hex, carol.hex]);
  await from(mesh, carol, "piece", dan.hex);
  assert.equal(mesh.holder, null);
  await from(mesh, alice, "piece", dan.hex);
  assert.equal(mesh.holder, dan.hex);
  assert.deepEqual(mesh.hands, [carol.hex]);
  await from(mesh, alice, "piece", "");
  assert.equal(mesh.holder, null);
  await from(mesh, carol, "leave");
  assert.deepEqual(mesh.hands, []);
});

test("a removed member is dropped and its signals ignored until bob leaves; a removal of bob ends his call", async () => {
  const { mesh, events, sent } = bobsMesh();
  await mesh.join();
  await from(mesh, carol, "hand", "up");
  await from(mesh, dan, "remove", carol.hex); // a member cannot
  assert.ok(mesh.inCall().includes(carol.hex));
  await from(mesh, alice, "remove", carol.hex);
  assert.ok(!mesh.inCall().includes(carol.hex) && mesh.barred.has(carol.hex));
  assert.deepEqual(mesh.hands, []);
  await from(mesh, carol, "hand", "up");
  await from(mesh, carol, "join");
  assert.deepEqual(mesh.hands, []);
  assert.ok(!mesh.inCall().includes(carol.hex));
  sent.length = 0;
  await mesh.repair(0);
  await mesh.repair(1e9);
  assert.ok(!sent.includes(carol.hex), "bob never sets up a link with a removed member");
  await from(mesh, alice, "remove", bob.hex);
  assert.equal(mesh.isJoined, false);
  assert.deepEqual(events.map((e) => e.kind), ["hand", "removed", "removed-me"]);
});

test("a member's own screen cannot send control: askAllToMute, givePiece and removeFromCall throw call.not_facilitator", async () => {
  const { mesh, sent } = bobsMesh();
  await mesh.join();
  sent.length = 0;
  for (const act of [() => mesh.askAllToMute(), () => mesh.givePiece(null), () => mesh.removeFromCall(carol.hex)])
    await assert.rejects(act, (e: unknown) => (e as { code?: string }).code === "call.not_facilitator");
  assert.deepEqual(sent, []);
});

test("random sequences of control signals: the mesh keeps to a model of the 17.11 table", async () => {
  const others = [alice, carol, dan];
  const random = rng(22);
  for (let round = 0; round < 30; round++) {
    const { mesh } = bobsMesh();
    await mesh.join();
    const model = { hands: [] as string[], holder: null as string | null, muted: false, barred: new Set<string>(), joined: true };
    for (let step = 0; step < 12 && model.joined; step++) {
      const sender = others[Math.floor(random() * others.length)]!;
      const target = [alice, bob, carol, dan][Math.floor(random() * 4)]!;
      const pick = Math.floor(random() * 5);
      const type: SignalType = (["hand", "hand", "mute-request", "piece", "remove"] as const)[pick]!;
      const data = type === "hand" ? (random() < 0.6 ? "up" : "down") : type === "mute-request" ? "" : type === "piece" && random() < 0.2 ? "" : target.hex;
      await from(mesh, sender, type, data);
      // the model: the rules of 17.11, written out again
      const s = sender.hex;
      if (model.barred.has(s)) continue;
      const facilitator = ROLES.get(s) === "facilitator";
      if (type === "hand") {
        const at = model.hands.indexOf(s);
        if (data === "up" && at < 0) model.hands.push(s);
        if (data === "down" && at >= 0) model.hands.splice(at, 1);
      } else if (!facilitator) continue;
      else if (type === "mute-request") model.muted = true;
      else if (type === "piece") {
        model.holder = data === "" ? null : data;
        if (data !== "") model.hands = model.hands.filter((h) => h !== data);
      } else if (type === "remove" && data === bob.hex) model.joined = false;
      else if (type === "remove") {
        model.barred.add(data);
        model.hands = model.hands.filter((h) => h !== data);
        if (model.holder === data) model.holder = null;
      }
      await new Promise((r) => setTimeout(r, 0));
      assert.deepEqual(mesh.hands, model.hands, `round ${round} step ${step}`);
      assert.equal(mesh.holder, model.holder);
      assert.equal(mesh.muted, model.muted);
      assert.deepEqual([...mesh.barred].sort(), [...model.barred].sort());
    }
    assert.equal(mesh.isJoined, model.joined);
  }
});

test("the session's talking piece, while an occurrence is under way, is shown before the call's", () => {
  const b = new Builder("circle");
  b.join("ana", b.invite("founder"));
  b.join("cy", b.invite("founder", { role: "facilitator" }));
  const start = 1_760_000_000_000n;
  const hour = 3_600_000n;
  b.session("founder", { start, duration: hour, tz: "UTC", recurrence: ["weekly", 2n] });
  const g = new GroupState(b.groupId);
  for (const m of b.made) g.add(m.entry, m.payload);
  const [session] = [...g.state.sessions.keys()];
  const read: ReadMessage[] = [];
  const post = (by: string, content: Content): void => void read.push({ entry: b.message(by).entry, content, direct: false });
  const during = Number(start + hour / 2n);
  const week = 7 * 86_400_000;
  assert.equal(sessionHolder(g, read, during), undefined, "no turn yet: the call's own piece is shown");
  assert.equal(shownHolder(sessionHolder(g, read, during), "ca11"), "ca11");
  post("cy", { t: "turn", s: fromHex(session!), o: 0n, h: b.key("ana") });
  post("ana", { t: "turn", s: fromHex(session!), o: 0n, h: null }); // not a facilitator
  assert.equal(sessionHolder(g, read, during), toHex(b.key("ana")));
  assert.equal(shownHolder(sessionHolder(g, read, during), "ca11"), toHex(b.key("ana")));
  assert.equal(sessionHolder(g, read, Number(start + hour)), undefined, "the occurrence has ended");
  assert.equal(sessionHolder(g, read, during + week), undefined, "the next occurrence has no turn");
  post("founder", { t: "turn", s: fromHex(session!), o: 1n, h: null });
  assert.equal(sessionHolder(g, read, during + week), null, "the circle is open");
  assert.equal(shownHolder(null, "ca11"), null);
});

test("a member who joins late is told the raised hands and, by a facilitator, the piece", async () => {
  const { mesh, boxes } = bobsMesh();
  mesh.setMembers(new Map([alice, bob, carol, dan].map((p) => [p.hex, p.x])), new Map([...ROLES, [bob.hex, "facilitator"]]));
  await mesh.join();
  await mesh.raiseHand(true);
  await mesh.givePiece(alice.hex);
  boxes.length = 0;
  await from(mesh, carol, "join");
  await new Promise((r) => setTimeout(r, 10));
  const toCarol = boxes
    .filter(([to]) => to === carol.hex)
    .map(([, box]) => openSignal(carol.xSecret, GROUP, bob.key, carol.key, box, NOW))
    .filter((sig) => sig.type !== "join" && sig.type !== "offer");
  assert.deepEqual(toCarol.map((sig) => [sig.type, sig.data]), [["hand", "up"], ["piece", alice.hex]]);
  boxes.length = 0;
  await from(mesh, carol, "join"); // already in the call: nothing again
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(boxes.filter(([to]) => to === carol.hex).map(([, b]) => openSignal(carol.xSecret, GROUP, bob.key, carol.key, b, NOW).type).filter((t) => t === "hand" || t === "piece"), []);
});
