// The compiled tier's front end: parse a function, check it is in the compiled subset, give every binding a unique name, lower it to a small statement IR.
import { Parser } from 'acorn';
import { unaryRules } from '../rules/scalar';
import { rename, fresh, substitute, structural } from './rename';
import { removeJumps } from './jumps';

export class Ineligible extends Error {}
export const no = (why: string): never => {
  throw new Ineligible(why);
};

/** What each argument is: a number, a Float64Array, or an Array of numbers (the compiled code is specialised on it). */
export type LeafKind = 'number' | 'f64' | 'array';
/**
 * What each argument is: a number, a Float64Array, an Array of numbers, or a plain object whose fields are those (a
 * model kept in an object); the compiled code is specialised on it, fields and their order included.
 */
export type ArgKind = LeafKind | { fields: [string, ArgKind][] };
/** An argument's place among the generated code's parameters: an index, or its fields' places (objects, nested). */
export type Group = number | { fields: [string, Group][] };

/** An assignment target: a variable, or an element `name[index]` of a local array. */
export interface Target {
  name: string;
  index: any | null;
}
/**
 * Statements of the IR. Expressions stay ESTree nodes (checked here: see `checkValue`). A compound assignment is
 * already `v = v op e`; `v++` is `v = v + 1`; `let u;` assigns `undefined`; a for loop's update ends its body.
 */
export type Stmt =
  | { t: 'assign'; target: Target; rhs: any; update: boolean; counterInit?: boolean; counterStep?: boolean }
  | { t: 'array'; name: string; size: any }
  | { t: 'if'; test: any; then: Stmt[]; else: Stmt[] }
  | { t: 'loop'; test: any | null; body: Stmt[]; counter?: Counter };

/**
 * A counted loop `for (let c = from; c < to; c++)` (or <=, or counting down with > >= and --) whose body assigns
 * neither c nor the variables of `from` and `to`: its trip count and the counter's values can be recomputed in the
 * reverse pass instead of saved.
 */
export interface Counter {
  name: string;
  from: any;
  to: any;
  cmp: '<' | '<=' | '>' | '>=';
  step: 1 | -1;
}

export interface Program {
  /** The parameters the generated code takes: the function's, with object arguments flattened into their fields. */
  params: string[];
  kinds: LeafKind[];
  /** Per argument of the function: its flattened parameter's index, or its fields' names and places. */
  groups: Group[];
  /** Parameters that are arrays (read-only inputs), by name. */
  paramArrays: Set<string>;
  /** Arrays made in the function by `new Float64Array(n)` (the only arrays it may write). */
  localArrays: Set<string>;
  /** Every variable that holds a number (number parameters included), after renaming. */
  scalars: Set<string>;
  /**
   * Free variables read from outside (traced()'s scope, or globals): numbers and Float64Arrays, read-only, constants
   * of the call (the compiled code reads them afresh at each call, so a changed flag is seen).
   */
  capturedScalars: Set<string>;
  capturedArrays: Set<string>;
  /** Where each captured name is read from. */
  captured: Map<string, { holder: object; prop: string }>;
  /** The inlined functions, and where the code reads them: the compiled code is stale once one of them is replaced. */
  calleeGuards: { holder: object; prop: string; fn: Function }[];
  body: Stmt[];
  /** The variable returned at the end. */
  out: string;
  /** Variables declared by `var`: they read undefined until assigned (a let or const is assigned before it is read). */
  unassigned: Set<string>;
  /** Local arrays declared by `var`: one made in a branch is undefined after it when the branch did not run. */
  varArrays: Set<string>;
  /** Variables besides `out` that must hold numbers at the end, else the call is the interpreter's (a derived program's original output). */
  numbers?: string[];
}

export const UNDEFINED = { type: 'Identifier', name: 'undefined' };

/**
 * The number variables a function body declares with var (hoisted to the function: nested blocks and loops
 * included); not the ones holding a `new Float64Array(n)`, which are local arrays.
 */
