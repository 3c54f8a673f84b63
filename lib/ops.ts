// The one dispatch point: overloaded scalar operations, generated from the rule tables so each op gets its own fast path.
import { O, tensorHooks, NOT_TENSOR, type UnaryRule, type BinaryRule } from './rules/registry';
import { unaryRules, binaryRules } from './rules/scalar';
import { Tracked, primal } from './trace/tracked';
import { opId } from './trace/tape';
import { state } from './trace/context';
import { staleTrackedError } from './errors';
import { numberTypeBinary, numberTypeUnary, NOT_NUMBER_TYPE } from './rules/numbers';

/** A tracked value whose tape is suspended: a constant inside ignore(), an error anywhere else. */
export function resolveInactive(x: Tracked): any {
  if (state.ignoring > 0) return primal(x);
  throw staleTrackedError();
}

/** Functions that already accept tracked values: traced() and gradient() use them as they are. */
export const TRACED = Symbol.for('tracegrad.traced');
export function markTraced<F extends Function>(fn: F): F {
  Object.defineProperty(fn, TRACED, { value: true });
  return fn;
}

/** Operands that are neither numbers nor tracked (null, booleans, Dates...) coerce as JS would. */
function coerce(x: any): any {
  return x instanceof Tracked ? x : +x;
}

// Each op is compiled from a template with `new Function` so that V8 keeps separate type feedback per op: the
// number-only branch is then a single inlined check, and the rule's f and derivative are inlinable constants.
const unaryTemplate = `
return function NAME(x) {
  if (typeof x === 'number') return f(x);
  return slow(x);
};
function slow(x) {
  if (x instanceof Tracked) {
    const t = x.t, v = x.v;
    if (typeof v === 'number' && t.active) {
      const y = f(v);
      return t.unary(y, x.i, d(v, y), id);
    }
  }
  return general(x);
}
function general(x) {
  if (typeof primalOf(x) === 'object') {
    const r = hooks.unary('NAME', x);
    if (r !== NOT_TENSOR) return r;
  }
  if (!(x instanceof Tracked)) {
    const u = user('NAME', x);
    return u === NOT ? f(x) : u;
  }
  const t = x.t;
  if (!t.active) return self(resolveInactive(x));
  const v = x.v;
  const y = self(v);
  return t.unary(y, x.i, d(v, y), id);
}`;

// slow() takes the first-order cases (one tape, plain-number primals) in as few checks as possible; general()
// handles nesting levels, suspended tapes and non-number operands.
const binaryTemplate = `
return function NAME(a, b) {
  if (typeof a === 'number' && typeof b === 'number') return f(a, b);
  return slow(a, b);
};
function slow(a, b) {
  if (a instanceof Tracked) {
    const t = a.t, av = a.v;
    if (typeof av === 'number' && t.active) {
      if (typeof b === 'number') {
        const y = f(av, b);
        return t.unary(y, a.i, da(av, b, y), id);
      }
      if (b instanceof Tracked && b.t === t && typeof b.v === 'number') {
        const bv = b.v, y = f(av, bv);
        return t.binary(y, a.i, da(av, bv, y), b.i, db(av, bv, y), id);
      }
    }
  } else if (typeof a === 'number' && b instanceof Tracked) {
    const t = b.t, bv = b.v;
    if (typeof bv === 'number' && t.active) {
      const y = f(a, bv);
      return t.unary(y, b.i, db(a, bv, y), id);
    }
  }
  return general(a, b);
}
function general(a, b) {
  if (typeof primalOf(a) === 'object' || typeof primalOf(b) === 'object') {
    const r = hooks.binary('NAME', a, b);
    if (r !== NOT_TENSOR) return r;
  }
  const A = a instanceof Tracked, B = b instanceof Tracked;
  if (!A && !B) return other(a, b);
  if (A && !a.t.active) return self(resolveInactive(a), b);
  if (B && !b.t.active) return self(a, resolveInactive(b));
  if (!A && typeof a !== 'number' || !B && typeof b !== 'number') return other(a, b);
  if (A && B && a.t === b.t) {
    const av = a.v, bv = b.v;
    const y = self(av, bv);
    return a.t.binary(y, a.i, da(av, bv, y), b.i, db(av, bv, y), id);
  }
  if (A && (!B || a.t.level > b.t.level)) {
    const av = a.v;
    const y = self(av, b);
    return a.t.unary(y, a.i, da(av, b, y), id);
  }
  const bv = b.v;
  const y = self(a, bv);
  return b.t.unary(y, b.i, db(a, bv, y), id);
}`;

