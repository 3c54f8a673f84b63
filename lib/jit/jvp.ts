// Forward mode as a program transformation: a lowered function becomes one that also computes its tangent, in the same IR, so the reverse generator can differentiate it again (Hessian-vector products: reverse over forward).
import { fresh } from './rename';
import { no, UNDEFINED, mathNary, type Program, type Stmt, type Target } from './lower';
import { analyze, isCopy } from './analyze';
import { partialIR, literal } from './symbolic';

const id = (name: string) => ({ type: 'Identifier', name });
const bin = (operator: string, left: any, right: any) => ({ type: 'BinaryExpression', operator, left, right });
const elem = (name: string, index: any) => ({ type: 'MemberExpression', computed: true, optional: false, object: id(name), property: index });
const ZERO = literal(0), ONE = literal(1), MINUS_ZERO = literal(-0);
const assign = (t: Target, rhs: any): Stmt => ({ t: 'assign', target: t, rhs, update: false });
const when = (test: any, then: Stmt[], otherwise: Stmt[]): Stmt => ({ t: 'if', test, then, else: otherwise });
const arithmetic: Record<string, string> = { '+': 'add', '-': 'sub', '*': 'mul', '/': 'div', '%': 'mod', '**': 'pow' };

/** A value's tangent: where it is, and the test saying whether it has one (the forward tape's missing tangent). */
interface Tangent {
  d: any;
  has: any;
}

export interface TangentProgram {
  /** Takes the function's parameters, then one tangent per parameter; returns the output's tangent (0 if it has none). */
  program: Program;
  /** The tangent parameters' names: constants for the reverse pass (the direction v of a Hessian-vector product). */
  tangentParams: string[];
}

/** Whether a value has a tangent at a point of the program: surely, surely not, or only known at run time (a flag). */
type Has = 'yes' | 'no' | 'maybe';
const meet = (a: Has, b: Has): Has => (a === b ? a : 'maybe');
/** An operation has a tangent when any operand has one. */
const any = (hs: Has[]): Has => (hs.includes('yes') ? 'yes' : hs.every((h) => h === 'no') ? 'no' : 'maybe');
type State = Map<string, Has>;

/**
 * The program computing f's value and its tangent along the tangent parameters, operation for operation as the
 * forward tape does when its primal values are tracked one level down (jvp inside gradient): each operation's value,
 * then its rule partials for the operands that carry tangents (rules/scalar.ts, run symbolically: symbolic.ts), then
 * ẏ = Σ partialₖ·ẋₖ over the operands that have a tangent, left to right. Reverse mode over this program is therefore
 * the interpreter's reverse over forward, operation for operation: the same values and adjoint sums.
 *
 * Which operands have a tangent follows the forward tape's structural zeros: a seed of 0 gives none, a constant has
 * none, an operation has one when an operand has. A flow analysis decides it where it can (a variable assigned a
 * constant has none until assigned a varied value; `dense`: every seed is non-zero, which the caller checks, so every
 * parameter has one); elsewhere a 0/1 flag per variable and element is tested at run time.
 */
