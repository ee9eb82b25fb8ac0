/**
 * The facilitator's tools beside the conversation: a menu ("Invite someone", "Members", "Reports",
 * "Check-ins", "Moderation log") shown to a member whose role in the group state allows each (facilitator.ts), and a
 * route per tool in the address's fragment (`#invite`, `#members`, `#reports`, `#checkins`, `#log`), so the
 * browser's Back button returns to the conversation. A tool replaces the conversation in `main`
 * (the menu stays above it, the tool shown marked as the current page); the conversation's own
 * elements are kept as they are (what someone typed stays) and put back.
 */
import { Facilitation } from "../facilitator.js";
import type { Conversation } from "../participant.js";
import { checkinsScreen } from "./checkins.js";
import { el } from "./dom.js";
import { inviteScreen } from "./invite.js";
import { membersScreen } from "./members.js";
import { modlogScreen } from "./modlog.js";
import { reportsScreen } from "./reports.js";
import { t, tn } from "../i18n.js";

/** One tool's screen: its root element, its title, and a redraw after the group changed. */
export interface ToolScreen {
  readonly root: HTMLElement;
  readonly title: string;
  update(): void;
}

interface Tool {
  readonly name: string;
  readonly allowed: (f: Facilitation) => boolean;
  readonly make: (doc: Document, f: Facilitation) => ToolScreen;
}

const TOOLS: readonly Tool[] = [
  { name: "invite", allowed: (f) => f.mayInvite, make: inviteScreen },
  { name: "members", allowed: (f) => f.seesReports, make: membersScreen },
  { name: "reports", allowed: (f) => f.seesReports, make: reportsScreen },
  { name: "checkins", allowed: (f) => f.seesCheckins, make: checkinsScreen },
  { name: "log", allowed: (f) => f.seesReports, make: modlogScreen },
];

function linkText(name: string, f: Facilitation): string {
  if (name === "invite") return t("Invite someone");
  if (name === "members") return t("Members");
  if (name === "checkins") return t("Check-ins");
  if (name === "log") return t("Moderation log");
  const open = f.openReports();
  return open === 0 ? t("Reports") : tn("Reports ({n} open)", "Reports ({n} open)", open);
}

/**
 * Adds the tools to the conversation shown in `main` (its menu after the screen's heading) and
 * follows the fragment (until `signal` aborts: the page opens another group); returns the actions' layer (the check-in form names its audience with it).
 */
export function attachFacilitation(doc: Document, main: HTMLElement, conv: Conversation, origin: string, signal?: AbortSignal): Facilitation {
  const fac = new Facilitation(conv, origin);
  const win = doc.defaultView;
  const nav = el(doc, "nav", undefined, { "aria-label": t("Facilitator tools"), id: "tools" });
  const menu = el(doc, "ul");
  nav.append(menu);
  main.querySelector("h1")?.after(nav);
  let saved: { nodes: Node[]; title: string } | null = null;
  let current: ToolScreen | null = null;
  let here = "";
  let links = "";

  const drawMenu = (): void => {
    const shown = TOOLS.filter((t) => t.allowed(fac)).map((t) => [t.name, linkText(t.name, fac)] as const);
    const key = `${here}/${shown.map((s) => s.join(":")).join(",")}`;
    if (key === links) return;
    links = key;
    nav.hidden = shown.length === 0;
    menu.replaceChildren(
      ...shown.map(([name, text]) => {
        const li = el(doc, "li");
        li.append(el(doc, "a", text, name === here ? { href: `#${name}`, "aria-current": "page" } : { href: `#${name}` }));
        return li;
      }),
    );
  };

  const route = (): void => {
    const name = win?.location.hash.slice(1) ?? "";
    const tool = TOOLS.find((t) => t.name === name && t.allowed(fac));
    if (tool !== undefined) {
      saved ??= { nodes: [...main.childNodes], title: doc.title }; // the menu among them, where it was
      current = tool.make(doc, fac);
      here = tool.name;
      drawMenu();
      const back = el(doc, "p");
      back.append(el(doc, "a", t("Back to the conversation"), { href: "#" }));
      main.replaceChildren(back, nav, current.root);
      main.dataset["screen"] = tool.name;
      doc.title = `${current.title} · Holdspace`;
      win?.scrollTo(0, 0); // a tool opens at its top: its heading, the way back and the menu in view
      main.querySelector<HTMLElement>("#tool-h")?.focus({ preventScroll: true });
    } else if (saved !== null) {
      main.replaceChildren(...saved.nodes);
      main.dataset["screen"] = "conversation";
      doc.title = saved.title;
      saved = null;
      current = null;
      here = "";
      conv.onChange();
    }
  };

  const before = conv.onChange;
  conv.onChange = () => {
    before();
    fac.upkeep().catch(() => undefined); // tried again at the next change
    drawMenu();
    if (current === null && (win?.location.hash ?? "").length > 1) route(); // a tool allowed once the state is read
    else current?.update();
  };
  drawMenu();
  void fac.loadReportStates().then(() => conv.onChange());
  win?.addEventListener("hashchange", route, signal === undefined ? {} : { signal }); // `signal`: the page leaves the group
  route();
  return fac;
}
