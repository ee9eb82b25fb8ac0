/**
 * Typed errors. Every refusal of bad input is a `HoldspaceError` carrying a stable code of
 * spec/protocol.md section 9 (`family.reason`) and a human sentence; callers branch on `code` only.
 */
export class HoldspaceError extends Error {
  /** The stable code, e.g. `cbor.truncated`; never changes meaning. */
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = "HoldspaceError";
    this.code = code;
  }
}

/** Throws a `HoldspaceError`; a helper that keeps call sites short. */
export function fail(code: string, message: string): never {
  throw new HoldspaceError(code, message);
}