function compileUnary(name: string, rule: UnaryRule): (x: any) => any {
  const make = new Function('f', 'd', 'id', 'Tracked', 'resolveInactive', 'self', 'user', 'NOT', 'hooks', 'NOT_TENSOR', 'primalOf', unaryTemplate.replaceAll('NAME', name));
  const fn = make(rule.f, rule.d, opId(name), Tracked, resolveInactive, (x: any) => fn(x), numberTypeUnary, NOT_NUMBER_TYPE, tensorHooks, NOT_TENSOR, primal);
  markTraced(fn);
  return fn;
}

function compileBinary(name: string, rule: BinaryRule, other: (a: any, b: any) => any): (a: any, b: any) => any {
  const make = new Function(
    'f', 'da', 'db', 'id', 'Tracked', 'resolveInactive', 'other', 'self', 'hooks', 'NOT_TENSOR', 'primalOf', binaryTemplate.replaceAll('NAME', name),
  );
  const fn = make(rule.f, rule.da, rule.db, opId(name), Tracked, resolveInactive, other, (a: any, b: any) => fn(a, b), tensorHooks, NOT_TENSOR, primal);
  markTraced(fn);
  return fn;
}

/** `+` where an operand is not a number: strings (and objects, via their text) concatenate the primal text, as JS would. */
function addOther(a: any, b: any): any {
  const u = numberTypeBinary('add', a, b);
  if (u !== NOT_NUMBER_TYPE) return u;
  const A = a instanceof Tracked, B = b instanceof Tracked;
  if (!A && !B) return a + b;
  const textual = (x: any) => typeof x === 'string' || (x !== null && typeof x === 'object' && !(x instanceof Tracked));
  if (textual(a) || textual(b)) return String(primal(a)) + String(primal(b));
  return O.add(coerce(a), coerce(b));
}

function numericOther(op: string) {
  return (a: any, b: any): any => {
    const u = numberTypeBinary(op, a, b);
    if (u !== NOT_NUMBER_TYPE) return u;
    if (!(a instanceof Tracked) && !(b instanceof Tracked)) return nativeBinary[op](a, b);
    return (O as any)[op](coerce(a), coerce(b));
  };
}
const nativeBinary: Record<string, (a: any, b: any) => any> = {
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  mod: (a, b) => a % b,
  pow: (a, b) => a ** b,
  atan2: (a, b) => Math.atan2(a, b),
};

for (const [name, rule] of Object.entries(unaryRules)) (O as any)[name] = compileUnary(name, rule);
for (const [name, rule] of Object.entries(binaryRules))
  (O as any)[name] = compileBinary(name, rule, name === 'add' ? addOther : numericOther(name));

// ---- comparisons and truthiness: no derivative, but each test on a tracked value is recorded as a guard ----

const guardIds = { lt: opId('guard:<'), gt: opId('guard:>'), le: opId('guard:<='), ge: opId('guard:>='),
  eq: opId('guard:=='), truthy: opId('guard:truthy') };

function guard(x: any, test: number, outcome: boolean): void {
  while (x instanceof Tracked) {
    if (x.t.active) x.t.guard(test, x.i, outcome);
    x = x.v;
  }
}

function compare(a: any, b: any, test: number, cmp: (a: any, b: any) => boolean): boolean {
  const out = cmp(primal(a), primal(b));
  guard(a, test, out);
  guard(b, test, out);
  return out;
}
const ltN = (a: any, b: any) => a < b, gtN = (a: any, b: any) => a > b;
const leN = (a: any, b: any) => a <= b, geN = (a: any, b: any) => a >= b;

/** A comparison where an operand may be of a number type (its lt/gt/le/ge), else by primal with a guard. */
function ordered(op: string, a: any, b: any, test: number, cmp: (a: any, b: any) => boolean): boolean {
  const u = numberTypeBinary(op, a, b);
  return u !== NOT_NUMBER_TYPE ? u : compare(a, b, test, cmp);
}
export function lt(a: any, b: any): boolean {
  return typeof a === 'number' && typeof b === 'number' ? a < b : ordered('lt', a, b, guardIds.lt, ltN);
}
export function gt(a: any, b: any): boolean {
  return typeof a === 'number' && typeof b === 'number' ? a > b : ordered('gt', a, b, guardIds.gt, gtN);
}
export function le(a: any, b: any): boolean {
  return typeof a === 'number' && typeof b === 'number' ? a <= b : ordered('le', a, b, guardIds.le, leN);
}
export function ge(a: any, b: any): boolean {
  return typeof a === 'number' && typeof b === 'number' ? a >= b : ordered('ge', a, b, guardIds.ge, geN);
}
O.lt = lt;
O.gt = gt;

