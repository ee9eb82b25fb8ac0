/**
 * "About the group" (17.12, 17.13): the group's name, description and guidelines as its facilitators
 * wrote them, this member's own display name in the group (and its four words, which nobody can
 * choose), its credentials (ui/credential.ts: the organisations it trusts, the credentials members
 * shared and sharing one's own), and, for a facilitator, the group's profile to edit and its crisis
 * resources to pin (ui/pin.ts).
 */
import { currentProfile, historyChoice, mayEditAbout, newcomersRead, saveHistory, saveProfile, widens } from "../about.js";
import { t } from "../i18n.js";
import { label } from "../labels.js";
import { setDisplayName } from "../member_actions.js";
import type { Conversation } from "../participant.js";
import { People } from "../people.js";
import { credentialSection } from "./credential.js";
import { el, field, showProblem } from "./dom.js";
import type { ToolScreen } from "./facilitation.js";
import { pinSection } from "./pin.js";

export function aboutScreen(doc: Document, conv: Conversation): ToolScreen {
  const root = el(doc, "section", undefined, { "aria-labelledby": "tool-h" });
  const shown = el(doc, "div", undefined, { id: "about" });
  const status = el(doc, "p", undefined, { role: "status" });
  const alert = el(doc, "div", undefined, { role: "alert" });
  const facilitator = el(doc, "div");
  const credentials = credentialSection(doc, conv);
  const newcomers = el(doc, "section", undefined, { "aria-labelledby": "newcomers-h" });
  root.append(el(doc, "h1", t("About the group"), { id: "tool-h", tabindex: "-1" }), shown, newcomers, status, alert, nameForm(doc, conv, status, alert), credentials.root, facilitator);
  let drawn = "";
  const draw = (): void => {
    const about = currentProfile(conv.read(), conv.client.state);
    const history = conv.client.state.state.history;
    const key = JSON.stringify([about, mayEditAbout(conv), String(history)]);
    if (key === drawn) return; // unchanged: what someone is typing stays
    drawn = key;
    shown.replaceChildren(
      el(doc, "h2", about?.name ?? t("This group has no name yet")),
      el(doc, "h3", t("What the group is about")),
      para(doc, about?.description ?? t("The facilitators have not written a description yet.")),
      el(doc, "h3", t("Guidelines")),
      para(doc, about?.guidelines ?? t("The facilitators have not written guidelines yet.")),
    );
    newcomers.replaceChildren(
      el(doc, "h2", t("What new members can read"), { id: "newcomers-h" }),
      el(doc, "p", newcomersRead(history), { id: "history-sentence" }),
      el(doc, "p", t("Everyone who joins can read the group's name, description, guidelines and pinned resources at once.")),
    );
    facilitator.replaceChildren();
    if (mayEditAbout(conv)) {
      newcomers.append(historyForm(doc, conv, status, alert));
      facilitator.append(profileForm(doc, conv, about, status, alert), pinSection(doc, conv, status, alert));
    }
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

/** A facilitator's choice of what new members read (12.2, 13.1); a wider choice is asked about first. */
function historyForm(doc: Document, conv: Conversation, status: HTMLElement, alert: HTMLElement): HTMLElement {
  const f = el(doc, "form", undefined, { "aria-labelledby": "history-form-h" });
  const now = conv.client.state.state.history;
  const choice = el(doc, "select");
  for (const [value, text] of [
    ["joined", t("from the day they join (nothing before)")],
    ["days", t("the last few days before they join")],
    ["shared", t("everything, from the group's start")],
  ] as const) {
    const o = el(doc, "option", text, { value });
    if (value === (typeof now === "bigint" ? "days" : now)) o.selected = true;
    choice.append(o);
  }
  const days = el(doc, "input", undefined, { type: "number", min: "1", max: "365" });
  days.value = typeof now === "bigint" ? String(now) : "7";
  const ask = el(doc, "div", undefined, { id: "history-confirm" });
  const choiceField = el(doc, "p");
  choice.id = "history-choice";
  choiceField.append(el(doc, "label", t("New members read"), { for: "history-choice" }), choice);
  f.append(
    el(doc, "h3", t("Choose what new members can read"), { id: "history-form-h" }),
    choiceField,
    field(doc, "history-days", t("How many days (1 to {max})", { max: 365 }), days),
    el(doc, "button", t("Save for everyone"), { type: "submit" }),
    el(doc, "p", t("It applies to people who join from now on. Members who are already here keep what they can read.")),
    ask,
  );
  const save = (chosen: ReturnType<typeof historyChoice>): void => {
    ask.replaceChildren();
    saveHistory(conv, chosen).then(
      () => (status.textContent = t("Saved for everyone. {sentence}", { sentence: newcomersRead(chosen) })),
      (err: unknown) => showProblem(doc, alert, t("The setting could not be saved."), err),
    );
  };
  f.addEventListener("submit", (ev) => {
    ev.preventDefault();
    alert.replaceChildren();
    let chosen: ReturnType<typeof historyChoice>;
    try {
      chosen = historyChoice(choice.value, days.value);
    } catch (err) {
      showProblem(doc, alert, t("Choose nothing before, everything, or a number of days from 1 to 365."), err);
      return;
    }
    if (!widens(conv.client.state.state.history, chosen)) return save(chosen);
    const yes = el(doc, "button", t("Yes, let new members read this"), { type: "button" });
    const no = el(doc, "button", t("Keep it as it is"), { type: "button" });
    yes.addEventListener("click", () => save(chosen));
    no.addEventListener("click", () => ask.replaceChildren());
    ask.replaceChildren(
      el(doc, "p", `${t("New members would read more than they do now.")} ${newcomersRead(chosen)}`, { role: "alert" }),
      el(doc, "p", t("Members wrote what came before expecting fewer readers. Tell the group before you change this.")),
      yes,
      no,
    );
  });
  return f;
}
