/** The Holdspace browser client's protocol core (spec/protocol.md), written from the spec. */
export * from "./bytes.js";
export * from "./cbor.js";
export * from "./crypto.js";
export * from "./entry.js";
export * from "./errors.js";
export * from "./frames.js";
export * from "./textid.js";
export * from "./identity.js";
export * from "./address.js";
export * from "./session.js";
export * from "./transport.js";
export * from "./transport_client.js";
export * from "./storage.js";
export * from "./keystore.js";
export * from "./history.js";
export * from "./recovery.js";
export * from "./control.js";
export * from "./e2ee.js";
export * from "./content.js";
export * from "./disclosure.js";
export * from "./log.js";
export * from "./group_graph.js";
export * from "./group_rules.js";
export * from "./group.js";
export * from "./timezone.js";
export * from "./sessions.js";
export * from "./deletion.js";
export * from "./credentials.js";
export * from "./keyring.js";
export * from "./support.js";
export * from "./invite_payloads.js";
export * from "./group_client.js";
export * from "./invite.js";
export { showJoinScreen } from "./join_page.js";

import { startPage } from "./join_page.js";

if (typeof document !== "undefined" && typeof location !== "undefined") startPage(document, location);
