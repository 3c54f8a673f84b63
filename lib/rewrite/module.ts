// Whole-module instrumentation for the loader: every function of a user module becomes traced, closures included.
import { instrument } from './instrument';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

const runtimeFile = resolve(__dirname, '..', 'runtime.js');
const ownRoot = resolve(__dirname, '..', '..');

/** User modules only: not node_modules, not tracegrad itself, not Node's built-ins. */
export function shouldInstrument(urlOrPath: string): boolean {
  let path = urlOrPath;
  if (urlOrPath.startsWith('file:')) path = fileURLToPath(urlOrPath);
  else if (/^[a-z]+:/i.test(urlOrPath)) return false;
  if (/[\\/]node_modules[\\/]/.test(path)) return false;
  if (!/\.(m|c)?js$/.test(path)) return false;
  const rel = path.startsWith(ownRoot) ? path.slice(ownRoot.length) : null;
  return !(rel !== null && /^[\\/](dist|esm)[\\/]/.test(rel));
}

/**
 * Instrument a module's source. The runtime import goes on the first code line without a newline, so every line
 * keeps its number and stack traces point at the user's lines; a source map gives exact columns.
 */
export function instrumentModule(source: string, urlOrPath: string, kind: 'module' | 'commonjs'): string {
  const runtimeLine = kind === 'module'
    ? `import { runtime as __tg } from ${JSON.stringify(pathToFileURL(runtimeFile).href)};`
    : `const __tg = require(${JSON.stringify(runtimeFile)}).runtime;`;
  let atDirectives: number | null = null;
  const out = instrument(source, {
    sourceType: kind === 'module' ? 'module' : 'script', commonjs: kind === 'commonjs', rt: '__tg', markFunctions: true,
    filename: urlOrPath,
    insertions: (ast) => {
      const r = moduleRegistration(ast, source);
      // a CommonJS module's 'use strict' must stay its first statement: the runtime line goes right after it (same line)
      const directives = kind === 'commonjs' ? ast.body.filter((n: any, i: number) => n.directive !== undefined && ast.body.slice(0, i).every((m: any) => m.directive !== undefined)) : [];
      if (directives.length > 0) {
        const end: number = directives[directives.length - 1].end;
        atDirectives = end;
        return [[end, runtimeLine + r.atStart] as [number, string], ...r.after];
      }
      return [[-1, r.atStart] as [number, string], ...r.after];
    },
  });
  let code = out.code;
  if (atDirectives === null) {
    // -1 above stood for "with the runtime line": the registration of hoisted functions follows it on line 1
    const start = out.startText;
    const prelude = runtimeLine + start;
    if (code.startsWith('#!')) {
      const nl = code.indexOf('\n');
      code = nl < 0 ? code : code.slice(0, nl + 1) + prelude + code.slice(nl + 1);
    } else code = prelude + code;
  }
  const map = Buffer.from(JSON.stringify(out.map)).toString('base64');
  return `${code}\n//# sourceMappingURL=data:application/json;base64,${map}\n`;
}

/**
 * How a module hands its top-level functions to the compiled tier (jit/scopes.ts registerModuleFunctions): one scope
 * object whose getters read the module's bindings (imports, functions, classes, variables, and `var`s declared in
 * top-level blocks: a getter at module level reads a name exactly as a module-level function does, so naming more is
 * harmless and naming fewer is not), made on the first line with the function declarations (hoisted, so registered
 * before any code runs; of two declarations of one name the last, as JS binds it); a function held by a top-level
 * `const`/`let`/`var` is registered right after its declaration, on the same line, and so is the function in
 * `const f = traced(function ...)` when `traced` is tracegrad's (traced() is the identity in a rewritten module). Each
 * comes with its original text. Functions nested in other functions close over locals no scope object can reach: they
 * are not registered, and stay interpreted. A module that declares names starting with `__tg` (the loader's own) is
 * not registered at all.
 */
