/**
 * "Invite someone" (spec 14.3), for a facilitator: the role, how many people may use the invite and
 * for how many days (as the local app offers), then the link `https://<node>/join#hsinvite:…` with a
 * copy button and the same link as a QR code. The QR code is an `<svg>` built with DOM APIs (no
 * markup string, no inline style: the page's CSP stays as it is), from `qrcode-generator`.
 *
 * The link is shown once, on this screen: it is a capability, and nothing keeps it. Below the form,
 * the group's invites, newest first: the role, how many joined by each of how many, the expiry, and
 * where it stands (open, used up, expired, revoked); "Revoke" on an open one asks first.
 */
import qrcode from "qrcode-generator";
import type { Role } from "../control.js";
import { type Facilitation, type InviteStatus, type InviteView, MAX_INVITE_DAYS, MAX_INVITE_USES, type MadeInvite, ROLES } from "../facilitator.js";
import { el, field, showProblem } from "./dom.js";
import type { ToolScreen } from "./facilitation.js";
import { whenText } from "./members.js";
import { formatDateTime, msg, t, tn } from "../i18n.js";

const SVG = "http://www.w3.org/2000/svg";
/** Light modules around the code, as the QR standard asks. */
const QUIET = 4;
const ROLE_WORDS: Record<Role, string> = { member: msg("Member"), moderator: msg("Moderator"), facilitator: msg("Facilitator") };

/** `text` as a QR code (byte mode, error correction M): one `<svg>` with one path of dark modules. */
export function qrSvg(doc: Document, text: string, name: string): SVGSVGElement {
  const qr = qrcode(0, "M");
  qr.addData(text, "Byte");
  qr.make();
  const n = qr.getModuleCount();
  const side = String(n + 2 * QUIET);
  const svg = doc.createElementNS(SVG, "svg");
  for (const [k, v] of Object.entries({ viewBox: `0 0 ${side} ${side}`, role: "img", "aria-label": name, class: "qr", "shape-rendering": "crispEdges" })) svg.setAttribute(k, v);
  const paper = doc.createElementNS(SVG, "rect");
  for (const [k, v] of Object.entries({ width: side, height: side, fill: "#fff" })) paper.setAttribute(k, v);
  let d = "";
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) if (qr.isDark(r, c)) d += `M${c + QUIET} ${r + QUIET}h1v1h-1z`;
  const dark = doc.createElementNS(SVG, "path");
  dark.setAttribute("d", d);
  dark.setAttribute("fill", "#000");
  svg.append(paper, dark);
  return svg;
}

function number(doc: Document, value: number, max: number): HTMLInputElement {
  return el(doc, "input", undefined, { type: "number", min: "1", max: String(max), step: "1", value: String(value), inputmode: "numeric", required: "" });
}

/** What the invite allows, in words. */
export function inviteSummary(m: MadeInvite): string {
  const until = formatDateTime(m.expiresMs, { dateStyle: "long", timeStyle: "short" });
  const role = m.role === "member" ? t("a member") : m.role === "moderator" ? t("a moderator") : t("a facilitator");
  return tn(
    "It lets one person join as {role}, until {until}. Give it privately to the person you are inviting: anyone who has it can join until it is used up or expires.",
    "It lets {n} people join as {role}, until {until}. Give it privately to the person you are inviting: anyone who has it can join until it is used up or expires.",
    m.uses,
    { role, until },
  );
}

export function inviteScreen(doc: Document, fac: Facilitation): ToolScreen {
  const root = el(doc, "section", undefined, { "aria-labelledby": "tool-h" });
  const role = el(doc, "select");
  for (const r of ROLES) role.append(el(doc, "option", t(ROLE_WORDS[r]), r === "member" ? { value: r, selected: "" } : { value: r }));
  const roleField = el(doc, "p");
  role.id = "invite-role";
  roleField.append(el(doc, "label", t("Their role"), { for: "invite-role" }), role);
  const uses = number(doc, 1, MAX_INVITE_USES);
  const days = number(doc, 7, MAX_INVITE_DAYS);
  const make = el(doc, "button", t("Make an invite"), { type: "submit" });
  const form = el(doc, "form", undefined, { "aria-label": t("A new invite") });
  form.append(roleField, field(doc, "invite-uses", t("How many people may use it (1 to {max})", { max: MAX_INVITE_USES }), uses), field(doc, "invite-days", t("Valid for this many days (1 to {max})", { max: MAX_INVITE_DAYS }), days), make);
  const alert = el(doc, "div", undefined, { role: "alert" });
  const result = el(doc, "section", undefined, { "aria-labelledby": "invite-ready-h" });
  result.hidden = true;
  root.append(
    el(doc, "h1", t("Invite someone"), { id: "tool-h", tabindex: "-1" }),
    el(doc, "p", t("An invite is a link. Opened on a phone, it leads to this group: the person chooses a passphrase and joins. Only you see the link, here, once.")),
    form,
    alert,
    result,
  );
  const invites = inviteList(doc, fac);
  root.append(invites.root);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    alert.replaceChildren();
    make.disabled = true;
    fac
      .invite({ role: role.value as Role, uses: Number(uses.value), days: Number(days.value) })
      .then((m) => showInvite(doc, result, m))
      .catch((err: unknown) => showProblem(doc, alert, t("The invite could not be made. Check the numbers, or try again when the group's node can be reached."), err))
      .finally(() => {
        make.disabled = false;
      });
  });
  return { root, title: t("Invite someone"), update: invites.update };
}

