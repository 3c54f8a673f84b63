// The compiled tier's front end: parse a function, check it is in the compiled subset, give every binding a unique name, lower it to a small statement IR.
import { Parser } from 'acorn';
import { unaryRules } from '../rules/scalar';

export class Ineligible extends Error {}
export const no = (why: string): never => {
  throw new Ineligible(why);
};

/** What each argument is: a number, a Float64Array, or an Array of numbers (the compiled code is specialised on it). */
export type ArgKind = 'number' | 'f64' | 'array';

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
  | { t: 'assign'; target: Target; rhs: any; update: boolean }
  | { t: 'array'; name: string; size: any }
  | { t: 'if'; test: any; then: Stmt[]; else: Stmt[] }
  | { t: 'loop'; test: any | null; body: Stmt[] };

export interface Program {
  params: string[];
  kinds: ArgKind[];
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
  body: Stmt[];
  /** The variable returned at the end. */
  out: string;
}

export const UNDEFINED = { type: 'Identifier', name: 'undefined' };
const ONE = { type: 'Literal', value: 1, raw: '1' };
const binaryOps = new Set(['+', '-', '*', '/', '%', '**']);
const comparisons = new Set(['<', '>', '<=', '>=', '===', '!==', '==', '!=']);
export const mathBinary = new Set(['pow', 'atan2']);

/** `Math.PI`, `Number.EPSILON` and the like: the number, or undefined for any other expression. */
export function numericConstant(e: any): number | undefined {
  if (e.type !== 'MemberExpression' || e.computed || e.optional || e.object.type !== 'Identifier') return undefined;
  const holder = e.object.name === 'Math' ? Math : e.object.name === 'Number' ? Number : null;
  if (holder === null || !Object.hasOwn(holder, e.property.name)) return undefined;
  const v = (holder as any)[e.property.name];
  return typeof v === 'number' ? v : undefined;
}

/**
 * Parse `source` (a function) and lower it, or throw Ineligible saying which construct is outside the subset:
 * numbers and read-only arrays in, a number out; let/const/var; assignments and compound assignments to variables
 * and to elements of local Float64Arrays; ++/--; if/else; for and while loops; arithmetic and Math.f(x).
 */
