/**
 * Who is who in a group, as the page shows it (spec 17.13, 17.14; the counterpart of
 * clients/people.py): display names, labels, roles, verified badges and names that look alike.
 *
 * Invariants:
 * - everything is computed from what this member has read and the group state; nothing is sent;
 * - a member's display name is its latest `name` (highest seq) while it is a current member; a role
 *   comes from the group state and a badge from a credential checked now (17.7), never from anything
 *   the member wrote; a former member is shown by its label only, with no role;
 * - `shownNames` gives texts whose skeletons are pairwise distinct unless two keys share all 88
 *   bits of their long labels; every member that looks like another carries its suffix and is flagged.
 */
import { fromHex, toHex } from "./bytes.js";
import { verdicts } from "./credential_share.js";
import type { GroupState } from "./group.js";
import { t } from "./i18n.js";
import { label, longLabel } from "./labels.js";
import type { ReadMessage } from "./support.js";

/** Characters read as another (after NFKD, case folding, marks dropped), one to one
 * (protocol/labels.py `CONFUSABLES`). */
const CONFUSABLES: Readonly<Record<string, string>> = {
  "0": "o", "1": "l", i: "l", "|": "l", "3": "e", "5": "s", "8": "b",
  а: "a", в: "b", е: "e", ё: "e", к: "k", м: "m", н: "h", о: "o", р: "p", с: "c",
  т: "t", у: "y", х: "x", ѕ: "s", і: "l", ї: "l", ј: "j", ԁ: "d", ԛ: "q", ԝ: "w",
  һ: "h", ӏ: "l",
  α: "a", β: "b", ε: "e", η: "n", ι: "l", κ: "k", ν: "v", ο: "o", ρ: "p", τ: "t",
  υ: "u", χ: "x", ϲ: "c", ω: "w",
  ı: "l", ȷ: "j", ɡ: "g", ɑ: "a", ꞵ: "b", ʟ: "l", ꜱ: "s",
};
/** Sequences read as one letter, replaced after the one-to-one map, in this order. */
const DIGRAPHS: readonly (readonly [string, string])[] = [["rn", "m"], ["vv", "w"], ["cl", "d"]];
const KEPT = /[\p{L}\p{N}]/u;

/**
 * What a reader sees of `name` (17.14), in this order: NFKD; case folding (upper then lower case,
 * which is full case folding for every character a name is likely to hold); NFKD again; only letters
 * and digits kept; each character mapped by the table; then `rn` → `m`, `vv` → `w`, `cl` → `d`.
 */
export function skeleton(name: string): string {
  const folded = name.normalize("NFKD").toUpperCase().toLowerCase().normalize("NFKD");
  let mapped = "";
  for (const c of folded) if (KEPT.test(c)) mapped += CONFUSABLES[c] ?? c;
  for (const [pair, single] of DIGRAPHS) mapped = mapped.split(pair).join(single);
  return mapped;
}

/** How one member is shown: `text` (the name, with `suffix` joined if any) and whether it looks
 * like another member's name. */
export interface Shown {
  readonly text: string;
  readonly name: string;
  readonly suffix: string | null;
  readonly lookalike: boolean;
}

/**
 * For each member (hex key -> display name, or null), the text to show (17.14): a member's name is
 * its display name, or its label; its suffix its label, or its long label for one shown by its
 * label. A and B look alike if A's name's skeleton equals B's name's, or B's `name (suffix)`'s (an
 * empty skeleton compared as the text itself); each such member is shown `name (suffix)`. Suffixed
 * texts still alike get the long label as suffix.
 */
export function shownNames(names: ReadonlyMap<string, string | null>): Map<string, Shown> {
  const keys = [...names.keys()].sort();
  const base = new Map<string, string>();
  const suffix = new Map<string, string>();
  for (const k of keys) {
    const n = names.get(k) ?? null;
    base.set(k, n === null || n === "" ? label(fromHex(k)) : n);
    suffix.set(k, n === null || n === "" ? longLabel(fromHex(k)) : label(fromHex(k)));
  }
  const sk = (text: string): string => skeleton(text) || text;
  const joined = (k: string): string => `${base.get(k)!} (${suffix.get(k)!})`;
  const plain = new Map(keys.map((k) => [k, sk(base.get(k)!)]));
  const suffixed = new Map(keys.map((k) => [k, sk(joined(k))]));
  const alike = new Set<string>();
  for (const a of keys)
    for (const b of keys)
      if (a !== b && (plain.get(a) === plain.get(b) || plain.get(a) === suffixed.get(b))) {
        alike.add(a);
        alike.add(b);
      }
  const texts = new Map(keys.map((k) => [k, alike.has(k) ? joined(k) : base.get(k)!]));
  const seen = new Map<string, string[]>();
  for (const k of keys) {
    const s = sk(texts.get(k)!);
    seen.set(s, [...(seen.get(s) ?? []), k]);
  }
  for (const group of seen.values()) {
    if (group.length < 2) continue;
    for (const k of group) {
      suffix.set(k, longLabel(fromHex(k)));
      texts.set(k, joined(k));
      alike.add(k);
    }
  }
  return new Map(keys.map((k) => [k, { text: texts.get(k)!, name: base.get(k)!, suffix: alike.has(k) ? suffix.get(k)! : null, lookalike: alike.has(k) }]));
}

