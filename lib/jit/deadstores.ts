// Drops initialisations no statement reads (`let y = 0` before an if that sets y on both paths): each one cost a push and a pop per run.
import type { Program, Stmt } from './lower';
import { namesIn, readsOf, assignedIn } from './analyze';

/**
 * Why this is exact. A dropped statement assigns a literal to a plain variable (no tape node in the interpreter, no
 * bail-out in the compiled code), and every path through the statements after it, in the same block, assigns the
 * variable before anything reads it, so no value or adjoint ever depends on the literal. The reverse pass then
 * restores, at the later assignment, the value from before the dropped one, which is what the earlier statements'
 * reverse reads. The check is conservative: a loop that mentions the variable, a branch that assigns it on one path
 * only, or the end of the block before an assignment keeps the statement.
 */
export function removeDeadStores(p: Program): Program {
  p.body = pruned(p.body);
  return p;
}

function pruned(ss: Stmt[]): Stmt[] {
  const kept: Stmt[] = [];
  ss.forEach((s, at) => {
    if (s.t === 'if') kept.push({ ...s, then: pruned(s.then), else: pruned(s.else) });
    else if (s.t === 'loop') kept.push({ ...s, body: pruned(s.body) });
    else if (s.t === 'assign' && s.target.index === null && isConstant(s.rhs) && !s.counterInit && firstUse(ss.slice(at + 1), s.target.name) === 'assigned') return;
    else kept.push(s);
  });
  return kept;
}

/** A literal, a negated one or undefined: no tape node in the interpreter, no bail-out in the compiled code. */
const isConstant = (e: any): boolean => e.type === 'Literal' || (e.type === 'Identifier' && e.name === 'undefined') ||
  (e.type === 'UnaryExpression' && e.operator === '-' && e.argument.type === 'Literal');

/**
 * What running ss does first with `name`: 'assigned' (every path assigns it before any read), 'read' (some path may
 * read it first, or leave an old value that matters) or 'untouched' (no statement mentions it).
 */
function firstUse(ss: Stmt[], name: string): 'assigned' | 'read' | 'untouched' {
  for (const s of ss) {
    if (s.t === 'assign' || s.t === 'array') {
      const reads = new Set<string>();
      readsOf(s, reads);
      if (reads.has(name)) return 'read';
      if (s.t === 'assign' && s.target.name === name) return s.target.index === null ? 'assigned' : 'read';
      if (s.t === 'array' && s.name === name) return 'read';
    } else if (s.t === 'if') {
      const test = new Set<string>();
      namesIn(s.test, test);
      if (test.has(name)) return 'read';
      const yes = firstUse(s.then, name), no = firstUse(s.else, name);
      if (yes === 'assigned' && no === 'assigned') return 'assigned';
      if (yes !== 'untouched' || no !== 'untouched') return 'read';
    } else {
      // a loop may run no trips, and its body runs again after itself: any mention keeps the statement
      if (mentions(s, name)) return 'read';
    }
  }
  return 'untouched';
}

function mentions(s: Stmt, name: string): boolean {
  const names = new Set<string>();
  readsOf(s, names);
  return names.has(name) || assignedIn([s]).has(name);
}
