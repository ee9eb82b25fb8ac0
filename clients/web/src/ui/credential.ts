/**
 * Credentials in "About the group" (spec 17.7; credential_share.ts): the organisations the group
 * trusts to issue credentials, the credentials members shared with what each one's check found (the
 * role, or the reason it does not verify, in plain words), and "Share a professional credential"
 * for this member's own. Redrawn only when what it shows changed: what someone pasted stays.
 */
import { t } from "../i18n.js";
import type { Conversation } from "../participant.js";
import { People } from "../people.js";
import { ownTextId, shareCredential, problemWords, trustedIssuers, verdicts } from "../credential_share.js";
import { el, showProblem } from "./dom.js";

/** The section, and `update` to redraw it after the group changed. */
export function credentialSection(doc: Document, conv: Conversation): { readonly root: HTMLElement; update(): void } {
  const root = el(doc, "section", undefined, { id: "credentials", "aria-labelledby": "credentials-h" });
  const issuers = el(doc, "div");
  const shared = el(doc, "div");
  const status = el(doc, "p", undefined, { role: "status" });
  const alert = el(doc, "div", undefined, { role: "alert" });
  root.append(el(doc, "h2", t("Credentials"), { id: "credentials-h" }), issuers, shared, shareForm(doc, conv, status, alert), status, alert);
  let drawn = "";
  const update = (): void => {
    const now = conv.participant.clock();
    const g = conv.client.state;
    const read = conv.read();
    const trusted = trustedIssuers(g);
    const found = verdicts(read, g, now);
    const key = JSON.stringify([trusted, found.map((v) => [v.member.join(","), v.role, v.problem])]);
    if (key === drawn) return;
    drawn = key;
    const people = new People(read, g, conv.self, now);
    issuers.replaceChildren(el(doc, "h3", t("Organisations the group trusts")));
    if (trusted.length === 0) issuers.append(el(doc, "p", t("None yet: no credential shows as verified here until the facilitators add an organisation.")));
    else {
      const list = el(doc, "ul", undefined, { class: "issuers" });
      for (const id of trusted) {
        const li = el(doc, "li");
        li.append(el(doc, "code", id, { class: "wrap" }));
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