function varNames(body: any[]): string[] {
  const names = new Set<string>(), arrays = new Set<string>();
  const walk = (n: any): void => {
    if (n === null || typeof n !== 'object') return;
    if (Array.isArray(n)) return n.forEach(walk);
    if (n.type === 'FunctionExpression' || n.type === 'ArrowFunctionExpression' || n.type === 'FunctionDeclaration') return;
    if (n.type === 'VariableDeclaration' && n.kind === 'var')
      for (const d of n.declarations) if (d.id.type === 'Identifier') (d.init?.type === 'NewExpression' ? arrays : names).add(d.id.name);
    for (const k of Object.keys(n)) if (k !== 'type') walk(n[k]);
  };
  walk(body);
  return [...names].filter((n) => !arrays.has(n));
}
const ONE = { type: 'Literal', value: 1, raw: '1' };
const binaryOps = new Set(['+', '-', '*', '/', '%', '**']);
const comparisons = new Set(['<', '>', '<=', '>=', '===', '!==', '==', '!=']);
export const mathBinary = new Set(['pow', 'atan2']);
/** Math functions of any number of arguments (one or more here), with the interpreter's n-ary partials. */
export const mathNary = new Set(['max', 'min', 'hypot']);

/** `Math.PI`, `Number.EPSILON` and the like: the number, or undefined for any other expression. */
export function numericConstant(e: any): number | undefined {
  if (e.type !== 'MemberExpression' || e.computed || e.optional || e.object.type !== 'Identifier') return undefined;
  const holder = e.object.name === 'Math' ? Math : e.object.name === 'Number' ? Number : null;
  if (holder === null || !Object.hasOwn(holder, e.property.name)) return undefined;
  const v = (holder as any)[e.property.name];
  return typeof v === 'number' ? v : undefined;
}

/** What a free variable of a traced function holds: a number or Float64Array (read from `holder[prop]`), or a traced function to inline. */
export type Captured = { kind: 'number' | 'f64'; holder: object; prop: string }
  | { kind: 'function'; fn: Function; name: string; source: string; holder: object; prop: string };
/** Resolves a free variable of `owner` (null: the function being compiled), or null when it is none of the above. */
export type Resolve = (owner: Function | null, name: string) => Captured | null;

/** A function's parameters, statements and returned expression; throws Ineligible outside the subset's shape. */
function parseFunction(source: string): { params: string[]; body: any[]; result: any; name: string } {
  let ast: any;
  try {
    ast = (Parser.parse(`(${source})`, { ecmaVersion: 'latest' }) as any).body[0].expression;
  } catch {
    return no('source does not parse as a function expression');
  }
  if (ast.type !== 'FunctionExpression' && ast.type !== 'ArrowFunctionExpression') no('not a function expression');
  if (ast.async || ast.generator) no('async or generator function');
  const params: string[] = ast.params.map((p: any) => (p.type === 'Identifier' ? p.name : no('destructured or default parameter')));
  if (new Set(params).size !== params.length) no('duplicate parameter names');
  let body: any[];
  let result: any;
  if (ast.body.type === 'BlockStatement') {
    body = ast.body.body.slice();
    const last = body.pop();
    if (last?.type !== 'ReturnStatement' || last.argument === null) no('the body does not end with `return value`');
    result = last.argument;
  } else {
    body = [];
    result = ast.body;
  }
  ({ body, result } = removeJumps(body, result));
  const forbidden = (s: any): void => {
    if (s === null || typeof s !== 'object') return;
    if (s.type === 'ReturnStatement' || s.type === 'BreakStatement' || s.type === 'ContinueStatement') no(`${s.type} before the end`);
    if (s.type === 'FunctionExpression' || s.type === 'ArrowFunctionExpression' || s.type === 'FunctionDeclaration') no('nested function');
    for (const k of Object.keys(s)) if (k !== 'type') forbidden(s[k]);
  };
  body.forEach(forbidden);
  forbidden(result);
  return { params, body, result, name: ast.id?.name ?? '' };
}


/**
 * Parse `source` (a function) and lower it, or throw Ineligible saying which construct is outside the subset:
 * numbers and read-only arrays in, a number out; let/const/var; assignments and compound assignments to variables
 * and to elements of local Float64Arrays; ++/--; if/else; for and while loops; arithmetic and Math.f(x); free numbers
 * and Float64Arrays; calls to traced functions (inlined).
 */
