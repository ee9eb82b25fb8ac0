/**
 * Node addresses (spec/protocol.md 12.2): `holdspace://<hsn1… node id>@host:port`, and their
 * normal form (node id and dns-name lower case, IPv6 as RFC 5952 section 4, hexadecimal only).
 */
import { fail } from "./errors.js";
import { decodeTextId } from "./textid.js";

/** A parsed node address. */
export interface NodeAddress {
  readonly nodeKey: Uint8Array;
  readonly host: string;
  readonly port: number;
  /** The address in normal form. */
  readonly normal: string;
}

const bad = (why: string): never => fail("address.malformed", `not a node address (holdspace://<node id>@host:port): ${why}`);

/** The white space of spec 12.2 (Python's `str.strip` and `str.split` set): removed around an address and from an invite. */
export function isWhite(c: number): boolean {
  return (
    (c >= 0x09 && c <= 0x0d) ||
    (c >= 0x1c && c <= 0x20) ||
    c === 0x85 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000
  );
}

const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const OCTET = /^(?:0|[1-9][0-9]{0,2})$/;

/** The four bytes of a dotted IPv4 address (0-255, no leading zeros), or null. */
function parseIpv4(s: string): number[] | null {
  const parts = s.split(".");
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p) && Number(p) <= 255)) return null;
  return parts.map(Number);
}

/** The eight 16-bit groups of an RFC 4291 text address (no zone), or null. */
function parseIpv6(s: string): number[] | null {
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const groupsOf = (part: string, last: boolean): number[] | null => {
    if (part === "") return [];
    const out: number[] = [];
    const items = part.split(":");
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if (last && i === items.length - 1 && item.includes(".")) {
        const v4 = parseIpv4(item);
        if (v4 === null) return null;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9A-Fa-f]{1,4}$/.test(item)) out.push(parseInt(item, 16));
      else return null;
    }
    return out;
  };
  if (halves.length === 1) {
    const g = groupsOf(s, true);
    return g !== null && g.length === 8 ? g : null;
  }
  const head = groupsOf(halves[0]!, false);
  const tail = groupsOf(halves[1]!, true);
  if (head === null || tail === null || head.length + tail.length > 7) return null;
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/** RFC 5952 section 4: lower-case hex, no leading zeros, the longest run (the first of equals) of
 * two or more zero groups as `::`. */
function formatIpv6(g: number[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]): string => xs.map((x) => x.toString(16)).join(":");
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/**
 * Parses a node address. Checked, in order: surrounding white space removed; ASCII and at most 300
 * characters; the `holdspace://` scheme, an `@`, a node id of letters and digits only (else
 * `address.malformed`), which must be a valid `hsn` text id (its own `identity.*` code); a host (an
 * IPv6 address in brackets without zone, a dotted IPv4 address, or a dns-name of at most 253
 * characters with labels of letters, digits and inner hyphens, not all numeric, no trailing dot); a
 * port 1-65535 without leading zeros. Every failure but the node id's is `address.malformed`.
 */
export function parseNodeAddress(text: string): NodeAddress {
  let start = 0;
  let end = text.length;
  while (start < end && isWhite(text.charCodeAt(start))) start++;
  while (end > start && isWhite(text.charCodeAt(end - 1))) end--;
  const s = text.slice(start, end);
  if (s.length > 300) bad("longer than 300 characters");
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7e || s.charCodeAt(i) < 0x21) bad("a character outside printable ASCII");
  const scheme = "holdspace://";
  if (!s.startsWith(scheme)) bad("no holdspace:// scheme");
  const at = s.indexOf("@", scheme.length);
  if (at < 0) bad("no @ after the node id");
  const id = s.slice(scheme.length, at);
  if (!/^[A-Za-z0-9]+$/.test(id)) bad("the node id has characters other than letters and digits");
  const nodeKey = decodeTextId(id, "hsn");
  const rest = s.slice(at + 1);
  const colon = rest.lastIndexOf(":");
  if (colon < 0) bad("no port");
  const hostText = rest.slice(0, colon);
  const portText = rest.slice(colon + 1);
  if (!/^[1-9][0-9]{0,4}$/.test(portText) || Number(portText) > 65535) bad("the port is not 1-65535");
  let host: string;
  if (hostText.startsWith("[") && hostText.endsWith("]")) {
    const g = parseIpv6(hostText.slice(1, -1));
    if (g === null) return bad("not an IPv6 address");
    host = `[${formatIpv6(g)}]`;
  } else {
    const labels = hostText.split(".");
    if (hostText.length > 253 || !labels.every((l) => LABEL.test(l))) bad("not a host name");
    if (labels.every((l) => /^[0-9]+$/.test(l))) {
      if (parseIpv4(hostText) === null) bad("not an IPv4 address");
    }
    host = hostText.toLowerCase();
  }
  const port = Number(portText);
  return { nodeKey, host, port, normal: `${scheme}${id.toLowerCase()}@${host}:${port}` };
}
