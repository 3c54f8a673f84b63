// The compiled tier for scalar code: a function's AST becomes a forward pass with stacks and a reverse pass, as source.
import { Parser } from 'acorn';
import { unaryRules, binaryRules } from '../rules/scalar';

/**
 * Value and per-argument gradients (null where no recorded operation connects the argument to the output); null when
 * the output is not a number: the interpreter then runs the call and reports it.
 */
export type CompiledGradient = ((args: number[]) => { value: number; grad: (number | null)[] } | null) & {
  /** Number of parameters: the compiled code answers only calls with exactly that many arguments. */
  arity: number;
  /** The generated source, for introspection: the whole function, and its forward and reverse passes. */
  source: string;
  forward: string;
  reverse: string;
};

export class Ineligible extends Error {}
const no = (why: string): never => {
  throw new Ineligible(why);
};

const binaryOps: Record<string, string> = { '+': 'add', '-': 'sub', '*': 'mul', '/': 'div', '%': 'mod', '**': 'pow' };
const comparisons = new Set(['<', '>', '<=', '>=', '===', '!==', '==', '!=']);
const mathBinary = new Set(['pow', 'atan2']);

/** One operation of an expression, in evaluation order: its value temp, operands, and the rule that computes it. */
interface OpNode {
  id: number;
  rule: string;
  unary: boolean;
  operands: Operand[];
}
type Operand = { kind: 'lit'; text: string } | { kind: 'var'; name: string } | { kind: 'op'; node: OpNode }
  | { kind: 'elem'; array: string; index: string };

/** What each argument is: a number, a Float64Array, or an Array of numbers (the compiled code is specialised on it). */
export type ArgKind = 'number' | 'f64' | 'array';

/**
 * Compile a self-contained scalar function (numbers and read-only arrays in, a number out; let/const/var, assignments
 * and compound assignments, ++/--, for and while loops, if/else, arithmetic and Math.*) into a gradient function whose values
 * and gradients are bit-identical to the tape interpreter's. Anything outside that subset throws Ineligible.
 *
 * Forward: the user's statements, each assignment first pushing the variable's old value, each branch its outcome,
 * each loop its trip count. Reverse: the statements backwards, popping; an assignment `v = E` restores v, recomputes
 * E's intermediate values, and sends v's adjoint through E with the same rule derivatives, in the reverse of the
 * order the interpreter recorded them, so the floating-point sums match. A copy `v = w` would make two names share
 * one tape node (and change the order of sums), so copies are not compiled.
 */
