/**
 * Crisis resources as tappable links (the Python client's `clients/resource_links.py`, checked
 * against the same cases): phone numbers become `tel:` links (`sms:` after "text ... to"), web
 * addresses `https:` links. The parts joined give back the line; only tel, sms, http and https
 * targets are made; a number needs 3 to 15 digits (5 with spaces, dashes or brackets), and a lone
 * year (1900-2099) stays words.
 */

export interface Part {
  readonly text: string;
  readonly href: string | null;
}

const TOKEN = /(?<url>(?:https?:\/\/|www\.)[^\s<>"']+)|(?<![\w/+.,-])(?<number>\+?\d[\d \-()]*\d|\d{3,})(?![\w/]|[.,]\d)/giu;
const TEXT_BEFORE = /\btext(?:\s+\w+){0,2}\s+to\s*$|\bsms\s*$/iu;
const TRAILING = ".,;:!?)]}'\"";

function count(s: string, c: string): number {
  return s.split(c).length - 1;
}

function trimUnbalanced(s: string, extra: string): string {
  while (s.endsWith(")") && count(s, "(") < count(s, ")")) s = s.slice(0, -1).replace(new RegExp(`[${extra}]+$`, "u"), "");
  return s;
}

function link(line: string, m: RegExpExecArray): [string, string | null] {
  const url = m.groups?.["url"];
  if (url !== undefined) {
    let shown = url;
    while (shown.length > 0 && TRAILING.includes(shown[shown.length - 1]!)) shown = shown.slice(0, -1);
    shown = trimUnbalanced(shown, "\\s");
    const host = (shown.includes("//") ? shown.split("//")[1]! : shown).split("/")[0]!;
    if (!host.includes(".")) return [shown, null];
    return [shown, shown.toLowerCase().startsWith("http") ? shown : `https://${shown}`];
  }
  let shown = m.groups!["number"]!.replace(/^[ \-(]+|[ \-(]+$/gu, "");
  shown = trimUnbalanced(shown, " \\-");
  const digits = shown.replace(/\D/gu, "");
  const least = shown === digits ? 3 : 5; // "9-17" or "12-14" are hours and dates, not numbers to call
  const year = digits.length === 4 && shown === digits && Number(digits) >= 1900 && Number(digits) <= 2099;
  if (digits.length < least || digits.length > 15 || year) return [shown, null];
  const scheme = TEXT_BEFORE.test(line.slice(0, m.index)) ? "sms" : "tel";
  return [shown, `${scheme}:${shown.startsWith("+") ? "+" : ""}${digits}`];
}

/** Split `line` into words and links (see the module's invariants). */
export function linkParts(line: string): Part[] {
  const parts: Part[] = [];
  let at = 0;
  for (const m of line.matchAll(TOKEN)) {
    const [shown, href] = link(line, m as RegExpExecArray);
    if (href === null) continue;
    const start = m.index;
    if (start > at) parts.push({ text: line.slice(at, start), href: null });
    parts.push({ text: shown, href });
    at = start + shown.length;
  }
  if (at < line.length) parts.push({ text: line.slice(at), href: null });
  return parts;
}
