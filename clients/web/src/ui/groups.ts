/**
 * "Your groups": the screen at `/` after unlocking, when this browser holds no group or more than
 * one (with one, the page opens it). Each group by the name this device knows it by, the one opened
 * last first, and a button that opens it; "Start a group" (ui/start_group.ts); "Join another group"
 * by pasting an invite link (the same join as opening the link); "Lock".
 *
 * Everything shown is text (a group's name is a member's claim: never markup). A refusal is a
 * sentence, with its code behind "Details".
 */
import type { GroupItem } from "../groups.js";
import { t } from "../i18n.js";
import { encodeTextId } from "../textid.js";
import { codeOf, el, field, showProblem } from "./dom.js";

export interface GroupsActions {
  open(item: GroupItem): void;
  start(): void;
  /** Joins by the invite link (or token) pasted; rejects to show why. */
  join(text: string): Promise<void>;
  lock(): void;
}

function joinSentence(code: string): string {
  switch (code) {
    case "address.bad_invite":
    case "address.malformed":
    case "textid.bad_checksum":
      return t("This invite link does not work. It may have been cut short when it was copied: ask for it again, and paste the whole link.");
    case "client.already_joined":
      return t("You are already in this group.");
    case "web.unreachable":
    case "web.bad_info":
    case "web.wrong_node":
      return t("The group's node cannot be reached right now. Please try again in a while.");
    default:
      return t("The invite could not be used. Ask the person who invited you for a new one.");
  }
}

/** A group's name as the list shows it: its name, else the start of its id. */
export function shownName(item: GroupItem): string {
  return item.name ?? t("A group without a name yet ({id})", { id: `${encodeTextId("hsg", item.record.groupId).slice(0, 12)}…` });
}

/** Fills `main` with the list of `items` and the actions. */
export function showGroups(doc: Document, main: HTMLElement, items: readonly GroupItem[], act: GroupsActions): void {
  const list = el(doc, "ul", undefined, { class: "cards", id: "groups", "aria-labelledby": "groups-h" });
  for (const item of items) {
    const li = el(doc, "li");
    const open = el(doc, "button", shownName(item), { type: "button" });
    open.addEventListener("click", () => act.open(item));
    li.append(open);
    list.append(li);
  }
  const start = el(doc, "button", t("Start a group"), { type: "button" });
  start.addEventListener("click", () => act.start());
  const link = el(doc, "input", undefined, { type: "url", autocomplete: "off", required: "", inputmode: "url" });
  const form = el(doc, "form", undefined, { "aria-labelledby": "join-other-h" });
  const join = el(doc, "button", t("Join"), { type: "submit" });
  const status = el(doc, "div", undefined, { role: "status" });
  const alert = el(doc, "div", undefined, { role: "alert" });
  form.append(field(doc, "invite-text", t("Invite link"), link), join, status, alert);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    join.disabled = true;
    alert.replaceChildren();
    status.textContent = t("Joining. This takes a few seconds…");
    act
      .join(link.value)
      .catch((err: unknown) => {
        status.textContent = "";
        showProblem(doc, alert, joinSentence(codeOf(err)), err);
      })
      .finally(() => {
        join.disabled = false;
      });
  });
  const lock = el(doc, "button", t("Lock"), { type: "button" });
  lock.addEventListener("click", () => act.lock());
  const h1 = el(doc, "h1", t("Your groups"), { id: "groups-h", tabindex: "-1" });
  main.replaceChildren(h1);
  if (items.length === 0) main.append(el(doc, "p", t("You are not in a group on this device yet. Open an invite link you were given, or start a group.")));
  else main.append(el(doc, "p", t("The group you opened last is first.")), list);
  main.append(
    el(doc, "h2", t("Start a group"), { id: "start-h" }),
    el(doc, "p", t("A new group on this community node, with you as its first facilitator: you then invite people.")),
    start,
    el(doc, "h2", t("Join another group"), { id: "join-other-h" }),
    el(doc, "p", t("Paste the invite link you were given.")),
    form,
  );
  const bottom = el(doc, "p");
  bottom.append(lock);
  main.append(bottom);
  main.dataset["screen"] = "groups";
  doc.title = `${t("Your groups")} · Holdspace`;
  h1.focus();
}
