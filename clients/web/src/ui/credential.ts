/**
 * Credentials in "About the group" (spec 17.7; credential_share.ts): the organisations the group
 * trusts to issue credentials, the credentials members shared with what each one's check found (the
 * role, or the reason it does not verify, in plain words), and "Share a professional credential"
 * for this member's own. Redrawn only when what it shows changed: what someone pasted stays.
 */
import { t } from "../i18n.js";
import type { Conversation } from "../participant.js";
import { People } from "../people.js";
import { ownTextId, parseIssuer, shareCredential, problemWords, trustedIssuers, trustIssuer, verdicts } from "../credential_share.js";
import { isFacilitator } from "../schedule.js";
import { decodeTextId } from "../textid.js";
import { askFirst } from "./ask.js";
import { el, showProblem } from "./dom.js";

/** The section, and `update` to redraw it after the group changed. */
export function credentialSection(doc: Document, conv: Conversation): { readonly root: HTMLElement; update(): void } {
  const root = el(doc, "section", undefined, { id: "credentials", "aria-labelledby": "credentials-h" });
  const issuers = el(doc, "div");
  const shared = el(doc, "div");
  const status = el(doc, "p", undefined, { role: "status" });
  const alert = el(doc, "div", undefined, { role: "alert" });
  const adding = trustForm(doc, conv, status, alert); // facilitators only; kept across redraws
  root.append(el(doc, "h2", t("Credentials"), { id: "credentials-h" }), issuers, adding, shared, shareForm(doc, conv, status, alert), status, alert);
  let drawn = "";
  const update = (): void => {
    const now = conv.participant.clock();
    const g = conv.client.state;
    const read = conv.read();
    const trusted = trustedIssuers(g);
    const found = verdicts(read, g, now);
    const facilitator = isFacilitator(conv);
    const key = JSON.stringify([trusted, facilitator, found.map((v) => [v.member.join(","), v.role, v.problem])]);
    if (key === drawn) return;
    drawn = key;
    adding.hidden = !facilitator;
    const people = new People(read, g, conv.self, now);
    issuers.replaceChildren(el(doc, "h3", t("Organisations the group trusts")));
    if (trusted.length === 0) issuers.append(el(doc, "p", t("None yet: no credential shows as verified here until the facilitators add an organisation.")));
    else {
      const list = el(doc, "ul", undefined, { class: "issuers" });
      for (const id of trusted) {
        const li = el(doc, "li");
        li.append(el(doc, "code", id, { class: "wrap" }));
        if (facilitator) {
          li.append(
            askFirst(
              doc,
              t("Stop trusting"),
              t("Stop trusting this organisation? Credentials it issued will no longer show as verified."),
              t("Yes, stop trusting it"),
              t("No, keep it"),
              async () => {
                alert.replaceChildren();
                await trustIssuer(conv, decodeTextId(id, "hsn"), false).then(
                  () => void (status.textContent = t("That organisation is no longer trusted.")),
                  (err: unknown) => showProblem(doc, alert, t("That could not be changed. Please try again."), err),
                );
              },
            ),
          );
        }
        list.append(li);
      }
      issuers.append(list);
    }
    shared.replaceChildren(el(doc, "h3", t("Credentials members shared")));
    if (found.length === 0) {
      shared.append(el(doc, "p", t("Nobody has shared a credential here.")));
      return;
    }
    const list = el(doc, "ul", undefined, { class: "cards", id: "credential-list" });
    for (const v of found) {
      const li = el(doc, "li");
      const who = people.person(v.member).name;
      li.append(el(doc, "p", v.role !== null ? t("{name}: verified {role}.", { name: who, role: v.role }) : t("{name} shared a credential.", { name: who })));
      if (v.problem !== null) li.append(el(doc, "p", problemWords(v.problem)));
      list.append(li);
    }
    shared.append(list);
  };
  update();
  return { root, update };
}

/** "Trust an organisation": a facilitator pastes the issuer's id (hsn1…, hsp1…, or its key in hex). */
function trustForm(doc: Document, conv: Conversation, status: HTMLElement, alert: HTMLElement): HTMLElement {
  const f = el(doc, "form", undefined, { id: "trust-issuer" });
  const input = el(doc, "input", undefined, { id: "issuer", type: "text", required: "", spellcheck: "false", autocomplete: "off", "aria-describedby": "issuer-hint" });
  const p = el(doc, "p");
  p.append(el(doc, "label", t("Organisation to trust (hsn1… or hsp1…)"), { for: "issuer" }), input);
  f.append(
    p,
    el(doc, "p", t("A member's professional badge shows as verified only if its credential was issued by an organisation listed here, for example your community's node."), { id: "issuer-hint", class: "hint" }),
    el(doc, "button", t("Trust this organisation"), { type: "submit" }),
  );
  f.addEventListener("submit", (ev) => {
    ev.preventDefault();
    alert.replaceChildren();
    Promise.resolve()
      .then(() => trustIssuer(conv, parseIssuer(input.value), true))
      .then(
        () => {
          input.value = "";
          status.textContent = t("Credentials from that organisation are now trusted.");
        },
        (err: unknown) => showProblem(doc, alert, t("That organisation could not be added: paste its id as the organisation gave it (hsn1… or hsp1…)."), err),
      );
  });
  f.hidden = true;
  return f;
}

function shareForm(doc: Document, conv: Conversation, status: HTMLElement, alert: HTMLElement): HTMLElement {
  const box = el(doc, "details");
  const f = el(doc, "form");
  const area = el(doc, "textarea", undefined, { id: "attestation", rows: "3", required: "", spellcheck: "false", "aria-describedby": "attestation-hint" });
  const p = el(doc, "p");
  p.append(el(doc, "label", t("Your credential"), { for: "attestation" }), area);
  const give = el(doc, "details");
  const code = el(doc, "code", ownTextId(conv), { class: "wrap" });
  const key = el(doc, "p", t("Your key in this group:"));
  key.append(doc.createTextNode(" "), code);
  give.append(el(doc, "summary", t("What to give the organisation")), key);
  f.append(
    p,
    el(doc, "p", t("Paste the credential an organisation gave you for your identity in this group. Everyone's app checks it; the badge is verified only if the group trusts that organisation."), { id: "attestation-hint", class: "hint" }),
    give,
    el(doc, "button", t("Share it with the group"), { type: "submit" }),
  );
  f.addEventListener("submit", (ev) => {
    ev.preventDefault();
    alert.replaceChildren();
    shareCredential(conv, area.value).then(
      () => {
        area.value = "";
        status.textContent = t("Your credential is shared. Members' apps check it themselves.");
      },
      (err: unknown) => showProblem(doc, alert, t("That credential cannot be shared: it must be one issued to your key in this group, pasted whole."), err),
    );
  });
  box.append(el(doc, "summary", t("Share a professional credential")), f);
  return box;
}
