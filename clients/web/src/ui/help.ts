/**
 * "Need help now?": one tap away on every screen (a button in the page's banner, outside the
 * screens), it shows the group's pinned crisis resources (17.8) or, without any, built-in pointers
 * to emergency numbers and helplines. Nothing is sent or stored when it is opened.
 */
import { linkParts } from "../links.js";
import { el } from "./dom.js";
import { msg, t } from "../i18n.js";

export const DEFAULT_RESOURCES = [
  msg("If you are in immediate danger, please call your local emergency number now (for example 112 in the EU, 911 in the US and Canada, 999 in the UK)."),
  msg("To talk with someone, you can find free, confidential helplines in your country at https://findahelpline.com"),
  msg("You can step away from this conversation at any time; it will still be here when you come back."),
];

export class Help {
  readonly banner: HTMLElement;
  private readonly panel: HTMLElement;
  private readonly button: HTMLButtonElement;
  /** The group's pinned resources, once known. */
  pinned: string | null = null;

  constructor(private readonly doc: Document) {
    this.banner = el(doc, "header");
    this.button = el(doc, "button", t("Need help now?"), { type: "button", "aria-expanded": "false", "aria-controls": "help" });
    this.panel = el(doc, "section", undefined, { id: "help", "aria-labelledby": "help-h" });
    this.panel.hidden = true;
    this.button.addEventListener("click", () => this.toggle());
    this.banner.append(this.button, this.panel);
  }

  toggle(): void {
    const open = this.panel.hidden;
    this.button.setAttribute("aria-expanded", String(open));
    if (open) {
      const lines = this.pinned === null ? DEFAULT_RESOURCES.map((l) => t(l)) : this.pinned.split("\n");
      const close = el(this.doc, "button", t("Close"), { type: "button" });
      close.addEventListener("click", () => this.toggle());
      this.panel.replaceChildren(
        el(this.doc, "h2", t("Help, right now"), { id: "help-h" }),
        el(this.doc, "p", this.pinned === null ? t("Your group has not shared its own resources yet. These are for anyone, anywhere:") : t("What your group's facilitators shared:")),
        ...lines.map((l) => this.line(l)),
        close,
      );
    }
    this.panel.hidden = !open;
  }

  /** One line of resources, its numbers and web addresses tappable (`tel:`, `sms:`, `https:`). */
  private line(text: string): HTMLElement {
    const p = el(this.doc, "p");
    for (const part of linkParts(text)) {
      if (part.href === null) p.append(this.doc.createTextNode(part.text));
      else p.append(el(this.doc, "a", part.text, part.href.startsWith("http") ? { href: part.href, rel: "noopener noreferrer", target: "_blank" } : { href: part.href }));
    }
    return p;
  }
}
