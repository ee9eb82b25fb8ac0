/**
 * Byte channels from the browser to its node (spec/protocol.md 15.8): WebTransport when the browser
 * has it and it connects, else a WebSocket over TLS. Either carries the bytes of the one session
 * stream (14.1) in each direction, in order; neither gives meaning to chunk boundaries, so the
 * caller splits messages itself (`MessageReader`).
 *
 * Invariants: a channel delivers the node's bytes in order, each chunk once; `read` returns null
 * only after the node ended the channel cleanly and every chunk was read; after `close`, or after
 * the channel failed, `write` rejects and `read` returns what was already received, then rejects
 * (or null for a clean end).
 */
import { fail } from "./errors.js";

export type ChannelKind = "webtransport" | "websocket";

/** An ordered, reliable byte channel to the node. */
export interface ByteChannel {
  readonly kind: ChannelKind;
  /** Writes `bytes` after everything written before; waits while too much is unsent. */
  write(bytes: Uint8Array): Promise<void>;
  /** The next chunk from the node, or null once the node ended the channel and all was read. */
  read(): Promise<Uint8Array | null>;
  /** Ends the channel at once (what is in flight is abandoned). */
  close(): void;
}

/** Where a node's web endpoint is, from its `/node.json` (15.8.3). */
export interface WebEndpoints {
  /** The node's address, `holdspace://<node id>@host:port`. */
  readonly address: string;
  /** `https://host:port/wt`. */
  readonly webtransport: string;
  /** `wss://host:port/ws`. */
  readonly websocket: string;
  /** SHA-256 hashes of a short-lived self-signed certificate, for WebTransport to pin (may be empty). */
  readonly certificateHashes: readonly Uint8Array[];
}

export interface OpenOptions {
  /** Use the WebSocket even when the browser has WebTransport. */
  readonly forceWebSocket?: boolean;
  /** How long each attempt may take to connect (default 10 s). */
  readonly timeoutMs?: number;
}

/** Largest amount a WebSocket may hold unsent before `write` waits. */
export const WEBSOCKET_HIGH_WATER = 1 << 20;

