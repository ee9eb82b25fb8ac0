/**
 * "Start a group": its name, and optionally a description and guidelines (the group's profile,
 * 17.12, which every member reads on "About the group"); then groups.ts starts it on the node that
 * serves the page, this person its first facilitator. A refusal is a sentence in plain words (the
 * node's operator lets nobody start groups there, asks for a token, hosts as many groups as it
 * allows, has no room left; the node cannot be reached), with its code behind "Details".
 */
import type { GroupAbout } from "../about.js";
import { t } from "../i18n.js";
import { codeOf, el, field, showProblem } from "./dom.js";

/** The sentence a refusal of starting a group is shown with. */
export function startSentence(code: string): string {
  switch (code) {
    case "app.bad_input":
      return t("Please give the group a name.");
    case "content.malformed":
      return t("Please keep the name to one line of at most 64 characters, the description under 2,000 characters and the guidelines under 8,000.");
    case "admission.closed":
      return t("This community node does not let anyone start new groups: its operator decided so. You can still join groups by an invite link.");
    case "admission.token_required":
      return t("This community node lets people start groups only with a token from its operator, and this page cannot use one yet. Ask its operator, or use the Holdspace app.");
    case "admission.max_groups":
      return t("This community node already hosts as many groups as its operator allows. Ask its operator, or start the group on another node.");
    case "admission.group_refused":
      return t("This community node's operator does not let it host this group.");
    case "quota.node_full":
    case "quota.group_full":
      return t("This community node has no room left for a new group. Ask its operator, or try again later.");
    case "web.unreachable":
    case "web.bad_info":
    case "web.wrong_node":
    case "proto.busy":
    case "proto.rate_limited":
      return t("The community node cannot be reached right now, or is busy. Please try again in a while.");
    default:
      return t("The group could not be started. Please try again in a moment.");
  }
}

/** Fills `main` with the form; `start` gets what was typed and rejects to show why; `back` returns
 * to the list of groups. */
export function showStartGroup(doc: Document, main: HTMLElement, start: (about: GroupAbout) => Promise<void>, back: () => void): void {
  const name = el(doc, "input", undefined, { type: "text", autocomplete: "off", required: "", maxlength: "64" });
  const description = el(doc, "textarea", undefined, { rows: "3", maxlength: "2000" });
  const guidelines = el(doc, "textarea", undefined, { rows: "4", maxlength: "8000" });
  const submit = el(doc, "button", t("Start the group"), { type: "submit" });
  const status = el(doc, "div", undefined, { role: "status" });
  const alert = el(doc, "div", undefined, { role: "alert" });
  const form = el(doc, "form", undefined, { "aria-labelledby": "start-h" });
  form.append(
    field(doc, "group-name-input", t("The group's name"), name),
    field(doc, "group-description", t("What the group is for (optional)"), description),
    field(doc, "group-guidelines", t("The group's guidelines (optional)"), guidelines),
    submit,
    status,
    alert,
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    alert.replaceChildren();
    status.textContent = t("Starting the group. This takes a few seconds…");
    start({ name: name.value, description: description.value, guidelines: guidelines.value })
      .catch((err: unknown) => {
        status.textContent = "";
        showProblem(doc, alert, startSentence(codeOf(err)), err);
      })
      .finally(() => {
        submit.disabled = false;
      });
  });
  const backButton = el(doc, "button", t("Back to your groups"), { type: "button" });
  backButton.addEventListener("click", back);
  const top = el(doc, "p");
  top.append(backButton);
  const h1 = el(doc, "h1", t("Start a group"), { id: "start-h", tabindex: "-1" });
  main.replaceChildren(
    top,
    h1,
    el(doc, "p", t("The group is kept by this community node. You will be its first facilitator: you invite people, and you can change its name, description and guidelines later in \"About the group\".")),
    el(doc, "p", t("The invites you make carry the group's name. Members read the description and the guidelines on \"About the group\". The node cannot read them.")),
    form,
  );
  main.dataset["screen"] = "start-group";
  doc.title = `${t("Start a group")} · Holdspace`;
  h1.focus();
}
