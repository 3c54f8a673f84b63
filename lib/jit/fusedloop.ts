// Which last loop of a program can run each iteration's reverse sweep right after its forward one (one pass, as a hand-written gradient does), and what that needs.
import type { Program, Stmt } from './lower';
import type { Facts } from './analyze';

/**
 * A fusable loop. Fused, the loop runs forward once; each iteration, after its forward statements, runs its own
 * reverse statements (with the adjoints the whole reverse pass would give it), then takes its forward values back.
 * Exact, bit for bit, because the reverse of an iteration then sees what it would have seen in the reverse pass:
 * - its values: the end of its own forward iteration (the reverse statements restore and recompute from there, and
 *   pop what that iteration pushed: stacks are last in, first out within an iteration);
 * - its scalar adjoints: the output's is 1 throughout (the output is an accumulator `s = s ± e`, whose reverse leaves
 *   its adjoint in place, and the loop is the program's last statement, so the seed is all that comes before); the
 *   iteration's own variables (assigned before any read in the body, or in both branches of an if) start unreached
 *   in every iteration; no other differentiable scalar is read (a loop-invariant one sums its adjoint over the
 *   iterations, the last first: kept in per-iteration stack slots and added backwards after the loop, that was
 *   exact but slower than the unfused loop on least squares and a logistic loss, so such loops stay unfused);
 * - its element adjoints: an array element's adjoint is a sum whose order the reverse pass fixes: the latest
 *   iteration's terms first. Elements are read at the counter plus a constant (the offsets `low` and perhaps
 *   `low + 1`): element j gets iteration j − low's terms, then iteration j − low − 1's. Run forward, iteration i adds
 *   its offset-`low` terms to element i + low, then the terms the previous iteration sent to the same element (held
 *   in registers, carried one iteration: a term not sent that iteration is −0, which adds nothing, exactly), and
 *   keeps its own offset-`low + 1` terms for the next; after the loop the last carried terms go to their element.
 *
 * The prefix's reverse (the statements before the loop) then runs as usual, with the loop's variables set back to
 * their values at the loop's entry.
 */
export interface FusionPlan {
  /** Per array whose elements carry adjoints: the least offset from the counter it is read at (low + 1 may be read too). */
  arrays: Map<string, { low: number }>;
  /** The scalars the body assigns (the counter among them): snapshot after each forward iteration, restored after the loop. */
  assigned: string[];
  /** Per parameter array, the offsets from the counter that every iteration reads (in its unconditional statements). */
  preload: Map<string, Set<number>>;
}

/** Offset c of an element index `i`, `i + c`, `c + i` or `i - c` (c an integer literal) from counter i, else null. */
export function counterOffset(index: any, counter: string): number | null {
  const isCounter = (e: any) => e.type === 'Identifier' && e.name === counter;
  const literal = (e: any) => (e.type === 'Literal' && Number.isInteger(e.value) && Math.abs(e.value) <= 1024 ? e.value as number : null);
  if (isCounter(index)) return 0;
  if (index.type !== 'BinaryExpression') return null;
  if (index.operator === '+' && isCounter(index.left)) return literal(index.right);
  if (index.operator === '+' && isCounter(index.right)) return literal(index.left);
  if (index.operator === '-' && isCounter(index.left)) {
    const c = literal(index.right);
    return c === null ? null : -c;
  }
  return null;
}

/** The variables and array elements an expression reads (indices included), in evaluation order. */
function visitReads(e: any, name: (n: string) => void, element: (array: string, index: any) => void): void {
  if (e === null || typeof e !== 'object') return;
  if (e.type === 'Identifier') return void (e.name !== 'undefined' && name(e.name));
  if (e.type === 'MemberExpression') {
    if (!e.computed) return;
    element(e.object.name, e.property);
    return visitReads(e.property, name, element);
  }
  if (e.type === 'CallExpression') return e.arguments.forEach((a: any) => visitReads(a, name, element));
  for (const k of Object.keys(e)) if (k !== 'type') visitReads(e[k], name, element);
}

/** The variables a block assigns on every path through it (its statements and both branches of its ifs). */
function definitelyAssigned(ss: Stmt[]): Set<string> {
  const out = new Set<string>();
  for (const s of ss) {
    if (s.t === 'assign' && s.target.index === null) out.add(s.target.name);
    else if (s.t === 'if') {
      const then = definitelyAssigned(s.then);
      for (const n of definitelyAssigned(s.else)) if (then.has(n)) out.add(n);
    }
  }
  return out;
}

