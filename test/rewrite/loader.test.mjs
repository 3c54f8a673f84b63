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
