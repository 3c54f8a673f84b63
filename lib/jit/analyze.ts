// Activity analysis for the compiled tier: which names need adjoints, which share adjoint slots (copies), which values the reverse pass reads.
import { mathBinary, mathNary, type Program, type Stmt } from './lower';
import { partialReadsOperand } from './symbolic';

export interface Facts {
  /** Names that depend on an argument (through values): the ones with tangents in forward mode. */
  varied: Set<string>;
  /** Names (variables and arrays) that can hold a value the output depends on and that depends on an argument. */
  adjoint: Set<string>;
  /** Adjoint names connected by copies (`v = w`, `v = a[i]`, `w[i] = v`): their adjoints live in shared slots. */
  aliased: Set<string>;
  /** Names whose values the reverse pass reads (so assignments to them save the old value). */
  needed: Set<string>;
  /** Needed variables read in the reverse pass only inside indices (loop counters: `i++` can be undone by `i--`). */
  indexOnly: Set<string>;
  /**
   * Index-only variables that some statement steps by a whole number (`i = i ± c`, see counterStep) and that never
   * hold undefined: checked to hold an int32 before each step, their saved values go on the int stack (compile.ts).
   */
  steppedIndex: Set<string>;
  /**
   * Local arrays whose element values the reverse pass gets from the stack where they are used (each assignment
   * whose partials read an element saves it) instead of restoring every overwritten element: chosen where uses are
   * fewer than overwrites, weighted by loop depth (a scratch vector rewritten in a loop nest and read once).
   */
  saveAtUse: Set<string>;
  /** Local arrays the reverse pass reads (elements, adjoints or length): a fresh one per iteration must be restored. */
  arrayObjects: Set<string>;
}

export const isCopy = (e: any) => (e.type === 'Identifier' && e.name !== 'undefined') || (e.type === 'MemberExpression' && e.computed);
/** The name an expression reads as a whole: a variable, or the array of an element. */
export const copySource = (e: any): string => (e.type === 'Identifier' ? e.name : e.object.name);

const linear = new Set(['+', '-']);
/** Operators and calls whose partial derivatives need no operand values (only +, - and unary minus). */
const isLinear = (e: any) => (e.type === 'BinaryExpression' && linear.has(e.operator)) || (e.type === 'UnaryExpression' && e.operator === '-');
const isLiteral = (e: any) => e.type === 'Literal';
const isMathCall = (e: any) => e.type === 'CallExpression';

/**
 * Reads of a right-hand side. `values`: names whose value the reverse pass needs to recompute the partial
 * derivatives (an operand of a product, quotient or Math call, directly or through sums); operands reached only
 * through + and - are not needed, since those partials are constants. `all`: every name read as a value.
 * `indices`: variables read inside indices.
 */
function reads(rhs: any, resultKept: boolean): { values: Set<string>; all: Set<string>; indices: Set<string>; elements: Map<string, Set<string>>; lengths: Set<string> } {
  const values = new Set<string>(), all = new Set<string>(), indices = new Set<string>(), lengths = new Set<string>();
  const elements = new Map<string, Set<string>>(); // array -> distinct index texts read for their values
  const text = (e: any): string => (e.type === 'Identifier' ? e.name : e.type === 'Literal' ? String(e.value)
    : e.type === 'MemberExpression' ? `${e.object.name}.length` : `(${text(e.left)}${e.operator}${text(e.right)})`);
  const idents = (e: any, into: Set<string>) => {
    if (e === null || typeof e !== 'object') return;
    if (e.type === 'Identifier') into.add(e.name);
    else if (e.type === 'MemberExpression' && !e.computed) return; // a.length in an index: fixed for the call (lower.ts)
    else for (const k of Object.keys(e)) if (k !== 'type') idents(e[k], into);
  };
  /** `needed`: whether this subexpression's value is read by its parent's partial derivatives (or recomputed for one). */
  const walk = (e: any, needed: boolean) => {
    switch (e.type) {
      case 'Identifier':
        if (e.name === 'undefined') return;
        all.add(e.name);
        if (needed) values.add(e.name);
        return;
      case 'MemberExpression':
        if (!e.computed) return void (needed && lengths.add(e.object.name)); // a.length: the array itself is read
        all.add(e.object.name);
        if (needed) {
          values.add(e.object.name);
          if (!elements.has(e.object.name)) elements.set(e.object.name, new Set());
          elements.get(e.object.name)!.add(text(e.property));
        }
        idents(e.property, indices);
        return;
      case 'BinaryExpression': {
        // a * b: the partial for a is b and for b is a, so a literal operand needs no partial and its partner no value;
        // a value is recomputed in the reverse pass (not kept) only for arithmetic, so its operands are needed when it is
        if (isLinear(e)) return (walk(e.left, needed), walk(e.right, needed));
        if (e.operator === '*') return (walk(e.left, needed || !isLiteral(e.right)), walk(e.right, needed || !isLiteral(e.left)));
        return (walk(e.left, true), walk(e.right, true));
      }
      case 'UnaryExpression':
        return walk(e.argument, needed);
      case 'CallExpression': {
        // a Math value the reverse pass takes from the stack (for its parent's partial too), where its own partial
        // reads only that value (exp), needs no operand value (its operand's own partials may: exp(a * b) needs a and b)
        const name = e.callee.property.name;
        const unary = e.arguments.length === 1 && !mathNary.has(name) && !mathBinary.has(name);
        return e.arguments.forEach((a: any) => walk(a, !(resultKept && unary && !partialReadsOperand(name))));
      }
    }
  };
  walk(rhs, false);
  return { values, all, indices, elements, lengths };
}

