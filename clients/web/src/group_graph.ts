/**
 * The control DAG of a group (spec/protocol.md 12.3, 12.4): causal pasts as bit sets and the
 * linearisation `L` (Kahn's sort by seniority, then id; joiners by timestamp, then id).
 *
 * Entries are named by a **slot**, the index at which the group state first held them; slots never
 * change, so causal pasts stay valid while `L` is recomputed.
 */
import { compareBytes } from "./bytes.js";

/** A growable set of small non-negative integers (slots). */
export class Bitset {
  private words: Uint32Array;

  constructor(capacity = 64) {
    this.words = new Uint32Array(Math.max(1, Math.ceil(capacity / 32)));
  }

  has(i: number): boolean {
    const w = i >>> 5;
    return w < this.words.length && (this.words[w]! & (1 << (i & 31))) !== 0;
  }

  add(i: number): void {
    const w = i >>> 5;
    if (w >= this.words.length) this.grow(w + 1);
    this.words[w]! |= 1 << (i & 31);
  }

  /** this |= other. */
  or(other: Bitset): void {
    if (other.words.length > this.words.length) this.grow(other.words.length);
    for (let i = 0; i < other.words.length; i++) this.words[i]! |= other.words[i]!;
  }

  private grow(n: number): void {
    const w = new Uint32Array(Math.max(n, this.words.length * 2));
    w.set(this.words);
    this.words = w;
  }
}

/** A binary min-heap under a comparator. */
export class Heap<T> {
  private readonly items: T[] = [];

  constructor(private readonly less: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  push(x: T): void {
    const a = this.items;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  pop(): T | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l]!, a[m]!)) m = l;
        if (r < a.length && this.less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

/** What linearisation needs of an entry of `C`. */
export interface GraphNode {
  readonly slot: number;
  readonly author: string;
  readonly t: bigint;
  readonly id: Uint8Array;
  /** The entries of `C` it follows: its resolved `d` references and its author's previous control entry. */
  readonly parents: readonly number[];
}

/** The linearisation of `C` and the seniority it produced. */
export interface Linearisation {
  /** `L`: slots in order. */
  readonly order: number[];
  /** pos(e) by slot (undefined for a slot not in `C`). */
  readonly pos: number[];
  /** author -> position in `L` of its first entry. */
  readonly seniority: Map<string, number>;
  /** For each position, whether its entry was its author's first in `L` (placed as a joiner). */
  readonly first: boolean[];
}

/**
 * Kahn's topological sort of `C` (12.4): among ready entries, the one whose author is most senior
 * (the position in `L` of its first entry) first, then the bytewise smallest id; entries of authors
 * with no entry in `L` yet come after all others, by header timestamp `t`, then id. `nodes` must be
 * closed under `parents` (every parent is in `nodes`) and acyclic.
 */
export function linearise(nodes: readonly GraphNode[]): Linearisation {
  const bySlot = new Map<number, GraphNode>();
  for (const n of nodes) bySlot.set(n.slot, n);
  const missing = new Map<number, number>();
  const children = new Map<number, number[]>();
  for (const n of nodes) {
    missing.set(n.slot, n.parents.length);
    for (const p of n.parents) {
      const c = children.get(p);
      if (c === undefined) children.set(p, [n.slot]);
      else c.push(n.slot);
    }
  }
  const seniority = new Map<string, number>();
  // A ready entry's rank is fixed when it becomes ready: an author has one ready entry at a time,
  // and its seniority is set by its first entry, placed before any of its others becomes ready.
  interface Ready {
    node: GraphNode;
    senior: number; // seniority, or Infinity for a joiner
  }
  const less = (a: Ready, b: Ready): boolean => {
    if (a.senior !== b.senior) return a.senior < b.senior;
    if (a.senior === Infinity && a.node.t !== b.node.t) return a.node.t < b.node.t;
    return compareBytes(a.node.id, b.node.id) < 0;
  };
  const heap = new Heap<Ready>(less);
  const ready = (n: GraphNode): void => heap.push({ node: n, senior: seniority.get(n.author) ?? Infinity });
  for (const n of nodes) if (n.parents.length === 0) ready(n);
  const order: number[] = [];
  const first: boolean[] = [];
  const pos: number[] = [];
  for (let r = heap.pop(); r !== undefined; r = heap.pop()) {
    const n = r.node;
    pos[n.slot] = order.length;
    const isFirst = !seniority.has(n.author);
    if (isFirst) seniority.set(n.author, order.length);
    first.push(isFirst);
    order.push(n.slot);
    for (const c of children.get(n.slot) ?? []) {
      const left = missing.get(c)! - 1;
      missing.set(c, left);
      if (left === 0) ready(bySlot.get(c)!);
    }
  }
  if (order.length !== nodes.length) throw new Error("linearise: the control entries do not form a DAG");
  return { order, pos, seniority, first };
}