/** Each current member's latest display name (highest seq; null: withdrawn), by hex key. */
export function displayNames(messages: Iterable<ReadMessage>, g: GroupState): Map<string, string | null> {
  const latest = new Map<string, { seq: bigint; name: string | null }>();
  for (const m of messages) {
    const c = m.content;
    if (m.direct || c === null || c.t !== "name" || "unsupported" in c) continue;
    const a = toHex(m.entry.header.a);
    const prev = latest.get(a);
    if (prev === undefined || m.entry.header.s > prev.seq) latest.set(a, { seq: m.entry.header.s, name: (c as { n: string | null }).n });
  }
  const out = new Map<string, string | null>();
  for (const [k, v] of latest) if (g.state.members.has(k)) out.set(k, v.name);
  return out;
}

/**
 * Each current member's verified badge (17.7), by hex key: the role of the latest credential it
 * posted about itself, if that credential passes every check of `verifyBadge` at `nowMs` against the
 * group's trusted issuers and every revocation posted; a member whose credential fails has none
 * (the verdicts of credential_share.ts, whose failures "About the group" explains).
 */
export function badges(messages: Iterable<ReadMessage>, g: GroupState, nowMs: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of verdicts(messages, g, nowMs)) if (v.role !== null) out.set(toHex(v.member), v.role);
  return out;
}

/** How one pseudonym is shown: `name` ("You" for the reader; with its suffix if it looks like
 * another's), `label` (its four words), `role` ("facilitator", "moderator" or null), `badge` (a
 * verified credential's role, e.g. "verified professional", or null), `lookalike` (warn the reader). */
export interface Person {
  readonly name: string;
  readonly label: string;
  readonly role: string | null;
  readonly badge: string | null;
  readonly lookalike: boolean;
  readonly you: boolean;
}

/** The people of one group, computed once for a redraw: the current members and the reader. */
export class People {
  private readonly shown: Map<string, Shown>;
  private readonly badgeOf: Map<string, string>;
  /** The reader's own display name in the group, or null. */
  readonly ownName: string | null;

  constructor(
    messages: readonly ReadMessage[],
    private readonly g: GroupState,
    private readonly self: Uint8Array,
    nowMs: number,
  ) {
    const names = displayNames(messages, g);
    const keys = new Set(g.state.members.keys());
    keys.add(toHex(self));
    this.shown = shownNames(new Map([...keys].map((k) => [k, names.get(k) ?? null])));
    this.badgeOf = badges(messages, g, nowMs);
    this.ownName = names.get(toHex(self)) ?? null;
  }

  person(key: Uint8Array): Person {
    const hex = toHex(key);
    const you = hex === toHex(this.self);
    const shown = this.shown.get(hex);
    if (shown === undefined) return { name: label(key), label: label(key), role: null, badge: null, lookalike: false, you };
    const role = this.g.state.members.get(hex)?.role;
    return {
      name: you ? t("You") : shown.text,
      label: label(key),
      role: role === "facilitator" || role === "moderator" ? role : null,
      badge: this.badgeOf.has(hex) ? t("verified {badge}", { badge: this.badgeOf.get(hex)! }) : null,
      lookalike: shown.lookalike,
      you,
    };
  }

  /** Whether any two members' names look alike (the page then says how to tell them apart). */
  get lookalikes(): boolean {
    return [...this.shown.values()].some((s) => s.lookalike);
  }
}

/** A member's line as the conversation shows it: its name, then its role and badge as tags. */
export function describe(p: Person): string {
  const role = p.role === "facilitator" ? t("facilitator") : p.role === "moderator" ? t("moderator") : null;
  return [p.name, role, p.badge].filter((x) => x !== null).join(" · ");
}
