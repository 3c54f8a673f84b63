// Names in the compiled tier: every binding and free variable of a function (and of the functions inlined into it) gets a name no other has.
import { no } from './lower';

/** Globals the subset uses by name (Math.f, Number.EPSILON, new Float64Array, undefined): never renamed or captured. */
export const structural = new Set(['Math', 'Number', 'Float64Array', 'undefined']);

/** `name`, or `name$1`, `name$2`... : the first not taken (then taken). */
export function fresh(taken: Set<string>, name: string): string {
  let n = name, k = 0;
  while (taken.has(n)) n = `${name}$${++k}`;
  taken.add(n);
  return n;
}

/** Replace every reference to variable `from` in a parsed function by `to` (an inlined array parameter). */
export function substitute(fn: { body: any[]; result: any }, from: string, to: string): void {
  const visit = (n: any): void => {
    if (n === null || typeof n !== 'object') return;
    if (n.type === 'Identifier' && n.name === from) n.name = to;
    else if (n.type === 'MemberExpression') (visit(n.object), n.computed && visit(n.property));
    else for (const k of Object.keys(n)) if (k !== 'type') visit(n[k]);
  };
  fn.body.forEach(visit);
  visit(fn.result);
}

/**
 * Give every let/const/var binding, and every free variable, a name no other one in the program has (`i`, `i$1`, ...),
 * rewriting references in place, so the compiled code can keep each variable for the whole call and functions can be
 * inlined into one another. Parameters keep their names unless `renameParams`. A reference JS would reject (used
 * outside its block, or before its let/const declaration, in the temporal dead zone) makes the function ineligible:
 * interpreted, JS itself reports it. Returns the free variables (source name to unique name) and the parameter names.
 */
export function rename(body: any, params: string[], taken: Set<string>, renameParams: boolean): { free: Map<string, string>; params: string[] } {
  /** A binding: its source name, its unique name (given after the walk), where it becomes usable (let/const: after its declarator). */
  type Binding = { source: string; name: string; start: number };
  type Scope = Map<string, Binding>;
  const bindings: Binding[] = [];
  const bind = (source: string, start: number): Binding => {
    if (structural.has(source) && source !== 'Math') no(`a variable named ${source} (the compiled code uses the global one)`);
    const b = { source, name: '', start };
    bindings.push(b);
    return b;
  };
  if (params.includes('undefined')) no('a parameter named undefined');
  const paramBindings = params.map((p) => (renameParams ? bind(p, -1) : { source: p, name: p, start: -1 }));
  const fnScope: Scope = new Map(params.map((p, i) => [p, paramBindings[i]]));
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
  const free = new Map<string, Binding>();
  const resolve = (id: any, chain: Scope[], declaring = false) => {
    for (let i = chain.length - 1; i >= 0; i--) {
      const b = chain[i].get(id.name);
      if (b === undefined) continue;
      if (!declaring && id.start < b.start) no(`${id.name} used before its declaration`);
      uses.push([id, b]);
      return;
    }
    if (structural.has(id.name)) return;
    if (!free.has(id.name)) free.set(id.name, bind(id.name, -1));
    uses.push([id, free.get(id.name)!]);
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
  for (const b of bindings) b.name = fresh(taken, b.source);
  for (const [id, b] of uses) id.name = b.name;
  return { free: new Map([...free].map(([k, b]) => [k, b.name])), params: paramBindings.map((b) => b.name) };
}