/** `===` where a tracked number equals the plain number it carries. Identity for everything else. */
export function seq(a: any, b: any): boolean {
  if (typeof a !== 'object' && typeof b !== 'object') return a === b;
  if (!(a instanceof Tracked) && !(b instanceof Tracked)) return a === b;
  // compared by value even when a and b are the same tracked object: a tracked NaN is not equal to itself
  return compare(a, b, guardIds.eq, (x, y) => x === y);
}
export function eq(a: any, b: any): boolean {
  if (!(a instanceof Tracked) && !(b instanceof Tracked)) return a == b;
  return compare(a, b, guardIds.eq, (x, y) => x == y);
}

/** A switch discriminant or case label: compared by primal; the value it took is recorded as a guard. */
const switchGuard = opId('guard:switch');
export function switchKey(x: any): any {
  if (!(x instanceof Tracked)) return x;
  guard(x, switchGuard, true);
  return primal(x);
}

/** Truthiness of a tracked number is that of its primal (an object would always be truthy). */
export function truthy(x: any): boolean {
  if (!(x instanceof Tracked)) return !!x;
  const out = !!primal(x);
  guard(x, guardIds.truthy, out);
  return out;
}

// ---- n-ary Math functions ----

/**
 * An n-ary op on the innermost tape among its operands: `compute` runs one level down (recursing through the levels),
 * `partial(vals, y, i)` gives ∂y/∂xᵢ in overloaded ops.
 */
function nary(xs: any[], name: string, compute: (vals: any[]) => any,
              partial: (vals: any[], y: any, i: number) => any): any {
  if (xs.some((x) => typeof primal(x) === 'object')) {
    const r = tensorHooks.nary(name, xs);
    if (r !== NOT_TENSOR) return r;
  }
  let t: any = null;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    if (!(x instanceof Tracked)) continue;
    if (!x.t.active) { xs[i] = resolveInactive(x); continue; }
    if (t === null || x.t.level > t.level) t = x.t;
  }
  if (t === null) return compute(xs.map((x) => (typeof x === 'number' ? x : +x)));
  const vals = xs.map((x) => (x instanceof Tracked && x.t === t ? x.v : x));
  const y = compute(vals);
  const parents: number[] = [], partials: any[] = [];
  for (let i = 0; i < xs.length; i++) {
    if (xs[i] instanceof Tracked && xs[i].t === t) {
      parents.push(xs[i].i);
      partials.push(partial(vals, y, i));
    }
  }
  return t.nary(y, parents, partials, opId(name));
}

/**
 * max/min pass the gradient to the winning argument; when k arguments tie, each gets 1/k (a symmetric subgradient).
 * NaN anywhere gives NaN, as Math.max does.
 */
function extremumPartial(vals: any[], y: any, i: number): number {
  const p = primal(y);
  if (p !== p) return NaN;
  let ties = 0;
  for (const v of vals) if (primal(v) === p) ties++;
  return primal(vals[i]) === p ? 1 / ties : 0;
}
const maxOf = (vals: any[]) => (vals.every((v) => typeof v === 'number') ? Math.max(...vals) : max(...vals));
const minOf = (vals: any[]) => (vals.every((v) => typeof v === 'number') ? Math.min(...vals) : min(...vals));
const hypotOf = (vals: any[]) => (vals.every((v) => typeof v === 'number') ? Math.hypot(...vals) : hypot(...vals));

export function max(...xs: any[]): any {
  if (xs.length === 2 && typeof xs[0] === 'number' && typeof xs[1] === 'number') return Math.max(xs[0], xs[1]);
  return nary(xs, 'max', maxOf, extremumPartial);
}
export function min(...xs: any[]): any {
  if (xs.length === 2 && typeof xs[0] === 'number' && typeof xs[1] === 'number') return Math.min(xs[0], xs[1]);
  return nary(xs, 'min', minOf, extremumPartial);
}
/** hypot = √Σxᵢ²; ∂/∂xᵢ = xᵢ/hypot, taken as 0 at the origin. */
export function hypot(...xs: any[]): any {
  return nary(xs, 'hypot', hypotOf, (vals, y, i) => (primal(y) === 0 ? 0 : O.div(vals[i], y)));
}
O.max = markTraced(max);
O.min = markTraced(min);
O.hypot = markTraced(hypot);

export { O };
