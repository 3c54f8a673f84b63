// A copy `v = a[k]` from a parameter array whose element no later read can touch becomes `v = a[k] * 1`, so v and a need no shared adjoint slots (evalpoly's `let p = c[c.length - 1]`).
import type { Program, Stmt, Counter } from './lower';

/**
 * Why this is exact. In the interpreter v *is* a[k]'s node: each use of v adds its contribution to that node's adjoint,
 * interleaved (in reverse order) with the contributions of every other read of a[k]. As `a[k] * 1`, v is a node of its
 * own whose adjoint sums v's contributions in the same order, and passes the sum to a[k] (times 1, exact) when the
 * reverse sweep reaches the copy. The two agree when nothing else adds to a[k] between v's uses and the copy, that is:
 * no read of a[k] after the copy in forward order. So the copy must run once (top level, in no loop or branch), and
 * every later read of `a` must provably be another element: its index is `counter + c` inside a counted loop whose
 * range, like the copy's index, is affine in literals and array lengths, and the two cannot meet. The value is the
 * same (x * 1 is x for every double), and a[k]'s adjoint gets 0 + (the sum), which is the sum (it is never -0).
 */
export function unaliasElementCopies(p: Program): Program {
  p.body.forEach((s, at) => {
    if (s.t !== 'assign' || s.target.index !== null || s.update || !isElementOf(s.rhs, p.paramArrays)) return;
    const array = s.rhs.object.name, index = affine(s.rhs.property, null);
    if (index === null) return;
    const later = p.body.slice(at + 1);
    if (readsProvablyElsewhere(later, array, index, [])) s.rhs = { type: 'BinaryExpression', operator: '*', left: s.rhs, right: { type: 'Literal', value: 1, raw: '1' } };
  });
  return p;
}

const isElementOf = (e: any, arrays: Set<string>) =>
  e.type === 'MemberExpression' && e.computed && e.object.type === 'Identifier' && arrays.has(e.object.name);

/** An integer expression as Σ coefficient·symbol + constant (symbols: `a.length`, and the names in `counters`). */
type Affine = { terms: Map<string, number>; k: number };

function affine(e: any, counters: string[] | null): Affine | null {
  if (e.type === 'Literal') return Number.isInteger(e.value) ? { terms: new Map(), k: e.value } : null;
  if (e.type === 'MemberExpression' && !e.computed && e.object.type === 'Identifier' && e.property.name === 'length')
    return { terms: new Map([[`${e.object.name}.length`, 1]]), k: 0 };
  if (e.type === 'Identifier' && counters?.includes(e.name)) return { terms: new Map([[e.name, 1]]), k: 0 };
  if (e.type !== 'BinaryExpression') return null;
  const l = affine(e.left, counters), r = affine(e.right, counters);
  if (l === null || r === null) return null;
  if (e.operator === '+' || e.operator === '-') {
    const sign = e.operator === '+' ? 1 : -1;
    const terms = new Map(l.terms);
    for (const [s, c] of r.terms) terms.set(s, (terms.get(s) ?? 0) + sign * c);
    return { terms, k: l.k + sign * r.k };
  }
  if (e.operator === '*' && (l.terms.size === 0 || r.terms.size === 0)) {
    const [f, x] = l.terms.size === 0 ? [l.k, r] : [r.k, l];
    return { terms: new Map([...x.terms].map(([s, c]) => [s, c * f])), k: x.k * f };
  }
  return null;
}

/** x − y when it is a constant (every symbol cancels), else null. */
function constantDifference(x: Affine, y: Affine): number | null {
  const names = new Set([...x.terms.keys(), ...y.terms.keys()]);
  for (const n of names) if ((x.terms.get(n) ?? 0) !== (y.terms.get(n) ?? 0)) return null;
  return x.k - y.k;
}

/** Whether every element read of `array` in `ss` is at an index provably unequal to `index`. */
function readsProvablyElsewhere(ss: Stmt[], array: string, index: Affine, loops: Counter[]): boolean {
  for (const s of ss) {
    if (s.t === 'assign') {
      if (!readsIn(s.rhs, array).every((property) => differs(property, array, index, loops))) return false;
    } else if (s.t === 'if') {
      if (!readsProvablyElsewhere(s.then, array, index, loops) || !readsProvablyElsewhere(s.else, array, index, loops)) return false;
    } else if (s.t === 'loop') {
      // a read in an uncounted loop cannot be placed: unless there is none, the copy stays
      if (!readsProvablyElsewhere(s.body, array, index, s.counter ? [...loops, s.counter] : [...loops, null as any])) return false;
    }
  }
  return true;
}

/** The index expressions of `array`'s element reads in an expression. */
function readsIn(e: any, array: string): any[] {
  const found: any[] = [];
  const walk = (n: any): void => {
    if (n === null || typeof n !== 'object') return;
    if (n.type === 'MemberExpression' && n.computed && n.object.type === 'Identifier' && n.object.name === array) found.push(n.property);
    for (const k of Object.keys(n)) if (k !== 'type') walk(n[k]);
  };
  walk(e);
  return found;
}

/** Whether a read at `property`, inside `loops` (innermost last; null for an uncounted one), never equals `index`. */
function differs(property: any, _array: string, index: Affine, loops: (Counter | null)[]): boolean {
  const counted = loops.filter((c): c is Counter => c !== null);
  const at = affine(property, counted.map((c) => c.name));
  if (at === null) return false;
  const used = counted.filter((c) => at.terms.has(c.name) && at.terms.get(c.name) !== 0);
  if (used.length === 0) return ((d) => d !== null && d !== 0)(constantDifference(at, index));
  if (used.length > 1) return false;
  const c = used[0], coefficient = at.terms.get(c.name)!;
  if (coefficient !== 1) return false;
  // the counter's range [lo, hi] from its loop's shape
  const from = affine(c.from, null), to = affine(c.to, null);
  if (from === null || to === null) return false;
  const shift = (x: Affine, k: number): Affine => ({ terms: x.terms, k: x.k + k });
  const [lo, hi] = c.cmp === '<' ? [from, shift(to, -1)] : c.cmp === '<=' ? [from, to] : c.cmp === '>' ? [shift(to, 1), from] : [to, from];
  // the read's index runs over [lo, hi] plus the rest of its expression
  const rest: Affine = { terms: new Map([...at.terms].filter(([n]) => n !== c.name)), k: at.k };
  const plus = (x: Affine): Affine => {
    const terms = new Map(x.terms);
    for (const [n, v] of rest.terms) terms.set(n, (terms.get(n) ?? 0) + v);
    return { terms, k: x.k + rest.k };
  };
  const above = constantDifference(index, plus(hi)), below = constantDifference(plus(lo), index);
  return (above !== null && above >= 1) || (below !== null && below >= 1);
}
