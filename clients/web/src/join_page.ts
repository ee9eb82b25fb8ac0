/**
 * The invitation screen: what `/join#hsinvite:…` shows (spec 14.3, 15.8.3).
 *
 * The node serves `/join` as the same page as `/`; the invite is read here, from the fragment, which
 * the browser never sent to the node. The screen says who invites (the group's home node, from the
 * token) and what comes next. Joining from the browser (a passphrase sealing keys in this browser,
 * then the join entry) is not built yet, so the screen stops there: it joins nothing and says so.
 * It writes only text nodes and elements (no HTML strings), so nothing in a link can inject markup.
 */
import { HoldspaceError } from "./errors.js";
import { parseInvite, type ParsedInvite } from "./invite.js";
import { encodeTextId } from "./textid.js";

function el<K extends keyof HTMLElementTagNameMap>(doc: Document, tag: K, text?: string, id?: string): HTMLElementTagNameMap[K] {
  const e = doc.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (id !== undefined) e.id = id;
  return e;
}

/** A node as people read it: its host and, unless 443, its port. */
function where(host: string, port: number): string {
  return port === 443 ? host : `${host}:${port}`;
}

function invitation(doc: Document, invite: ParsedInvite): HTMLElement[] {
  const home = invite.token.nodes[0]!;
  const h1 = el(doc, "h1", "You're invited");
  const intro = el(doc, "p", "Someone has invited you to a Holdspace peer-support group. Its conversation is kept by the community node ");
  intro.append(el(doc, "strong", where(home.host, home.port)), doc.createTextNode("."));
  const facts = el(doc, "dl", undefined, "invite-facts");
  const fact = (term: string, value: string): void => {
    facts.append(el(doc, "dt", term));
    const dd = el(doc, "dd");
    const code = el(doc, "code", value);
    code.style.overflowWrap = "anywhere"; // a 62-character id wraps on a phone (CSSOM: allowed by the CSP)
    dd.append(code);
    facts.append(dd);
  };
  fact("Group", encodeTextId("hsg", invite.token.groupId));
  fact(invite.token.nodes.length > 1 ? "Nodes that host it" : "Node that hosts it", invite.token.nodes.map((n) => where(n.host, n.port)).join(", "));
  const nextH = el(doc, "h2", "What comes next", "next-h");
  const next = el(doc, "section");
  next.setAttribute("aria-labelledby", "next-h");
  next.append(
    nextH,
    el(doc, "p", "To join, you choose a passphrase that protects your keys on this device, then you join the conversation under a new name that only this group sees."),
    el(doc, "p", "Joining from this browser is not available yet. You can join today with the Holdspace app on a computer: open the app and paste this invite link when it asks for an invite."),
    el(doc, "p", "Keep the link private: anyone who has it can use the invite."),
  );
  return [h1, intro, facts, next];
}

function problem(doc: Document, err: unknown): HTMLElement[] {
  const code = err instanceof HoldspaceError ? err.code : "address.bad_invite";
  const p = el(doc, "p", "It may have been cut short when it was copied. Ask the person who invited you to send it again, and open the whole link.");
  return [el(doc, "h1", "This invite link does not work"), p, el(doc, "p", `(${code})`)];
}

function missing(doc: Document): HTMLElement[] {
  return [el(doc, "h1", "Open your invite link"), el(doc, "p", "This is where an invite link leads, but this address carries no invite. Open the whole link you were given.")];
}

/** Fills `main` from the fragment `hash` (`#hsinvite:…`, as in `location.hash`); returns the invite, or null. */
export function showJoinScreen(doc: Document, main: HTMLElement, hash: string): ParsedInvite | null {
  const fragment = hash.startsWith("#") ? hash.slice(1) : hash;
  let invite: ParsedInvite | null = null;
  let content: HTMLElement[];
  if (fragment === "") content = missing(doc);
  else {
    try {
      invite = parseInvite(fragment);
      content = invitation(doc, invite);
    } catch (err) {
      content = problem(doc, err);
    }
  }
  main.replaceChildren(...content);
  main.dataset["screen"] = invite === null ? "join-problem" : "invited";
  doc.title = invite === null ? "Invite · Holdspace" : "You're invited · Holdspace";
  return invite;
}

/** Starts the page: on `/join`, the invitation screen (again whenever the fragment changes). */
export function startPage(doc: Document, loc: Location): void {
  if (loc.pathname !== "/join") return;
  const main = doc.querySelector("main");
  if (main === null) return;
  const show = (): void => void showJoinScreen(doc, main, loc.hash);
  show();
  doc.defaultView?.addEventListener("hashchange", show);
}