export function lower(source: string, kinds?: ArgKind[], capture?: (name: string) => 'number' | 'f64' | null): Program {
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
  const paramArrays = new Set(params.filter((_p, i) => kinds !== undefined && kinds[i] !== undefined && kinds[i] !== 'number'));
  let bodyStmts: any[];
  let result: any;
  if (ast.body.type === 'BlockStatement') {
    bodyStmts = ast.body.body.slice();
    const last = bodyStmts.pop();
    if (last?.type !== 'ReturnStatement' || last.argument === null) no('the body does not end with `return value`');
    result = last.argument;
  } else {
    bodyStmts = [];
    result = ast.body;
  }
  const forbidden = (s: any): void => {
    if (s === null || typeof s !== 'object') return;
    if (s.type === 'ReturnStatement' || s.type === 'BreakStatement' || s.type === 'ContinueStatement') no(`${s.type} before the end`);
    if (s.type === 'FunctionExpression' || s.type === 'ArrowFunctionExpression' || s.type === 'FunctionDeclaration') no('nested function');
    for (const k of Object.keys(s)) if (k !== 'type') forbidden(s[k]);
  };
  bodyStmts.forEach(forbidden);
  forbidden(result);
  const free = rename({ type: 'BlockStatement', body: [...bodyStmts, { type: 'ReturnStatement', argument: result }] }, params);
  const capturedScalars = new Set<string>(), capturedArrays = new Set<string>();
  for (const name of free) {
    if (name === 'Math' || name === 'Number' || name === 'Float64Array' || name === 'undefined') continue;
    const kind = capture?.(name) ?? null;
    if (kind === 'number') capturedScalars.add(name);
    else if (kind === 'f64') capturedArrays.add(name);
  }

  const scalars = new Set(params.filter((p) => !paramArrays.has(p)));
  const localArrays = new Set<string>();
  const constants = new Set<string>();
  const isArray = (n: string) => paramArrays.has(n) || localArrays.has(n) || capturedArrays.has(n);
  const isScalar = (n: string) => scalars.has(n) || capturedScalars.has(n);
  const known = (n: string) => isScalar(n) || isArray(n);

  /** An index: integers from literals and number variables with + - * (no derivative flows through an index). */
  const checkIndex = (e: any): void => {
    if (e.type === 'Literal' && typeof e.value === 'number') return;
    if (e.type === 'Identifier' && isScalar(e.name)) return;
    if (e.type === 'BinaryExpression' && ['+', '-', '*'].includes(e.operator)) return (checkIndex(e.left), checkIndex(e.right));
    return no('an index that is not + - * of variables and literals');
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
        if (!unary && !(mathBinary.has(name) && e.arguments.length === 2)) no(`Math.${name} with ${e.arguments.length} arguments`);
        return e.arguments.forEach(checkValue);
      }
      default:
        return no(`${e.type} in a value`);
    }
  };
  /** A test (if/while/for condition): comparisons and && || ! of them, or the truthiness of a value. */
  const checkTest = (e: any): void => {
    if (e.type === 'LogicalExpression' && e.operator !== '??') return (checkTest(e.left), checkTest(e.right));
    if (e.type === 'UnaryExpression' && e.operator === '!') return checkTest(e.argument);
    if (e.type === 'BinaryExpression' && comparisons.has(e.operator)) return (checkValue(e.left), checkValue(e.right));
    return checkValue(e);
  };

  const assign = (left: any, rhs: any, update = false): Stmt => {
    if (left.type === 'Identifier') {
      if (isArray(left.name)) no(`assignment to array ${left.name}`);
      if (capturedScalars.has(left.name)) no(`assignment to ${left.name}, a variable outside the function (a side effect)`);
      if (!scalars.has(left.name)) no(`assignment to undeclared ${left.name}`);
      if (constants.has(left.name)) no(`assignment to const ${left.name}`);
      checkValue(rhs);
      return { t: 'assign', target: { name: left.name, index: null }, rhs, update };
    }
    if (left.type === 'MemberExpression' && left.computed && left.object.type === 'Identifier' && !left.optional) {
      const name = left.object.name;
      if (paramArrays.has(name)) no(`a write into parameter array ${name}`);
      if (capturedArrays.has(name)) no(`a write into ${name}, an array outside the function (a side effect)`);
      if (!localArrays.has(name)) no(`a write into ${name}, which is not a local Float64Array`);
      checkIndex(left.property);
      checkValue(rhs);
      return { t: 'assign', target: { name, index: left.property }, rhs, update };
    }
    return no('an assignment to something other than a variable or an element');
  };
  const declare = (kind: string, d: any): Stmt | null => {
    const name = d.id.name;
    const init = d.init;
    if (init?.type === 'NewExpression') {
      if (init.callee.type !== 'Identifier' || init.callee.name !== 'Float64Array' || known('Float64Array') || init.arguments.length !== 1)
        no('a constructor other than new Float64Array(length)');
      checkValue(init.arguments[0]);
      localArrays.add(name);
      return { t: 'array', name, size: init.arguments[0] };
    }
    scalars.add(name);
    if (init === null) return kind === 'var' ? null : assign(d.id, UNDEFINED);
    const s = assign(d.id, init);
    if (kind === 'const') constants.add(name);
    return s;
  };
  const statement = (s: any, out: Stmt[]): void => {
    switch (s.type) {
      case 'VariableDeclaration':
        for (const d of s.declarations) {
          if (d.id.type !== 'Identifier') no('destructuring declaration');
          const lowered = declare(s.kind, d);
          if (lowered !== null) out.push(lowered);
        }
        return;
      case 'ExpressionStatement': {
        const e = s.expression;
        if (e.type === 'AssignmentExpression') {
          if (e.operator === '=') return void out.push(assign(e.left, e.right));
          const op = e.operator.slice(0, -1);
          if (!binaryOps.has(op)) no(`operator ${e.operator}`);
          return void out.push(assign(e.left, { type: 'BinaryExpression', operator: op, left: e.left, right: e.right }, true));
        }
        if (e.type === 'UpdateExpression')
          return void out.push(assign(e.argument, { type: 'BinaryExpression', operator: e.operator === '++' ? '+' : '-', left: e.argument, right: ONE }, true));
        return no(`expression statement ${e.type}`);
      }
      case 'BlockStatement':
        for (const b of s.body) statement(b, out);
        return;
      case 'EmptyStatement':
        return;
      case 'IfStatement': {
        checkTest(s.test);
        const then: Stmt[] = [], other: Stmt[] = [];
        statement(s.consequent, then);
        if (s.alternate) statement(s.alternate, other);
        return void out.push({ t: 'if', test: s.test, then, else: other });
      }
      case 'WhileStatement': {
        checkTest(s.test);
        const body: Stmt[] = [];
        statement(s.body, body);
        return void out.push({ t: 'loop', test: s.test, body });
      }
      case 'ForStatement': {
        if (s.init !== null) statement(s.init.type === 'VariableDeclaration' ? s.init : { type: 'ExpressionStatement', expression: s.init }, out);
        if (s.test !== null) checkTest(s.test);
        const body: Stmt[] = [];
        statement(s.body, body);
        if (s.update !== null) statement({ type: 'ExpressionStatement', expression: s.update }, body);
        return void out.push({ t: 'loop', test: s.test, body });
      }
      default:
        return no(`statement ${s.type}`);
    }
  };
  const body: Stmt[] = [];
  for (const s of bodyStmts) statement(s, body);
  let out: string;
  if (result.type === 'Identifier' && scalars.has(result.name)) out = result.name;
  else {
    out = '__out';
    while (known(out)) out += '_';
    scalars.add(out);
    body.push(assign({ type: 'Identifier', name: out }, result));
  }
  return { params, kinds: params.map((_p, i) => kinds?.[i] ?? 'number'), paramArrays, localArrays, scalars, capturedScalars, capturedArrays, body, out };
}

