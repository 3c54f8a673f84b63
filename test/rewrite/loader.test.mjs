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
