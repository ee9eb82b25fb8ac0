/**
 * The call as tests and benchmarks drive it (`tests/web/test_browser_call.py`,
 * `benchmarks/call_bench.py`): a bundle of its own, not part of the participant's page. A page
 * gets a member's keys from the test (never through the UI), joins, and reports WebRTC statistics,
 * which members it is linked with and dropped, the codes the node refused, and the spectrum of
 * what it receives.
 */
import { fromHex, toHex } from "../bytes.js";
import { fetchEndpoints, openChannel } from "../transport.js";
import { NodeClient } from "../transport_client.js";
import { parseNodeAddress } from "../address.js";
import { CallScreen } from "../ui/call.js";
import { CallRoom } from "./room.js";

export interface MemberKeys {
  readonly seedHex: string;
  readonly xHex: string;
  readonly groupHex: string;
  readonly callHex: string;
  readonly disguise: boolean;
}

export interface PairStats {
  bytes: number;
  packets: number;
  state: string;
}

export class MemberHook {
  joinedAt = 0;
  /** ms from `join` to the first inbound audio packet, per member (hex). */
  readonly firstAudio = new Map<string, number>();
  private polling: ReturnType<typeof setInterval> | null = null;

  constructor(readonly room: CallRoom) {}

  async join(): Promise<string[]> {
    this.joinedAt = performance.now();
    const refused = await this.room.join();
    if (this.polling === null) this.polling = setInterval(() => void this.noteFirstAudio(), 50);
    return refused;
  }

  private async noteFirstAudio(): Promise<void> {
    for (const [hex, s] of Object.entries(await this.stats()))
      if (s.packets > 0 && !this.firstAudio.has(hex)) this.firstAudio.set(hex, performance.now() - this.joinedAt);
  }

  /** Inbound audio bytes and packets, and the connection state, per linked member. */
  async stats(): Promise<Record<string, PairStats>> {
    const out: Record<string, PairStats> = {};
    for (const [hex, link] of this.room.mesh?.links ?? []) {
      let bytes = 0;
      let packets = 0;
      (await link.pc.getStats()).forEach((r: { type?: string; kind?: string; bytesReceived?: number; packetsReceived?: number }) => {
        if (r.type === "inbound-rtp" && r.kind === "audio") {
          bytes += r.bytesReceived ?? 0;
          packets += r.packetsReceived ?? 0;
        }
      });
      out[hex] = { bytes, packets, state: link.pc.connectionState };
    }
    return out;
  }

  /** Audio bytes this member has sent over every link (its upstream), and when (ms, page clock). */
  async sent(): Promise<{ bytes: number; atMs: number }> {
    let bytes = 0;
    for (const link of this.room.mesh?.links.values() ?? [])
      (await link.pc.getStats()).forEach((r: { type?: string; kind?: string; bytesSent?: number }) => {
        if (r.type === "outbound-rtp" && r.kind === "audio") bytes += r.bytesSent ?? 0;
      });
    return { bytes, atMs: performance.now() };
  }

  /** Whether each link's audio sender carries a track (false while muted: nothing is sent). */
  sending(): boolean[] {
    const out: boolean[] = [];
    for (const link of this.room.mesh?.links.values() ?? [])
      for (const t of link.pc.getTransceivers()) if (t.receiver.track.kind === "audio") out.push(t.sender.track !== null && t.sender.track.enabled);
    return out;
  }

  muted(): boolean {
    return this.room.mesh?.muted ?? false;
  }

  hands(): string[] {
    return [...(this.room.mesh?.hands ?? [])];
  }

  linked(): string[] {
    return [...(this.room.mesh?.links.keys() ?? [])];
  }

  dropped(): string[] {
    return [...(this.room.mesh?.dropped ?? [])];
  }

  unreachable(): string[] {
    return this.room.mesh?.unreachable() ?? [];
  }

  refusals(): string[] {
    return [...(this.room.mesh?.refusals ?? [])];
  }

  firstAudioMs(): Record<string, number> {
    return Object.fromEntries(this.firstAudio);
  }

  /** The average magnitude spectrum (dB per bin, `fftSize` 2048) of what member `hex` sends here,
   * over `ms`, with the bin width in Hz. */
  async spectrum(hex: string, ms = 1500): Promise<{ db: number[]; binHz: number }> {
    const stream = this.room.mesh?.links.get(hex)?.remote;
    if (stream === null || stream === undefined) throw new Error(`no media from ${hex}`);
    const element = new Audio(); // Chromium feeds a remote track to Web Audio only while it plays
    element.srcObject = stream;
    element.muted = true;
    await element.play().catch(() => undefined);
    const ctx = new AudioContext();
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 2048;
    ctx.createMediaStreamSource(stream).connect(analyser);
    const sum = new Float64Array(analyser.frequencyBinCount);
    const frame = new Float32Array(analyser.frequencyBinCount);
    let frames = 0;
    const end = performance.now() + ms;
    while (performance.now() < end) {
      await new Promise((r) => setTimeout(r, 40));
      analyser.getFloatFrequencyData(frame);
      for (let i = 0; i < frame.length; i++) sum[i]! += Math.max(frame[i]!, -160);
      frames++;
    }
    const binHz = ctx.sampleRate / analyser.fftSize;
    await ctx.close();
    element.srcObject = null;
    return { db: [...sum].map((x) => x / Math.max(frames, 1)), binHz };
  }
}

/** Connects to the page's node, authenticates the member, reads the group and listens for signals. */
export async function startMember(keys: MemberKeys, forceWebSocket = true): Promise<MemberHook> {
  const endpoints = await fetchEndpoints();
  const client = new NodeClient(await openChannel(endpoints, { timeoutMs: 15_000, forceWebSocket }));
  await client.greet(parseNodeAddress(endpoints.address).nodeKey);
  const seed = fromHex(keys.seedHex);
  await client.authenticate(seed);
  const room = new CallRoom(client, {
    group: fromHex(keys.groupHex),
    seed,
    x25519Secret: fromHex(keys.xHex),
    call: fromHex(keys.callHex),
    disguise: keys.disguise ? { ratio: 0.7 } : null,
  });
  await room.open();
  return new MemberHook(room);
}

export { toHex };

/** `startMember`, then the call screen of the member's room in the page's `main` (tests drive the
 * screen as a person would; the keys come from the test, never through the UI). */
export async function startScreen(keys: MemberKeys): Promise<{ hook: MemberHook; screen: CallScreen }> {
  const hook = await startMember(keys);
  const main = document.querySelector("main");
  if (main === null) throw new Error("the page has no main");
  return { hook, screen: new CallScreen(document, main, hook.room) };
}
