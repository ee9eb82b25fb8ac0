/**
 * A session date's check-in summary, for facilitators (spec 17.2, "summary", informative; the
 * "Check-ins" part of `holdspace app`'s sessions page): how many members checked in for that date,
 * the average mood, how many gave each mood (in words, not by colour), and the words they gave. A
 * facilitator's summary includes the check-ins shared with the facilitators only (support.ts
 * `checkinSummary`: the latest check-in of each member).
 */
import { fromHex } from "../bytes.js";
import { t, tn } from "../i18n.js";
import type { Conversation } from "../participant.js";
import { type CheckinSummary, checkinSummary } from "../support.js";
import { el } from "./dom.js";

const MOOD_WORDS = ["very low", "low", "okay", "good", "very good"];

/** The summary of date `index` of session `session` (hex), as this member can read it now. */
export function summaryOf(conv: Conversation, session: string, index: bigint): CheckinSummary {
  return checkinSummary(conv.read(), fromHex(session), index);
}

/** The summary's part of a session date (a heading of `level`, then the figures). */
export function checkinSummaryPart(doc: Document, s: CheckinSummary, level: "h3" | "h4" = "h4"): HTMLElement {
  const box = el(doc, "div", undefined, { class: "checkin-summary" });
  box.append(el(doc, level, t("Check-ins")));
  if (s.count === 0 || s.average === null) {
    box.append(el(doc, "p", t("No check-ins yet for this session.")));
    return box;
  }
  box.append(el(doc, "p", tn("{n} check-in; average mood {average} of 5.", "{n} check-ins; average mood {average} of 5.", s.count, { average: s.average.toFixed(1) })));
  const list = el(doc, "ul", undefined, { "aria-label": t("Check-ins by mood") });
  s.moods.forEach((n, i) => {
    if (n > 0) list.append(el(doc, "li", tn("Mood {mood} ({words}): {n} member", "Mood {mood} ({words}): {n} members", n, { mood: i + 1, words: MOOD_WORDS[i]! })));
  });
  box.append(list);
  if (s.words.length > 0) box.append(el(doc, "p", t("In their words: {words}", { words: s.words.join(", ") })));
  return box;
}