export function compileGradient(source: string, kinds?: ArgKind[]): CompiledGradient {
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
  // array parameters are read-only inputs: `a[i]` reads, `a.length`; their adjoints are arrays of the same length
  const arrays = new Set(params.filter((_p, i) => kinds !== undefined && kinds[i] !== undefined && kinds[i] !== 'number'));
  /** An index expression: integers from literals and variables with + - * (no derivative flows through an index). */
  const indexText = (e: any): string => {
    if (e.type === 'Literal' && typeof e.value === 'number') return `(${e.raw})`;
    if (e.type === 'Identifier' && vars.has(e.name) && !arrays.has(e.name)) return `v_${e.name}`;
    if (e.type === 'BinaryExpression' && ['+', '-', '*'].includes(e.operator)) return `(${indexText(e.left)} ${e.operator} ${indexText(e.right)})`;
    return no('an index that is not + - * of variables and literals');
  };
  const vars = new Set<string>(params);
  let ops = 0;
  let passive = new Set<string>();
  let generated = { forward: '', reverse: '' };

  /** Flatten an expression into operation nodes; `nodes` collects them in evaluation order. */
  const operand = (e: any, nodes: OpNode[]): Operand => {
    switch (e.type) {
      case 'Literal':
        if (typeof e.value !== 'number') no(`non-numeric literal ${e.raw}`);
        return { kind: 'lit', text: `(${e.raw})` };
      case 'Identifier':
        if (!vars.has(e.name)) no(`free variable ${e.name}`);
        if (arrays.has(e.name)) no(`array ${e.name} used as a number`);
        return { kind: 'var', name: e.name };
      case 'MemberExpression': {
        if (e.object.type !== 'Identifier' || !arrays.has(e.object.name) || e.optional) no('a member access other than a[i] or a.length');
        if (!e.computed) return e.property.name === 'length' ? { kind: 'lit', text: `v_${e.object.name}.length` } : no(`.${e.property.name}`);
        return { kind: 'elem', array: e.object.name, index: indexText(e.property) };
      }
      case 'BinaryExpression': {
        const rule = binaryOps[e.operator] ?? no(`operator ${e.operator} in a value`);
        const a = operand(e.left, nodes), b = operand(e.right, nodes);
        return push(nodes, rule, false, [a, b]);
      }
      case 'UnaryExpression':
        if (e.operator !== '-') no(`unary ${e.operator}`);
        return push(nodes, 'neg', true, [operand(e.argument, nodes)]);
      case 'CallExpression': {
        const c = e.callee;
        if (c.type !== 'MemberExpression' || c.computed || c.object.type !== 'Identifier' || c.object.name !== 'Math' || vars.has('Math'))
          no('a call other than Math.f(...)');
        const name = c.property.name;
        if (!Object.hasOwn(Math, name)) no(`Math.${name} is not a Math function`);
        if (Object.hasOwn(unaryRules, name) && e.arguments.length === 1) return push(nodes, name, true, [operand(e.arguments[0], nodes)]);
        if (mathBinary.has(name) && e.arguments.length === 2) {
          const a = operand(e.arguments[0], nodes), b = operand(e.arguments[1], nodes);
          return push(nodes, name, false, [a, b]);
        }
        return no(`Math.${name} with ${e.arguments.length} arguments`);
      }
      default:
        return no(`${e.type} in a value`);
    }
  };
  const push = (nodes: OpNode[], rule: string, unary: boolean, operands: Operand[]): Operand => {
    const node = { id: ops++, rule, unary, operands };
    nodes.push(node);
    return { kind: 'op', node };
  };
  const arithmetic = { add: 1, sub: 1, mul: 1, div: 1, mod: 1 };
  const operandVars = (o: Operand): string[] =>
    o.kind === 'var' ? [o.name] : o.kind === 'op' ? o.node.operands.flatMap(operandVars) : []; // elements: r_array
  const constants = new Set<string>();
  const assigned = new Set<string>();
  const undefinedValue = { type: 'Identifier', name: 'undefined' };
  const valueText = (o: Operand): string =>
    o.kind === 'lit' ? o.text : o.kind === 'var' ? `v_${o.name}` : o.kind === 'elem' ? `v_${o.array}[${o.index}]` : `t${o.node.id}`;
  const opValue = (n: OpNode): string => {
    const [a, b] = n.operands.map(valueText);
    if (n.unary) return n.rule === 'neg' ? `(-${a})` : `U_${n.rule}.f(${a})`;
    return { add: `(${a} + ${b})`, sub: `(${a} - ${b})`, mul: `(${a} * ${b})`, div: `(${a} / ${b})`, mod: `(${a} % ${b})` }[n.rule]
      ?? `B_${n.rule}.f(${a}, ${b})`;
  };
  /** The value of an expression, computed as the user wrote it (temporaries hold each operation's value). */
  const valueOf = (e: any): { pre: string; text: string; nodes: OpNode[]; root: Operand } => {
    const nodes: OpNode[] = [];
    const root = operand(e, nodes);
    const pre = nodes.map((n) => `const t${n.id} = ${opValue(n)};`).join(' ');
    return { pre, text: valueText(root), nodes, root };
  };
  /** A test (if/while/for condition): comparisons and && / || of them, or the truthiness of a value. */
  const testText = (e: any): string => {
    if (e.type === 'LogicalExpression' && e.operator !== '??') return `(${testText(e.left)} ${e.operator} ${testText(e.right)})`;
    if (e.type === 'UnaryExpression' && e.operator === '!') return `(!${testText(e.argument)})`;
    if (e.type === 'BinaryExpression' && comparisons.has(e.operator)) {
      const a = valueOf(e.left), b = valueOf(e.right);
      if (a.nodes.length + b.nodes.length > 0) return `((() => { ${a.pre} ${b.pre} return ${a.text} ${e.operator} ${b.text}; })())`;
      return `(${a.text} ${e.operator} ${b.text})`;
    }
    const v = valueOf(e);
    return v.nodes.length > 0 ? `((() => { ${v.pre} return ${v.text}; })() ? true : false)` : `(${v.text} ? true : false)`;
  };

  /**
   * Forward and reverse text of `name = E`. The reverse only runs E's derivatives when the new value is reached from
   * the output (`r_name`), as the interpreter's sweep skips nodes the output does not reach: a dead value with an
   * infinite local derivative must not turn 0 × ∞ into NaN.
   */
  const assignment = (name: string, e: any): [string, string] => {
    if (!vars.has(name)) no(`assignment to undeclared ${name}`);
    if (constants.has(name) && assigned.has(name)) no(`assignment to const ${name}`);
    assigned.add(name);
    if ((e.type === 'Identifier' && e !== undefinedValue) || (e.type === 'MemberExpression' && e.computed))
      no(`copy ${name} = ${e.type === 'Identifier' ? e.name : 'an element'}`); // an element read is a copy of its input
    if (arrays.has(name)) no(`assignment to array ${name}`);
    const v = e === undefinedValue ? { pre: '', text: 'undefined', nodes: [] as OpNode[], root: { kind: 'lit', text: 'undefined' } as Operand } : valueOf(e);
    // Math calls are dear to recompute: the forward keeps their values on the stack for the reverse
    const kept = v.nodes.filter((n) => n.rule !== 'neg' && !(n.rule in arithmetic));
    const save = passive.has(name) ? '' : `${kept.map((n) => `push(t${n.id});`).join(' ')} push(v_${name});`;
    const fwd = `{ ${v.pre} ${save} v_${name} = ${v.text}; }`;
    if (passive.has(name)) return [fwd, ''];
    // reverse: restore, recompute, then send the adjoint of the new value through E's operations, last first
    const acc = (o: Operand, g: string, d: string) =>
      o.kind === 'var' ? `b_${o.name} += ${g} * ${d};` : o.kind === 'op' ? `tb${o.node.id} += ${g} * ${d};`
        // an element exists only at an integer index in range (elsewhere the read was undefined, not an input)
        : o.kind === 'elem' ? `{ const k = ${o.index}; if (Number.isInteger(k) && k >= 0 && k < b_${o.array}.length) ` +
          `{ b_${o.array}[k] += ${g} * ${d}; r_${o.array} = true; } }` : '';
    let back = '';
    if (v.root.kind === 'op') {
      const rootId = v.root.node.id;
      const adjointOf = (n: OpNode) => (n.id === rootId ? 'g' : `tb${n.id}`);
      for (const n of [...v.nodes].reverse()) {
        const g = adjointOf(n);
        const [a, b] = n.operands;
        if (n.unary) back += acc(a, g, n.rule === 'neg' ? `U_neg.d(${valueText(a)}, t${n.id})` : `U_${n.rule}.d(${valueText(a)}, t${n.id})`);
        else {
          if (a.kind !== 'lit') back += acc(a, g, `B_${n.rule}.da(${valueText(a)}, ${valueText(b)}, t${n.id})`);
          if (b.kind !== 'lit') back += acc(b, g, `B_${n.rule}.db(${valueText(a)}, ${valueText(b)}, t${n.id})`);
        }
      }
      const temps = v.nodes.filter((n) => n.id !== rootId).map((n) => `tb${n.id} = 0`);
      const restored = [...kept].reverse().map((n) => `const t${n.id} = pop();`).join(' ');
      const recomputed = v.nodes.filter((n) => !kept.includes(n)).map((n) => `const t${n.id} = ${opValue(n)};`).join(' ');
      const reach = [...new Set(operandVars(v.root))].map((x) => `r_${x} = true;`).join(' ');
      back = `{ ${restored} if (r_${name}) { r_${name} = false; const g = b_${name}; b_${name} = 0; ${recomputed} ` +
        `${temps.length ? `let ${temps.join(', ')};` : ''} ${back} ${reach} } }`;
    } else back = `r_${name} = false; b_${name} = 0;`;
    return [fwd, `v_${name} = pop(); ${back}`];
  };

  const declare = (id: any) => {
    if (id.type !== 'Identifier') no('destructuring declaration');
    if (vars.has(id.name)) no(`${id.name} declared twice`);
    vars.add(id.name);
  };
  /** Forward and reverse text of a statement. */
  const statement = (s: any): [string, string] => {
    switch (s.type) {
      case 'VariableDeclaration': {
        const parts = s.declarations.map((d: any) => {
          declare(d.id);
          if (s.kind === 'const') constants.add(d.id.name);
          // `let u;` runs each time it is reached (in a loop too) and sets u to undefined; `var u;` does nothing
          return d.init !== null ? assignment(d.id.name, d.init) : s.kind === 'var' ? ['', ''] : assignment(d.id.name, undefinedValue);
        });
        return [parts.map((p: any) => p[0]).join(' '), parts.map((p: any) => p[1]).reverse().join(' ')];
      }
      case 'ExpressionStatement': {
        const e = s.expression;
        if (e.type === 'AssignmentExpression' && e.left.type === 'Identifier') {
          if (e.operator === '=') return assignment(e.left.name, e.right);
          const op = e.operator.slice(0, -1);
          if (!(op in binaryOps)) no(`operator ${e.operator}`);
          return assignment(e.left.name, { type: 'BinaryExpression', operator: op, left: e.left, right: e.right });
        }
        if (e.type === 'UpdateExpression' && e.argument.type === 'Identifier')
          return assignment(e.argument.name, { type: 'BinaryExpression', operator: e.operator === '++' ? '+' : '-', left: e.argument,
            right: { type: 'Literal', value: 1, raw: '1' } });
        return no(`expression statement ${e.type}`);
      }
      case 'BlockStatement': {
        const parts = s.body.map(statement);
        return [parts.map((p: any) => p[0]).join('\n'), parts.map((p: any) => p[1]).reverse().join('\n')];
      }
      case 'EmptyStatement':
        return ['', ''];
      case 'IfStatement': {
        const test = testText(s.test);
        const [fa, ra] = statement(s.consequent);
        const [fb, rb] = s.alternate ? statement(s.alternate) : ['', ''];
        return [`if (${test}) { ${fa} pushC(1); } else { ${fb} pushC(0); }`, `if (popC() === 1) { ${ra} } else { ${rb} }`];
      }
      case 'WhileStatement': {
        const test = testText(s.test);
        const [fb, rb] = statement(s.body);
        return [`{ let n = 0; while (${test}) { ${fb} n++; } pushC(n); }`, `{ let n = popC(); while (n-- > 0) { ${rb} } }`];
      }
      case 'ForStatement': {
        const [fi, ri] = s.init === null ? ['', ''] : statement(s.init.type === 'VariableDeclaration' ? s.init : { type: 'ExpressionStatement', expression: s.init });
        const test = s.test === null ? 'true' : testText(s.test);
        const [fu, ru] = s.update === null ? ['', ''] : statement({ type: 'ExpressionStatement', expression: s.update });
        const [fb, rb] = statement(s.body);
        return [`${fi} { let n = 0; while (${test}) { ${fb} ${fu} n++; } pushC(n); }`,
          `{ let n = popC(); while (n-- > 0) { ${ru} ${rb} } } ${ri}`];
      }
      default:
        return no(`statement ${s.type}`);
    }
  };

  // hoist declarations first (a function's variables, by name; names must be unique in the function)
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
  const walkReturn = (s: any): void => {
    if (s === null || typeof s !== 'object') return;
    if (s.type === 'ReturnStatement' || s.type === 'BreakStatement' || s.type === 'ContinueStatement') no(`${s.type} before the end`);
    if (s.type === 'FunctionExpression' || s.type === 'ArrowFunctionExpression') no('nested function');
    for (const k of Object.keys(s)) if (k !== 'type') walkReturn(s[k]);
  };
  body.forEach(walkReturn);
  checkLexicalScopes(ast.body);
  passive = passiveVariables(ast, params);
  const parts = body.map(statement);
  let out = result.type === 'Identifier' && vars.has(result.name) ? result.name : null;
  let fo = '', ro = '';
  if (out === null) {
    out = '__out';
    while (vars.has(out)) out += '_';
    vars.add(out);
    [fo, ro] = assignment(out, result);
  }
  const forward = parts.map((p) => p[0]).join('\n') + '\n' + fo;
  const reverse = ro + '\n' + parts.map((p) => p[1]).reverse().join('\n');
  generated = { forward, reverse };

  const names = [...vars];
  const decl = names.map((v) => `let v_${v} = ${params.includes(v) ? `args[${params.indexOf(v)}]` : 'undefined'}, ` +
    `b_${v} = ${arrays.has(v) ? `new Float64Array(v_${v}.length)` : '0'}, r_${v} = false;`).join('\n');
  const gradOf = (p: string, i: number) =>
    `r_${p} ? ${arrays.has(p) ? (kinds![i] === 'array' ? `Array.from(b_${p})` : `b_${p}`) : `b_${p}`} : null`;
  const code = `
let S = new Float64Array(1024), sp = 0, C = new Int32Array(256), cp = 0;
function push(v) { if (sp === S.length) { const T = new Float64Array(2 * sp); T.set(S); S = T; } S[sp++] = v; }
function pop() { return S[--sp]; }
function pushC(v) { if (cp === C.length) { const T = new Int32Array(2 * cp); T.set(C); C = T; } C[cp++] = v; }
function popC() { return C[--cp]; }
return function compiledGradient(args) {
  sp = 0; cp = 0;
  ${decl}
  ${forward}
  const value = v_${out};
  if (typeof value !== 'number') return null; // the interpreter reports a non-number output
  b_${out} = 1;
  r_${out} = true;
  ${reverse}
  return { value, grad: [${params.map(gradOf).join(', ')}] };
};`;
  const rules: [string, any][] = [
    ...Object.entries(unaryRules).map(([k, r]) => [`U_${k}`, r] as [string, any]),
    ...Object.entries(binaryRules).map(([k, r]) => [`B_${k}`, r] as [string, any]),
  ];
  const compiled = new Function(...rules.map((r) => r[0]), code)(...rules.map((r) => r[1]));
  return Object.assign(compiled, { arity: params.length, source: code, forward: generated.forward, reverse: generated.reverse });
}

