/**
 * How loud each member of a call is, from WebRTC statistics (no audio graph, no permission): the
 * `audioLevel` (0..1) of the inbound audio of each link, and of this member's own audio source.
 * The call screen shows a member as speaking while its level was above `SPEAKING_LEVEL` within the
 * last `HOLD_MS` (so a word's gaps do not make the indicator flicker).
 */

/** Level (0..1) above which a member counts as speaking. */
export const SPEAKING_LEVEL = 0.02;
/** How long the indicator stays on after the level drops. */
export const HOLD_MS = 700;

interface AudioStats {
  type?: string;
  kind?: string;
  audioLevel?: number;
  packetsReceived?: number;
}

/** The inbound audio of `pc`: its level (0..1) and the packets received so far. */
export async function inboundAudio(pc: RTCPeerConnection): Promise<{ level: number; packets: number }> {
  let level = 0;
  let packets = 0;
  (await pc.getStats()).forEach((r: AudioStats) => {
    if (r.type === "inbound-rtp" && r.kind === "audio") {
      level = Math.max(level, r.audioLevel ?? 0);
      packets += r.packetsReceived ?? 0;
    }
  });
  return { level, packets };
}

/** The level (0..1) of this member's own audio as sent on `pc` (0 while muted). */
export async function outboundLevel(pc: RTCPeerConnection): Promise<number> {
  let level = 0;
  (await pc.getStats()).forEach((r: AudioStats) => {
    if (r.type === "media-source" && r.kind === "audio") level = Math.max(level, r.audioLevel ?? 0);
  });
  return level;
}

/** Speaking state per member: `note` a level sample, `speaking` reads it with the hold. */
export class SpeakingMeter {
  private readonly lastLoud = new Map<string, number>();

  note(who: string, level: number, nowMs: number): void {
    if (level > SPEAKING_LEVEL) this.lastLoud.set(who, nowMs);
  }

  speaking(who: string, nowMs: number): boolean {
    const t = this.lastLoud.get(who);
    return t !== undefined && nowMs - t <= HOLD_MS;
  }
}
