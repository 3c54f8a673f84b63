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
  let registration = '';
  const out = instrument(source, {
    sourceType: kind === 'module' ? 'module' : 'script', commonjs: kind === 'commonjs', rt: '__tg', markFunctions: true,
    filename: urlOrPath,
    insertions: (ast) => {
      const r = moduleRegistration(ast, source);
      registration = r.atStart;
      return r.after;
    },
  });
  const prelude = (kind === 'module'
    ? `import { runtime as __tg } from ${JSON.stringify(pathToFileURL(runtimeFile).href)};`
    : `const __tg = require(${JSON.stringify(runtimeFile)}).runtime;`) + registration;
  let code = out.code;
  if (code.startsWith('#!')) {
    const nl = code.indexOf('\n');
    code = nl < 0 ? code : code.slice(0, nl + 1) + prelude + code.slice(nl + 1);
  } else code = prelude + code;
  const map = Buffer.from(JSON.stringify(out.map)).toString('base64');
  return `${code}\n//# sourceMappingURL=data:application/json;base64,${map}\n`;
}


/**
 * How a module hands its top-level functions to the compiled tier (jit/scopes.ts registerModuleFunctions): one scope
 * object whose getters read the module's bindings (imports, functions, classes, variables: how a function made by
 * traced() sees its scope), made on the first line with the function declarations (hoisted, so registered before any
 * code runs); a function held by a top-level `const`/`let`/`var` is registered right after its declaration, on the
 * same line. Each comes with its original text. Functions nested in other functions close over locals no scope
 * object can reach: they are not registered, and stay interpreted. `const f = traced(function ..., scope)` registers
 * the function: traced() is the identity in a rewritten module.
 */
function moduleRegistration(ast: any, source: string): { atStart: string; after: [number, string][] } {
  const bindings = new Set<string>();
  const hoisted: [string, string][] = [];
  const after: [number, [string, string][]][] = [];
  const names = (p: any): void => {
    if (p === null || p === undefined) return;
    if (p.type === 'Identifier') bindings.add(p.name);
    else if (p.type === 'ArrayPattern') p.elements.forEach(names);
    else if (p.type === 'ObjectPattern') p.properties.forEach((q: any) => names(q.type === 'RestElement' ? q.argument : q.value));
    else if (p.type === 'AssignmentPattern') names(p.left);
    else if (p.type === 'RestElement') names(p.argument);
  };
  const declaration = (d: any, statementEnd: number): void => {
    if (d === null || d === undefined) return;
    if (d.type === 'FunctionDeclaration' && d.id) {
      bindings.add(d.id.name);
      hoisted.push([d.id.name, source.slice(d.start, d.end)]);
    } else if (d.type === 'ClassDeclaration' && d.id) bindings.add(d.id.name);
    else if (d.type === 'VariableDeclaration') {
      const held: [string, string][] = [];
      for (const v of d.declarations) {
        names(v.id);
        // `const f = traced(function f() {...}, scope)`: traced() is the identity in a rewritten module, so f is that function
        let init = v.init;
        if (init?.type === 'CallExpression' && init.callee.type === 'Identifier' && init.callee.name === 'traced') init = init.arguments[0];
        if (v.id.type === 'Identifier' && init && (init.type === 'ArrowFunctionExpression' || init.type === 'FunctionExpression'))
          held.push([v.id.name, source.slice(init.start, init.end)]);
      }
      if (held.length > 0) after.push([statementEnd, held]);
    }
  };
  for (const n of ast.body) {
    if (n.type === 'ImportDeclaration') for (const sp of n.specifiers) bindings.add(sp.local.name);
    else if (n.type === 'ExportNamedDeclaration' || n.type === 'ExportDefaultDeclaration') declaration(n.declaration, n.end);
    else declaration(n, n.end);
  }
  const mine = (name: string) => !name.startsWith('__tg');
  if (hoisted.length === 0 && after.length === 0) return { atStart: '', after: [] };
  const list = (fs: [string, string][]) => `[${fs.filter(([n]) => mine(n)).map(([n, text]) => `[${n}, ${JSON.stringify(text)}]`).join(', ')}]`;
  const scope = `{ ${[...bindings].filter(mine).map((b) => `get ${b}() { return ${b}; }`).join(', ')} }`;
  return {
    atStart: `const __tgScope = ${scope}; __tg.module(__tgScope, ${list(hoisted)});`,
    after: after.map(([at, fs]) => [at, `;__tg.module(__tgScope, ${list(fs)});`]),
  };
}