/** `v = v + e` or `v = v - e` with e not reading v: an accumulation whose reverse leaves v's adjoint in place. */
function accumulates(s: Stmt & { t: 'assign' }): boolean {
  const r = s.rhs, v = s.target.name;
  if (s.target.index !== null || r.type !== 'BinaryExpression' || (r.operator !== '+' && r.operator !== '-')) return false;
  if (r.left.type !== 'Identifier' || r.left.name !== v) return false;
  let reads = false;
  visitReads(r.right, (n) => (reads ||= n === v), () => {});
  return !reads;
}

/** The plan for the program's last statement, when it is a counted loop that can run fused (see FusionPlan), else null. */
export function fusionPlan(p: Program, f: Facts): FusionPlan | null {
  const loop = p.body[p.body.length - 1];
  if (loop?.t !== 'loop' || loop.counter === undefined || loop.counter.step !== 1 || f.adjoint.has(loop.counter.name)) return null;
  const counter = loop.counter.name, out = p.out;
  if (!f.adjoint.has(out) || f.aliased.has(out)) return null;
  // the statements, flat, with whether each runs in every iteration (not inside an if); after a top-level if, the
  // names both its branches assign (`defines`)
  const flat: { s: Stmt & { t: 'assign' }; always: boolean; defines?: Set<string> }[] = [];
  const flatten = (ss: Stmt[], always: boolean): boolean => ss.every((s) => {
    if (s.t === 'assign') return s.target.index === null && (flat.push({ s, always }), true); // element writes: not fused
    if (s.t !== 'if' || !flatten(s.then, false) || !flatten(s.else, false)) return false; // inner loops, fresh arrays: not fused
    if (always && flat.length > 0) {
      const both = definitelyAssigned(s.then);
      flat[flat.length - 1].defines = new Set([...definitelyAssigned(s.else)].filter((n) => both.has(n)));
    }
    return true;
  });
  if (!flatten(loop.body, true)) return null;
  const assigned = new Set(flat.map(({ s }) => s.target.name));
  if ([...assigned].some((n) => f.aliased.has(n))) return null;
  // accumulators: differentiable, every assignment `v = v ± e` (in a branch or not), v read nowhere else
  const accumulators = new Set([...assigned].filter((v) => f.adjoint.has(v) && flat.every(({ s }) => s.target.name !== v || accumulates(s))));
  if (assigned.has(out) && !accumulators.has(out)) return null;
  const arrays = new Map<string, { low: number; high: number }>();
  const defined = new Set<string>(); // assigned earlier in the iteration, in every iteration
  const preload = new Map<string, Set<number>>();
  const always = (e: any) => visitReads(e, () => {}, (a, index) => {
    const c = counterOffset(index, counter);
    if (c === null || !p.paramArrays.has(a)) return;
    if (!preload.has(a)) preload.set(a, new Set());
    preload.get(a)!.add(c);
  });
  for (const s of loop.body) {
    if (s.t === 'assign') always(s.rhs);
    else if (s.t === 'if') always(s.test);
  }
  if (loop.test !== null) always(loop.test);
  let ok = true;
  for (const { s, always, defines } of flat) {
    const own = accumulators.has(s.target.name) ? s.rhs.left : null; // the accumulator's own read of itself
    const readName = (n: string) => {
      if (!f.adjoint.has(n) || n === counter || defined.has(n)) return;
      ok = false; // a differentiable value from the previous iteration or from before the loop
    };
    const readElement = (a: string, index: any) => {
      if (!f.adjoint.has(a)) return;
      const c = counterOffset(index, counter);
      if (!always || c === null || !p.paramArrays.has(a) || f.aliased.has(a)) return void (ok = false);
      const r = arrays.get(a);
      if (r === undefined) arrays.set(a, { low: c, high: c });
      else (r.low = Math.min(r.low, c), r.high = Math.max(r.high, c));
    };
    if (own !== null) visitReads(s.rhs.right, readName, readElement);
    else {
      // an accumulator read outside its own update is a loop-carried value
      visitReads(s.rhs, (n) => (accumulators.has(n) ? (ok = false) : readName(n)), readElement);
    }
    if (always && !accumulators.has(s.target.name)) defined.add(s.target.name);
    for (const n of defines ?? []) if (!accumulators.has(n)) defined.add(n);
    if (!ok) return null;
  }
  // (the tests of ifs read values only, never adjoints: they may read anything)
  const plan = new Map<string, { low: number }>();
  for (const [a, { low, high }] of arrays) {
    if (high - low > 1) return null; // a term carried over two iterations: not done
    plan.set(a, { low });
  }
  return { arrays: plan, assigned: [...assigned].filter((n) => p.scalars.has(n)), preload };
}
