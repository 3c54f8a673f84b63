// Tests of tracegrad's public API on the talk's examples: pow, dispatch tables, nestlevel, hook, checkpoint, custom rules, colour.
import test from 'ava';
import { readFileSync } from 'node:fs';
import {
  traced,
  gradient,
  withGradient,
  pullback,
  jacobian,
  defineAdjoint,
  nondifferentiable,
  ignore,
  hook,
  checkpoint,
  TracegradError,
} from '../dist/index.js';
import * as colour from '../examples/ciede2000.mjs';
import { numericGradient, assertClose } from './helpers/reference.mjs';
import { assertNoLeak } from './helpers/leaks.mjs';


/** Deterministic PRNG (mulberry32) so the random colours are the same on every run. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let r = Math.imul(a ^ (a >>> 15), 1 | a);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------- pow with a while loop

function pow(x, n) {
  let r = 1;
  while (n > 0) {
    n -= 1;
    r *= x;
  }
  return r;
}
const powT = traced(pow);

test('pow: gradient(x => pow(x, 3), 5) is [75]', (t) => {
  const cube = traced((x) => powT(x, 3), { powT });
  t.deepEqual(gradient(cube, 5), [75]);
  for (const x of [-2, 0.5, 1.75]) assertClose(t, gradient(cube, x), [3 * x * x]);
  // calling the traced function plainly is just pow
  t.is(cube(5), 125);
  t.is(powT(2, 10), 1024);
});

test('pow: n = 0 gives a constant output, so no gradient reaches either argument', (t) => {
  t.deepEqual(gradient(powT, 5, 0), [null, null]);
});

test('pow: pullback gives 125 and back(1) is [75, null]', (t) => {
  const [y, back] = pullback(pow, 5, 3);
  t.is(y, 125);
  t.is(typeof y, 'number');
  t.deepEqual(back(1), [75, null]);
  t.deepEqual(back(), [75, null], 'the default seed is 1');
});

test('pow: back can be called several times with different seeds and is linear in the seed', (t) => {
  const [y, back] = pullback(powT, 5, 3);
  t.is(y, 125);
  t.deepEqual(back(2), [150, null]);
  t.deepEqual(back(-0.5), [-37.5, null]);
  t.deepEqual(back(0), [0, null]);
  t.deepEqual(back(1), [75, null], 'earlier calls do not change later ones');
  const [a] = back(0.3);
  const [b] = back(0.7);
  assertClose(t, a + b, 75, { rtol: 1e-15 });
});

test('pullback: back rejects a seed that is not a finite number', (t) => {
  const [, back] = pullback(powT, 5, 3);
  t.throws(() => back(NaN), { instanceOf: TracegradError });
  t.throws(() => back('1'), { instanceOf: TracegradError });
});

test('gradient((a, b) => a * b, 2, 3) is [3, 2]', (t) => {
  t.deepEqual(gradient((a, b) => a * b, 2, 3), [3, 2]);
  t.deepEqual(gradient((a, b) => a * b, -1.5, 4), [4, -1.5]);
});

// ---------------------------------------------------------------- dispatch through a table chosen at call time

test('dispatch through a table chosen at call time (the readline example)', (t) => {
  // Regression (fixed): native Math functions reached through a table (fs[name](x)) are called as-is on tracked values and throw.
  const fs = { sin: Math.sin, cos: Math.cos, tan: Math.tan };
  const queue = [];
  let reads = 0;
  // simulates readline(): the name of the function to use is only known when f runs
  const name = () => {
    reads += 1;
    return queue.shift();
  };
  const f = traced((x) => fs[name()](x), { fs, name });
  const cases = [
    ['sin', Math.cos(1)],
    ['cos', -Math.sin(1)],
    ['tan', 1 / Math.cos(1) ** 2],
    ['sin', Math.cos(1)],
  ];
  for (const [fname, expected] of cases) {
    queue.push(fname);
    const before = reads;
    const g = gradient(f, 1);
    t.is(reads, before + 1, `input read once for ${fname}`);
    assertClose(t, g, [expected], { rtol: 1e-14, message: fname });
  }
  queue.push('tan');
  t.is(f(0.5), Math.tan(0.5));
});

test('dispatch through a table of traced functions chosen at call time', (t) => {
  // traced(Math.sin) is tracegrad's differentiable sin, so the table works when built from traced entries
  const fs = { sin: traced(Math.sin), square: traced((v) => v * v) };
  const queue = [];
  const name = () => queue.shift();
  const f = traced((x) => fs[name()](x) * 2, { fs, name });
  queue.push('sin');
  assertClose(t, gradient(f, 1), [2 * Math.cos(1)], { rtol: 1e-15 });
  queue.push('square');
  t.deepEqual(gradient(f, 1.5), [6]);
  t.is(queue.length, 0);
});

// ---------------------------------------------------------------- nestlevel: custom adjoints and nesting

test('nestlevel (rule exactly as in the talk): a plain call logs 0 and gradient logs 1', (t) => {
  function nestlevel() {
    return 0;
  }
  defineAdjoint(nestlevel, () => [nestlevel() + 1, () => []]);
  const log = [];
  const f = traced(
    (x) => {
      log.push(nestlevel());
      return x;
    },
    { log, nestlevel },
  );
  t.is(f(1), 1);
  t.deepEqual(log, [0], 'plain call');
  log.length = 0;
  t.deepEqual(gradient(f, 1), [1]);
  t.deepEqual(log, [1], 'inside gradient');
});

test('nestlevel with a traced rule: plain 0, gradient 1, nested gradient 2', (t) => {
  function nestlevel() {
    return 0;
  }
  // The rule's forward runs one level down; traced, its own nestlevel() call dispatches at that level.
  defineAdjoint(nestlevel, traced(() => [nestlevel() + 1, () => []], { nestlevel }));
  const log = [];
  const f = traced(
    (x) => {
      log.push(nestlevel());
      return x;
    },
    { log, nestlevel },
  );
  t.is(f(1), 1);
  t.deepEqual(log, [0], 'plain call');
  log.length = 0;
  t.deepEqual(gradient(f, 1), [1]);
  t.deepEqual(log, [1], 'inside gradient');
  log.length = 0;
  const outer = traced((x) => x * gradient(f, x)[0], { gradient, f });
  t.deepEqual(gradient(outer, 3), [1]);
  t.deepEqual(log, [2], 'inside a gradient inside a gradient');
});

test('nestlevel inside gradient logs 1 (rule as in the talk)', (t) => {
  function nestlevel() {
    return 0;
  }
  defineAdjoint(nestlevel, () => [nestlevel() + 1, () => []]);
  const log = [];
  const f = traced(
    (x) => {
      log.push(nestlevel());
      return x * x;
    },
    { log, nestlevel },
  );
  t.deepEqual(gradient(f, 3), [6]);
  t.deepEqual(log, [1]);
});

test('nested gradient: gradient called inside traced code (d/dx x · d/dx x³ = 6x²)', (t) => {
  const cube = traced((x) => x * x * x);
  const outer = traced((x) => x * gradient(cube, x)[0], { gradient, cube });
  for (const x of [2, -0.5]) {
    // outer(x) = x · 3x² = 3x³
    t.is(outer(x), 3 * x ** 3);
    assertClose(t, gradient(outer, x), [9 * x * x], { rtol: 1e-14 });
  }
});

// ---------------------------------------------------------------- hook

test('hook(g => -g, a) reverses the gradient of a only', (t) => {
  const f = traced((a, b) => hook((g) => -g, a) * b, { hook });
  t.deepEqual(gradient(f, 2, 3), [-3, 2]);
  t.is(f(2, 3), 6, 'hook is the identity going forward');
});

test('an observing hook records the cotangent 3 and returns it unchanged', (t) => {
  const seen = [];
  const observe = (g) => {
    seen.push(g);
    return g;
  };
  const f = traced((a, b) => hook(observe, a) * b, { hook, observe });
  t.deepEqual(gradient(f, 2, 3), [3, 2]);
  t.deepEqual(seen, [3]);
  t.is(typeof seen[0], 'number');
});

test('an observing hook written inline in the traced function', (t) => {
  const seen = [];
  const f = traced(
    (a, b) =>
      hook((g) => {
        seen.push(g);
        return g;
      }, a) * b,
    { hook, seen },
  );
  t.deepEqual(gradient(f, 2, 3), [3, 2]);
  t.deepEqual(seen, [3]);
});

test('hook scaling a cotangent that reaches a through two paths', (t) => {
  // f = h(a)·a with h the identity whose backward doubles: df/da = 2·a + a = 3a (only one path is hooked)
  const f = traced((a) => hook((g) => 2 * g, a) * a, { hook });
  t.deepEqual(gradient(f, 4), [12]);
});

// ---------------------------------------------------------------- checkpoint

test('checkpoint: gradient matches the closed form and f runs twice', (t) => {
  const counter = { n: 0 };
  const g = traced(
    (x) => {
      counter.n++;
      return Math.sin(x) * x;
    },
    { counter },
  );
  const f = traced((x) => 2 * checkpoint(g, x), { checkpoint, g });
  const x = 0.7;
  const [dx] = gradient(f, x);
  assertClose(t, dx, 2 * (Math.cos(x) * x + Math.sin(x)), { rtol: 1e-14 });
  t.is(counter.n, 2, 'once forward, once in the backward pass');
  assertNoLeak(t, counter, 'the counter');
});

test('checkpoint: the re-run happens in back, not in the forward pass', (t) => {
  const counter = { n: 0 };
  const g = traced(
    (x, y) => {
      counter.n++;
      return Math.exp(x * y);
    },
    { counter },
  );
  const f = traced((x, y) => checkpoint(g, x, y) + x, { checkpoint, g });
  const [y, back] = pullback(f, 0.3, -1.2);
  assertClose(t, y, Math.exp(-0.36) + 0.3, { rtol: 1e-15 });
  t.is(counter.n, 1, 'forward only so far');
  const [dx, dy] = back(1);
  t.is(counter.n, 2);
  assertClose(t, dx, -1.2 * Math.exp(-0.36) + 1, { rtol: 1e-14 });
  assertClose(t, dy, 0.3 * Math.exp(-0.36), { rtol: 1e-14 });
});

// ---------------------------------------------------------------- withGradient

test('withGradient with an array output: element 0 is the loss, aux kept as plain numbers', (t) => {
  const f = traced((x, y) => {
    const loss = x * x * y;
    return [loss, x + y, 'label', [x, y]];
  });
  const { value, grad } = withGradient(f, 3, 2);
  t.deepEqual(value, [18, 5, 'label', [3, 2]]);
  t.deepEqual(grad, [12, 9]);
  assertNoLeak(t, value, 'the value');
});

test('withGradient with an object output: the first key is the loss', (t) => {
  const f = traced((x, y) => ({ loss: Math.sin(x) * y, aux: x * y, note: 'ok' }));
  const { value, grad } = withGradient(f, 0.4, 3);
  assertClose(t, value, { loss: Math.sin(0.4) * 3, aux: 1.2000000000000002, note: 'ok' }, { rtol: 1e-15 });
  assertClose(t, grad, [Math.cos(0.4) * 3, Math.sin(0.4)], { rtol: 1e-15 });
  assertNoLeak(t, value, 'the value');
});

test('withGradient with a number output is value plus gradient', (t) => {
  const { value, grad } = withGradient((x) => x ** 3, 2);
  t.is(value, 8);
  t.deepEqual(grad, [12]);
});

// ---------------------------------------------------------------- defineAdjoint, nondifferentiable, ignore

test('defineAdjoint overrides the derivative (a rule giving twice the true derivative is used)', (t) => {
  function cubeA(x) {
    return x * x * x;
  }
  defineAdjoint(cubeA, (x) => [x * x * x, (dy) => [2 * 3 * x * x * dy]]);
  const f = traced((x) => cubeA(x) + x, { cubeA });
  t.deepEqual(gradient(f, 2), [2 * 12 + 1]);
  t.is(f(2), 10);
});

test('defineAdjoint on a function already traced and called takes effect at once', (t) => {
  function sq(x) {
    return x * x;
  }
  const sqT = traced(sq);
  const f = traced((x) => sqT(x) + 1, { sqT });
  t.deepEqual(gradient(f, 3), [6], 'true derivative before the rule');
  t.deepEqual(gradient(sqT, 3), [6]);
  defineAdjoint(sq, (x) => [x * x, (dy) => [4 * x * dy]]);
  t.deepEqual(gradient(f, 3), [12], 'the rule on the original applies to its traced copy, for a call site traced earlier');
  t.deepEqual(gradient(sqT, 3), [12], 'and when the traced copy is the function differentiated');
});

test('defineAdjoint on the traced copy itself', (t) => {
  const sqT = traced((x) => x * x);
  const f = traced((x) => sqT(x) * 2, { sqT });
  t.deepEqual(gradient(f, 3), [12]);
  defineAdjoint(sqT, (x) => [x * x, (dy) => [10 * dy]]);
  t.deepEqual(gradient(f, 3), [20]);
});

test('defineAdjoint: back receives the cotangent and may return null for an argument', (t) => {
  function scaleBy(x, k) {
    return x * k;
  }
  const seen = [];
  defineAdjoint(scaleBy, (x, k) => [
    x * k,
    (dy) => {
      seen.push(dy);
      return [dy * k, null];
    },
  ]);
  const f = traced((x, k) => 5 * scaleBy(x, k), { scaleBy });
  t.deepEqual(gradient(f, 2, 3), [15, null]);
  t.deepEqual(seen, [5]);
});

test('defineAdjoint: the rule runs on plain numbers', (t) => {
  function probe(x) {
    return x;
  }
  const types = [];
  defineAdjoint(probe, (x) => {
    types.push(typeof x);
    return [x, (dy) => [dy]];
  });
  const f = traced((x) => probe(x * 2) * 3, { probe });
  t.deepEqual(gradient(f, 1.5), [6]);
  t.deepEqual(types, ['number']);
});

test('nondifferentiable(fn) gives a null gradient through fn', (t) => {
  // Regression (fixed): nondifferentiable(fn) on an untraced fn passes tracked arguments to it, which throw on arithmetic.
  function roundTo(x) {
    return Math.round(x * 100) / 100;
  }
  nondifferentiable(roundTo);
  const onlyRound = traced((x) => roundTo(x), { roundTo });
  t.deepEqual(gradient(onlyRound, 2.3456), [null]);
  const f = traced((x) => roundTo(x) * x, { roundTo });
  // only the second factor carries a gradient: d/dx (c · x) = c with c = roundTo(x) = 2.35
  t.deepEqual(gradient(f, 2.3456), [2.35]);
  t.is(f(2.3456), 2.35 * 2.3456);
});

test('nondifferentiable on a traced function', (t) => {
  const sq = traced((x) => x * x);
  nondifferentiable(sq);
  const f = traced((x) => sq(x) + 3 * x, { sq });
  t.deepEqual(gradient(f, 2), [3]);
});

test('ignore(x) stops the gradient', (t) => {
  const f = traced((x) => x * ignore(x), { ignore });
  t.deepEqual(gradient(f, 3), [3]);
  const g = traced((xs) => xs[0] * ignore(xs)[1] + ignore(xs[1]) * xs[1], { ignore });
  t.deepEqual(gradient(g, [2, 5]), [[5, 5]]);
});

test('ignore(() => expr) evaluates expr without recording', (t) => {
  const f = traced((x) => x * ignore(() => x * x + Math.sin(x)), { ignore });
  const x = 1.1;
  assertClose(t, gradient(f, x), [x * x + Math.sin(x)], { rtol: 1e-15 });
});

// ---------------------------------------------------------------- jacobian

test('jacobian of a vector function of an array argument', (t) => {
  const f = traced((xs) => [xs[0] * xs[1], Math.sin(xs[0]) + xs[2] ** 2, xs[0] + xs[1] + xs[2], 7]);
  const xs = [1, 2, 3];
  const [J] = jacobian(f, xs);
  assertClose(
    t,
    J,
    [
      [2, 1, 0],
      [Math.cos(1), 0, 6],
      [1, 1, 1],
      [0, 0, 0],
    ],
    { rtol: 1e-15 },
  );
  t.deepEqual(xs, [1, 2, 3]);
  assertNoLeak(t, xs, 'the argument');
});

test('jacobian with a number and an array argument', (t) => {
  const f = traced((s, v) => [s * v[0], s + v[1], v[0] * v[1]]);
  const [ds, dv] = jacobian(f, 2, [3, 4]);
  t.deepEqual(ds, [3, 1, 0]);
  t.deepEqual(dv, [
    [2, 0],
    [0, 1],
    [4, 3],
  ]);
});

test('jacobian of a scalar function is its gradient', (t) => {
  t.deepEqual(jacobian((a, b) => a * b, 2, 3), [3, 2]);
});

// ---------------------------------------------------------------- colour

test('gradient(c => c.r ** 2, {r: 1, g: 0, b: 0}) is [{r: 2, g: null, b: null}]', (t) => {
  const c = { r: 1, g: 0, b: 0 };
  t.deepEqual(gradient((c) => c.r ** 2, c), [{ r: 2, g: null, b: null }]);
  t.deepEqual(c, { r: 1, g: 0, b: 0 });
  assertNoLeak(t, c, 'the colour');
});

// The helpers of examples/ciede2000.mjs are not exported: evaluate the file's own source to get them as plain functions.
const ciedeSource = readFileSync(new URL('../examples/ciede2000.mjs', import.meta.url), 'utf8').replace(/^export /gm, '');
const plain = new Function(
  `${ciedeSource}\nreturn { degreesToRadians, radiansToDegrees, srgbToLinear, labCompand, hueAngle, srgbToLab, ciede2000, colourDifference };`,
)();

/** Trace the example bottom-up, each function with its helpers (traced) in scope. */
function traceColour() {
  const T = {};
  T.degreesToRadians = traced(plain.degreesToRadians);
  T.radiansToDegrees = traced(plain.radiansToDegrees);
  T.srgbToLinear = traced(plain.srgbToLinear);
  T.labCompand = traced(plain.labCompand);
  T.hueAngle = traced(plain.hueAngle, { radiansToDegrees: T.radiansToDegrees });
  // the exported functions are the ones the module runs
  T.srgbToLab = traced(colour.srgbToLab, { srgbToLinear: T.srgbToLinear, labCompand: T.labCompand });
  T.ciede2000 = traced(colour.ciede2000, { hueAngle: T.hueAngle, degreesToRadians: T.degreesToRadians });
  T.colourDifference = traced(colour.colourDifference, { ciede2000: T.ciede2000, srgbToLab: T.srgbToLab });
  return T;
}