export function lower(source: string, kinds?: ArgKind[], resolve?: Resolve): Program {
  const top = parseFunction(source);
  const taken = new Set(top.params); // every name in the program, the inlined functions' included, is unique
  // object arguments are flattened: each field is a parameter of its own (`p.W` becomes p_W, `p.l1.W` p_l1_W), read-only
  const params: string[] = [];
  const leafKinds: LeafKind[] = [];
  const objects = new Map<string, Map<string, string | null>>(); // object parameter -> field path -> flattened name (null: an object)
  const fields = new Set<string>();
  const flattenParam = (path: string, name: string, k: ArgKind, byPath: Map<string, string | null>): Group => {
    if (typeof k === 'string') {
      const flat = fresh(taken, name);
      byPath.set(path, flat);
      fields.add(flat);
      params.push(flat);
      leafKinds.push(k);
      return params.length - 1;
    }
    byPath.set(path, null);
    return { fields: k.fields.map(([f, fk], j) => [f, flattenParam(`${path}.${f}`, /^[A-Za-z_$][\w$]*$/.test(f) ? `${name}_${f}` : `${name}$${j}`, fk, byPath)]) };
  };
  const groups: Group[] = top.params.map((p, i) => {
    const k = kinds?.[i] ?? 'number';
    if (typeof k === 'string') {
      params.push(p);
      leafKinds.push(k);
      return params.length - 1;
    }
    const byPath = new Map<string, string | null>();
    objects.set(p, byPath);
    return flattenParam(p, p, k, byPath);
  });
  const paramArrays = new Set(params.filter((_p, i) => leafKinds[i] !== 'number'));
  const scalars = new Set(params.filter((p) => !paramArrays.has(p)));
  const localArrays = new Set<string>();
  const constants = new Set<string>();
  const unassigned = new Set<string>(), varArrays = new Set<string>();
  const capturedScalars = new Set<string>(), capturedArrays = new Set<string>();
  const captured = new Map<string, { holder: object; prop: string }>();
  const callees = new Map<string, Captured & { kind: 'function' }>();
  const calleeGuards: { holder: object; prop: string; fn: Function }[] = [];
  const isArray = (n: string) => paramArrays.has(n) || localArrays.has(n) || capturedArrays.has(n);
  const isScalar = (n: string) => scalars.has(n) || capturedScalars.has(n);
  const known = (n: string) => isScalar(n) || isArray(n);
  /** Rename a function's bindings and free variables to unique names; record what its free variables hold. */
  const bindNames = (fn: { params: string[]; body: any[]; result: any }, owner: Function | null, renameParams: boolean) => {
    const block = { type: 'BlockStatement', body: [...fn.body, { type: 'ReturnStatement', argument: fn.result }] };
    const { free, params: names } = rename(block, fn.params, taken, renameParams);
    for (const [source, unique] of free) {
      const c = resolve?.(owner, source) ?? null;
      if (c === null) continue; // reported where it is used ("free variable ...")
      if (c.kind === 'function') {
        callees.set(unique, c);
        calleeGuards.push({ holder: c.holder, prop: c.prop, fn: c.fn });
      }
      else {
        (c.kind === 'number' ? capturedScalars : capturedArrays).add(unique);
        captured.set(unique, { holder: c.holder, prop: c.prop });
      }
    }
    return names;
  };
  bindNames(top, null, false);
  if (objects.size > 0) fieldReads(top, objects);
  const inlining: Function[] = [];

  /** An index: integers from literals and number variables with + - * (no derivative flows through an index). */
  const checkIndex = (e: any): void => {
    if (e.type === 'Literal' && typeof e.value === 'number') return;
    if (e.type === 'Identifier' && isScalar(e.name)) return;
    // the length of a parameter or captured array (`c[c.length - 1]`): fixed for the call (a local array is replaced
    // by `new Float64Array` in loops, so its length is not)
    if (e.type === 'MemberExpression' && !e.computed && e.object.type === 'Identifier' && e.property.name === 'length'
      && isArray(e.object.name) && !localArrays.has(e.object.name)) return;
    if (e.type === 'BinaryExpression' && ['+', '-', '*'].includes(e.operator)) return (checkIndex(e.left), checkIndex(e.right));
    return no('an index that is not + - * of variables, literals and array lengths');
  };
  /** A value: number literals, number variables, elements, `a.length`, arithmetic, unary minus, Math.f(...). */
  const checkValue = (e: any): void => {
    switch (e.type) {
      case 'Literal':
        if (typeof e.value !== 'number') no(`non-numeric literal ${e.raw}`);
        return;
      case 'Identifier':
        if (e === UNDEFINED) return;
        if (!known(e.name)) no(`free variable ${e.name}`);
        if (isArray(e.name)) no(`array ${e.name} used as a number`);
        return;
      case 'MemberExpression':
        if (numericConstant(e) !== undefined && !known(e.object.name)) return;
        if (e.object.type !== 'Identifier' || !isArray(e.object.name) || e.optional) no('a member access other than a[i], a.length, Math.PI or Number.EPSILON');
        if (!e.computed) return e.property.name === 'length' ? undefined : no(`.${e.property.name}`);
        return checkIndex(e.property);
      case 'BinaryExpression':
        if (!binaryOps.has(e.operator)) no(`operator ${e.operator} in a value`);
        return (checkValue(e.left), checkValue(e.right));
      case 'UnaryExpression':
        if (e.operator !== '-') no(`unary ${e.operator}`);
        return checkValue(e.argument);
      case 'CallExpression': {
        const c = e.callee;
        if (c.type !== 'MemberExpression' || c.computed || c.object.type !== 'Identifier' || c.object.name !== 'Math' || known('Math'))
          no('a call other than Math.f(...)');
        const name = c.property.name;
        if (!Object.hasOwn(Math, name)) no(`Math.${name} is not a Math function`);
        const unary = Object.hasOwn(unaryRules, name) && e.arguments.length === 1;
        const nary = mathNary.has(name) && e.arguments.length >= 1;
        if (!unary && !nary && !(mathBinary.has(name) && e.arguments.length === 2)) no(`Math.${name} with ${e.arguments.length} arguments`);
        return e.arguments.forEach(checkValue);
      }
      case OBJECT_ARGUMENT:
        return no(`object argument ${e.path} passed to a call that is not inlined (only calls of traced functions take objects)`);
      default:
        return no(`${e.type} in a value`);
    }
  };
  /** A test (if/while/for condition): comparisons and && || ! of them, or the truthiness of a value. */
  const checkTest = (e: any): void => {
    if (e.type === 'Literal' && typeof e.value === 'boolean') return; // while (true)
    if (e.type === 'LogicalExpression' && e.operator !== '??') return (checkTest(e.left), checkTest(e.right));
    if (e.type === 'UnaryExpression' && e.operator === '!') return checkTest(e.argument);
    if (e.type === 'BinaryExpression' && comparisons.has(e.operator)) return (checkValue(e.left), checkValue(e.right));
    return checkValue(e);
  };

  /**
   * Inline the calls to traced functions in an expression, in evaluation order: each becomes its statements (into
   * `out`) and a variable holding its result. The interpreter records a callee's operations where the call is
   * evaluated, so an operation evaluated before a call in the same expression would come first on its tape; such an
   * expression is left to the interpreter (splitting it into statements makes it compile).
   */
  const inlineCalls = (e: any, out: Stmt[]): any => {
    let before = false;
    const read = new Set<string>(); // arrays whose elements the expression has read so far
    const walk = (e: any): any => {
      switch (e.type) {
        case 'CallExpression':
          if (e.callee.type === 'Identifier' && callees.has(e.callee.name)) {
            const c = callees.get(e.callee.name)!;
            if (before) no(`a call of ${c.name} after other operations in one expression (split it into statements)`);
            // JS reads those elements before the call runs; the inlined call would run first
            const written = e.arguments.filter((a: any, i: number) => a.type === 'Identifier' && read.has(a.name) && writesParameter(c.source, i));
            if (written.length > 0) no(`a call of ${c.name}, which may write ${written[0].name}, after ${written[0].name} was read in the same expression (split it into statements)`);
            return inline(c, e.arguments, out);
          }
          e.arguments = e.arguments.map(walk);
          before = true;
          return e;
        case 'ConditionalExpression': {
          // `t ? a : b` is an if/else assigning a fresh variable (a copy when a or b is a name, as interpreted)
          if (before) no('a conditional expression after other operations in one expression (split it into statements)');
          checkTest(e.test);
          const r = fresh(taken, '__cond');
          scalars.add(r);
          const then: Stmt[] = [], other: Stmt[] = [];
          assign({ type: 'Identifier', name: r }, e.consequent, then);
          assign({ type: 'Identifier', name: r }, e.alternate, other);
          out.push({ t: 'if', test: e.test, then, else: other });
          return { type: 'Identifier', name: r };
        }
        case 'BinaryExpression':
          e.left = walk(e.left);
          e.right = walk(e.right);
          before = true;
          return e;
        case 'UnaryExpression':
          e.argument = walk(e.argument);
          before = true;
          return e;
        case 'MemberExpression':
          if (e.computed && e.object.type === 'Identifier') read.add(e.object.name);
          return e;
        default:
          return e;
      }
    };
    return walk(e);
  };
  /** A call of traced function `c`: its arguments into its (renamed) parameters, its body, then its result's name. */
  const inline = (c: Captured & { kind: 'function' }, args: any[], out: Stmt[]): any => {
    if (inlining.includes(c.fn)) no(`a recursive call of ${c.name}`);
    if (inlining.length >= 16) no('calls nested more than 16 deep');
    const callee = parseFunction(c.source);
    if (args.length > callee.params.length) no(`a call of ${c.name} with more arguments than parameters`);
    const names = bindNames(callee, c.fn, true);
    let objectParams = false;
    names.forEach((p, i) => {
      const a = args[i];
      if (a !== undefined && a.type === 'Identifier' && isArray(a.name)) return substitute(callee, p, a.name); // the same array
      if (a !== undefined && a.type === OBJECT_ARGUMENT) {
        // an object argument (or one of its object fields) passed on: the callee's p.f reads the caller's flattened field
        const byPath = new Map<string, string | null>();
        for (const [path, flat] of objects.get(a.object)!)
          if (path === a.path || path.startsWith(`${a.path}.`)) byPath.set(p + path.slice(a.path.length), flat);
        objects.set(p, byPath);
        objectParams = true;
        return;
      }
      scalars.add(p);
      assign({ type: 'Identifier', name: p }, a ?? UNDEFINED, out); // calls in the arguments come first: not recursion
    });
    if (objectParams) fieldReads(callee, objects);
    inlining.push(c.fn);
    // each call starts with its vars undefined (hoisted), as a new activation does; inlined in a loop, the renamed
    // names would otherwise keep the last call's values
    for (const name of varNames(callee.body)) {
      scalars.add(name);
      unassigned.add(name);
      assign({ type: 'Identifier', name }, UNDEFINED, out);
    }
    for (const s of callee.body) statement(s, out);
    let result = callee.result;
    if (!(result.type === 'Identifier' && scalars.has(result.name))) {
      const r = fresh(taken, `__${c.name || 'call'}`);
      scalars.add(r);
      assign({ type: 'Identifier', name: r }, result, out);
      result = { type: 'Identifier', name: r };
    }
    inlining.pop();
    return { type: 'Identifier', name: result.name };
  };
  /**
   * Calls in a condition run before the if, inlined. A test records no derivative, so its operations may move (dead
   * nodes add nothing to any adjoint), but a call must not run when JS would skip it (the right of && and ||: a helper
   * may write an array, or not end), nor before reads of an array it may write. Loops with calls in their tests were
   * rewritten by removeJumps into an exit test inside the loop.
   */
  const hoistCalls = (e: any, out: Stmt[]): any => {
    const read = new Set<string>(); // arrays whose elements the test reads before a call
    const walk = (e: any): any => {
      if (e === null || typeof e !== 'object') return e;
      if (e.type === 'CallExpression' && e.callee.type === 'Identifier' && callees.has(e.callee.name)) {
        const c = callees.get(e.callee.name)!;
        const written = e.arguments.filter((a: any, i: number) => a.type === 'Identifier' && read.has(a.name) && writesParameter(c.source, i));
        if (written.length > 0) no(`a call of ${c.name}, which may write ${written[0].name}, after ${written[0].name} was read in the same condition`);
        return inline(c, e.arguments, out);
      }
      // JS evaluates the right of && and || only sometimes: a call there cannot run before the test
      if (e.type === 'LogicalExpression') {
        if (hasCallee(e.right)) no('a call on the right of && or || in a condition (it runs only sometimes)');
        return { ...e, left: walk(e.left) };
      }
      if (e.type === 'BinaryExpression') return { ...e, left: walk(e.left), right: walk(e.right) };
      if (e.type === 'UnaryExpression') return { ...e, argument: walk(e.argument) };
      if (e.type === 'CallExpression') return { ...e, arguments: e.arguments.map(walk) };
      if (e.type === 'MemberExpression' && e.computed && e.object.type === 'Identifier') read.add(e.object.name);
      return e;
    };
    return walk(e);
  };
  /** Whether an expression calls a traced helper. */
  const hasCallee = (e: any): boolean =>
    e !== null && typeof e === 'object' && ((e.type === 'CallExpression' && e.callee.type === 'Identifier' && callees.has(e.callee.name))
      || Object.keys(e).some((k) => k !== 'type' && hasCallee(e[k])));
  const assign = (left: any, rhs: any, out: Stmt[], update = false): void => {
    rhs = inlineCalls(rhs, out);
    if (left.type === 'Identifier') {
      if (isArray(left.name)) no(`assignment to array ${left.name}`);
      if (capturedScalars.has(left.name)) no(`assignment to ${left.name}, a variable outside the function (a side effect)`);
      if (fields.has(left.name)) no(`a write into a field of an argument (${left.name}): a side effect on the caller's object`);
      if (!scalars.has(left.name)) no(`assignment to undeclared ${left.name}`);
      if (constants.has(left.name)) no(`assignment to const ${left.name}`);
      checkValue(rhs);
      return void out.push({ t: 'assign', target: { name: left.name, index: null }, rhs, update });
    }
    if (left.type === 'MemberExpression' && left.computed && left.object.type === 'Identifier' && !left.optional) {
      const name = left.object.name;
      if (paramArrays.has(name)) no(`a write into parameter array ${name}`);
      if (capturedArrays.has(name)) no(`a write into ${name}, an array outside the function (a side effect)`);
      if (!localArrays.has(name)) no(`a write into ${name}, which is not a local Float64Array`);
      checkIndex(left.property);
      checkValue(rhs);
      return void out.push({ t: 'assign', target: { name, index: left.property }, rhs, update });
    }
    return no('an assignment to something other than a variable or an element');
  };
  const declare = (kind: string, d: any, out: Stmt[]): void => {
    const name = d.id.name;
    const init = d.init;
    if (init?.type === 'NewExpression') {
      if (init.callee.type !== 'Identifier' || init.callee.name !== 'Float64Array' || known('Float64Array') || init.arguments.length !== 1)
        no('a constructor other than new Float64Array(length)');
      checkValue(init.arguments[0]);
      localArrays.add(name);
      if (kind === 'var') varArrays.add(name);
      return void out.push({ t: 'array', name, size: init.arguments[0] });
    }
    scalars.add(name);
    // a var reads undefined before its declaration runs (hoisting), with or without a value
    if (kind === 'var') unassigned.add(name);
    if (init === null) return kind === 'var' ? undefined : assign(d.id, UNDEFINED, out);
    assign(d.id, init, out);
    if (kind === 'const') constants.add(name);
  };
  const statement = (s: any, out: Stmt[]): void => {
    switch (s.type) {
      case 'VariableDeclaration':
        for (const d of s.declarations) {
          if (d.id.type !== 'Identifier') no('destructuring declaration');
          declare(s.kind, d, out);
        }
        return;
      case 'ExpressionStatement': {
        const e = s.expression;
        if (e.type === 'AssignmentExpression') {
          if (e.operator === '=') return assign(e.left, e.right, out);
          const op = e.operator.slice(0, -1);
          if (!binaryOps.has(op)) no(`operator ${e.operator}`);
          return assign(e.left, { type: 'BinaryExpression', operator: op, left: e.left, right: e.right }, out, true);
        }
        if (e.type === 'UpdateExpression')
          return assign(e.argument, { type: 'BinaryExpression', operator: e.operator === '++' ? '+' : '-', left: e.argument, right: ONE }, out, true);
        return no(`expression statement ${e.type}`);
      }
      case 'BlockStatement':
        for (const b of s.body) statement(b, out);
        return;
      case 'EmptyStatement':
        return;
      case 'IfStatement': {
        const test = hoistCalls(s.test, out);
        checkTest(test);
        const then: Stmt[] = [], other: Stmt[] = [];
        statement(s.consequent, then);
        if (s.alternate) statement(s.alternate, other);
        return void out.push({ t: 'if', test, then, else: other });
      }
      case 'WhileStatement': {
        checkTest(s.test);
        const body: Stmt[] = [];
        statement(s.body, body);
        return void out.push({ t: 'loop', test: s.test, body });
      }
      case 'ForStatement': {
        if (s.init !== null) statement(s.init.type === 'VariableDeclaration' ? s.init : { type: 'ExpressionStatement', expression: s.init }, out);
        const counter = countedLoop(s);
        if (counter !== null) {
          const init = out[out.length - 1];
          if (init?.t === 'assign' && init.target.name === counter.name && init.target.index === null) init.counterInit = true;
        }
        if (s.test !== null) checkTest(s.test);
        const body: Stmt[] = [];
        statement(s.body, body);
        if (s.update !== null) statement({ type: 'ExpressionStatement', expression: s.update }, body);
        if (counter !== null) (body[body.length - 1] as Stmt & { t: 'assign' }).counterStep = true;
        return void out.push({ t: 'loop', test: s.test, body, ...(counter !== null ? { counter } : {}) });
      }
      default:
        return no(`statement ${s.type}`);
    }
  };
  const body: Stmt[] = [];
  for (const s of top.body) statement(s, body);
  const result = top.result;
  let out: string;
  if (result.type === 'Identifier' && scalars.has(result.name)) out = result.name;
  else {
    out = fresh(taken, '__out');
    scalars.add(out);
    assign({ type: 'Identifier', name: out }, result, body);
    // an inlined call's result arrives as a final copy `__out = total`: the output is then `total` itself, so the
    // two names need no shared adjoint slots (a slot per assignment of total, and a push of the old one, in loops)
    const last = body[body.length - 1];
    if (last?.t === 'assign' && last.target.name === out && last.target.index === null && !last.update
      && last.rhs.type === 'Identifier' && scalars.has(last.rhs.name) && !capturedScalars.has(last.rhs.name)) {
      out = last.rhs.name;
      body.pop();
    }
  }
  return { params, kinds: leafKinds, groups, paramArrays, localArrays, scalars, capturedScalars, capturedArrays, captured, calleeGuards, body, out, unassigned, varArrays };
}

