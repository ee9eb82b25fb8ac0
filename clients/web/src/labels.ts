/**
 * Labels (spec 17.14): a member shown without a display name is four words of a hash of its key
 * (44 bits), so a look-alike costs about 2^43 key generations to grind, where the five digits of a
 * fingerprint fell to seconds. The long label is eight words (88 bits) of the same digest.
 */
import { ascii } from "./bytes.js";
import { H } from "./crypto.js";
import { fail } from "./errors.js";
import { WORDLIST } from "./wordlist.js";

export const LABEL_DOMAIN = "holdspace/v1/label";

function words(publicKey: Uint8Array, count: number): string {
  if (publicKey.length !== 32) fail("identity.bad_key", "public key must be 32 bytes");
  const d = H(ascii(LABEL_DOMAIN), publicKey);
  let bits = 0n;
  for (const b of d) bits = (bits << 8n) | BigInt(b);
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(WORDLIST[Number((bits >> BigInt(256 - 11 * (i + 1))) & 0x7ffn)]!);
  return out.join(" ");
}

/** Four words: word i (0..3) is bits [11i, 11i + 11) of H(LABEL_DOMAIN || key), most significant first. */
export function label(publicKey: Uint8Array): string {
  return words(publicKey, 4);
}

/** Eight words (88 bits) of the same digest; its first four are `label`. */
export function longLabel(publicKey: Uint8Array): string {
  return words(publicKey, 8);
}
