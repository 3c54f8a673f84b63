// Which adjoints the reverse pass surely reaches (or surely does not) at each assignment: a static reverse dataflow over the IR, so the generated code tests a reached flag only where the answer is known at run time alone.
import { UNDEFINED, type Program, type Stmt } from './lower';
import { isCopy, type Facts } from './analyze';

/** A reached flag at a point of the reverse pass: surely set, surely not, or only known at run time. */
export type Reached = 'yes' | 'no' | 'maybe';
/** Per assignment to a variable with a reached flag: the flag's state when the reverse pass comes to it. */
export type ReachFacts = Map<Stmt, Reached>;

const meet = (a: Reached, b: Reached): Reached => (a === b ? a : 'maybe');
/** Adding a contribution that was sent when `sent`: the flag is set after it if it was before, or if sent. */
const join = (a: Reached, sent: Reached): Reached => (a === 'yes' || sent === 'yes' ? 'yes' : a === 'no' && sent === 'no' ? 'no' : 'maybe');

/** Variables an expression reads as values (not in indices, nor lengths): the operands its reverse sends adjoints to. */
function valueNames(e: any, into: Set<string>): void {
  if (e.type === 'Identifier') into.add(e.name);
  else if (e.type === 'BinaryExpression') (valueNames(e.left, into), valueNames(e.right, into));
  else if (e.type === 'UnaryExpression') valueNames(e.argument, into);
  else if (e.type === 'CallExpression') e.arguments.forEach((a: any) => valueNames(a, into));
}

/**
 * Mirrors the generated reverse pass (compile.ts) on the flags `r_v` of plain (not slot-shared) variable adjoints: all
 * false after the forward pass but the output's; a variable's assignment reads its flag, resets it (unless the
 * assignment is `v = v ± e`, done in place), and, when reached, sets the flags of the variables it reads. Element and
 * slot adjoints are reached by value (−0 sentinels), unknown here: what they send counts as 'maybe'.
 */
export function reachAnalysis(p: Program, f: Facts): ReachFacts {
  const flagged = (n: string) => f.adjoint.has(n) && !f.aliased.has(n) && !p.paramArrays.has(n) && !p.localArrays.has(n);
  const facts: ReachFacts = new Map();
  type State = Map<string, Reached>;
  const get = (s: State, n: string): Reached => s.get(n) ?? 'no';
  const equal = (a: State, b: State) => [...new Set([...a.keys(), ...b.keys()])].every((k) => get(a, k) === get(b, k));
  const meetStates = (a: State, b: State): State => new Map([...new Set([...a.keys(), ...b.keys()])].map((k) => [k, meet(get(a, k), get(b, k))]));

  const assignment = (s: Stmt & { t: 'assign' }, st: State, record: boolean) => {
    const { name, index } = s.target;
    if (!f.adjoint.has(name)) return;
    const own = index === null && flagged(name);
    const reached: Reached = own ? get(st, name) : 'maybe';
    if (own && record) facts.set(s, facts.has(s) ? meet(facts.get(s)!, reached) : reached);
    const rhs = s.rhs;
    const operation = rhs !== UNDEFINED && !isCopy(rhs) && rhs.type !== 'Literal' && rhs.type !== 'MemberExpression';
    const reads = new Set<string>();
    if (operation) valueNames(rhs, reads);
    const active = [...reads].filter((n) => f.adjoint.has(n));
    const propagates = operation && active.length > 0;
    // `v = v + e` / `v = v - e` on a plain variable: its adjoint moves in place, the flag stays
    const inPlace = own && propagates && rhs.type === 'BinaryExpression' && (rhs.operator === '+' || rhs.operator === '-')
      && rhs.left.type === 'Identifier' && rhs.left.name === name;
    if (own && !inPlace) st.set(name, 'no');
    if (!propagates) return;
    // (in place, the target's own flag joins with itself: unchanged)
    for (const n of active) if (flagged(n)) st.set(n, join(get(st, n), reached));
  };
  const block = (ss: Stmt[], st: State, record: boolean): State => {
    for (const s of [...ss].reverse()) {
      if (s.t === 'assign') assignment(s, st, record);
      else if (s.t === 'if') st = meetStates(block(s.then, new Map(st), record), block(s.else, new Map(st), record));
      else if (s.t === 'loop') {
        // zero or more reverse iterations: the head's state is the entry met with every iteration's end
        let head = st;
        for (;;) {
          const next = meetStates(st, block(s.body, new Map(head), false));
          if (equal(next, head)) break;
          head = next;
        }
        block(s.body, new Map(head), record);
        st = head;
      }
    }
    return st;
  };
  const start: State = new Map();
  if (flagged(p.out)) start.set(p.out, 'yes');
  block(p.body, start, true);
  return facts;
}