test('tracing ciede2000 without its helpers in scope names them in the error', (t) => {
  const err = t.throws(() => traced(colour.ciede2000), { instanceOf: TracegradError });
  t.regex(err.message, /hueAngle/);
  t.regex(err.message, /degreesToRadians/);
});

test('the evaluated example source agrees with the module', (t) => {
  const a = { r: 0.2, g: 0.6, b: 0.3 };
  const b = { r: 0.7, g: 0.1, b: 0.5 };
  t.is(plain.colourDifference(a, b), colour.colourDifference(a, b));
});

test('traced CIEDE2000 functions compute the same values as the originals', (t) => {
  const T = traceColour();
  const a = { r: 0.2, g: 0.6, b: 0.3 };
  const b = { r: 0.7, g: 0.1, b: 0.5 };
  t.is(T.colourDifference(a, b), colour.colourDifference(a, b));
  t.deepEqual(T.srgbToLab(a), colour.srgbToLab(a));
});

test('CIEDE2000 colour difference: gradient matches numericGradient at random colours', (t) => {
  const T = traceColour();
  const random = rng(2005);
  // channels kept away from the sRGB linear segment (0.04045) and the ends of the gamut
  const channel = () => 0.1 + 0.8 * random();
  const randomColour = () => ({ r: channel(), g: channel(), b: channel() });
  for (let k = 0; k < 4; k++) {
    const c1 = randomColour();
    const c2 = randomColour();
    const before = [structuredClone(c1), structuredClone(c2)];
    const actual = gradient(T.colourDifference, c1, c2);
    const expected = numericGradient(colour.colourDifference, c1, c2);
    assertClose(t, actual, expected, { rtol: 1e-5, atol: 1e-9, message: `colours ${JSON.stringify(before)}` });
    t.deepEqual([c1, c2], before, 'arguments unchanged');
    assertNoLeak(t, [c1, c2], 'the colours');
  }
});

