import assert from "node:assert/strict";
import { test } from "node:test";
import { fromHex, toHex } from "../src/bytes.js";
import { type CborValue, type Encodable, decode, encode } from "../src/cbor.js";
import { HoldspaceError } from "../src/errors.js";
import { codeOf, loadVectors, parsePythonLiteral, rng, toPlain } from "./helpers.js";

interface CodecVector {
  name: string;
  cbor: string;
  valid?: true;
  diagnostic?: string;
  error?: string;
}


test("codec.json: every vector", () => {
  const vectors = loadVectors<CodecVector[]>("codec.json");
  assert.equal(vectors.length, 24);
  let checked = 0;
  for (const v of vectors) {
    const input = fromHex(v.cbor);
    if (v.valid === true) {
      const value = decode(input);
      assert.deepEqual(toPlain(value), parsePythonLiteral(v.diagnostic!), v.name);
      assert.equal(toHex(encode(value)), v.cbor, v.name);
    } else {
      assert.equal(codeOf(() => decode(input)), v.error, v.name);
    }
    checked++;
  }
  assert.equal(checked, vectors.length);
});

interface AppendixA {
  count_non_float: number;
  count_float: number;
  vectors: { hex: string; kind: string; diagnostic: string; roundtrip: boolean }[];
  float_vectors: { hex: string }[];
}

/** The outcome 3.7 gives each Appendix A example: null (decodes and re-encodes) or a code. */
function expectedAppendixA(v: { hex: string; kind: string }): string | null {
  switch (v.kind) {
    case "tag":
    case "bignum":
      return "cbor.tag_not_allowed";
    case "indefinite":
      return "cbor.indefinite_length";
    case "simple":
      return ["f4", "f5", "f6"].includes(v.hex) ? null : "cbor.simple_not_allowed";
    case "map":
      return v.hex === "a201020304" ? "cbor.bad_key_type" : null;
    default:
      return null;
  }
}

/** The RFC's diagnostic notation for the values inside the data model. */
function diagnostic(v: CborValue): string {
  if (v instanceof Uint8Array) return `h'${toHex(v)}'`;
  if (typeof v === "string") return JSON.stringify(v).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  if (Array.isArray(v)) return `[${v.map(diagnostic).join(", ")}]`;
  if (v instanceof Map) return `{${[...v].map(([k, x]) => `${diagnostic(k)}: ${diagnostic(x)}`).join(", ")}}`;
  return String(v);
}

test("rfc8949-appendix-a.json: every example, as section 3.7 says", () => {
  const a = loadVectors<AppendixA>("rfc8949-appendix-a.json");
  assert.equal(a.vectors.length, a.count_non_float);
  assert.equal(a.float_vectors.length, a.count_float);
  let accepted = 0;
  for (const v of a.vectors) {
    const want = expectedAppendixA(v);
    if (want === null) {
      const value = decode(fromHex(v.hex));
      assert.equal(diagnostic(value), v.diagnostic, v.hex);
      assert.equal(toHex(encode(value)), v.hex, v.hex);
      accepted++;
    } else assert.equal(codeOf(() => decode(fromHex(v.hex))), want, v.hex);
  }
  assert.equal(accepted, 36);
  for (const v of a.float_vectors) assert.equal(codeOf(() => decode(fromHex(v.hex))), "cbor.float_not_allowed", v.hex);
});

test("section 3.7 examples", () => {
  const cases: [string, string | null][] = [
    ["a2616101616282f5f6", null],
    ["1bffffffffffffffff", null],
    ["3bffffffffffffffff", null],
    ["1817", "cbor.non_canonical"],
    ["a2616201616102", "cbor.non_canonical"],
    ["8300c0", "cbor.truncated"],
    ["0000", "cbor.trailing_bytes"],
    ["63eda080", "cbor.invalid_utf8"],
    ["81".repeat(17) + "00", "cbor.too_deep"],
    ["7b7fffffffffffffff00", "cbor.truncated"],
    // 3.4 step 9: a map's 2N > R is checked before any entry (else this would be bad_key_type).
    ["a3616101ff", "cbor.truncated"],
    ["a2616101", "cbor.truncated"],
    // Step 11.2: the key's major type is checked before anything else about it.
    ["a1c0", "cbor.truncated"],
    ["a2c000c000", "cbor.bad_key_type"],
  ];
  for (const [hex, code] of cases) assert.equal(codeOf(() => decode(fromHex(hex))), code, hex);
  assert.equal(decode(fromHex("3bffffffffffffffff")), -(1n << 64n));
  assert.equal(codeOf(() => decode(new Uint8Array(11), 10)), "cbor.too_large");
  // 3.5: the same input yields the same code under any max_size it does not exceed.
  assert.equal(codeOf(() => decode(fromHex("5b7fffffffffffffff00"), 10)), "cbor.truncated");
  // A text string starting with EF BB BF keeps U+FEFF.
  assert.equal(decode(fromHex("63efbbbf")), "\ufeff");
});