/** The counted-loop shape of a for statement (see Counter), or null. Its counter is a `let` of the loop: used nowhere else. */
function countedLoop(s: any): Counter | null {
  const init = s.init, test = s.test, update = s.update;
  if (init?.type !== 'VariableDeclaration' || init.kind !== 'let' || init.declarations.length !== 1) return null;
  const d = init.declarations[0];
  if (d.id.type !== 'Identifier' || d.init === null || !isIndexLike(d.init)) return null;
  const c = d.id.name;
  if (test?.type !== 'BinaryExpression' || !['<', '<=', '>', '>='].includes(test.operator)) return null;
  if (test.left.type !== 'Identifier' || test.left.name !== c || !isIndexLike(test.right)) return null;
  let step: 1 | -1;
  if (update?.type === 'UpdateExpression' && update.argument.type === 'Identifier' && update.argument.name === c) step = update.operator === '++' ? 1 : -1;
  else if (update?.type === 'AssignmentExpression' && update.left.type === 'Identifier' && update.left.name === c && ['+=', '-='].includes(update.operator)
    && update.right.type === 'Literal' && update.right.value === 1) step = update.operator === '+=' ? 1 : -1;
  else return null;
  if ((step === 1) !== (test.operator === '<' || test.operator === '<=')) return null;
  const fixed = new Set([c]);
  const names = (e: any): any =>
    e.type === 'Identifier' ? fixed.add(e.name) : e.type === 'MemberExpression' ? names(e.object) : e.type === 'BinaryExpression' ? (names(e.left), names(e.right)) : undefined;
  names(d.init);
  names(test.right);
  const assigned = new Set<string>();
  const writes = (n: any): void => {
    if (n === null || typeof n !== 'object') return;
    if (n.type === 'AssignmentExpression' && n.left.type === 'Identifier') assigned.add(n.left.name);
    if (n.type === 'UpdateExpression' && n.argument.type === 'Identifier') assigned.add(n.argument.name);
    if (n.type === 'VariableDeclarator' && n.id.type === 'Identifier') assigned.add(n.id.name);
    for (const k of Object.keys(n)) if (k !== 'type') writes(n[k]);
  };
  writes(s.body);
  if ([...fixed].some((n) => assigned.has(n))) return null;
  return { name: c, from: d.init, to: test.right, cmp: test.operator, step };
}

