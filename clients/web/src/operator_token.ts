/**
 * An operator's token as a person types it (spec 14.6): `hstoken:` and the base64url, without
 * padding, of 32 bytes (43 characters). It travels as the bytes, in the `token` of a `publish` of
 * a genesis or of an `adopt`; it is a capability over the node, never kept by this client.
 */
import { fail } from "./errors.js";
import { OPERATOR_TOKEN_SIZE } from "./frames.js";
import { fromBase64url } from "./invite.js";

export const TOKEN_PREFIX = "hstoken:";

/**
 * The bytes of the token `text` (surrounding white space ignored). Refused with
 * `admission.bad_token`: no `hstoken:` prefix, not exactly 43 characters after it, a character
 * outside base64url, or stray bits (not canonical), so not 32 bytes.
 */
export function parseOperatorToken(text: string): Uint8Array {
  const s = text.trim();
  const bad = (why: string): never => fail("admission.bad_token", `not an operator's token: ${why}`);
  if (!s.startsWith(TOKEN_PREFIX)) bad(`it does not start with ${TOKEN_PREFIX}`);
  const body = s.slice(TOKEN_PREFIX.length);
  if (body.length !== 43) bad("it is not 43 characters after the prefix");
  const bytes = fromBase64url(body);
  if (bytes === null || bytes.length !== OPERATOR_TOKEN_SIZE) return bad("it is not canonical base64url of 32 bytes");
  return bytes;
}
