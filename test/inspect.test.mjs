// inspect(): the recorded trace with values, partials and source lines, its guards, and the compiled tier's code.
import test from 'ava';
import { inspect, traced } from '../dist/index.js';

function pow(x, n) {
  let r = 1;
  while (n > 0) { // line 7: the loop test, a guard each time round
    n -= 1; // line 8
    r *= x; // line 9
  }
  return r;
}
const thisFile = new URL(import.meta.url).href;

test('the trace of pow(5, 2): inputs, the loop guards and their outcomes, ops with partials and source lines', (t) => {
  const ins = inspect(traced(pow), 5, 2);
  const ops = ins.trace.map((e) => e.op);
  t.deepEqual(ops, ['input', 'input', 'guard:>', 'sub', 'mul', 'guard:>', 'sub', 'mul', 'guard:>']);
  t.deepEqual(ins.guards.map((g) => g.value), [true, true, false]); // n = 2, 1, 0 against 0
  const muls = ins.trace.filter((e) => e.op === 'mul');
  t.deepEqual(muls.map((e) => e.value), [5, 25]); // r = 1·5, then 5·5
  t.deepEqual(muls[1].partials, [5, 5]); // ∂(r·x)/∂r = x = 5, ∂/∂x = r = 5
  t.deepEqual(muls[1].parents, [muls[0].index, 0]);
  t.true(ins.trace.filter((e) => e.op === 'sub').every((e) => e.where.startsWith(`${thisFile}:8:`)));
  t.true(muls.every((e) => e.where.startsWith(`${thisFile}:9:`)));
  t.true(ins.guards.every((e) => e.where.startsWith(`${thisFile}:7:`)));
});

test('inspect shows the compiled forward and reverse passes, or why a function is not compiled', (t) => {
  const ins = inspect(traced(pow), 5, 2);
  t.true('forward' in ins.compiled);
  t.regex(ins.compiled.forward, /S\[sp\+\+\] = v_r;/); // the old value of r is saved
  // the product's partials, inlined from the rule table: ∂(r·x)/∂r = x, ∂/∂x = r
  t.regex(ins.compiled.reverse, /b_r \+= g \* v_x;/);
  t.regex(ins.compiled.reverse, /b_x \+= g \* v_r;/);
  const m = new Map();
  const withMap = traced((x) => (m.set('a', x), m.get('a') * 2), { m });
  const other = inspect(withMap, 3);
  t.regex(other.compiled.ineligible, /SequenceExpression|free variable m|call/);
  const text = String(ins);
  t.regex(text, /guard:>/);
  t.regex(text, /compiled reverse pass/);
});

test('inspect leaves the arguments as they were', (t) => {
  const xs = [1, 2, 3];
  inspect(traced((v) => v[0] * v[1] + v[2]), xs);
  t.deepEqual(xs, [1, 2, 3]);
  t.true(xs.every((v) => typeof v === 'number'));
});