function statusWords(s: InviteStatus): string {
  if (s === "open") return t("Open");
  if (s === "used") return t("Used up");
  if (s === "expired") return t("Expired");
  return t("Revoked");
}

function roleLine(i: InviteView): string {
  const until = whenText(i.expiresMs);
  if (i.role === "facilitator") return t("For a facilitator · {used} of {uses} joined · until {until}", { used: i.used, uses: i.uses, until });
  if (i.role === "moderator") return t("For a moderator · {used} of {uses} joined · until {until}", { used: i.used, uses: i.uses, until });
  return t("For a member · {used} of {uses} joined · until {until}", { used: i.used, uses: i.uses, until });
}

/** The group's invites, newest first, each "Revoke"-able while open (asking first). */
function inviteList(doc: Document, fac: Facilitation): { root: HTMLElement; update: () => void } {
  const root = el(doc, "section", undefined, { "aria-labelledby": "invites-h" });
  const list = el(doc, "ul", undefined, { id: "invites", class: "cards", "aria-labelledby": "invites-h" });
  const empty = el(doc, "p", t("No invites yet."));
  const status = el(doc, "p", undefined, { role: "status" });
  const alert = el(doc, "div", undefined, { role: "alert" });
  root.append(el(doc, "h2", t("The group's invites"), { id: "invites-h" }), status, alert, empty, list);
  let drawn = "";
  const update = (): void => {
    const all = fac.invites();
    const key = all.map((i) => `${i.hex}:${i.used}:${i.status}`).join(",");
    if (key === drawn) return; // unchanged: an open question stays open
    drawn = key;
    empty.hidden = all.length > 0;
    list.replaceChildren(...all.map((i) => inviteRow(doc, fac, i, status, alert)));
  };
  update();
  return { root, update };
}

function inviteRow(doc: Document, fac: Facilitation, i: InviteView, status: HTMLElement, alert: HTMLElement): HTMLLIElement {
  const short = i.hex.slice(0, 8);
  const li = el(doc, "li", undefined, { "data-invite": i.hex });
  const head = el(doc, "p");
  head.append(el(doc, "strong", t("Invite {short}", { short })), doc.createTextNode(` · ${statusWords(i.status)}`));
  li.append(head, el(doc, "p", roleLine(i)));
  if (i.status !== "open") return li;
  const revoke = el(doc, "button", t("Revoke invite {short}", { short }), { type: "button" });
  const confirm = el(doc, "div", undefined, { role: "group", "aria-label": t("Confirm revoking invite {short}", { short }) });
  confirm.hidden = true;
  revoke.addEventListener("click", () => {
    const question = el(doc, "p", t("Revoke invite {short}? Nobody can join with it any more, on any server. Whoever joined with it already stays.", { short }), { tabindex: "-1" });
    const yes = el(doc, "button", t("Yes, revoke invite {short}", { short }), { type: "button", class: "danger" });
    const no = el(doc, "button", t("Keep it"), { type: "button" });
    no.addEventListener("click", () => {
      confirm.hidden = true;
      revoke.hidden = false;
      revoke.focus();
    });
    yes.addEventListener("click", () => {
      yes.disabled = true;
      alert.replaceChildren();
      fac
        .revoke(i.id)
        .then(() => {
          status.textContent = t("Invite {short} is revoked: nobody can join with it any more.", { short });
        })
        .catch((err: unknown) => {
          yes.disabled = false;
          showProblem(doc, alert, t("The invite could not be revoked. Try again when the group's node can be reached."), err);
        });
    });
    confirm.replaceChildren(question, yes, no);
    confirm.hidden = false;
    revoke.hidden = true;
    question.focus();
  });
  li.append(revoke, confirm);
  return li;
}

function showInvite(doc: Document, result: HTMLElement, m: MadeInvite): void {
  const link = el(doc, "textarea", undefined, { readonly: "", rows: "4", spellcheck: "false" });
  link.value = m.link;
  const copied = el(doc, "p", undefined, { role: "status" });
  const copy = el(doc, "button", t("Copy the link"), { type: "button" });
  copy.addEventListener("click", () => {
    link.select();
    const clip = doc.defaultView?.navigator.clipboard;
    const done = (): void => {
      copied.textContent = t("Copied. Paste it into a private message to the person you are inviting.");
    };
    if (clip !== undefined)
      clip.writeText(m.link).then(done, () => {
        copied.textContent = t("Copying was not allowed here: the link is selected, copy it with your device's menu.");
      });
    else copied.textContent = t("The link is selected: copy it with your device's menu.");
  });
  const figure = el(doc, "figure");
  figure.append(qrSvg(doc, m.link, t("QR code of the invite link above")), el(doc, "figcaption", t("The same invite as a QR code, for someone beside you to scan with their phone's camera.")));
  const heading = el(doc, "h2", t("Your invite is ready"), { id: "invite-ready-h", tabindex: "-1" });
  result.replaceChildren(heading, el(doc, "p", inviteSummary(m)), field(doc, "invite-link", t("Invite link"), link), copy, copied, figure);
  result.hidden = false;
  heading.focus();
}
