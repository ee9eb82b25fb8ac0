/**
 * Building blocks of the screens: elements with text (never HTML strings, so nothing a node or a
 * member sends can inject markup), a "Details" disclosure for codes, and the look of the page set
 * through the CSSOM (the node's CSP allows no inline style sheet).
 */
import { HoldspaceError } from "../errors.js";

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
  const l = el(doc, "label", label, { for: id });
  l.style.display = "block";
  wrap.append(l, input);
  return wrap;
}

/** A "Details" disclosure holding a code (people read the sentence; the code is for whoever helps). */
export function details(doc: Document, code: string): HTMLElement {
  const d = el(doc, "details");
  d.append(el(doc, "summary", "Details"), el(doc, "code", code));
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

/** Gives the page its look: readable on a phone, large touch targets, no sideways scrolling. */
export function dress(root: HTMLElement): void {
  const s = root.style;
  s.fontFamily = "system-ui, sans-serif";
  s.lineHeight = "1.5";
  s.maxWidth = "40rem";
  s.margin = "0 auto";
  s.padding = "0 1rem 2rem";
  s.overflowWrap = "anywhere";
  for (const e of root.querySelectorAll<HTMLElement>("button, input[type=password], input[type=text], textarea")) {
    e.style.fontSize = "1rem";
    e.style.minHeight = "2.75rem";
    e.style.maxWidth = "100%";
    e.style.boxSizing = "border-box";
    if (e.tagName !== "BUTTON") e.style.width = "100%";
  }
}