/** + - * of identifiers, `a.length` and integer literals: cheap to evaluate again in the reverse pass, exactly. */
function isIndexLike(e: any): boolean {
  if (e.type === 'Literal') return Number.isInteger(e.value);
  if (e.type === 'Identifier') return true;
  if (e.type === 'MemberExpression') return !e.computed && e.object.type === 'Identifier' && e.property.name === 'length';
  return e.type === 'BinaryExpression' && ['+', '-', '*'].includes(e.operator) && isIndexLike(e.left) && isIndexLike(e.right);
}

/** Whether a function may write the elements of its i-th parameter: it writes them itself, or passes it to a call. */
function writesParameter(source: string, i: number): boolean {
  const fn = parseFunction(source);
  const p = fn.params[i];
  if (p === undefined) return false;
  let writes = false;
  const visit = (n: any): void => {
    if (n === null || typeof n !== 'object' || writes) return;
    const target = n.type === 'AssignmentExpression' ? n.left : n.type === 'UpdateExpression' ? n.argument : null;
    if (target?.type === 'MemberExpression' && target.object.type === 'Identifier' && target.object.name === p) writes = true;
    if (n.type === 'CallExpression' && n.arguments.some((a: any) => a.type === 'Identifier' && a.name === p)) writes = true;
    for (const k of Object.keys(n)) if (k !== 'type') visit(n[k]);
  };
  fn.body.forEach(visit);
  visit(fn.result);
  return writes;
}

