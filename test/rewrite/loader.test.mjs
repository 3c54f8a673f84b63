// The module loader: `node --import tracegrad/register` and `require('tracegrad/register')` instrument user modules.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const fixture = (name) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const run = (args) => JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8' }).trim().split('\n').pop());

test('ES modules under --import tracegrad/register: closures, module Maps and captured variables just work', (t) => {
  const r = run(['--import', 'tracegrad/register', fixture('loader-app.mjs')]);
  t.deepEqual(r.pow, [75]); // d/dx x³ at 5
  t.deepEqual(r.powMap, [75]);
  t.is(r.mapAfter, 125);
  t.is(r.mapAfterType, 'number');
  t.deepEqual(r.closure, [3 * 2 ** 2 + 3]); // d/dx (x³ + 3x) at 2
  t.is(r.lastAfter, 6); // the module variable holds the plain primal afterwards
  t.is(r.lastType, 'number');
  t.true(r.tracedIsIdentity);
});

test("CommonJS under require('tracegrad/register'): module state and class methods", (t) => {
  const r = run([fixture('loader-app.cjs')]);
  t.deepEqual(r.accumulate, [6]); // d/dx (total + x²) at 3
  t.is(r.totalAfter, 9);
  t.is(r.totalType, 'number');
  t.deepEqual(r.energy, [{ k: 0.5 * 2 ** 2 }, 4 * 2]); // ∂/∂k ½kx² = ½x², ∂/∂x = kx
  t.is(r.kAfter, 4);
});

test('module-level functions loaded through the loader compile (helpers inlined, module constants and imported tables read each call), bit-identical to the interpreter; nested functions stay interpreted', (t) => {
  const r = run(['--import', 'tracegrad/register', fixture('loader-compiled.mjs')]);
  t.is(r.rosenbrock.tier, 'compiled'); // it said: interpreted: not made by traced() (a loader-rewritten function)
  t.true(r.rosenbrock.same);
  // closed form at x = (1.2, 0.8, −0.5), offset 1: Σ 100(x_{i+1} − x_i²)² + (1 − x_i)²
  const [a, b, c] = [1.2, 0.8, -0.5];
  t.true(Math.abs(r.rosenbrock.value - (100 * (b - a * a) ** 2 + (1 - a) ** 2 + 100 * (c - b * b) ** 2 + (1 - b) ** 2)) < 1e-12);
  const g0 = -400 * a * (b - a * a) - 2 * (1 - a);
  t.true(Math.abs(r.rosenbrock.grad[0] - g0) < 1e-10 * Math.abs(g0));
  t.true(r.afterOffset.same);
  t.true(Math.abs(r.afterOffset.value - (100 * (b - a * a) ** 2 + (2 - a) ** 2 + 100 * (c - b * b) ** 2 + (2 - b) ** 2)) < 1e-12);
  t.is(r.weighted.tier, 'compiled');
  t.true(r.weighted.same);
  t.deepEqual(r.weighted.grad, [2 * Math.cos(1.2), -Math.cos(0.8), 0.5 * Math.cos(-0.5)]);
  t.deepEqual(r.closure.grad, [2]);
  t.regex(r.closure.tier, /^interpreted/);
  t.deepEqual(r.viaTraced.grad, [100 * 2 * 2, 2 * 3]); // term(a, b) = 100a² + b²
  t.is(r.viaTraced.tier, 'compiled');
});

// Found by an adversarial review of module-level compilation: each case compiled to a different result before.
test('loader-compiled functions keep JS semantics: a named function expression calling its own name, a local function named traced, a var in a top-level block, duplicate declarations, \'use strict\' in CommonJS', (t) => {
  const esm = run(['--import', 'tracegrad/register', fixture('loader-review.mjs')]);
  for (const [name, r] of Object.entries(esm)) t.deepEqual(r.compiled, r.interpreted, name);
  t.deepEqual(esm.selfCalling.interpreted, { value: 2, grad: [8] }); // g(3.5) = 2·2·2·g(0.5) = 8·0.25; its own g, not the module's
  t.regex(esm.selfCalling.tier, /^interpreted: a recursive call of g/);
  t.deepEqual(esm.wrapped.interpreted, { value: 18, grad: [12] }); // the project's traced doubles: 2x² at 3
  t.deepEqual(esm.scaled.interpreted, { value: 6, grad: [3] }); // the module's rate (3), not globalThis.rate (100)
  t.is(esm.scaled.tier, 'compiled');
  const cjs = run(['--import', 'tracegrad/register', fixture('loader-review.cjs')]);
  t.true(cjs.strict); // the runtime line went before the directive, which then was no directive
  t.deepEqual(cjs.twice.compiled, { value: 8, grad: [12] }); // the last declaration: x³
  t.deepEqual(cjs.twice.interpreted, cjs.twice.compiled);
  const reserved = run(['--import', 'tracegrad/register', fixture('loader-reserved.mjs')]);
  t.deepEqual(reserved.usesIt, { value: 10, grad: [5] }); // it failed to load: __tgScope declared twice
});