/**
 * Variables whose old values the reverse pass never needs: assigned only from constants and passive variables (so
 * they carry no derivative), and read only in tests or in their own updates (loop counters). Their assignments are
 * replayed forward only.
 */
function passiveVariables(ast: any, params: string[]): Set<string> {
  const sources = new Map<string, Set<string>>(); // variable -> variables its assignments read
  const indexed = new Set<string>(); // variables used in an index
  const readers = new Map<string, Set<string>>(); // variable -> variables assigned from expressions reading it
  const idents = (e: any, out: Set<string>) => {
    if (e === null || typeof e !== 'object') return;
    if (e.type === 'Identifier') out.add(e.name);
    else if (e.type === 'MemberExpression') {
      idents(e.object, out);
      if (e.computed) {
        idents(e.property, out);
        idents(e.property, indexed); // an index is re-evaluated in the reverse pass: its variables are restored
      }
    }
    else for (const k of Object.keys(e)) if (k !== 'type') idents(e[k], out);
  };
  const assign = (target: string, e: any, compound: boolean) => {
    const read = new Set<string>();
    idents(e, read);
    if (compound) read.add(target);
    if (!sources.has(target)) sources.set(target, new Set());
    for (const r of read) {
      sources.get(target)!.add(r);
      if (!readers.has(r)) readers.set(r, new Set());
      readers.get(r)!.add(target);
    }
  };
  const walk = (n: any) => {
    if (n === null || typeof n !== 'object') return;
    if (n.type === 'VariableDeclarator' && n.id.type === 'Identifier' && n.init) assign(n.id.name, n.init, false);
    if (n.type === 'AssignmentExpression' && n.left.type === 'Identifier') assign(n.left.name, n.right, n.operator !== '=');
    if (n.type === 'UpdateExpression' && n.argument.type === 'Identifier') assign(n.argument.name, null, true);
    for (const k of Object.keys(n)) if (k !== 'type') walk(n[k]);
  };
  walk(ast.body);
  // active: depends on a parameter, transitively
  const active = new Set<string>(params);
  for (let changed = true; changed; ) {
    changed = false;
    for (const [v, src] of sources) if (!active.has(v) && [...src].some((s) => active.has(s))) (active.add(v), (changed = true));
  }
  const passive = new Set<string>();
  for (const v of sources.keys()) {
    const feeds = [...(readers.get(v) ?? [])].filter((t) => t !== v);
    if (!active.has(v) && feeds.length === 0 && !indexed.has(v)) passive.add(v);
  }
  return passive;
}

