/**
 * "Check-ins", for facilitators (spec 17.2; issue 19 point 7): the check-ins members sealed to the
 * facilitators only, newest first, naming who sent each (its four-word label), the mood in words,
 * and a low mood (1 or 2) flagged in words, not by colour alone.
 */
import type { CheckinView, Facilitation } from "../facilitator.js";
import { label } from "../labels.js";
import { el } from "./dom.js";
import type { ToolScreen } from "./facilitation.js";

const MOOD_WORDS = ["very low", "low", "okay", "good", "very good"];

function when(ms: number): string {
  return new Date(ms).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function checkinsScreen(doc: Document, fac: Facilitation): ToolScreen {
  const root = el(doc, "section", undefined, { "aria-labelledby": "tool-h" });
  const list = el(doc, "ul", undefined, { id: "checkins", class: "cards", "aria-label": "Check-ins" });
  const empty = el(doc, "p", "No check-ins yet.");
  root.append(
    el(doc, "h1", "Check-ins", { id: "tool-h", tabindex: "-1" }),
    el(doc, "p", "How members said they are, sent to the facilitators only. Only the group's facilitators can read these."),
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
  return { root, title: "Check-ins", update: draw };
}

function item(doc: Document, c: CheckinView): HTMLLIElement {
  const li = el(doc, "li", undefined, c.low ? { class: "low" } : {});
  const head = el(doc, "p");
  head.append(el(doc, "strong", c.mine ? "You" : label(c.from)), doc.createTextNode(` · ${when(c.timeMs)}${c.inSession ? " · during a session" : ""}`));
  li.append(head);
  if (c.low) li.append(el(doc, "p", `Low mood (${c.mood} of 5). Consider reaching out to them privately.`, { class: "flag" }));
  li.append(el(doc, "p", `Mood: ${c.mood} of 5, ${MOOD_WORDS[c.mood - 1] ?? "unknown"}.`));
  if (c.word !== null) li.append(el(doc, "p", `In their words: ${c.word}`));
  return li;
}
