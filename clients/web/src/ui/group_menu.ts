/**
 * "This group": buttons beside the conversation for every member: "About the group" (ui/about.ts),
 * "Your words, or leaving" (ui/words.ts), "Private messages" (ui/private.ts), "Your groups" (back to the list, app.ts) and "Lock". A screen replaces the conversation in `main`
 * with "Back to the conversation" above it; the conversation's own elements are kept as they are
 * (what someone typed stays) and put back. "Lock" forgets the keys in the page by loading it again:
 * nothing of the page's memory survives a reload, and the passphrase opens it again. The menu
 * names the group by its current profile's name (17.12), once there is one. A `REACH_OUT` event on
 * `main` (the care note's "Reach out privately") opens "Private messages" at that member's line.
 */
import { currentProfile } from "../about.js";
import type { Conversation } from "../participant.js";
import { t } from "../i18n.js";
import { aboutScreen } from "./about.js";
import { el } from "./dom.js";
import type { ToolScreen } from "./facilitation.js";
import { privateScreen } from "./private.js";
import { wordsScreen } from "./words.js";

/** The event (on `main`, its detail a member's key in hex) that opens that member's private line. */
export const REACH_OUT = "holdspace:reach-out";

/** Adds the menu after the conversation's status; `lock` runs on "Lock", `groups` (if given) on
 * "Your groups", the way back to the list of this person's groups. */
export function addGroupMenu(doc: Document, main: HTMLElement, conv: Conversation, lock: () => void, groups?: () => void): void {
  const nav = el(doc, "nav", undefined, { "aria-label": t("This group"), id: "group-menu" });
  let current: ToolScreen | null = null;
  const open = (make: (doc: Document, conv: Conversation) => ToolScreen): void => {
    const saved = { nodes: [...main.childNodes], title: doc.title, screen: main.dataset["screen"] ?? "conversation" };
    const screen = make(doc, conv);
    current = screen;
    const back = el(doc, "button", t("Back to the conversation"), { type: "button" });
    back.addEventListener("click", () => {
      current = null;
      main.replaceChildren(...saved.nodes);
      main.dataset["screen"] = saved.screen;
      doc.title = saved.title;
      conv.onChange();
    });
    const top = el(doc, "p");
    top.append(back);
    main.replaceChildren(top, screen.root);
    main.dataset["screen"] = screen.title;
    doc.title = `${screen.title} · Holdspace`;
    main.querySelector<HTMLElement>("#tool-h")?.focus();
  };
  const button = (text: string, act: () => void): HTMLButtonElement => {
    const b = el(doc, "button", text, { type: "button" });
    b.addEventListener("click", act);
    return b;
  };
  const name = el(doc, "p", undefined, { id: "group-name" });
  const naming = (): void => {
    const n = currentProfile(conv.read(), conv.client.state)?.name ?? "";
    if (name.textContent !== n) name.textContent = n;
    name.hidden = n === "";
  };
  naming();
  nav.append(name, button(t("About the group"), () => open(aboutScreen)), button(t("Your words, or leaving"), () => open(wordsScreen)), button(t("Private messages"), () => open(privateScreen)));
  if (groups !== undefined) nav.append(button(t("Your groups"), groups));
  nav.append(button(t("Lock"), lock));
  main.addEventListener(REACH_OUT, (ev) => {
    const member = (ev as CustomEvent<string>).detail;
    open((d, c) => privateScreen(d, c, member));
  });
  (main.querySelector("#conversation-status") ?? main.querySelector("h1"))?.after(nav);
  const before = conv.onChange;
  conv.onChange = () => {
    before();
    naming();
    current?.update();
  };
}