/**
 * Give every let/const/var binding a name no other binding has (`i`, `i$1`, ...), rewriting references in place, so
 * the compiled code can keep each variable for the whole call. A reference JS would reject (used outside its block,
 * or before its let/const declaration, in the temporal dead zone) makes the function ineligible: interpreted, JS
 * itself reports it.
 */
function rename(body: any, params: string[]): Set<string> {
  /** A binding: its source name, the unique name it gets (after the walk), where it becomes usable (let/const: after its declarator). */
  type Binding = { source: string; name: string; start: number };
  type Scope = Map<string, Binding>;
  const bindings: Binding[] = [];
  const bind = (source: string, start: number): Binding => {
    const b = { source, name: '', start };
    bindings.push(b);
    return b;
  };
  const fnScope: Scope = new Map(params.map((p) => [p, { source: p, name: p, start: -1 }]));
  // var declarations are function-scoped and hoisted
  const vars = (n: any) => {
    if (n === null || typeof n !== 'object') return;
    if (n.type === 'VariableDeclaration' && n.kind === 'var')
      for (const d of n.declarations) {
        if (d.id.type !== 'Identifier') no('destructuring declaration');
        if (fnScope.has(d.id.name)) no(`${d.id.name} declared twice`);
        fnScope.set(d.id.name, bind(d.id.name, -1));
      }
    for (const k of Object.keys(n)) if (k !== 'type') vars(n[k]);
  };
  vars(body);
  const lexical = (stmts: any[]): Scope => {
    const scope: Scope = new Map();
    for (const s of stmts)
      if (s?.type === 'VariableDeclaration' && s.kind !== 'var')
        for (const d of s.declarations) {
          if (d.id.type !== 'Identifier') no('destructuring declaration');
          if (scope.has(d.id.name)) no(`${d.id.name} declared twice`);
          scope.set(d.id.name, bind(d.id.name, d.end)); // `let x = x` reads x in its dead zone
        }
    return scope;
  };
  const uses: [any, Binding][] = [];
  const free = new Set<string>();
  const resolve = (id: any, chain: Scope[], declaring = false) => {
    for (let i = chain.length - 1; i >= 0; i--) {
      const b = chain[i].get(id.name);
      if (b === undefined) continue;
      if (!declaring && id.start < b.start) no(`${id.name} used before its declaration`);
      uses.push([id, b]);
      return;
    }
    free.add(id.name);
  };
  const visit = (n: any, chain: Scope[]): void => {
    if (n === null || typeof n !== 'object') return;
    if (Array.isArray(n)) return n.forEach((x) => visit(x, chain));
    switch (n.type) {
      case 'BlockStatement':
        return visit(n.body, [...chain, lexical(n.body)]);
      case 'ForStatement': {
        const inner = [...chain, lexical([n.init])];
        return ['init', 'test', 'update', 'body'].forEach((k) => visit(n[k], inner));
      }
      case 'VariableDeclarator':
        resolve(n.id, chain, true);
        return visit(n.init, chain);
      case 'Identifier':
        return resolve(n, chain);
      case 'MemberExpression':
        visit(n.object, chain);
        if (n.computed) visit(n.property, chain);
        return;
      case 'Property':
        return visit(n.value, chain);
      default:
        for (const k of Object.keys(n)) if (k !== 'type') visit(n[k], chain);
    }
  };
  visit(body.body, [fnScope, lexical(body.body)]);
  // unique names, avoiding the parameters and the free names (a local `i` must not hide a captured `i` elsewhere)
  const taken = new Set([...params, ...free]);
  for (const b of bindings) {
    let n = b.source, k = 0;
    while (taken.has(n)) n = `${b.source}$${++k}`;
    taken.add(n);
    b.name = n;
  }
  for (const [id, b] of uses) id.name = b.name;
  return free;
}