/** Rewrite `p.f` and `p.a.b` (p an object parameter) to the field's flattened name; any other use of p is outside the subset. */
/** An object argument passed whole to a call (fieldReads marks it; inline maps the callee's parameter onto its fields). */
const OBJECT_ARGUMENT = 'ObjectArgument';

function fieldReads(fn: { body: any[]; result: any }, objects: Map<string, Map<string, string | null>>): void {
  /** `p.a.b` as ['p', 'a', 'b'] when it is a chain of plain member accesses on an identifier, else null. */
  const chain = (n: any): string[] | null => {
    if (n.type === 'Identifier') return [n.name];
    if (n.type !== 'MemberExpression' || n.computed || n.optional) return null;
    const head = chain(n.object);
    return head === null ? null : [...head, n.property.name];
  };
  const visit = (n: any, parent: any, key: string): void => {
    if (n === null || typeof n !== 'object') return;
    if (n.type === 'CallExpression') {
      // an object argument, or an object field of one, passed whole to a call: the inliner maps the callee's
      // parameter onto its fields (a call that is not inlined rejects it)
      n.arguments = n.arguments.map((a: any) => {
        const c = chain(a);
        if (c === null || !objects.has(c[0])) return a;
        const path = c.join('.');
        return objects.get(c[0])!.get(path) === null ? { type: OBJECT_ARGUMENT, object: c[0], path, start: a.start, end: a.end } : a;
      });
    }
    const c = n.type === 'MemberExpression' ? chain(n) : null;
    if (c !== null && objects.has(c[0])) {
      const byPath = objects.get(c[0])!, path = c.join('.');
      // a member of a field (`p.W.length`): the field is the object part
      if (!byPath.has(path)) return visit(n.object, n, 'object');
      const name = byPath.get(path);
      if (name === null) no(`${path}, an object, used other than as ${path}.field`);
      parent[key] = { type: 'Identifier', name, start: n.start, end: n.end };
      return;
    }
    if (n.type === 'MemberExpression' && n.computed && n.object.type === 'Identifier' && objects.has(n.object.name))
      no(`${n.object.name}[...] on an object argument (only ${n.object.name}.field)`);
    if (n.type === 'Identifier' && objects.has(n.name)) no(`object argument ${n.name} used other than as ${n.name}.field`);
    for (const k of Object.keys(n)) if (k !== 'type') visit(n[k], n, k);
  };
  fn.body.forEach((s, i) => visit(s, fn.body, String(i)));
  const holder = { result: fn.result };
  visit(fn.result, holder, 'result');
  fn.result = holder.result;
}

/** The generated code's flat parameters from the function's arguments (object fields read along their groups). */
export function flattenArgs(groups: Group[], args: any[]): any[] {
  const flat: any[] = [];
  const put = (g: Group, v: any): void => {
    if (typeof g === 'number') flat[g] = v;
    else for (const [f, sub] of g.fields) put(sub, v === null || v === undefined ? null : v[f]);
  };
  groups.forEach((g, i) => put(g, args[i]));
  return flat;
}

/** Per-argument gradients from the flat ones: an object's gradient has its fields, and is null when none got one. */
export function regroupGradients(groups: Group[], flat: any[]): any[] {
  const build = (g: Group): any => {
    if (typeof g === 'number') return flat[g];
    const o: Record<string, any> = {};
    let reached = false;
    for (const [f, sub] of g.fields) reached = (o[f] = build(sub)) !== null || reached;
    return reached ? o : null;
  };
  return groups.map(build);
}
