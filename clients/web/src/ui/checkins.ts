/**
 * "Check-ins", for facilitators (spec 17.2; issue 19 point 7): the check-ins members sealed to the
 * facilitators only, newest first, naming who sent each (its four-word label), the mood in words,
 * and a low mood (1 or 2) flagged in words, not by colour alone.
 */
import type { CheckinView, Facilitation } from "../facilitator.js";
import { label } from "../labels.js";
import { el } from "./dom.js";
import type { ToolScreen } from "./facilitation.js";
import { formatDateTime, msg, t } from "../i18n.js";

const MOOD_WORDS = [msg("very low"), msg("low"), msg("okay"), msg("good"), msg("very good")];

function when(ms: number): string {
  return formatDateTime(ms);
}

export function checkinsScreen(doc: Document, fac: Facilitation): ToolScreen {
  const root = el(doc, "section", undefined, { "aria-labelledby": "tool-h" });
  const list = el(doc, "ul", undefined, { id: "checkins", class: "cards", "aria-label": t("Check-ins") });
  const empty = el(doc, "p", t("No check-ins yet."));
  root.append(
    el(doc, "h1", t("Check-ins"), { id: "tool-h", tabindex: "-1" }),
    el(doc, "p", t("How members said they are, sent to the facilitators only. Only the group's facilitators can read these.")),
    empty,
    list,
  );
  let drawn = "";
  const draw = (): void => {
    const feed = fac.checkins();
    const key = feed.map((c) => c.id).join(",");
    if (key === drawn) return;
    drawn = key;
    empty.hidden = feed.length > 0;
    list.replaceChildren(...feed.map((c) => item(doc, c)));
  };
  draw();
  return { root, title: t("Check-ins"), update: draw };
}

function item(doc: Document, c: CheckinView): HTMLLIElement {
  const li = el(doc, "li", undefined, c.low ? { class: "low" } : {});
  const head = el(doc, "p");
  head.append(el(doc, "strong", c.mine ? t("You") : label(c.from)), doc.createTextNode(c.inSession ? t(" · {when} · during a session", { when: when(c.timeMs) }) : ` · ${when(c.timeMs)}`));
  li.append(head);
  if (c.low) li.append(el(doc, "p", t("Low mood ({mood} of 5). Consider reaching out to them privately.", { mood: c.mood }), { class: "flag" }));
  li.append(el(doc, "p", t("Mood: {mood} of 5, {word}.", { mood: c.mood, word: t(MOOD_WORDS[c.mood - 1] ?? msg("unknown")) })));
  if (c.word !== null) li.append(el(doc, "p", t("In their words: {word}", { word: c.word })));
  return li;
}