/**
 * The compiled code keeps every variable for the whole call, so a program may only use a `let`/`const` where JS
 * allows it: inside its block and after its declaration. Outside (a ReferenceError in JS, or the temporal dead
 * zone) the function stays interpreted, where JS itself reports it.
 */
function checkLexicalScopes(body: any): void {
  const scopes: { name: string; from: number; to: number }[] = [];
  const visit = (n: any, block: any) => {
    if (n === null || typeof n !== 'object') return;
    if (n.type === 'VariableDeclaration' && n.kind !== 'var')
      for (const d of n.declarations) scopes.push({ name: d.id.name, from: d.start, to: block.end });
    const inner = n.type === 'BlockStatement' || n.type === 'ForStatement' ? n : block;
    for (const k of Object.keys(n)) if (k !== 'type') visit(n[k], inner);
  };
  visit(body, body);
  const refs = (n: any, out: any[]) => {
    if (n === null || typeof n !== 'object') return;
    if (n.type === 'Identifier') out.push(n);
    else if (n.type === 'MemberExpression') refs(n.object, out);
    else for (const k of Object.keys(n)) if (k !== 'type') refs(n[k], out);
  };
  const all: any[] = [];
  refs(body, all);
  for (const id of all) {
    const s = scopes.find((x) => x.name === id.name);
    if (s !== undefined && (id.start < s.from || id.start > s.to)) no(`${id.name} used outside its block or before its declaration`);
  }
}

