/**
 * The invitation screen: what `/join#hsinvite:…` shows (spec 14.3, 15.8.3).
 *
 * The node serves `/join` as the same page as `/`; the invite is read here, from the fragment, which
 * the browser never sent to the node. The screen says who invites (the group's home node, from the
 * token) and what comes next, and offers to join (app.ts goes on: a passphrase sealing the keys in
 * this browser, then the join entry). It writes only text nodes and elements (no HTML strings), so nothing in a link can inject markup.
 */
import { HoldspaceError } from "./errors.js";
import { parseInvite, type ParsedInvite } from "./invite.js";
import { t, tParts } from "./i18n.js";
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

function invitation(doc: Document, invite: ParsedInvite, onJoin: ((invite: ParsedInvite) => void) | null): HTMLElement[] {
  const home = invite.token.nodes[0]!;
  // The name is the inviter's claim (14.3), shown as text only; without one, the group's id.
  const name = invite.token.name;
  const h1 = el(doc, "h1", name === null ? t("You're invited") : t("You're invited to {name}", { name }));
  const intro = el(doc, "p");
  intro.append(...tParts("Someone has invited you to a Holdspace peer-support group. Its conversation is kept by the community node {node}.", { node: el(doc, "strong", where(home.host, home.port)) }));
  const facts = el(doc, "dl", undefined, "invite-facts");
  const fact = (term: string, value: string): void => {
    facts.append(el(doc, "dt", term));
    const dd = el(doc, "dd");
    const code = el(doc, "code", value);
    code.style.overflowWrap = "anywhere"; // a 62-character id wraps on a phone (CSSOM: allowed by the CSP)
    dd.append(code);
    facts.append(dd);
  };
  fact(t("Group"), name ?? encodeTextId("hsg", invite.token.groupId));
  fact(invite.token.nodes.length > 1 ? t("Nodes that host it") : t("Node that hosts it"), invite.token.nodes.map((n) => where(n.host, n.port)).join(", "));
  const nextH = el(doc, "h2", t("What comes next"), "next-h");
  const next = el(doc, "section");
  next.setAttribute("aria-labelledby", "next-h");
  next.append(
    nextH,
    el(doc, "p", t("To join, you choose a passphrase that protects your keys on this device, then you join the conversation under a new name that only this group sees.")),
    el(doc, "p", t("Your keys stay in this browser, locked by your passphrase: the node keeps only what it cannot read.")),
    el(doc, "p", t("Keep the link private: anyone who has it can use the invite.")),
  );
  if (onJoin === null) return [h1, intro, facts, next];
  const join = el(doc, "button", t("Join this group"));
  join.type = "button";
  join.style.minHeight = "2.75rem";
  join.style.fontSize = "1rem";
  join.addEventListener("click", () => onJoin(invite));
  return [h1, intro, facts, next, join];
}

function problem(doc: Document, err: unknown): HTMLElement[] {
  const code = err instanceof HoldspaceError ? err.code : "address.bad_invite";
  const p = el(doc, "p", t("It may have been cut short when it was copied. Ask the person who invited you to send it again, and open the whole link."));
  return [el(doc, "h1", t("This invite link does not work")), p, el(doc, "p", `(${code})`)];
}

export function missing(doc: Document): HTMLElement[] {
  return [el(doc, "h1", t("Open your invite link")), el(doc, "p", t("This is where an invite link leads, but this address carries no invite. Open the whole link you were given."))];
}

/** Fills `main` from the fragment `hash` (`#hsinvite:…`, as in `location.hash`); returns the invite,
 * or null. With `onJoin`, the screen has a "Join this group" button that calls it. */
export function showJoinScreen(doc: Document, main: HTMLElement, hash: string, onJoin: ((invite: ParsedInvite) => void) | null = null): ParsedInvite | null {
  const fragment = hash.startsWith("#") ? hash.slice(1) : hash;
  let invite: ParsedInvite | null = null;
  let content: HTMLElement[];
  if (fragment === "") content = missing(doc);
  else {
    try {
      invite = parseInvite(fragment);
      content = invitation(doc, invite, onJoin);
    } catch (err) {
      content = problem(doc, err);
    }
  }
  main.replaceChildren(...content);
  main.dataset["screen"] = invite === null ? "join-problem" : "invited";
  doc.title = invite === null ? t("Invite · Holdspace") : t("You're invited · Holdspace");
  return invite;
}