function moduleRegistration(ast: any, source: string): { atStart: string; after: [number, string][] } {
  const bindings = new Set<string>();
  const hoisted = new Map<string, string>(); // name -> text of its last declaration
  const after: [number, [string, string][]][] = [];
  const tracedNames = new Set<string>(); // local names of tracegrad's traced
  const names = (p: any): void => {
    if (p === null || p === undefined) return;
    if (p.type === 'Identifier') bindings.add(p.name);
    else if (p.type === 'ArrayPattern') p.elements.forEach(names);
    else if (p.type === 'ObjectPattern') p.properties.forEach((q: any) => names(q.type === 'RestElement' ? q.argument : q.value));
    else if (p.type === 'AssignmentPattern') names(p.left);
    else if (p.type === 'RestElement') names(p.argument);
  };
  // `var`s (and sloppy block functions) in top-level blocks, loops and try statements bind module-level names too
  const nestedVars = (n: any): void => {
    if (n === null || typeof n !== 'object') return;
    if (n.type === 'FunctionDeclaration') return void (n.id && bindings.add(n.id.name));
    if (n.type === 'FunctionExpression' || n.type === 'ArrowFunctionExpression' || n.type === 'ClassDeclaration' || n.type === 'ClassExpression') return;
    if (n.type === 'VariableDeclaration' && n.kind === 'var') n.declarations.forEach((d: any) => names(d.id));
    for (const k of Object.keys(n)) {
      const v = n[k];
      if (Array.isArray(v)) v.forEach(nestedVars);
      else if (v !== null && typeof v === 'object' && typeof v.type === 'string') nestedVars(v);
    }
  };
  const requireOfTracegrad = (e: any) => e?.type === 'CallExpression' && e.callee.type === 'Identifier' && e.callee.name === 'require'
    && e.arguments[0]?.type === 'Literal' && e.arguments[0].value === 'tracegrad';
  const declaration = (d: any, statementEnd: number): void => {
    if (d === null || d === undefined) return;
    if (d.type === 'FunctionDeclaration' && d.id) {
      bindings.add(d.id.name);
      hoisted.delete(d.id.name);
      hoisted.set(d.id.name, source.slice(d.start, d.end));
    } else if (d.type === 'ClassDeclaration' && d.id) bindings.add(d.id.name);
    else if (d.type === 'VariableDeclaration') {
      const held: [string, string][] = [];
      for (const v of d.declarations) {
        names(v.id);
        // const { traced } = require('tracegrad')
        if (v.id.type === 'ObjectPattern' && requireOfTracegrad(v.init))
          for (const q of v.id.properties) if (q.type === 'Property' && !q.computed && q.key.name === 'traced' && q.value.type === 'Identifier') tracedNames.add(q.value.name);
        let init = v.init;
        if (init?.type === 'CallExpression' && init.callee.type === 'Identifier' && tracedNames.has(init.callee.name)) init = init.arguments[0];
        if (v.id.type === 'Identifier' && init && (init.type === 'ArrowFunctionExpression' || init.type === 'FunctionExpression'))
          held.push([v.id.name, source.slice(init.start, init.end)]);
      }
      if (held.length > 0) after.push([statementEnd, held]);
    } else nestedVars(d);
  };
  for (const n of ast.body) {
    if (n.type === 'ImportDeclaration') {
      for (const sp of n.specifiers) {
        bindings.add(sp.local.name);
        if (n.source.value === 'tracegrad' && sp.type === 'ImportSpecifier' && sp.imported.name === 'traced') tracedNames.add(sp.local.name);
      }
    } else if (n.type === 'ExportNamedDeclaration' || n.type === 'ExportDefaultDeclaration') declaration(n.declaration, n.end);
    else declaration(n, n.end);
  }
  if ([...bindings].some((b) => b.startsWith('__tg')) || (hoisted.size === 0 && after.length === 0)) return { atStart: '', after: [] };
  const list = (fs: [string, string][]) => `[${fs.map(([n, text]) => `[${n}, ${JSON.stringify(text)}]`).join(', ')}]`;
  const scope = `{ ${[...bindings].map((b) => `get ${b}() { return ${b}; }`).join(', ')} }`;
  return {
    atStart: `const __tgScope = ${scope}; __tg.module(__tgScope, ${list([...hoisted])});`,
    after: after.map(([at, fs]) => [at, `;__tg.module(__tgScope, ${list(fs)});`]),
  };
}
