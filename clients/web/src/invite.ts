/**
 * Invite tokens and invite links (spec/protocol.md 14.3).
 *
 * A token is `hsinvite:` + base64url (no padding) of `cbor || H(cbor)[0..4)`, the CBOR being
 * `{"g": group id, "i": invite entry id, "s": invite seed, "n": [1*8 node address], ? "m": group name}`
 * (the name: a one-line name of 1..64 bytes, 17.12, shown as "You're invited to …"). A link is
 * `https://host[:port]/join#` + token: the token rides in the fragment, which the browser never sends
 * to a server. Wherever a token is accepted, so is a link (`parseInvite`).
 */
import { equalBytes } from "./bytes.js";
import { decode, encode } from "./cbor.js";
import { H } from "./crypto.js";
import { fail } from "./errors.js";
import { isWhite, parseNodeAddress, type NodeAddress } from "./address.js";
import { isOneLine } from "./content.js";

export const INVITE_PREFIX = "hsinvite:";
export const JOIN_PATH = "/join";
const MAX_INVITE_TEXT = 4096;
const MAX_ORIGIN_TEXT = 300;
const MAX_HOSTS = 8;
/** Bytes of UTF-8 of the group's name a token may carry. */
export const MAX_INVITE_NAME = 64;

/** A parsed invite token. */
export interface InviteToken {
  readonly groupId: Uint8Array;
  readonly inviteId: Uint8Array;
  readonly seed: Uint8Array;
  /** The group's hosts to reach, the inviter's home node first. */
  readonly nodes: readonly NodeAddress[];
  /** The group's name as the inviter's device knew it, or null (a claim of the inviter). */
  readonly name: string | null;
  /** The token's text (`hsinvite:…`), white space removed. */
  readonly text: string;
}

/** A parsed invite: the token, and for a link its web origin in normal form (null for a bare token). */
export interface ParsedInvite {
  readonly token: InviteToken;
  readonly origin: string | null;
  /** The link in normal form, or null for a bare token. */
  readonly link: string | null;
}

