// break, continue and early return as flags: the compiled tier's IR has structured loops and branches only, so jumps become guarded code.
import { no } from './lower';

const id = (name: string): any => ({ type: 'Identifier', name });
const num = (v: number) => ({ type: 'Literal', value: v, raw: String(v) });
const set = (name: string, value: any) => ({ type: 'ExpressionStatement', expression: { type: 'AssignmentExpression', operator: '=', left: id(name), right: value } });
const declare = (name: string, init: any) => ({ type: 'VariableDeclaration', kind: 'let', declarations: [{ type: 'VariableDeclarator', id: id(name), init }] });
const not = (e: any): any => ({ type: 'UnaryExpression', operator: '!', prefix: true, argument: e });
const and = (a: any, b: any): any => ({ type: 'LogicalExpression', operator: '&&', left: a, right: b });
const block = (body: any[]) => ({ type: 'BlockStatement', body });
const isLoop = (s: any) => s?.type === 'WhileStatement' || s?.type === 'ForStatement';

/** The flags of the innermost loop (null outside loops, or for a loop whose body has no break/continue of its own). */
interface LoopFlags {
  brk: string | null;
  cnt: string | null;
}

/**
 * Rewrite `break`, `continue` and early `return` (JS semantics kept exactly) into flag variables of 0/1 and guards:
 * the statements after one that may jump run under `if (!flag)`, a loop's test becomes `!brk && !done && test`, a
 * `continue` flag is reset each iteration, a for loop's update runs unless it broke or returned; an early
 * `return e` stores e and sets `done`. The flags are plain numbers the tests read, so the generated passes treat
 * them like any loop counter. Labels and switch are outside the subset.
 */
export function removeJumps(body: any[], result: any): { body: any[]; result: any } {
  body = body.map(callsOutOfLoopTests);
  let n = 0;
  const fresh = (what: string) => `$${what}${n++}`;
  const returns = contains(body, 'ReturnStatement', true);
  if (!returns && !contains(body, 'BreakStatement', true) && !contains(body, 'ContinueStatement', true)) return { body, result };
  const ret = returns ? fresh('ret') : null, done = returns ? fresh('done') : null;

  /** Whether s may set a flag the statements after it (in the same list) must respect. */
  const mayJump = (s: any, lf: LoopFlags | null): boolean =>
    (returns && contains([s], 'ReturnStatement', true)) || (lf !== null && (contains([s], 'BreakStatement', false) || contains([s], 'ContinueStatement', false)));
  /** The guard for what follows a statement that may jump: no flag set. */
  const clear = (lf: LoopFlags | null) => {
    const flags = [lf?.brk, lf?.cnt, done].filter((f): f is string => typeof f === 'string');
    return flags.map((f) => not(id(f))).reduce((a, b) => and(a, b));
  };
  const list = (ss: any[], lf: LoopFlags | null): any[] => {
    const out: any[] = [];
    for (let i = 0; i < ss.length; i++) {
      out.push(statement(ss[i], lf));
      if (mayJump(ss[i], lf) && i + 1 < ss.length) {
        out.push({ type: 'IfStatement', test: clear(lf), consequent: block(list(ss.slice(i + 1), lf)), alternate: null });
        break;
      }
    }
    return out;
  };
  const statement = (s: any, lf: LoopFlags | null): any => {
    switch (s.type) {
      case 'BreakStatement':
      case 'ContinueStatement': {
        if (s.label) no(`a labeled ${s.type === 'BreakStatement' ? 'break' : 'continue'}`);
        const flag = s.type === 'BreakStatement' ? lf?.brk : lf?.cnt;
        return flag ? set(flag, num(1)) : no(`${s.type} outside a loop`);
      }
      case 'ReturnStatement':
        if (s.argument === null) no('a return without a value');
        return block([set(ret!, s.argument), set(done!, num(1))]);
      case 'BlockStatement':
        return block(list(s.body, lf));
      case 'IfStatement':
        return { ...s, consequent: statement(s.consequent, lf), alternate: s.alternate ? statement(s.alternate, lf) : null };
      case 'WhileStatement':
      case 'ForStatement':
        return loop(s);
      case 'SwitchStatement':
      case 'LabeledStatement':
        return no(`statement ${s.type}`);
      default:
        return s;
    }
  };
  const loop = (s: any): any => {
    const own = contains([s.body], 'BreakStatement', false) || contains([s.body], 'ContinueStatement', false);
    const exits = own || (returns && contains([s.body], 'ReturnStatement', true));
    if (!exits) return { ...s, body: statement(s.body, null) };
    const lf: LoopFlags = { brk: contains([s.body], 'BreakStatement', false) ? fresh('brk') : null,
      cnt: contains([s.body], 'ContinueStatement', false) ? fresh('cnt') : null };
    const guards = [lf.brk, done].filter((f): f is string => f !== null).map((f) => not(id(f)));
    const test = [...guards, ...(s.test ? [s.test] : [])].reduce((a, b) => and(a, b));
    const body = [...(lf.cnt ? [declare(lf.cnt, num(0))] : []), ...list([s.body], lf)];
    if (s.type === 'ForStatement' && s.update !== null) {
      const update = { type: 'ExpressionStatement', expression: s.update };
      body.push(guards.length > 0 ? { type: 'IfStatement', test: guards.reduce((a, b) => and(a, b)), consequent: update, alternate: null } : update);
    }
    const init = s.type === 'ForStatement' && s.init !== null ? [s.init.type === 'VariableDeclaration' ? s.init : { type: 'ExpressionStatement', expression: s.init }] : [];
    return block([...init, ...(lf.brk ? [declare(lf.brk, num(0))] : []), { type: 'WhileStatement', test, body: block(body) }]);
  };

  if (!returns) return { body: list(body, null), result };
  // the final return is one more return, inside the same guards as the statements before it (so the declarations it
  // reads are in its scope)
  const out = [declare(ret!, null), declare(done!, num(0)), ...list([...body, { type: 'ReturnStatement', argument: result }], null)];
  return { body: out, result: id(ret!) };
}