test("the encoder refuses what is outside the data model, first defect in pre-order", () => {
  assert.equal(codeOf(() => encode(1.5)), "cbor.unsupported_type");
  assert.equal(codeOf(() => encode(1n << 64n)), "cbor.unsupported_type");
  assert.equal(codeOf(() => encode(-(1n << 64n) - 1n)), "cbor.unsupported_type");
  assert.equal(codeOf(() => encode(new Map([[1, 2]]) as unknown as Encodable)), "cbor.unsupported_type");
  assert.equal(codeOf(() => encode(undefined as unknown as Encodable)), "cbor.unsupported_type");
  assert.equal(codeOf(() => encode("\ud800")), "cbor.invalid_utf8");
  let deep: Encodable = [];
  for (let i = 0; i < 16; i++) deep = [deep];
  assert.equal(codeOf(() => encode(deep)), "cbor.too_deep");
  // The container's depth is checked before its elements: too deep wins over a bad element.
  let deepBad: Encodable = [1.5];
  for (let i = 0; i < 16; i++) deepBad = [deepBad];
  assert.equal(codeOf(() => encode(deepBad)), "cbor.too_deep");
  assert.equal(codeOf(() => encode(["\ud800", 1.5])), "cbor.invalid_utf8");
  assert.equal(toHex(encode({ b: 1, a: 2, aa: 3, sig: new Uint8Array(0) })), "a4616102616201626161036373696740");
});

function randomValue(r: () => number, depth: number): CborValue {
  const pick = Math.floor(r() * (depth >= 16 ? 5 : 7));
  switch (pick) {
    case 0: {
      const widths = [5n, 8n, 16n, 32n, 64n];
      const w = widths[Math.floor(r() * widths.length)]!;
      const n = BigInt(Math.floor(r() * 2 ** 32)) * BigInt(Math.floor(r() * 2 ** 32)) % (1n << w);
      return r() < 0.5 ? n : -1n - n;
    }
    case 1:
      return Uint8Array.from({ length: Math.floor(r() * 40) }, () => Math.floor(r() * 256));
    case 2:
      return String.fromCodePoint(...Array.from({ length: Math.floor(r() * 8) }, () => {
        const c = Math.floor(r() * 0x110000);
        return c >= 0xd800 && c <= 0xdfff ? 0xfeff : c;
      }));
    case 3:
      return [true, false, null][Math.floor(r() * 3)]!;
    case 4:
      return "";
    case 5:
      return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
    default: {
      const m = new Map<string, CborValue>();
      for (let i = Math.floor(r() * 4); i > 0; i--) m.set(String(randomValue(r, 16)), randomValue(r, depth + 1));
      return m;
    }
  }
}

test("property: decode(encode(v)) is v and re-encodes byte for byte", () => {
  const r = rng(1);
  for (let i = 0; i < 2000; i++) {
    const v = randomValue(r, 0);
    const bytes = encode(v);
    const back = decode(bytes);
    assert.deepEqual(toPlain(back), toPlain(v)); // maps compare as key sets, whatever the order
    assert.deepEqual(encode(back), bytes);
  }
});

test("property: any input is refused with a typed code or re-encodes to itself", () => {
  const r = rng(2);
  for (let i = 0; i < 20000; i++) {
    const input = Uint8Array.from({ length: 1 + Math.floor(r() * 12) }, () => Math.floor(r() * 256));
    let value: CborValue;
    try {
      value = decode(input);
    } catch (e) {
      assert.ok(e instanceof HoldspaceError && e.code.startsWith("cbor."), String(e));
      continue;
    }
    assert.equal(toHex(encode(value)), toHex(input));
  }
});
