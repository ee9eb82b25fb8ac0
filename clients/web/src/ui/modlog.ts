/**
 * "Moderation log", for moderators and facilitators (spec 17.6): what was done to members, read from
 * the group's state (facilitator.ts `moderationLog`): removals, with the reason for those it was
 * sealed to (the facilitators), bans, mutes and lifted mutes, role changes, and messages removed
 * for everyone by someone else; newest first, the latest 100 (the screen says how many there are
 * when it shows fewer). An entry the group's rules did not apply is listed as such, its code behind
 * "Details". Nothing here acts: it only reads.
 */
import { toHex } from "../bytes.js";
import { type Facilitation, LOG_SHOWN, type LogLine } from "../facilitator.js";
import { t, tn } from "../i18n.js";
import { label } from "../labels.js";
import { details, el } from "./dom.js";
import type { ToolScreen } from "./facilitation.js";
import { whenText } from "./members.js";

/** What a line says, in one sentence. */
export function logSentence(line: LogLine, name: (key: Uint8Array) => string): string {
  const actor = name(line.actor);
  const target = name(line.target);
  switch (line.action) {
    case "remove":
      return t("{actor} removed {target}.", { actor, target });
    case "ban":
      return t("{actor} removed and banned {target}.", { actor, target });
    case "mute":
      return t("{actor} muted {target} until {until}.", { actor, target, until: whenText(line.untilMs ?? 0) });
    case "unmute":
      return t("{actor} let {target} write to the group again.", { actor, target });
    case "role":
      if (line.role === "facilitator") return t("{actor} made {target} a facilitator.", { actor, target });
      if (line.role === "moderator") return t("{actor} made {target} a moderator.", { actor, target });
      return t("{actor} made {target} a member.", { actor, target });
    case "redact":
      return tn("{actor} removed a message of {target} for everyone.", "{actor} removed {n} messages of {target} for everyone.", line.count, { actor, target });
  }
}

export function modlogScreen(doc: Document, fac: Facilitation): ToolScreen {
  const root = el(doc, "section", undefined, { "aria-labelledby": "tool-h" });
  const list = el(doc, "ol", undefined, { id: "modlog", class: "cards", "aria-label": t("Moderation log") });
  const summary = el(doc, "p");
  root.append(
    el(doc, "h1", t("Moderation log"), { id: "tool-h", tabindex: "-1" }),
    el(doc, "p", t("What moderators and facilitators did to members, newest first, as the group itself records it.")),
    summary,
    list,
  );
  const me = toHex(fac.conv.self);
  const name = (key: Uint8Array): string => (toHex(key) === me ? t("You ({label})", { label: label(key) }) : label(key));
  let drawn = "";
  const draw = (): void => {
    const log = fac.moderationLog();
    const key = `${log.total}:${log.lines.map((l) => `${l.id}:${l.outcome}:${l.reason}`).join(",")}`;
    if (key === drawn) return;
    drawn = key;
    summary.textContent =
      log.total === 0
        ? t("Nothing yet.")
        : log.total > LOG_SHOWN
          ? t("Showing the latest {shown} of {total}.", { shown: log.lines.length, total: log.total })
          : tn("One entry.", "{n} entries.", log.total);
    list.replaceChildren(...log.lines.map((l) => logRow(doc, l, name)));
  };
  draw();
  return { root, title: t("Moderation log"), update: draw };
}

function logRow(doc: Document, line: LogLine, name: (key: Uint8Array) => string): HTMLLIElement {
  const li = el(doc, "li", undefined, { "data-entry": line.id });
  const head = el(doc, "p");
  head.append(el(doc, "time", whenText(line.timeMs), { datetime: new Date(line.timeMs).toISOString() }), doc.createTextNode(` · ${logSentence(line, name)}`));
  li.append(head);
  if (line.reason !== null) li.append(el(doc, "p", t("The reason, for the facilitators: {reason}", { reason: line.reason })));
  if (line.outcome !== null) li.append(el(doc, "p", t("This did not take effect: the group's rules did not allow it.")), details(doc, line.outcome));
  return li;
}
