/** Test helpers: the spec's vector files, and a comparison of decoded values with vector JSON. */
import { readFileSync } from "node:fs";
import { ascii, toHex } from "../src/bytes.js";
import { H } from "../src/crypto.js";
import type { CborValue } from "../src/cbor.js";
import { HoldspaceError } from "../src/errors.js";

/** The parsed JSON of `spec/vectors/<name>` (tests run from build/test/, four levels below the root). */
export function loadVectors<T>(name: string): T {
  const url = new URL(`../../../../spec/vectors/${name}`, import.meta.url);
  return JSON.parse(readFileSync(url, "utf8")) as T;
}

/**
 * A decoded value in the vectors' JSON form: byte strings as lowercase hex, integers as numbers
 * (JSON's own precision, so a value above 2^53 is compared as the vector's JSON reader sees it),
 * maps as plain objects.
 */
export function toJsonForm(v: CborValue): unknown {
  if (v instanceof Uint8Array) return toHex(v);
  if (typeof v === "bigint") return Number(v);
  if (Array.isArray(v)) return v.map(toJsonForm);
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [k, toJsonForm(x)]));
  return v;
}

/** A decoded value as plain data for deepStrictEqual: bigints kept, bytes as `{bytes: hex}`. */
export type Plain = bigint | string | boolean | null | { bytes: string } | Plain[] | { [k: string]: Plain };

export function toPlain(v: CborValue): Plain {
  if (v instanceof Uint8Array) return { bytes: toHex(v) };
  if (Array.isArray(v)) return v.map(toPlain);
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [k, toPlain(x)]));
  return v;
}

/**
 * Parses the Python-literal diagnostics of codec.json (ints, 'text' and b'bytes' with \x, \u
 * and \\ escapes, True, False, None, lists, dicts) into the `Plain` form.
 */
export function parsePythonLiteral(src: string): Plain {
  let i = 0;
  const ws = (): void => {
    while (src[i] === " ") i++;
  };
  const str = (): string => {
    const q = src[i++]!;
    let out = "";
    while (src[i] !== q) {
      const c = src[i++]!;
      if (c !== "\\") {
        out += c;
        continue;
      }
      const e = src[i++]!;
      if (e === "x") {
        out += String.fromCharCode(parseInt(src.slice(i, i + 2), 16));
        i += 2;
      } else if (e === "u") {
        out += String.fromCharCode(parseInt(src.slice(i, i + 4), 16));
        i += 4;
      } else out += e === "n" ? "\n" : e === "t" ? "\t" : e;
    }
    i++;
    return out;
  };
  const value = (): Plain => {
    ws();
    const c = src[i]!;
    if (c === "[") {
      i++;
      const out: Plain[] = [];
      ws();
      while (src[i] !== "]") {
        out.push(value());
        ws();
        if (src[i] === ",") i++;
        ws();
      }
      i++;
      return out;
    }
    if (c === "{") {
      i++;
      const out: { [k: string]: Plain } = {};
      ws();
      while (src[i] !== "}") {
        ws();
        const k = str();
        ws();
        i++; // ':'
        out[k] = value();
        ws();
        if (src[i] === ",") i++;
        ws();
      }
      i++;
      return out;
    }
    if (c === "'" || c === '"') return str();
    if (c === "b" && (src[i + 1] === "'" || src[i + 1] === '"')) {
      i++;
      const s = str();
      let hex = "";
      for (const ch of s) hex += ch.charCodeAt(0).toString(16).padStart(2, "0");
      return { bytes: hex };
    }
    for (const [word, v] of [["True", true], ["False", false], ["None", null]] as const) {
      if (src.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    const m = /^-?\d+/.exec(src.slice(i));
    if (m === null) throw new Error(`cannot parse diagnostic at ${i}: ${src}`);
    i += m[0].length;
    return BigInt(m[0]);
  };
  const v = value();
  if (i !== src.length) throw new Error(`trailing text in diagnostic: ${src}`);
  return v;
}

/** A small deterministic PRNG (mulberry32) so property tests are reproducible from a seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The typed error code `f` throws, or null if it returns. Anything else is rethrown. */
export function codeOf(f: () => unknown): string | null {
  try {
    f();
    return null;
  } catch (e) {
    if (e instanceof HoldspaceError) return e.code;
    throw e;
  }
}

/** The parsed JSON of a file of the repository, by its path from the root (e.g. `tests/vectors/x.json`). */
export function loadRepoJson<T>(path: string): T {
  return JSON.parse(readFileSync(new URL(`../../../../${path}`, import.meta.url), "utf8")) as T;
}

/**
 * The first `n` bytes of the vectors' `DeterministicRandom(label)` (spec section 10): block `i`
 * is `H(label || i as 8 bytes big-endian)`, the blocks concatenated.
 */
export function deterministicStream(label: string, n: number): Uint8Array {
  const out = new Uint8Array(Math.ceil(n / 32) * 32);
  for (let i = 0; i * 32 < n; i++) {
    const counter = new Uint8Array(8);
    new DataView(counter.buffer).setBigUint64(0, BigInt(i));
    out.set(H(ascii(label), counter), 32 * i);
  }
  return out;
}

/** Any decoded value in the vectors' JSON form: bytes as hex, bigints as numbers, recursively. */
export function jsonForm(v: unknown): unknown {
  if (v instanceof Uint8Array) return toHex(v);
  if (typeof v === "bigint") return Number(v);
  if (Array.isArray(v)) return v.map(jsonForm);
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [k, jsonForm(x)]));
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => [k, jsonForm(x)]));
  return v;
}

/** The offset of `needle` in `haystack`, or -1. */
export function indexOfBytes(haystack: Uint8Array, needle: Uint8Array): number {
  const h = toHex(haystack);
  const n = toHex(needle);
  for (let i = h.indexOf(n); i >= 0; i = h.indexOf(n, i + 1)) if (i % 2 === 0) return i / 2;
  return -1;
}