export function tangentProgram(p: Program, dense: boolean): TangentProgram {
  if (!p.groups.every((g) => typeof g === 'number')) no('object arguments (the compiled Hessian-vector product takes numbers and arrays)');
  const facts = analyze(p);
  // a parameter's "has a tangent" is its seed being non-zero: that holds only while nothing assigns the parameter
  const assigned = (ss: Stmt[]): string[] => ss.flatMap((s) => (s.t === 'assign' ? [s.target.name] : s.t === 'if' ? [...assigned(s.then), ...assigned(s.else)] : s.t === 'loop' ? assigned(s.body) : []));
  const reassigned = assigned(p.body).find((n) => p.params.includes(n));
  if (reassigned !== undefined) no(`an assignment to parameter ${reassigned} (the compiled Hessian-vector product reads its seed from it)`);
  const taken = new Set([...p.params, ...p.scalars, ...p.localArrays, ...p.capturedScalars, ...p.capturedArrays]);
  const scalars = new Set(p.scalars), localArrays = new Set(p.localArrays), paramArrays = new Set(p.paramArrays), varArrays = new Set(p.varArrays);
  const params = [...p.params], kinds = [...p.kinds];
  const dotName = new Map<string, string>(), hasName = new Map<string, string>();
  const tangentParams = p.params.map((x, i) => {
    const d = fresh(taken, `${x}_dot`);
    dotName.set(x, d);
    params.push(d);
    kinds.push(p.kinds[i]);
    (p.paramArrays.has(x) ? paramArrays : scalars).add(d);
    return d;
  });
  const varied = new Set(facts.varied);
  const tangentNames = (n: string) => {
    const d = fresh(taken, `${n}_dot`), h = fresh(taken, `${n}_has`);
    dotName.set(n, d);
    hasName.set(n, h);
    for (const x of [d, h]) (p.localArrays.has(n) ? localArrays : scalars).add(x);
    if (p.varArrays.has(n)) (varArrays.add(d), varArrays.add(h)); // made beside n, in the same branch
  };
  for (const n of facts.varied) if (!p.params.includes(n)) tangentNames(n);
  const temps = new Set<string>();
  const temp = () => {
    const t = fresh(taken, '_t');
    scalars.add(t);
    temps.add(t);
    return t;
  };

  /** Whether an operand has a tangent here (state: what the flow analysis knows of variables). */
  const hasOf = (e: any, state: State): Has => {
    if (e.type === 'Identifier') {
      if (e === UNDEFINED || !varied.has(e.name)) return 'no';
      return p.params.includes(e.name) ? (dense ? 'yes' : 'maybe') : (state.get(e.name) ?? 'maybe');
    }
    if (e.type === 'MemberExpression' && e.computed && varied.has(e.object.name)) return p.paramArrays.has(e.object.name) && dense ? 'yes' : 'maybe';
    return 'no';
  };
  /** The same for a whole right-hand side, before it is flattened (the flow analysis of loops). */
  const hasOfExpression = (e: any, state: State): Has => {
    if (!dependsOnVaried(e)) return 'no';
    if (isOperation(e)) return any(childrenOf(e).map((c: any) => hasOfExpression(c, state)));
    return hasOf(e, state);
  };
  /** What a block does to the state (no code made): for the fixpoint at loop heads. */
  const flow = (ss: Stmt[], state: State): void => {
    for (const s of ss) {
      if (s.t === 'assign') {
        if (s.target.index === null && varied.has(s.target.name)) state.set(s.target.name, hasOfExpression(s.rhs, state));
      } else if (s.t === 'if') {
        const a = new Map(state), b = new Map(state);
        flow(s.then, a);
        flow(s.else, b);
        merge(state, a, b);
      } else if (s.t === 'loop') loopHead(s.body, state);
    }
  };
  const merge = (into: State, a: State, b: State) => {
    for (const k of new Set([...a.keys(), ...b.keys()])) into.set(k, meet(a.get(k) ?? 'maybe', b.get(k) ?? 'maybe'));
  };
  /** The state at a loop's head (and after it: a loop leaves only through its test): the entry met with every back edge. */
  const loopHead = (body: Stmt[], state: State): void => {
    for (;;) {
      const end = new Map(state);
      flow(body, end);
      const before = [...state].map(([k, v]) => k + v).join();
      merge(state, new Map(state), end);
      if ([...state].map(([k, v]) => k + v).join() === before) return;
    }
  };

  /** The tangent of an operand, or null if it has none here. */
  const tangentOf = (e: any, state: State): Tangent | null => {
    const h = hasOf(e, state);
    if (h === 'no') return null;
    if (e.type === 'Identifier') {
      const d = id(dotName.get(e.name)!);
      return { d, has: h === 'yes' ? true : p.params.includes(e.name) ? bin('!==', d, ZERO) : bin('===', id(hasName.get(e.name)!), ONE) };
    }
    const a = e.object.name, d = elem(dotName.get(a)!, e.property);
    return { d, has: h === 'yes' ? true : p.paramArrays.has(a) ? bin('!==', d, ZERO) : bin('===', elem(hasName.get(a)!, e.property), ONE) };
  };
  /** Where a target's tangent and flag go. */
  const tangentPlaces = (t: Target): [Target, Target] => [
    { name: dotName.get(t.name)!, index: t.index },
    { name: hasName.get(t.name)!, index: t.index },
  ];
  /**
   * No tangent: the flag is 0, and a variable's tangent is then the constant −0 (its value when it has none: see
   * `operation`, where −0 + ẋ = ẋ lets a sum skip the test).
   */
  const absent = (t: Target): Stmt[] => {
    const [D, H] = tangentPlaces(t);
    return t.index === null ? [assign(H, ZERO), assign(D, MINUS_ZERO)] : [assign(H, ZERO)];
  };
  /** Set a target's tangent status: its flag (read where the analysis cannot tell), and the state for variables. */
  const setHas = (t: Target, h: Has, state: State, out: Stmt[]) => {
    // a temp's status is always known where it is read (right after it is made): its flag is never tested
    if (h !== 'maybe' && !temps.has(t.name)) out.push(...(h === 'yes' ? [assign(tangentPlaces(t)[1], ONE)] : absent(t)));
    if (t.index === null) state.set(t.name, h);
  };
  /** A variable (not a parameter, not an element) whose tangent is −0 whenever its flag is 0. */
  const minusZeroWhenAbsent = (e: any) => e.type === 'Identifier' && !p.params.includes(e.name) && hasName.has(e.name);

  /**
   * One operation `rule(xs)` into `target`: its value, the partials of the operands that carry tangents, then the
   * tangent and flag, as ForwardTape.unary/binary sum them (Σ partial·tangent, left to right, each product an
   * operation, a partial of 1 included).
   */
  const operation = (rule: string, rebuild: (xs: any[]) => any, xs: any[], target: Target, out: Stmt[], state: State): void => {
    out.push(assign(target, rebuild(xs)));
    const tangents = xs.map((x) => tangentOf(x, state));
    if (tangents.every((t) => t === null)) {
      if (varied.has(target.name)) setHas(target, 'no', state, out);
      return;
    }
    if (mathNary.has(rule)) no(`Math.${rule} of a varied value (its partials depend on ties and zeros)`);
    if (!varied.has(target.name)) (varied.add(target.name), tangentNames(target.name));
    const y = target.index === null ? id(target.name) : elem(target.name, target.index);
    const partials = xs.map((_x, i) => (tangents[i] === null ? null : partialIR(rule, i as 0 | 1, xs, y, out, temp)));
    const [D, H] = tangentPlaces(target);
    const carried = tangents.map((t, i) => (t === null ? null : { t, partial: partials[i] })).filter((x) => x !== null) as { t: Tangent; partial: any }[];
    const set = (terms: { t: Tangent; partial: any }[]): Stmt[] => [
      // every term a product, a partial of 1 included: the forward tape's O.mul(1, ẋ) is an operation of its own, so
      // the reverse pass hands ẋ its adjoint when it reaches that product, after the later terms' (for w + (w − w),
      // or a copy m = w in w − m, the order of those sums decides the last bit)
      assign(D, terms.map(({ t, partial }) => bin('*', partial, t.d)).reduce((a, b) => bin('+', a, b))),
      ...(carried.every((c) => c.t.has === true) ? [] : [assign(H, ONE)]),
    ];
    // Operands that may lack a tangent but would then hold −0 and enter with a partial of exactly 1 (sums, `s += e`):
    // −0 + ẋ = ẋ and 1·−0 = −0 exactly, so the one expression gives the forward tape's tangent in every case (and −0
    // again, with flag 0, when no operand has one); in the reverse pass the adjoint sent to an absent one ends at the
    // constant −0. No test, no branch.
    const unitPartial = (c: { partial: any }) => c.partial.type === 'Literal' && c.partial.value === 1;
    const maybes = carried.filter((c) => c.t.has !== true);
    const xsCarried = xs.filter((_x, i) => tangents[i] !== null);
    if (target.index === null && maybes.length > 0 && maybes.every((c) => unitPartial(c) && minusZeroWhenAbsent(xsCarried[carried.indexOf(c)]))) {
      out.push(set(carried)[0]);
      if (carried.some((c) => c.t.has === true)) return setHas(target, 'yes', state, out);
      const flags = maybes.map((c) => id(hasName.get(xsCarried[carried.indexOf(c)].name)!));
      out.push(assign(H, flags.length === 1 ? flags[0] : { type: 'CallExpression', optional: false, arguments: flags,
        callee: { type: 'MemberExpression', computed: false, optional: false, object: id('Math'), property: id('max') } }));
      return void state.set(target.name, 'maybe');
    }
    // the cases of which operands have a tangent, decided at run time only where the analysis could not
    const cases = (rest: typeof carried, chosen: typeof carried): Stmt[] => {
      if (rest.length === 0) return chosen.length === 0 ? absent(target) : set(chosen);
      const [first, ...others] = rest;
      if (first.t.has === true) return cases(others, [...chosen, first]);
      return [when(first.t.has, cases(others, [...chosen, first]), cases(others, chosen))];
    };
    out.push(...cases(carried, []));
    const h = any(carried.map((c) => (c.t.has === true ? 'yes' : 'maybe')));
    if (h === 'yes') setHas(target, 'yes', state, out);
    else if (target.index === null) state.set(target.name, 'maybe');
  };

  const ruleOf = (e: any): string => (e.type === 'BinaryExpression' ? arithmetic[e.operator] : e.type === 'UnaryExpression' ? 'neg' : e.callee.property.name);
  const childrenOf = (e: any): any[] => (e.type === 'BinaryExpression' ? [e.left, e.right] : e.type === 'UnaryExpression' ? [e.argument] : e.arguments);
  const rebuilder = (e: any) => (xs: any[]) =>
    e.type === 'BinaryExpression' ? { ...e, left: xs[0], right: xs[1] } : e.type === 'UnaryExpression' ? { ...e, argument: xs[0] } : { ...e, arguments: xs };
  const isOperation = (e: any) => e.type === 'BinaryExpression' || e.type === 'UnaryExpression' || e.type === 'CallExpression';
  /** An operand for an expression: its operations into temps, in evaluation order. */
  const flatten = (e: any, out: Stmt[], state: State): any => {
    if (!isOperation(e)) return e;
    const xs = childrenOf(e).map((c: any) => flatten(c, out, state));
    const t = temp();
    operation(ruleOf(e), rebuilder(e), xs, { name: t, index: null }, out, state);
    return id(t);
  };
  const reads = (e: any, name: string): boolean =>
    e !== null && typeof e === 'object' && ((e.type === 'Identifier' && e.name === name) || Object.keys(e).some((k) => k !== 'type' && reads(e[k], name)));
  /** Whether a value reads a varied name as a value (not in an index, nor an array's length: those carry no derivative). */
  const dependsOnVaried = (e: any): boolean => {
    if (e.type === 'Identifier') return varied.has(e.name);
    if (e.type === 'MemberExpression') return e.computed && varied.has(e.object.name);
    return isOperation(e) && childrenOf(e).some(dependsOnVaried);
  };
  /** `target = source` where source already holds the value: the tangent (and status) follow it (the same tracked value). */
  const copyTangent = (target: Target, source: any, out: Stmt[], state: State) => {
    const [D, H] = tangentPlaces(target);
    const t = tangentOf(source, state);
    if (t === null) return setHas(target, 'no', state, out);
    if (t.has === true) return (out.push(assign(D, t.d)), setHas(target, 'yes', state, out));
    out.push(when(t.has, [assign(D, t.d), assign(H, ONE)], absent(target)));
    if (target.index === null) state.set(target.name, 'maybe');
  };

  const assignment = (s: Stmt & { t: 'assign' }, out: Stmt[], state: State): void => {
    const { target, rhs } = s;
    if (!varied.has(target.name)) return void out.push(s);
    if (!dependsOnVaried(rhs)) return (out.push(s), setHas(target, 'no', state, out)); // a constant: no tangent
    if (isCopy(rhs)) return (out.push(s), copyTangent(target, rhs, out, state));
    const xs = childrenOf(rhs).map((c: any) => flatten(c, out, state));
    const rule = ruleOf(rhs);
    // straight into the target unless the rule's partials may read an operand the assignment overwrites
    if (!xs.some((x: any) => reads(x, target.name)) || rule === 'add' || rule === 'sub' || rule === 'neg')
      return operation(rule, rebuilder(rhs), xs, { name: target.name, index: target.index }, out, state);
    const t = temp();
    operation(rule, rebuilder(rhs), xs, { name: t, index: null }, out, state);
    out.push(assign(target, id(t)));
    copyTangent(target, id(t), out, state);
  };
  const block = (ss: Stmt[], state: State): Stmt[] => {
    const out: Stmt[] = [];
    for (const s of ss) {
      if (s.t === 'assign') assignment(s, out, state);
      else if (s.t === 'if') {
        const a = new Map(state), b = new Map(state);
        out.push({ ...s, then: block(s.then, a), else: block(s.else, b) });
        merge(state, a, b);
      } else if (s.t === 'loop') {
        loopHead(s.body, state);
        out.push({ ...s, body: block(s.body, new Map(state)) });
      } else {
        out.push(s);
        if (varied.has(s.name)) out.push({ t: 'array', name: dotName.get(s.name)!, size: s.size }, { t: 'array', name: hasName.get(s.name)!, size: s.size });
      }
    }
    return out;
  };
  // at the start no variable holds a value with a tangent (parameters are known by their seeds); a let or const is
  // assigned before it is read (and its assignment sets its tangent or −0), a var may be read before: its tangent −0
  const initially = [...varied].filter((n) => !p.params.includes(n) && !p.localArrays.has(n));
  const state: State = new Map(initially.map((n) => [n, 'no' as Has]));
  const hoisted = initially.filter((n) => p.unassigned.has(n)).map((n) => assign({ name: dotName.get(n)!, index: null }, MINUS_ZERO));
  const body = [...hoisted, ...block(p.body, state)];
  // the output's tangent (+ 0 makes it a value of its own, not a copy: names joined by copies share adjoint slots);
  // f's own output must be a number, else the interpreter reports it (`numbers`)
  const result = temp();
  const t = tangentOf(id(p.out), state);
  const R = { name: result, index: null };
  if (t === null) body.push(assign(R, ZERO));
  // (a variable without a tangent holds −0 there, and the value is not used: only the gradient is)
  else if (t.has === true || minusZeroWhenAbsent(id(p.out))) body.push(assign(R, bin('+', t.d, ZERO)));
  else body.push(when(t.has, [assign(R, bin('+', t.d, ZERO))], [assign(R, ZERO)]));
  const program: Program = {
    ...p, params, kinds, groups: params.map((_x, i) => i), paramArrays, localArrays, varArrays, scalars, body, out: result,
    numbers: [...(p.numbers ?? []), p.out],
  };
  return { program, tangentParams };
}
