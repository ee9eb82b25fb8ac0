/**
 * Translations: every string a person reads goes through `t` (or `tn` for a count).
 *
 * Message ids are the English text; placeholders are written `{name}` and filled after
 * translation, so a translator can move them. Until a catalogue is chosen the English text is
 * returned unchanged.
 */

export type Values = Readonly<Record<string, string | number>>;

function fill(text: string, values: Values): string {
  return text.replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole,
  );
}

/** The text for `msgid` in the current language, its `{placeholders}` filled from `values`. */
export function t(msgid: string, values: Values = {}): string {
  return fill(msgid, values);
}

/** The singular or plural text for `n` in the current language; `{n}` is filled with `n`. */
export function tn(singular: string, plural: string, n: number, values: Values = {}): string {
  return fill(n === 1 ? singular : plural, { ...values, n });
}
