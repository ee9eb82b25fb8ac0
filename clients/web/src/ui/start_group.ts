/**
 * "Start a group": its name, and optionally a description and guidelines (the group's profile,
 * 17.12, which every member reads on "About the group"); then groups.ts starts it on the node that
 * serves the page, this person its first facilitator. A refusal is a sentence in plain words (the
 * node's operator lets nobody start groups there, asks for a token, hosts as many groups as it
 * allows, has no room left; the node cannot be reached), with its code behind "Details".
 *
 * The form follows the node's admission from its `hello` (14.6): "closed" shows no form, only that
 * nobody can start a group here and how to reach the operator (`contact`, a link only for a
 * `mailto:` or `https:` address); "token" adds a field for the operator's code, checked
 * (`parseOperatorToken`) before anything is signed and sent with the genesis; "open" or unknown
 * (null: the node could not be asked, or speaks version 2) shows the form without it.
 */
import type { GroupAbout } from "../about.js";
import type { Admission } from "../frames.js";
import { t, tParts } from "../i18n.js";
import { parseOperatorToken } from "../operator_token.js";
import { codeOf, el, field, showProblem } from "./dom.js";

/** What the node said in its hello about starting groups (null fields: it did not say). */
export interface NodeAdmission {
  readonly create: Admission | null;
  readonly contact: string | null;
}

/** The operator's contact as shown: a link for a `mailto:` or `https:` address, else plain text
 * (14.6: it is the node's claim). */
export function contactElement(doc: Document, contact: string): HTMLElement {
  if (/^(mailto:|https:\/\/)/i.test(contact)) {
    const a = el(doc, "a", contact.replace(/^mailto:/i, ""), { href: contact, rel: "noopener noreferrer" });
    return a;
  }
  return el(doc, "span", contact);
}

/** A paragraph telling how to reach the node's operator, or null if the node gave no contact. */
function contactParagraph(doc: Document, contact: string | null): HTMLElement | null {
  if (contact === null) return null;
  const p = el(doc, "p", undefined, { "data-role": "operator-contact" });
  p.append(...tParts("To reach the operator of this community node: {contact}", { contact: contactElement(doc, contact) }));
  return p;
}

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
      return t("This community node lets people start groups only with a code from its operator. Type the code the operator gave you.");
    case "admission.bad_token":
      return t("This code is not one the node's operator gave, or it was withdrawn. Check that you copied all of it, or ask the operator for a new one.");
    case "admission.token_expired":
      return t("This code from the node's operator has expired. Ask the operator for a new one.");
    case "admission.token_used_up":
      return t("This code from the node's operator has already been used as many times as it allows. Ask the operator for a new one.");
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

/** Fills `main` with the form (or, if the node is closed, with why there is none); `start` gets
 * what was typed and the operator's token (null if the node asked for none) and rejects to show
 * why; `back` returns to the list of groups. */
export function showStartGroup(
  doc: Document,
  main: HTMLElement,
  start: (about: GroupAbout, token: Uint8Array | null) => Promise<void>,
  back: () => void,
  admission: NodeAdmission = { create: null, contact: null },
): void {
  const backButton = el(doc, "button", t("Back to your groups"), { type: "button" });
  backButton.addEventListener("click", back);
  const top = el(doc, "p");
  top.append(backButton);
  const h1 = el(doc, "h1", t("Start a group"), { id: "start-h", tabindex: "-1" });
  main.dataset["screen"] = "start-group";
  doc.title = `${t("Start a group")} · Holdspace`;
  const contact = contactParagraph(doc, admission.contact);
  if (admission.create === "closed") {
    main.replaceChildren(top, h1, el(doc, "p", startSentence("admission.closed"), { "data-role": "closed" }), ...(contact === null ? [] : [contact]));
    h1.focus();
    return;
  }
  const askToken = admission.create === "token";
  const tokenInput = el(doc, "input", undefined, { type: "text", autocomplete: "off", spellcheck: "false", required: "", placeholder: "hstoken:…" });
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
    ...(askToken ? [field(doc, "operator-token", t("The code the node's operator gave you"), tokenInput)] : []),
    submit,
    status,
    alert,
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    alert.replaceChildren();
    status.textContent = t("Starting the group. This takes a few seconds…");
    Promise.resolve()
      .then(() => start({ name: name.value, description: description.value, guidelines: guidelines.value }, askToken ? parseOperatorToken(tokenInput.value) : null))
      .catch((err: unknown) => {
        status.textContent = "";
        showProblem(doc, alert, startSentence(codeOf(err)), err);
      })
      .finally(() => {
        submit.disabled = false;
      });
  });
  main.replaceChildren(
    top,
    h1,
    el(doc, "p", t("The group is kept by this community node. You will be its first facilitator: you invite people, and you can change its name, description and guidelines later in \"About the group\".")),
    el(doc, "p", t("The invites you make carry the group's name. Members read the description and the guidelines on \"About the group\". The node cannot read them.")),
    ...(askToken ? [el(doc, "p", t("This community node lets people start groups only with a code from its operator. It starts with hstoken: and is used only to start the group."))] : []),
    ...(askToken && contact !== null ? [contact] : []),
    form,
  );
  h1.focus();
}
