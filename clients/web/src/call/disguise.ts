/**
 * An on-device voice disguise (spec/protocol.md 17.11): a Web Audio graph between the microphone
 * and the peer connections that lowers (or raises) the pitch with a delay-line pitch shifter and
 * reshapes the timbre with filters, so the voice the others hear is not the member's own. Only the
 * disguised voice is ever encoded and sent: nobody downstream has the original to undo it.
 *
 * The shifter: two delay lines whose delay time ramps linearly over a period `T` (a looping ramp
 * buffer driving `delayTime`); a delay growing at rate `d/T` plays the input `1 - d/T` times as
 * fast, so the pitch is multiplied by `ratio = 1 - d/T`. Each ramp restarts every `T`, which would
 * click, so the two lines run half a period apart and cross-fade with sin² windows that sum to one.
 * Native nodes only (no AudioWorklet module: the node's pages allow scripts from the bundle alone).
 */

/** A disguise in place: `stream` carries the disguised voice; `stop` releases the graph. */
export interface Disguised {
  readonly stream: MediaStream;
  stop(): void;
}

export interface DisguiseOptions {
  /** Pitch ratio, 0.5..1.5 without 1 (0.8: about four semitones lower). */
  readonly ratio?: number;
  /** Ramp period in seconds (longer: smoother, more echo). */
  readonly period?: number;
}

function ramp(ctx: BaseAudioContext, period: number, rising: boolean): AudioBuffer {
  const n = Math.max(2, Math.round(period * ctx.sampleRate));
  const buffer = ctx.createBuffer(1, n, ctx.sampleRate);
  const data = buffer.getChannelData(0);
  for (let i = 0; i < n; i++) data[i] = rising ? i / n : 1 - i / n;
  return buffer;
}

function window(ctx: BaseAudioContext, period: number): AudioBuffer {
  const n = Math.max(2, Math.round(period * ctx.sampleRate));
  const buffer = ctx.createBuffer(1, n, ctx.sampleRate);
  const data = buffer.getChannelData(0);
  for (let i = 0; i < n; i++) data[i] = Math.sin((Math.PI * i) / n) ** 2;
  return buffer;
}

/** Builds the graph `input → shifter → filters → output` in `ctx`; returns its ends and sources. */
export function disguiseGraph(
  ctx: BaseAudioContext,
  options: DisguiseOptions = {},
): { input: AudioNode; output: AudioNode; sources: AudioScheduledSourceNode[] } {
  const ratio = options.ratio ?? 0.8;
  if (!(ratio >= 0.5 && ratio <= 1.5) || ratio === 1) throw new RangeError("the pitch ratio is 0.5..1.5, not 1");
  const period = options.period ?? 0.1;
  const depth = Math.abs(1 - ratio) * period; // seconds of delay swept over each period
  const input = ctx.createGain();
  const shifted = ctx.createGain();
  const sources: AudioScheduledSourceNode[] = [];
  const start = ctx.currentTime + 0.05;
  for (const offset of [0, period / 2]) {
    const delay = ctx.createDelay(1);
    delay.delayTime.value = 0.01; // a floor: the ramp adds 0..depth on top
    const modulator = ctx.createBufferSource();
    modulator.buffer = ramp(ctx, period, ratio < 1);
    modulator.loop = true;
    const sweep = ctx.createGain();
    sweep.gain.value = depth;
    modulator.connect(sweep).connect(delay.delayTime);
    const fader = ctx.createBufferSource();
    fader.buffer = window(ctx, period);
    fader.loop = true;
    const mix = ctx.createGain();
    mix.gain.value = 0; // the window drives it
    fader.connect(mix.gain);
    input.connect(delay).connect(mix).connect(shifted);
    modulator.start(start, offset);
    fader.start(start, offset);
    sources.push(modulator, fader);
  }
  // Timbre: less chest, a brighter nasal band; then a ceiling so the shift's artefacts stay soft.
  const low = ctx.createBiquadFilter();
  low.type = "lowshelf";
  low.frequency.value = 300;
  low.gain.value = -8;
  const band = ctx.createBiquadFilter();
  band.type = "peaking";
  band.frequency.value = 1800;
  band.Q.value = 1.2;
  band.gain.value = 6;
  const ceiling = ctx.createBiquadFilter();
  ceiling.type = "lowpass";
  ceiling.frequency.value = 6000;
  shifted.connect(low).connect(band).connect(ceiling);
  return { input, output: ceiling, sources };
}

/** The microphone `stream` disguised, as a new stream for the peer connections. */
export function disguise(ctx: AudioContext, stream: MediaStream, options: DisguiseOptions = {}): Disguised {
  const source = ctx.createMediaStreamSource(stream);
  const graph = disguiseGraph(ctx, options);
  const out = ctx.createMediaStreamDestination();
  source.connect(graph.input);
  graph.output.connect(out);
  return {
    stream: out.stream,
    stop: () => {
      for (const s of graph.sources) s.stop();
      source.disconnect();
      graph.output.disconnect();
    },
  };
}