/** The facts of a program, differentiated with respect to its parameters except `constants`. */
export function analyze(p: Program, constants?: Set<string>): Facts {
  const assigns: (Stmt & { t: 'assign' })[] = [];
  const weights: number[] = []; // 10 per enclosing loop: a rough count of executions
  const bounds = new Set<string>(); // variables of counted loops' bounds: the reverse pass evaluates them again
  // counters of counted loops that their bodies read: kept right in the reverse pass (an `i -= 1` per iteration, no
  // stack), so that values computed from them can be recomputed there (recompute.ts) instead of saved
  const counters = new Set<string>();
  const boundNames = (e: any): any =>
    e.type === 'Identifier' ? bounds.add(e.name) : e.type === 'MemberExpression' ? boundNames(e.object) : e.type === 'BinaryExpression' ? (boundNames(e.left), boundNames(e.right)) : undefined;
  const collect = (ss: Stmt[], weight: number) => {
    for (const s of ss) {
      if (s.t === 'assign') (assigns.push(s), weights.push(weight));
      else if (s.t === 'if') (collect(s.then, weight), collect(s.else, weight));
      else if (s.t === 'loop') {
        if (s.counter) {
          boundNames(s.counter.from), boundNames(s.counter.to);
          const read = new Set<string>();
          s.body.slice(0, -1).forEach((x) => readsOf(x, read)); // the last statement is the counter's own step
          if (read.has(s.counter.name)) counters.add(s.counter.name);
        }
        collect(s.body, weight * 10);
      }
    }
  };
  collect(p.body, 1);
  // Math values are kept on the stack, except in statements the reverse pass runs again (recompute.ts: only variables
  // assigned once), which read their operands there
  const assignments = new Map<string, number>();
  for (const s of assigns) assignments.set(s.target.name, (assignments.get(s.target.name) ?? 0) + 1);
  const info = assigns.map((s, i) => ({ s, weight: weights[i], ...reads(s.rhs, s.target.index !== null || assignments.get(s.target.name)! > 1) }));
  // useful: the output depends on it (through values, not indices or tests)
  const useful = new Set([p.out]);
  // varied: it depends on an argument
  const varied = new Set(constants === undefined ? p.params : p.params.filter((x) => !constants.has(x)));
  for (let changed = true; changed; ) {
    changed = false;
    for (const { s, all } of info) {
      if (useful.has(s.target.name)) for (const r of all) if (!useful.has(r)) (useful.add(r), (changed = true));
      if (!varied.has(s.target.name) && [...all].some((r) => varied.has(r))) (varied.add(s.target.name), (changed = true));
    }
  }
  const adjoint = new Set([...useful].filter((n) => varied.has(n)));
  // copies between adjoint names make one node under two names: such names get per-value adjoint slots
  const aliased = new Set<string>();
  for (const { s } of info)
    if (isCopy(s.rhs) && adjoint.has(s.target.name) && adjoint.has(copySource(s.rhs))) (aliased.add(s.target.name), aliased.add(copySource(s.rhs)));
  const needed = new Set<string>(), valueNeeded = new Set<string>();
  const indexNames = (e: any, into: Set<string>): any =>
    e.type === 'Identifier' ? into.add(e.name) : e.type === 'BinaryExpression' ? (indexNames(e.left, into), indexNames(e.right, into)) : undefined;
  const lengthRead = new Set<string>();
  for (const { s, values, indices, lengths } of info) {
    if (!adjoint.has(s.target.name)) continue;
    for (const v of values) (needed.add(v), valueNeeded.add(v));
    for (const v of indices) needed.add(v);
    for (const v of lengths) lengthRead.add(v);
  }
  // an element write's reverse finds its element again (for its adjoint, or to restore the old value): its index too
  for (const { s } of info) if (s.target.index !== null && (adjoint.has(s.target.name) || needed.has(s.target.name))) indexNames(s.target.index, needed);
  for (const b of bounds) needed.add(b);
  for (const c of counters) needed.add(c);
  const indexOnly = new Set([...needed].filter((n) => !valueNeeded.has(n) && p.scalars.has(n)));
  // Stepped index variables go on the int stack, which bails out for a value it cannot give back (a reverse pass
  // reading it in a trip count or a recomputed value must see what the forward saw). Not one that can hold undefined:
  // it would bail out at every call. Undefined comes from a var, a `let k;` (which assigns undefined), or a copy of one.
  const undefinedAt = new Set([...p.unassigned, 'undefined']);
  for (let grew = true; grew; ) {
    grew = false;
    for (const s of assigns) {
      if (s.target.index === null && s.rhs.type === 'Identifier' && undefinedAt.has(s.rhs.name) && !undefinedAt.has(s.target.name)) (undefinedAt.add(s.target.name), (grew = true));
    }
  }
  const steppedIndex = new Set(assigns.filter((s) => s.target.index === null && indexOnly.has(s.target.name) && !undefinedAt.has(s.target.name)
    && counterStep(s.target.name, s.rhs) !== null).map((s) => s.target.name));
  const arrayObjects = new Set([...adjoint, ...needed, ...lengthRead].filter((n) => p.localArrays.has(n)));
  const saveAtUse = new Set<string>();
  for (const w of p.localArrays) {
    if (!needed.has(w)) continue;
    let overwrites = 0, uses = 0;
    for (const { s, weight, elements } of info) {
      if (s.target.name === w && s.target.index !== null) overwrites += weight;
      if (adjoint.has(s.target.name) && !isCopy(s.rhs)) uses += weight * (elements.get(w)?.size ?? 0);
    }
    if (uses < overwrites) (saveAtUse.add(w), needed.delete(w));
  }
  return { varied, adjoint, aliased, needed, indexOnly, steppedIndex, saveAtUse, arrayObjects };
}