/**
 * `while (f(x) > 0) body` → `while (true) { if (!(f(x) > 0)) break; body }` (for loops likewise, the update kept): a
 * call in a loop's test then sits in an if, where the lowering can run it before the test, once per iteration.
 */
function callsOutOfLoopTests(s: any): any {
  if (s === null || typeof s !== 'object') return s;
  if (Array.isArray(s)) return s.map(callsOutOfLoopTests);
  const out: any = { ...s };
  for (const k of Object.keys(s)) if (k !== 'type' && typeof s[k] === 'object') out[k] = callsOutOfLoopTests(s[k]);
  if (isLoop(out) && out.test !== null && hasCall(out.test)) {
    const exit = { type: 'IfStatement', test: not(out.test), consequent: { type: 'BreakStatement', label: null }, alternate: null };
    return { ...out, test: { type: 'Literal', value: true, raw: 'true' }, body: block([exit, out.body]) };
  }
  return out;
}

/** A call other than Math.f(...) inside an expression. */
function hasCall(e: any): boolean {
  if (e === null || typeof e !== 'object') return false;
  if (e.type === 'CallExpression' && !(e.callee.type === 'MemberExpression' && e.callee.object.type === 'Identifier' && e.callee.object.name === 'Math')) return true;
  return Object.keys(e).some((k) => k !== 'type' && hasCall(e[k]));
}

/** Whether statements contain a node of `type`; break/continue of inner loops do not count unless `deep`. */
function contains(ss: any[], type: string, deep: boolean): boolean {
  const visit = (n: any, inLoop: boolean): boolean => {
    if (n === null || typeof n !== 'object') return false;
    if (Array.isArray(n)) return n.some((x) => visit(x, inLoop));
    if (n.type === type && (deep || !inLoop)) return true;
    if (n.type === 'FunctionExpression' || n.type === 'ArrowFunctionExpression' || n.type === 'FunctionDeclaration') return false;
    return Object.keys(n).some((k) => k !== 'type' && visit(n[k], inLoop || isLoop(n)));
  };
  return visit(ss, false);
}
