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

// ---- the same evaluation as JavaScript text, for first-order compiled code -----------------------------------------

/** A symbolic operand as JavaScript text (a name, a literal or a temp); like Sym, reading its value throws. */
class SymText {
  constructor(readonly text: string) {}
  valueOf(): never {
    throw new ValueDependent();
  }
  [Symbol.toPrimitive](): never {
    throw new ValueDependent();
  }
}

let textSink: { pre: string[]; temp: () => string } | null = null;
const textOf = (x: any): string => (x instanceof SymText ? x.text : typeof x === 'number' ? `(${literal(x).raw})` : (() => { throw new ValueDependent(); })());
function emitText(rhs: string): SymText {
  const name = textSink!.temp();
  textSink!.pre.push(`const ${name} = ${rhs};`);
  return new SymText(name);
}
const textOps: Record<string, (...xs: any[]) => any> = {};
// Math functions through the rule objects the generated code receives (U_name.f, B_name.f: the functions the rule
// table captured when tracegrad loaded, which the forward pass and the interpreter call too, even if Math is patched)
for (const name of Object.keys(unaryRules))
  textOps[name] = (x: any) => emitText(name === 'neg' ? `(-${textOf(x)})` : `U_${name}.f(${textOf(x)})`);
for (const name of Object.keys(binaryRules))
  textOps[name] = (a: any, b: any) => emitText(name in binaryOperator ? `(${textOf(a)} ${binaryOperator[name]} ${textOf(b)})` : `B_${name}.f(${textOf(a)}, ${textOf(b)})`);
for (const cmp of ['lt', 'gt', 'le', 'ge']) textOps[cmp] = () => { throw new ValueDependent(); };

/**
 * One partial derivative of `rule` as JavaScript text, for the compiled reverse pass: `pre` declares a const temp per
 * operation the rule's derivative performs (named by `temp`), in the order the rule performs them, and `e` is the
 * partial (a temp, an operand's text or a literal). The interpreter calls the same derivative on plain numbers, where
 * each of O's operations is the plain JS operation, so the inlined text computes the same double, without a call
 * through O's dispatch (which V8 does not inline: division's and sqrt's partials cost most of a sweep otherwise).
 * `args` are the operands' texts, or numbers for literals (the rule then computes with them as the interpreter
 * does); `y` the result's text, or a number. Null for a rule whose derivative reads values (pow's exponent test,
 * mod): the caller keeps calling the rule.
 */
export function partialText(rule: string, operand: 0 | 1, args: (string | number)[], y: string | number, temp: () => string): { pre: string[]; e: string } | null {
  const asValue = (a: string | number) => (typeof a === 'number' ? a : new SymText(a));
  const vals = args.map(asValue);
  const pre: string[] = [];
  const hypot = O.hypot;
  textSink = { pre, temp };
  O.hypot = (...xs: any[]) => (xs.some((x) => x instanceof SymText) ? emitText(`Math.hypot(${xs.map(textOf).join(', ')})`) : hypot(...xs));
  try {
    const r: any = withNumberType(SymText, textOps, () => {
      const unary = (unaryRules as any)[rule];
      if (unary !== undefined) return unary.d(vals[0], asValue(y));
      const binary = (binaryRules as any)[rule];
      if (binary === undefined) throw new ValueDependent();
      return (operand === 0 ? binary.da : binary.db)(vals[0], vals[1], asValue(y));
    });
    return { pre, e: textOf(r) };
  } catch (err) {
    if (err instanceof ValueDependent) return null;
    throw err;
  } finally {
    textSink = null;
    O.hypot = hypot;
  }
}

const resultOnly = new Map<string, boolean>();
/**
 * Whether unary `rule`'s derivative reads its operand, as far as its text shows: false for exp (y), sqrt (0.5 / y),
 * expm1, cbrt, whose partials are formulas of the result alone, so a reverse pass holding the kept result needs not
 * the operand's value (analyze.ts). True for every other rule, and where the derivative is not inlined text.
 */
export function partialReadsOperand(rule: string): boolean {
  let only = resultOnly.get(rule);
  if (only === undefined) {
    let k = 0, text: { pre: string[]; e: string } | null = null;
    try {
      if (rule in unaryRules && rule !== 'neg') text = partialText(rule, 0, ['__operand'], '__result', () => `__t${k++}`);
    } catch {
      // a derivative through operations symbolic text does not have (abs's sign): it reads its operand
    }
    resultOnly.set(rule, (only = text !== null && ![...text.pre, text.e].some((t) => t.includes('__operand'))));
  }
  return !only;
}

/**
 * A partial for generated code: the inlined text of partialText where the rule allows it, else the call of the rule
 * object the generated code receives (U_name.d, B_name.da/db). `operands` and `result` are the texts the code passes
 * ('0' where the partial reads nothing, `(3)` for a literal, which the rule then gets as a number).
 */
export function inlinePartial(rule: string, unary: boolean, operand: 0 | 1, operands: string[], result: string, temp: () => string): { pre: string; e: string } {
  const value = (text: string): string | number => {
    if (text === '0') return 0;
    // a literal in the canonical form of its number: `(010)` is 8 in sloppy code, `(1_000)` is no JS number text
    const literal = /^\((.*)\)$/.exec(text);
    if (literal !== null && String(Number(literal[1])) === literal[1]) return Number(literal[1]);
    return text;
  };
  const inline = partialText(rule, operand, operands.map(value), value(result), temp);
  if (inline !== null) return { pre: inline.pre.join(' '), e: inline.e };
  return { pre: '', e: unary ? `U_${rule}.d(${operands[0]}, ${result})` : `B_${rule}.${operand === 0 ? 'da' : 'db'}(${operands[0]}, ${operands[1]}, ${result})` };
}