test('CIEDE2000 on CIELAB inputs and srgbToLab lightness: gradients match numericGradient', (t) => {
  const T = traceColour();
  const random = rng(30);
  for (let k = 0; k < 3; k++) {
    const lab1 = { L: 20 + 60 * random(), a: -60 + 120 * random(), b: -60 + 120 * random() };
    const lab2 = { L: 20 + 60 * random(), a: -60 + 120 * random(), b: -60 + 120 * random() };
    assertClose(t, gradient(T.ciede2000, lab1, lab2), numericGradient(colour.ciede2000, lab1, lab2), {
      rtol: 1e-5,
      atol: 1e-9,
    });
  }
  const lightness = traced((c) => srgbToLab(c).L + srgbToLab(c).b, { srgbToLab: T.srgbToLab });
  const c = { r: 0.3, g: 0.5, b: 0.8 };
  assertClose(t, gradient(lightness, c), numericGradient((c) => colour.srgbToLab(c).L + colour.srgbToLab(c).b, c), {
    rtol: 1e-5,
  });
});

// ---------------------------------------------------------------- pow with a Map outside the function

test('Map version of pow: the gradient is [75] and the Map ends with the plain number 125', (t) => {
  const vars = new Map();
  function powm(x, n) {
    vars.set('r', 1);
    vars.set('n', n);
    while (vars.get('n') > 0) {
      vars.set('n', vars.get('n') - 1);
      vars.set('r', vars.get('r') * x);
    }
  }
  const powmT = traced(powm, { vars });
  const f = traced((x) => (powmT(x, 3), vars.get('r')), { powmT, vars });
  t.deepEqual(gradient(f, 5), [75]);
  t.is(vars.get('r'), 125);
  t.is(typeof vars.get('r'), 'number');
  t.is(vars.get('n'), 0);
  assertNoLeak(t, vars, 'the Map');
  // again, at another point: the Map is reused in place
  assertClose(t, gradient(f, -1.5), [3 * 2.25], { rtol: 1e-15 });
  t.is(vars.get('r'), -3.375);
});

