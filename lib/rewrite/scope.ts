// Scope facts the rewriter needs, from eslint-scope: free names, captured writes, declared-ness of identifiers.
import * as eslintScope from 'eslint-scope';

export interface ScopeFacts {
  /** Identifiers (by node) that reference a variable no enclosing scope of the parsed code declares. */
  free: Map<any, string>;
  /** Identifiers written in a function other than the one that declares their variable (the variable outlives the call). */
  capturedWrites: Set<any>;
  /** Identifiers that resolve to a declared variable. */
  resolved: Set<any>;
}

/** `commonjs`: the file is a CommonJS module body, whose top level is a function scope (require, module, exports). */
export function analyzeScopes(ast: any, sourceType: 'script' | 'module', commonjs = false): ScopeFacts {
  const manager = eslintScope.analyze(ast, { ecmaVersion: 2022, sourceType, nodejsScope: commonjs, fallback: 'iteration' } as any);
  const free = new Map<any, string>();
  const capturedWrites = new Set<any>();
  const resolved = new Set<any>();
  for (const scope of manager.scopes) {
    for (const ref of scope.references) {
      const id = ref.identifier;
      const v = ref.resolved;
      if (v === null) {
        free.set(id, id.name);
        continue;
      }
      resolved.add(id);
      if (ref.isWrite() && functionOf(v.scope) !== functionOf(ref.from) && !isModuleTopLevel(ref.from)) capturedWrites.add(id);
    }
  }
  return { free, capturedWrites, resolved };
}

function functionOf(scope: any): any {
  return scope.variableScope;
}

function isModuleTopLevel(scope: any): boolean {
  const f = scope.variableScope;
  return f.type === 'module' || f.type === 'global' || (f.type === 'function' && f.upper?.type === 'global' && f.block.type === 'Program');
}
