/**
 * IANA time zones for sessions (spec/protocol.md 17.3), over the platform's own database
 * (`Intl.DateTimeFormat`, in browsers and in Node.js with ICU).
 *
 * A local wall time is written as a **local ms** value: the local date and clock time read as if
 * they were UTC (`Date.UTC` of the local fields). Resolution to an instant follows Python's
 * `zoneinfo` with PEP 495 `fold = 0`, as 17.3 requires: a repeated local time is its earlier
 * instant, a skipped one is read with the offset in force before the change.
 */

const DAY_MS = 86_400_000;
const EXCLUDED = new Set(["localtime", "posixrules", "Factory"]);

/** A zone: its name (null for UTC) and a formatter that reads local fields of an instant. */
export interface Zone {
  readonly name: string | null;
  readonly format: Intl.DateTimeFormat | null;
}

export const UTC: Zone = { name: null, format: null };

const zones = new Map<string, Zone>();

/**
 * The zone named exactly `tz` (case included), or UTC when the platform's database does not list
 * the name, or it is `localtime`, `posixrules` or `Factory`, or starts with `right/` or `posix/`
 * (17.3). The platform's database accepts names in any case; a name that differs only in case from
 * the one it resolves to is read as unlisted (a link, such as `GB`, resolves to another name and is
 * accepted as given).
 */
export function zoneOf(tz: string): Zone {
  const known = zones.get(tz);
  if (known !== undefined) return known;
  let zone = UTC;
  if (!EXCLUDED.has(tz) && !tz.startsWith("right/") && !tz.startsWith("posix/")) {
    try {
      const format = new Intl.DateTimeFormat("en-US", {
        timeZone: tz,
        hourCycle: "h23",
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
        hour: "2-digit",
        minute: "2-digit",
        second: "2-digit",
        era: "short",
      });
      const resolved = format.resolvedOptions().timeZone;
      const caseOnly = resolved !== tz && resolved.toLowerCase() === tz.toLowerCase();
      if (!caseOnly) zone = { name: tz, format };
    } catch {
      zone = UTC; // RangeError: not a zone of the platform's database
    }
  }
  zones.set(tz, zone);
  return zone;
}

/** True iff `tz` names a listed zone (17.3: a client must not author a session in another). */
export function isListedZone(tz: string): boolean {
  return zoneOf(tz) !== UTC || tz === "UTC" || tz === "Etc/UTC";
}

/** The local ms of the instant `ms` (whole seconds; the milliseconds are kept as they are). */
export function toLocal(zone: Zone, ms: number): number {
  if (zone.format === null) return ms;
  const secondsMs = Math.floor(ms / 1000) * 1000;
  const f: Record<string, number> = {};
  let bc = false;
  for (const p of zone.format.formatToParts(new Date(secondsMs))) {
    if (p.type === "era") bc = p.value === "BC" || p.value === "B";
    else if (p.type !== "literal") f[p.type] = Number(p.value);
  }
  const year = bc ? 1 - f["year"]! : f["year"]!;
  const d = new Date(0);
  d.setUTCFullYear(year, f["month"]! - 1, f["day"]!);
  d.setUTCHours(f["hour"]!, f["minute"]!, f["second"]!, 0);
  return d.getTime() + (ms - secondsMs);
}

/** The UTC offset in ms in force at the instant `ms`. */
export function offsetAt(zone: Zone, ms: number): number {
  const s = Math.floor(ms / 1000) * 1000;
  return toLocal(zone, s) - s;
}

/** The instant of the local time `local` (local ms), with `fold = 0` (see the module's comment). */
export function fromLocal(zone: Zone, local: number): number {
  if (zone.format === null) return local;
  const before = offsetAt(zone, local - DAY_MS);
  const after = offsetAt(zone, local + DAY_MS);
  const candidates = [...new Set([before, after])].map((o) => local - o).filter((t) => offsetAt(zone, t) === local - t);
  if (candidates.length > 0) return Math.min(...candidates);
  return local - before; // a local time skipped by a change: the offset before it
}

/** ISO 8601 text of the instant `ms` in `zone`: `YYYY-MM-DDTHH:MM:SS.mmm+HH:MM`. */
export function localIso(zone: Zone, ms: number): string {
  const local = toLocal(zone, ms);
  const offset = local - ms;
  const text = new Date(local).toISOString().slice(0, 23);
  const sign = offset < 0 ? "-" : "+";
  const minutes = Math.round(Math.abs(offset) / 60_000);
  const hh = String(Math.floor(minutes / 60)).padStart(2, "0");
  const mm = String(minutes % 60).padStart(2, "0");
  return `${text}${sign}${hh}:${mm}`;
}
