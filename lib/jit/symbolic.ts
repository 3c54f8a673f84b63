// Rule partials as IR statements: a rule's derivative (rules/scalar.ts) run on symbolic operands, so compiled code can differentiate it again with the same table.
import { unaryRules, binaryRules } from '../rules/scalar';
import { O } from '../rules/registry';
import { withNumberType } from '../rules/numbers';
import { Ineligible, type Stmt } from './lower';

/**
 * A symbolic operand: an IR expression (an identifier, literal or element). Overloaded ops on it (through the number
 * type hooks every rule is written in) emit one IR assignment per operation, in the order the rule evaluates them, so
 * the statements record exactly the operations the interpreter runs when it calls the rule on tracked values. A rule
 * that needs the value itself (abs's sign, a comparison, max's ties) converts it to a number, which throws.
 */
class Sym {
  constructor(readonly e: any) {}
  valueOf(): never {
    throw new ValueDependent();
  }
  [Symbol.toPrimitive](): never {
    throw new ValueDependent();
  }
}
class ValueDependent extends Error {}

const id = (name: string) => ({ type: 'Identifier', name });
/** A number as an IR literal (negative ones and -0 are written as such, so the text evaluates to the same double). */
export function literal(v: number): any {
  if (!Number.isFinite(v)) throw new ValueDependent();
  const raw = Object.is(v, -0) ? '-0' : String(v);
  return { type: 'Literal', value: v, raw };
}
const exprOf = (x: any) => (x instanceof Sym ? x.e : typeof x === 'number' ? literal(x) : (() => { throw new ValueDependent(); })());

const binaryOperator: Record<string, string> = { add: '+', sub: '-', mul: '*', div: '/', mod: '%' };

/** Where emitted statements go while one rule runs symbolically, and how temps are named. */
let sink: { out: Stmt[]; temp: () => string } | null = null;

function emit(rhs: any): Sym {
  const name = sink!.temp();
  sink!.out.push({ t: 'assign', target: { name, index: null }, rhs, update: false });
  return new Sym(id(name));
}
const call = (name: string, args: any[]) => ({
  type: 'CallExpression', optional: false, arguments: args.map(exprOf),
  callee: { type: 'MemberExpression', computed: false, optional: false, object: id('Math'), property: id(name) },
});

/** The number-type operations of Sym: each emits its operation. */
const symOps: Record<string, (...xs: any[]) => any> = {};
for (const name of Object.keys(unaryRules))
  symOps[name] = (x: any) => emit(name === 'neg' ? { type: 'UnaryExpression', operator: '-', prefix: true, argument: exprOf(x) } : call(name, [x]));
for (const name of Object.keys(binaryRules))
  symOps[name] = (a: any, b: any) => emit(name in binaryOperator ? { type: 'BinaryExpression', operator: binaryOperator[name], left: exprOf(a), right: exprOf(b) } : call(name, [a, b]));
for (const cmp of ['lt', 'gt', 'le', 'ge']) symOps[cmp] = () => { throw new ValueDependent(); };

/**
 * The IR of one partial derivative of `rule` (a unary or binary rule name; `operand` 0 or 1) at operands `args` and
 * result `y` (IR expressions; literals are passed to the rule as numbers, as the interpreter passes constants). Its
 * operations are appended to `out` as assignments to fresh temps from `temp`; the returned expression is the partial
 * (a literal, a temp, or an operand itself). Throws Ineligible for a rule whose derivative depends on values (abs,
 * mod, and pow or atan2 where that needs a non-literal operand's sign).
 */
export function partialIR(rule: string, operand: 0 | 1, args: any[], y: any, out: Stmt[], temp: () => string): any {
  const asValue = (e: any) => (e.type === 'Literal' && typeof e.value === 'number' ? e.value : new Sym(e));
  const vals = args.map(asValue);
  const emitted: Stmt[] = [];
  const hypot = O.hypot;
  sink = { out: emitted, temp };
  // n-ary Math functions convert their operands to numbers when none is tracked: as a symbolic op instead
  O.hypot = (...xs: any[]) => (xs.some((x) => x instanceof Sym) ? emit(call('hypot', xs)) : hypot(...xs));
  try {
    const r: any = withNumberType(Sym, symOps, () => {
      const unary = (unaryRules as any)[rule];
      if (unary !== undefined) return unary.d(vals[0], new Sym(y));
      const binary = (binaryRules as any)[rule];
      if (binary === undefined) throw new ValueDependent();
      return (operand === 0 ? binary.da : binary.db)(vals[0], vals[1], new Sym(y));
    });
    const e = exprOf(r);
    out.push(...emitted);
    return e;
  } catch (err) {
    if (err instanceof ValueDependent) throw new Ineligible(`the derivative of ${rule} depends on its operands' values (its second derivative is left to the interpreter)`);
    throw err;
  } finally {
    sink = null;
    O.hypot = hypot;
  }
}
