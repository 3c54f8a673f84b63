// Which variables the reverse pass never restores from the stack: assigned once outside loops, or at the top of a loop body from values the loop does not change (recomputed per reverse iteration).
import type { Program, Stmt } from './lower';
import { namesIn, readsOf, assignedIn, type Facts } from './analyze';

/**
 * How the reverse pass gets a variable's value back, for the ones it need not save:
 * - 'once': assigned by a single statement outside every loop: its value never changes afterwards, so the reverse pass
 *   finds it in place (nothing pushed, nothing restored);
 * - 'iteration': assigned by a single statement directly in a loop body, from values that do not change while the
 *   loop runs (read-only arguments and captured values, 'once' variables, earlier such statements of the body, and the
 *   target of the body's last statement, typically the counter): the reverse pass recomputes it at the start of each
 *   iteration instead of popping it (Tapenade's recompute-instead-of-store for cheap values).
 * Read only after that statement (no reads before it in the body, in the loop's test, or outside the loop).
 */
export type Recompute = Map<string, 'once' | 'iteration'>;

export function recomputation(p: Program, f: Facts): Recompute {
  const assignments = new Map<string, number>();
  const count = (ss: Stmt[]): void => {
    for (const s of ss) {
      if (s.t === 'assign') assignments.set(s.target.name, (assignments.get(s.target.name) ?? 0) + 1);
      else if (s.t === 'if') (count(s.then), count(s.else));
      else if (s.t === 'loop') count(s.body);
    }
  };
  count(p.body);
  // a variable whose restore the reverse pass could skip: saved today, one assignment, no shared adjoint slots
  const single = (s: Stmt): s is Stmt & { t: 'assign' } =>
    s.t === 'assign' && s.target.index === null && !p.params.includes(s.target.name) && !p.unassigned.has(s.target.name)
    && assignments.get(s.target.name) === 1 && !f.aliased.has(s.target.name);
  const candidate = (s: Stmt): s is Stmt & { t: 'assign' } => single(s) && f.needed.has(s.target.name);
  const result: Recompute = new Map();
  const once = (ss: Stmt[]): void => {
    for (const s of ss) {
      if (candidate(s)) result.set(s.target.name, 'once');
      else if (s.t === 'if') (once(s.then), once(s.else));
    }
  };
  once(p.body);
  // names that do not change during any loop: read-only arrays, captured values, unassigned parameters, 'once' ones
  const stable = (n: string) => p.paramArrays.has(n) || p.capturedArrays.has(n) || p.capturedScalars.has(n)
    || (p.params.includes(n) && !assignments.has(n)) || result.get(n) === 'once';
  // every read of each name, with the statement lists it happens in: a recomputed name is read only after it
  const loops = (ss: Stmt[]): void => {
    for (const s of ss) {
      if (s.t === 'if') (loops(s.then), loops(s.else));
      if (s.t !== 'loop') continue;
      loops(s.body);
      const body = s.body, last = body[body.length - 1];
      // and, here, a variable this loop does not assign whose assignments elsewhere are all undone in the reverse pass
      // (a needed one): during this loop's reverse it holds the values it had during its forward
      const within = assignedIn(body);
      const stableHere = (n: string) => stable(n) || (f.needed.has(n) && p.scalars.has(n) && !within.has(n) && !f.aliased.has(n));
      // (only when that statement is the one place the body assigns it: a counter the body also steps elsewhere, as
      // in `if (skip) i++`, holds another value where the recomputation runs)
      const lastTarget = last?.t === 'assign' && last.target.index === null && !assignedIn(body.slice(0, -1)).has(last.target.name)
        ? last.target.name : null;
      const chosen: string[] = [];
      // a value no partial reads is recomputed too when a recomputed one is computed from it (pruned below otherwise)
      body.forEach((st, j) => {
        if (!single(st) || j === body.length - 1) return;
        const name = st.target.name;
        const reads = new Set<string>();
        namesIn(st.rhs, reads);
        // the last statement's target only where the reverse pass restores it (it is needed)
        if (![...reads].every((n) => stableHere(n) || chosen.includes(n) || (n === lastTarget && f.needed.has(n)))) return;
        // read only by the statements after it in this body
        const before = new Set<string>();
        body.slice(0, j + 1).forEach((x) => readsOf(x, before));
        if (s.test !== null) namesIn(s.test, before);
        if (before.has(name) || readOutside(p.body, s, name)) return;
        chosen.push(name);
      });
      // the last statement's reverse runs before the recomputation (it restores what the recomputation may read),
      // so it must not read a recomputed value itself
      const lastReads = new Set<string>();
      if (last !== undefined) readsOf(last, lastReads);
      if (chosen.some((n) => lastReads.has(n))) continue;
      // keep the needed ones and what they are computed from
      const keep = new Set(chosen.filter((n) => f.needed.has(n)));
      for (const st of [...body].reverse()) {
        if (st.t !== 'assign' || !keep.has(st.target.name)) continue;
        const reads = new Set<string>();
        namesIn(st.rhs, reads);
        for (const n of reads) if (chosen.includes(n)) keep.add(n);
      }
      for (const n of chosen) if (keep.has(n)) result.set(n, 'iteration');
    }
  };
  loops(p.body);
  return result;
}

/** Whether `name` is read anywhere in the program outside loop statement `loop`. */
function readOutside(ss: Stmt[], loop: Stmt, name: string): boolean {
  for (const s of ss) {
    if (s === loop) continue;
    if (s.t === 'if') {
      const test = new Set<string>();
      namesIn(s.test, test);
      if (test.has(name) || readOutside(s.then, loop, name) || readOutside(s.else, loop, name)) return true;
    } else if (s.t === 'loop') {
      const own = new Set<string>();
      if (s.test !== null) namesIn(s.test, own);
      if (s.counter) (namesIn(s.counter.from, own), namesIn(s.counter.to, own));
      if (own.has(name) || readOutside(s.body, loop, name)) return true;
    } else {
      const r = new Set<string>();
      readsOf(s, r);
      if (r.has(name)) return true;
    }
  }
  return false;
}