// ---------------------------------------------------------------- determinism

test('calling a traced function many times gives exactly what the first call gave', (t) => {
  const plainF = (xs, s) => {
    let acc = 0;
    for (let i = 0; i < xs.length; i++) acc += Math.sin(xs[i] * s) / (1 + xs[i] ** 2);
    return acc * Math.exp(-s);
  };
  const f = traced(plainF);
  const xs = [0.1, -0.7, 2.3, 1.1];
  const first = gradient(f, xs, 0.9);
  const firstValue = f(xs, 0.9);
  for (let k = 0; k < 25; k++) {
    const again = gradient(f, xs, 0.9);
    t.true(
      again[0].every((v, i) => Object.is(v, first[0][i])) && Object.is(again[1], first[1]),
      `call ${k} differs: ${JSON.stringify(again)} vs ${JSON.stringify(first)}`,
    );
    t.true(Object.is(f(xs, 0.9), firstValue));
  }
  // and the first call is right
  assertClose(t, first, numericGradient(plainF, xs, 0.9), { rtol: 1e-7 });
  t.is(firstValue, plainF(xs, 0.9));
});

test('gradient of a function returning an array says to use jacobian or withGradient', (t) => {
  const err = t.throws(() => gradient((x) => [x, x * x], 2), { instanceOf: TracegradError });
  t.regex(err.message, /jacobian/);
  t.regex(err.message, /withGradient/);
});
