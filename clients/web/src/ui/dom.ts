/**
 * Building blocks of the screens: elements with text (never HTML strings, so nothing a node or a
 * member sends can inject markup), a "Details" disclosure for codes, and the look of the page set
 * through the CSSOM (the node's CSP allows no inline style sheet).
 */
import { HoldspaceError } from "../errors.js";
import { t } from "../i18n.js";

export function el<K extends keyof HTMLElementTagNameMap>(doc: Document, tag: K, text?: string, attrs: Record<string, string> = {}): HTMLElementTagNameMap[K] {
  const e = doc.createElement(tag);
  if (text !== undefined) e.textContent = text;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

/** A labelled input: the label, then the field (ids tie them together). */
export function field(doc: Document, id: string, label: string, input: HTMLInputElement | HTMLTextAreaElement): HTMLElement {
  const wrap = el(doc, "p");
  input.id = id;
  wrap.append(el(doc, "label", label, { for: id }), input);
  return wrap;
}

/** A "Details" disclosure holding a code (people read the sentence; the code is for whoever helps). */
export function details(doc: Document, code: string): HTMLElement {
  const d = el(doc, "details");
  d.append(el(doc, "summary", t("Details")), el(doc, "code", code));
  return d;
}

/** The code of an error: a `HoldspaceError`'s code, else the error's name (for whoever helps). */
export function codeOf(err: unknown): string {
  return err instanceof HoldspaceError ? err.code : err instanceof Error ? err.name : "error";
}

/** An alert area: a calm sentence and the code behind "Details". */
export function showProblem(doc: Document, area: HTMLElement, sentence: string, err: unknown): void {
  area.replaceChildren(el(doc, "p", sentence), details(doc, codeOf(err)));
}

