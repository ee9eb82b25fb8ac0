/**
 * Replies and edits as the page shows them (spec 17.15; the counterpart of clients/corrections.py),
 * computed from what this member has read.
 *
 * Invariants: an edit counts only if its author wrote the text it names, its timestamp is not
 * before the text's and at most `EDIT_WINDOW_MS` after it, and neither is deleted (the caller gives
 * only messages not deleted); among those the greatest (timestamp, entry id) is the text shown.
 * Every client holding the same entries shows the same text. A reply quotes the start of the message
 * it answers if this member can read it; a message under a content warning is quoted by its warning.
 */
import { compareBytes, toHex } from "./bytes.js";
import type { EditContent, TextContent } from "./content.js";
import type { Entry } from "./entry.js";
import type { ReadMessage } from "./support.js";

/** How long after sending a text its author may still correct it (17.15). */
export const EDIT_WINDOW_MS = 900_000n;
/** Characters of a replied-to message shown above the reply. */
export const QUOTE_CHARS = 160;

/** The text shown for a corrected message, and every edit entry of it (removed with it). */
export interface Edited {
  readonly body: string;
  readonly warning: string | null;
  readonly editIds: readonly Uint8Array[];
}

function textOf(m: ReadMessage): TextContent | null {
  const c = m.content;
  return !m.direct && c !== null && c.t === "text" && !("unsupported" in c) ? (c as TextContent) : null;
}

/** The edit that counts for each text (by hex id) among `messages` (none of them deleted). */
export function edits(messages: readonly ReadMessage[]): Map<string, Edited> {
  const texts = new Map<string, Entry>();
  for (const m of messages) if (textOf(m) !== null) texts.set(toHex(m.entry.id), m.entry);
  const valid = new Map<string, { m: ReadMessage; c: EditContent }[]>();
  for (const m of messages) {
    const c = m.content;
    if (m.direct || c === null || c.t !== "edit" || "unsupported" in c) continue;
    const e = c as EditContent;
    const target = toHex(e.m);
    const original = texts.get(target);
    if (original === undefined || toHex(original.header.a) !== toHex(m.entry.header.a)) continue;
    const after = m.entry.header.t - original.header.t;
    if (after < 0n || after > EDIT_WINDOW_MS) continue;
    valid.set(target, [...(valid.get(target) ?? []), { m, c: e }]);
  }
  const out = new Map<string, Edited>();
  for (const [target, list] of valid) {
    let best = list[0]!;
    for (const x of list) {
      const [a, b] = [x.m.entry, best.m.entry];
      if (a.header.t > b.header.t || (a.header.t === b.header.t && compareBytes(a.id, b.id) > 0)) best = x;
    }
    out.set(target, { body: best.c.b, warning: best.c.cw ?? null, editIds: list.map((x) => x.m.entry.id) });
  }
  return out;
}

/** Whether `mine` may still correct `original`: its own readable text, within the window at `nowMs`. */
export function mayEdit(original: ReadMessage, mine: Uint8Array, nowMs: number): boolean {
  return textOf(original) !== null && compareBytes(original.entry.header.a, mine) === 0 && BigInt(nowMs) - original.entry.header.t <= EDIT_WINDOW_MS;
}

/** The start of a replied-to text, on one line, cut at `QUOTE_CHARS` characters. */
export function quoted(text: string): string {
  const line = text.split(/\s+/u).filter((w) => w !== "").join(" ");
  const chars = [...line];
  return chars.length <= QUOTE_CHARS ? line : `${chars.slice(0, QUOTE_CHARS - 1).join("")}…`;
}