/** Names an expression reads: variables, arrays (elements and lengths), index variables. */
export function namesIn(e: any, into: Set<string>): void {
  if (e === null || typeof e !== 'object') return;
  if (e.type === 'Identifier') return void into.add(e.name);
  if (e.type === 'MemberExpression') {
    if (e.object.type === 'Identifier') into.add(e.object.name);
    if (e.computed) namesIn(e.property, into);
    return;
  }
  if (e.type === 'CallExpression') return e.arguments.forEach((a: any) => namesIn(a, into));
  for (const k of Object.keys(e)) if (k !== 'type') namesIn(e[k], into);
}
/** Everything a statement (and what it contains) reads. */
export function readsOf(s: Stmt, into: Set<string>): void {
  if (s.t === 'assign') {
    namesIn(s.rhs, into);
    if (s.target.index !== null) namesIn(s.target.index, into);
  } else if (s.t === 'array') namesIn(s.size, into);
  else if (s.t === 'if') {
    namesIn(s.test, into);
    s.then.forEach((x) => readsOf(x, into));
    s.else.forEach((x) => readsOf(x, into));
  } else {
    if (s.test !== null) namesIn(s.test, into);
    if (s.counter) (namesIn(s.counter.from, into), namesIn(s.counter.to, into));
    s.body.forEach((x) => readsOf(x, into));
  }
}

/** The names a block assigns (scalars, counters, elements' arrays, fresh arrays), through its ifs and loops. */
export function assignedIn(ss: Stmt[], out = new Set<string>()): Set<string> {
  for (const s of ss) {
    if (s.t === 'assign') out.add(s.target.name);
    else if (s.t === 'array') out.add(s.name);
    else if (s.t === 'if') (assignedIn(s.then, out), assignedIn(s.else, out));
    else if (s.t === 'loop') assignedIn(s.body, out);
  }
  return out;
}

/** `i = i + c` or `i = i - c` with an integer literal c (|c| ≤ 1024): the step the reverse pass undoes, else null. */
export function counterStep(name: string, rhs: any): string | null {
  if (rhs.type !== 'BinaryExpression' || (rhs.operator !== '+' && rhs.operator !== '-')) return null;
  if (rhs.left.type !== 'Identifier' || rhs.left.name !== name) return null;
  const c = rhs.right;
  if (c.type !== 'Literal' || !Number.isInteger(c.value) || Math.abs(c.value) > 1024) return null;
  return rhs.operator === '+' ? `(${c.raw})` : `(-${c.raw})`;
}

export { isMathCall };