function base64Bytes(s: string): Uint8Array {
  const text = atob(s);
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/**
 * Checks a node's `/node.json`. Refused (`web.bad_info`): not an object; `address` not a string;
 * `webtransport` not an `https:` URL; `websocket` not a `wss:` URL; `certificate_hashes` not a
 * list of base64 strings of 32 bytes each.
 */
export function parseEndpoints(info: unknown): WebEndpoints {
  const bad = (why: string): never => fail("web.bad_info", `the node's /node.json is malformed: ${why}`);
  if (typeof info !== "object" || info === null) return bad("not an object");
  const o = info as Record<string, unknown>;
  const { address, webtransport, websocket } = o;
  const hashes = o["certificate_hashes"];
  if (typeof address !== "string") return bad("no address");
  if (typeof webtransport !== "string" || !webtransport.startsWith("https://")) return bad("no https: WebTransport URL");
  if (typeof websocket !== "string" || !websocket.startsWith("wss://")) return bad("no wss: WebSocket URL");
  if (!Array.isArray(hashes)) return bad("no certificate_hashes list");
  const certificateHashes = hashes.map((h: unknown) => {
    let bytes: Uint8Array | null = null;
    try {
      bytes = typeof h === "string" ? base64Bytes(h) : null;
    } catch {
      bytes = null;
    }
    return bytes !== null && bytes.length === 32 ? bytes : bad("a certificate hash is not 32 bytes of base64");
  });
  return { address, webtransport, websocket, certificateHashes };
}

/** The node's endpoints, read from `/node.json` at `origin` (the page's own, by default). */
export async function fetchEndpoints(origin: string = globalThis.location.origin): Promise<WebEndpoints> {
  let info: unknown;
  try {
    const response = await fetch(`${origin}/node.json`, { cache: "no-store" });
    info = await response.json();
  } catch {
    fail("web.unreachable", "the node's /node.json could not be read");
  }
  return parseEndpoints(info);
}

/** True iff this browser offers WebTransport (secure contexts of Chromium-based browsers and Firefox). */
export function hasWebTransport(): boolean {
  return typeof globalThis.WebTransport === "function";
}

function timeout<T>(promise: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout();
      reject(new Error("timed out"));
    }, ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/**
 * Opens a channel to the node: WebTransport first (unless `forceWebSocket` or the browser lacks
 * it), the WebSocket if WebTransport fails to connect (a network that blocks UDP, say). Rejects
 * with `web.unreachable` if neither connects.
 */
export async function openChannel(endpoints: WebEndpoints, options: OpenOptions = {}): Promise<ByteChannel> {
  const ms = options.timeoutMs ?? 10_000;
  if (options.forceWebSocket !== true && hasWebTransport()) {
    try {
      return await openWebTransport(endpoints.webtransport, endpoints.certificateHashes, ms);
    } catch {
      // fall through to the WebSocket
    }
  }
  try {
    return await openWebSocket(endpoints.websocket, ms);
  } catch {
    return fail("web.unreachable", "the node could not be reached over WebTransport nor a WebSocket");
  }
}

/** A WebTransport session to `url` and its one bidirectional stream (15.8.1). */
export async function openWebTransport(url: string, hashes: readonly Uint8Array[], ms: number): Promise<ByteChannel> {
  const options: WebTransportOptions = {};
  if (hashes.length > 0)
    options.serverCertificateHashes = hashes.map((value) => ({ algorithm: "sha-256", value: new Uint8Array(value) }));
  const wt = new WebTransport(url, options);
  wt.closed.catch(() => undefined); // a failed session is reported by ready, reads and writes
  await timeout(wt.ready, ms, () => wt.close());
  const stream = await wt.createBidirectionalStream();
  const writer = stream.writable.getWriter() as WritableStreamDefaultWriter<Uint8Array>;
  const reader = stream.readable.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  return {
    kind: "webtransport",
    write: async (bytes) => {
      await writer.ready;
      await writer.write(bytes);
    },
    read: async () => {
      const r = await reader.read();
      return r.done ? null : r.value;
    },
    close: () => wt.close(),
  };
}

/** A WebSocket to `url`: each binary message from the node is a chunk of the stream (15.8.2). */
export function openWebSocket(url: string, ms: number): Promise<ByteChannel> {
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  const chunks: Uint8Array[] = [];
  let ended: "open" | "clean" | Error = "open";
  let wake: (() => void) | null = null;
  const notify = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };
  ws.onmessage = (ev: MessageEvent) => {
    if (typeof ev.data === "string") {
      ended = new Error("the node sent a text message");
      ws.close(1003);
    } else chunks.push(new Uint8Array(ev.data as ArrayBuffer));
    notify();
  };
  ws.onclose = (ev: CloseEvent) => {
    if (ended === "open") ended = ev.code === 1000 ? "clean" : new Error(`the WebSocket closed (${ev.code})`);
    notify();
  };
  const channel: ByteChannel = {
    kind: "websocket",
    write: async (bytes) => {
      while (ws.readyState === WebSocket.OPEN && ws.bufferedAmount > WEBSOCKET_HIGH_WATER)
        await new Promise((r) => setTimeout(r, 10));
      if (ws.readyState !== WebSocket.OPEN) throw ended instanceof Error ? ended : new Error("the WebSocket is closed");
      ws.send(new Uint8Array(bytes));
    },
    read: async () => {
      for (;;) {
        const chunk = chunks.shift();
        if (chunk !== undefined) return chunk;
        if (ended === "clean") return null;
        if (ended instanceof Error) throw ended;
        await new Promise<void>((r) => {
          wake = r;
        });
      }
    },
    close: () => {
      if (ended === "open") ended = new Error("the channel was closed");
      ws.close(1000);
      notify();
    },
  };
  return timeout(
    new Promise<ByteChannel>((resolve, reject) => {
      ws.onopen = () => resolve(channel);
      ws.onerror = () => reject(new Error("the WebSocket failed"));
    }),
    ms,
    () => ws.close(),
  );
}
