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
export * from "./control.js";
export * from "./e2ee.js";
export * from "./content.js";
export * from "./disclosure.js";