function withoutWhiteSpace(text: string): string {
  let out = "";
  for (const ch of text) if (!isWhite(ch.codePointAt(0)!)) out += ch;
  return out;
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

function toBase64url(b: Uint8Array): string {
  let out = "";
  for (let i = 0; i < b.length; i += 3) {
    const n = (b[i]! << 16) | ((b[i + 1] ?? 0) << 8) | (b[i + 2] ?? 0);
    const chars = i + 2 < b.length ? 4 : i + 1 < b.length ? 3 : 2;
    for (let k = 0; k < chars; k++) out += B64[(n >> (18 - 6 * k)) & 63]!;
  }
  return out;
}

/** What a token carries, as its maker knows it: the node addresses as text. */
export interface NewInviteToken {
  readonly groupId: Uint8Array;
  readonly inviteId: Uint8Array;
  readonly seed: Uint8Array;
  readonly nodes: readonly string[];
  readonly name?: string;
}

/** The text of an invite token: `hsinvite:` and base64url (no padding) of `cbor || H(cbor)[0..4)`. */
export function encodeInviteToken(t: NewInviteToken): string {
  const fields: Record<string, Uint8Array | string | string[]> = { g: t.groupId, i: t.inviteId, s: t.seed, n: [...t.nodes] };
  if (t.name !== undefined) fields["m"] = t.name;
  const body = encode(fields);
  const blob = new Uint8Array(body.length + 4);
  blob.set(body);
  blob.set(H(body).subarray(0, 4), body.length);
  return INVITE_PREFIX + toBase64url(blob);
}

/** Canonical unpadded base64url, or null (another character, a length of 1 mod 4, stray bits). */
export function fromBase64url(data: string): Uint8Array | null {
  if (data.length % 4 === 1) return null;
  const out = new Uint8Array(Math.floor((data.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let n = 0;
  for (const ch of data) {
    const v = B64.indexOf(ch);
    if (v < 0 || ch.length !== 1) return null;
    acc = ((acc << 6) | v) & 0xffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (acc >> bits) & 0xff;
    }
  }
  if ((acc & ((1 << bits) - 1)) !== 0) return null;
  return out;
}

const badInvite = (why: string): never => fail("address.bad_invite", `not an invite token: ${why}`);
const badLink = (why: string): never => fail("address.bad_link", `not an invite link (https://host[:port]/join#hsinvite:…): ${why}`);

function parseToken(text: string): InviteToken {
  if (!text.startsWith(INVITE_PREFIX) || text.length > MAX_INVITE_TEXT) badInvite(`it starts with ${INVITE_PREFIX}`);
  const blob = fromBase64url(text.slice(INVITE_PREFIX.length));
  if (blob === null) return badInvite("damaged (not base64url)");
  if (blob.length < 5) badInvite("incomplete");
  const body = blob.subarray(0, blob.length - 4);
  if (!equalBytes(H(body).subarray(0, 4), blob.subarray(blob.length - 4))) badInvite("damaged or incomplete");
  let fields;
  try {
    fields = decode(body);
  } catch (e) {
    return badInvite(`malformed (${e instanceof Error ? e.message : String(e)})`);
  }
  const size = fields instanceof Map && fields.has("m") ? 5 : 4;
  if (!(fields instanceof Map) || fields.size !== size || !["g", "i", "s", "n"].every((k) => fields.has(k))) badInvite("malformed");
  const m = fields as Map<string, unknown>;
  const [g, i, s, n] = [m.get("g"), m.get("i"), m.get("s"), m.get("n")];
  const is32 = (x: unknown): x is Uint8Array => x instanceof Uint8Array && x.length === 32;
  if (!is32(g) || !is32(i) || !is32(s)) return badInvite("malformed");
  if (!Array.isArray(n) || n.length < 1 || n.length > MAX_HOSTS || !n.every((a) => typeof a === "string")) {
    return badInvite("it must name 1 to 8 nodes");
  }
  const name = m.get("m");
  if (m.has("m") && !(typeof name === "string" && new TextEncoder().encode(name).length <= MAX_INVITE_NAME && isOneLine(name))) {
    return badInvite("the group's name in it is malformed");
  }
  const nodes = (n as string[]).map((a) => parseNodeAddress(a));
  return { groupId: g, inviteId: i, seed: s, nodes, name: typeof name === "string" ? name : null, text };
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
const IPV4 = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

/**
 * The normal form of a web origin `https://host[:port]`: scheme and host in lower case, IPv6 as
 * RFC 5952, the port omitted when 443. Checked, each failure `address.bad_link`: ASCII and at most
 * 300 characters; the scheme `https://` (any case); no user info; a host as in a node address (a DNS
 * name, dotted IPv4, `[IPv6]` without zone); an optional port 1-65535 without leading zeros; nothing
 * after it.
 */
export function parseWebOrigin(text: string): string {
  if (text.length > MAX_ORIGIN_TEXT || !/^[\x00-\x7f]*$/.test(text)) badLink("an origin is ASCII, at most 300 characters");
  if (text.slice(0, 8).toLowerCase() !== "https://") badLink("it starts with https://");
  const authority = text.slice(8);
  if (/[@/?#]/.test(authority)) badLink("an origin is https://host[:port], with nothing else");
  let host: string;
  let portText: string;
  if (authority.startsWith("[")) {
    const close = authority.indexOf("]");
    if (close < 0) return badLink("an IPv6 host is written [address]");
    // The node-address parser owns IPv6 parsing and its normal form: borrow it with a dummy node id.
    const probe = `holdspace://hsn1enwdnkqh8asn4lagu3dqtyk4n9l9fhevgccqsg6fe24hvlql4nmsqtyqzj@${authority.slice(0, close + 1)}:1`;
    try {
      host = parseNodeAddress(probe).host;
    } catch {
      return badLink("not an IPv6 address");
    }
    portText = authority.slice(close + 1);
  } else {
    const colon = authority.indexOf(":");
    const name = (colon < 0 ? authority : authority.slice(0, colon)).toLowerCase();
    portText = colon < 0 ? "" : authority.slice(colon);
    const labels = name.split(".");
    if (!IPV4.test(name)) {
      if (name.length === 0 || name.length > 253 || !labels.every((l) => LABEL.test(l))) badLink("the host is not a host name or address");
      if (labels.every((l) => /^[0-9]+$/.test(l))) badLink("the host is not an IPv4 address");
    }
    host = name;
  }
  if (portText !== "") {
    if (!/^:[1-9][0-9]{0,4}$/.test(portText) || Number(portText.slice(1)) > 65535) badLink("the port is 1-65535, without leading zeros");
    if (portText !== ":443") return `https://${host}${portText}`;
  }
  return `https://${host}`;
}

function parseLink(text: string): ParsedInvite {
  const hash = text.indexOf("#");
  if (hash < 0) return badLink("it carries its token after '#'");
  const url = text.slice(0, hash);
  if (url.length > MAX_ORIGIN_TEXT + JOIN_PATH.length || !/^[\x00-\x7f]*$/.test(url)) badLink("an origin is ASCII, at most 300 characters");
  const schemeEnd = url.includes("://") ? url.indexOf("://") + 3 : 0;
  const slash = url.indexOf("/", schemeEnd);
  if (slash < 0 || url.slice(slash) !== JOIN_PATH) badLink(`its path is ${JOIN_PATH}, with no query`);
  const origin = parseWebOrigin(url.slice(0, slash));
  const token = parseToken(text.slice(hash + 1));
  return { token, origin, link: `${origin}${JOIN_PATH}#${token.text}` };
}

/**
 * Parses an invite token or an invite link (spec 14.3). All white space is removed first; a text
 * that does not start with `hsinvite:` but contains `://` is a link. A link is checked, in order: a
 * `#`; an origin (`parseWebOrigin`) followed by exactly `/join` (each failure `address.bad_link`);
 * then its fragment as a token. A token: the prefix and at most 4096 characters; canonical unpadded
 * base64url; at least 5 bytes ending in the first 4 of H(the rest); strict CBOR of a map of exactly
 * `g`, `i`, `s` (32 bytes each) and `n` (1 to 8 texts) (each failure `address.bad_invite`); then each
 * `n` text a node address (`address.malformed` or the node id's `identity.*`).
 */
export function parseInvite(text: string): ParsedInvite {
  const s = withoutWhiteSpace(text);
  if (!s.startsWith(INVITE_PREFIX) && s.includes("://")) return parseLink(s);
  return { token: parseToken(s), origin: null, link: null };
}

/** The invite link for `token` at the web origin `origin` (normalised; `address.bad_link` if it is not one). */
export function inviteLink(origin: string, token: InviteToken): string {
  return `${parseWebOrigin(origin)}${JOIN_PATH}#${token.text}`;
}
