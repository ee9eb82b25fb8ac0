/**
 * Time zone names for people who type a city (17.3 needs an exact IANA name; "London" is not one):
 * the reader's own zone as the default, and the listed zones a typed text most likely means.
 *
 * Invariant: every name suggested is listed (`isListedZone`), so choosing a suggestion never makes a
 * session the spec reads as UTC.
 */
import { isListedZone } from "./timezone.js";

function known(): readonly string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (key: string) => string[] };
  const names = typeof intl.supportedValuesOf === "function" ? intl.supportedValuesOf("timeZone") : [];
  return ["UTC", ...names.filter((n) => n !== "UTC")];
}

let cache: readonly string[] | null = null;

/** The browser's own zone (listed), else "UTC". */
export function ownZone(): string {
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return typeof tz === "string" && isListedZone(tz) ? tz : "UTC";
}

function squash(s: string): string {
  return s.toLowerCase().replace(/[\s_-]+/g, "");
}

/**
 * Up to `limit` listed zones that `typed` may mean, best first: the name itself in another case;
 * zones whose city (the last part) is the typed text; whose city starts with it; whose whole name
 * contains it. Spaces, underscores and hyphens are ignored ("new york" finds America/New_York).
 */
export function suggestZones(typed: string, limit = 5): string[] {
  const want = squash(typed.trim());
  if (want === "") return [];
  cache ??= known();
  const ranked: [number, string][] = [];
  for (const name of cache) {
    const whole = squash(name);
    const city = squash(name.slice(name.lastIndexOf("/") + 1));
    const rank = whole === want ? 0 : city === want ? 1 : city.startsWith(want) ? 2 : whole.includes(want) ? 3 : -1;
    if (rank >= 0 && isListedZone(name)) ranked.push([rank, name]);
  }
  ranked.sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : 1));
  return ranked.slice(0, limit).map(([, n]) => n);
}
