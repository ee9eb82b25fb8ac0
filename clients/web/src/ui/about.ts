/**
 * "About the group" (17.12, 17.13): the group's name, description and guidelines as its facilitators
 * wrote them, this member's own display name in the group (and its four words, which nobody can
 * choose), its credentials (ui/credential.ts: the organisations it trusts, the credentials members
 * shared and sharing one's own), and, for a facilitator, the group's profile to edit and its crisis
 * resources to pin (ui/pin.ts).
 */
import { currentProfile, mayEditAbout, saveProfile } from "../about.js";
import { label } from "../labels.js";
import { setDisplayName } from "../member_actions.js";
import type { Conversation } from "../participant.js";
import { People } from "../people.js";
import { credentialSection } from "./credential.js";
import { el, field, showProblem } from "./dom.js";
import type { ToolScreen } from "./facilitation.js";
import { pinSection } from "./pin.js";
import { t } from "../i18n.js";

export function aboutScreen(doc: Document, conv: Conversation): ToolScreen {
  const root = el(doc, "section", undefined, { "aria-labelledby": "tool-h" });
  const shown = el(doc, "div", undefined, { id: "about" });
  const status = el(doc, "p", undefined, { role: "status" });
  const alert = el(doc, "div", undefined, { role: "alert" });
  const facilitator = el(doc, "div");
  const credentials = credentialSection(doc, conv);
  root.append(el(doc, "h1", t("About the group"), { id: "tool-h", tabindex: "-1" }), shown, status, alert, nameForm(doc, conv, status, alert), credentials.root, facilitator);
  let drawn = "";
  const draw = (): void => {
    const about = currentProfile(conv.read(), conv.client.state);
    const key = JSON.stringify([about, mayEditAbout(conv)]);
    if (key === drawn) return; // unchanged: what someone is typing stays
    drawn = key;
    shown.replaceChildren(
      el(doc, "h2", about?.name ?? t("This group has no name yet")),
      el(doc, "h3", t("What the group is about")),
      para(doc, about?.description ?? t("The facilitators have not written a description yet.")),
      el(doc, "h3", t("Guidelines")),
      para(doc, about?.guidelines ?? t("The facilitators have not written guidelines yet.")),
    );
    facilitator.replaceChildren();
    if (mayEditAbout(conv)) facilitator.append(profileForm(doc, conv, about, status, alert), pinSection(doc, conv, status, alert));
  };
  draw();
  const update = (): void => {
    draw();
    credentials.update();
  };
  return { root, title: t("About the group"), update };
}

function para(doc: Document, text: string): HTMLElement {
  const p = el(doc, "p", text);
  p.style.whiteSpace = "pre-wrap";
  return p;
}

function nameForm(doc: Document, conv: Conversation, status: HTMLElement, alert: HTMLElement): HTMLElement {
  const f = el(doc, "form", undefined, { "aria-labelledby": "my-name-h" });
  const own = new People(conv.read(), conv.client.state, conv.self, conv.participant.clock()).ownName;
  const input = el(doc, "input", undefined, { type: "text", maxlength: "64", autocomplete: "nickname" });
  input.value = own ?? "";
  f.append(
    el(doc, "h2", t("Your name in this group"), { id: "my-name-h" }),
    el(doc, "p", t("Without a name, the others see you as four words made from your key here: {words}. A name is for this group only; leave it empty to go back to the words.", { words: label(conv.self) })),
    field(doc, "my-name", t("Your name (optional)"), input),
    el(doc, "button", t("Save my name"), { type: "submit" }),
  );
  f.addEventListener("submit", (ev) => {
    ev.preventDefault();
    alert.replaceChildren();
    const name = input.value.trim();
    setDisplayName(conv, name === "" ? null : name).then(
      () => (status.textContent = name === "" ? t("Saved. The others see your four words again.") : t("Saved. The others see you as {name}.", { name })),
      (err: unknown) => showProblem(doc, alert, t("That name cannot be used: it must fit on one line, with at most 64 letters."), err),
    );
  });
  return f;
}

function profileForm(doc: Document, conv: Conversation, about: ReturnType<typeof currentProfile>, status: HTMLElement, alert: HTMLElement): HTMLElement {
  const f = el(doc, "form", undefined, { "aria-labelledby": "profile-h" });
  const name = el(doc, "input", undefined, { type: "text", maxlength: "64", required: "" });
  const description = el(doc, "textarea", undefined, { rows: "3", maxlength: "2000" });
  const guidelines = el(doc, "textarea", undefined, { rows: "6", maxlength: "8000" });
  name.value = about?.name ?? "";
  description.value = about?.description ?? "";
  guidelines.value = about?.guidelines ?? "";
  f.append(
    el(doc, "h2", t("Edit the group's profile"), { id: "profile-h" }),
    el(doc, "p", t("Every member sees these. Only facilitators can change them.")),
    field(doc, "group-name", t("The group's name"), name),
    field(doc, "group-description", t("What the group is about (optional)"), description),
    field(doc, "group-guidelines", t("Guidelines (optional)"), guidelines),
    el(doc, "button", t("Save the profile"), { type: "submit" }),
  );
  f.addEventListener("submit", (ev) => {
    ev.preventDefault();
    alert.replaceChildren();
    saveProfile(conv, { name: name.value, description: description.value, guidelines: guidelines.value }).then(
      () => (status.textContent = t("Saved. Every member sees the new name, description and guidelines.")),
      (err: unknown) => showProblem(doc, alert, t("The profile could not be saved: the name must fit on one line."), err),
    );
  });
  return f;
}
