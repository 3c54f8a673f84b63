// Tests that gradients follow JavaScript control flow (loops, branches, recursion, exceptions, iteration, closures, classes, callbacks).
import test from 'ava';
import { traced, gradient } from '../dist/index.js';
import { numericGradient, assertClose } from './helpers/reference.mjs';

/** Paths of leaves in v that are not plain values (a tracked value leaked into an argument). */
function leakedLeaves(v, path = '', seen = new Set()) {
  if (v === null || typeof v !== 'object') return [];
  if (seen.has(v) || ArrayBuffer.isView(v)) return [];
  seen.add(v);
  if (v.constructor?.name === 'Tracked') return [`${path}: Tracked`];
  if (v instanceof Map) return [...v].flatMap(([k, x]) => leakedLeaves(x, `${path}.get(${String(k)})`, seen));
  if (Array.isArray(v)) return v.flatMap((x, i) => leakedLeaves(x, `${path}[${i}]`, seen));
  return Object.keys(v).flatMap((k) => leakedLeaves(v[k], `${path}.${k}`, seen));
}

/**
 * The gradient of traced(fn, scope) at args against numericGradient of the plain fn; also checks that the
 * arguments come back unchanged and hold plain numbers. Returns the library's gradient.
 */
function checkGradient(t, fn, args, { scope, rtol = 1e-6, atol = 1e-8, message } = {}) {
  const f = traced(fn, scope);
  const before = structuredClone(args);
  const expected = numericGradient(fn, ...args);
  const actual = gradient(f, ...args);
  assertClose(t, actual, expected, { rtol, atol, message });
  t.deepEqual(args, before, 'arguments unchanged');
  t.deepEqual(leakedLeaves(args), [], 'no tracked value left in the arguments');
  return actual;
}

/** The gradient of traced(fn, scope) against a hand-derived value. */
function checkClosed(t, fn, args, expected, { scope, rtol = 1e-12, atol = 1e-14, message } = {}) {
  const actual = gradient(traced(fn, scope), ...args);
  assertClose(t, actual, expected, { rtol, atol, message });
  t.deepEqual(leakedLeaves(args), [], 'no tracked value left in the arguments');
  return actual;
}

// ---------------------------------------------------------------- loops

test('for loop with continue and break: 1 + x²/3 + x⁴/5 + x⁶/7', (t) => {
  function f(x) {
    let s = 0;
    for (let i = 0; i < 10; i++) {
      if (i % 2 === 1) continue;
      if (i > 6) break;
      s += x ** i / (i + 1);
    }
    return s;
  }
  for (const x of [1.3, -0.8]) {
    checkClosed(t, f, [x], [(2 * x) / 3 + (4 * x ** 3) / 5 + (6 * x ** 5) / 7]);
  }
});

test('for loop whose bound and break test are tracked values', (t) => {
  function f(x) {
    let s = 0;
    for (let k = 1; k < x * 3; k++) {
      s += Math.sin(k * x);
      if (s > 2.5) break;
    }
    return s;
  }
  // x = 1.1: k runs 1..3 (k < 3.3) without reaching the break
  checkGradient(t, f, [1.1]);
  checkClosed(t, f, [1.1], [Math.cos(1.1) + 2 * Math.cos(2.2) + 3 * Math.cos(3.3)]);
  // x = 2.1: k = 1..6; sin(2.1)+sin(4.2)+sin(6.3)+sin(8.4)+... check against finite differences
  checkGradient(t, f, [2.1]);
});

test('while loop with a tracked exit test: the iteration count flips with the input', (t) => {
  function f(x) {
    let y = x;
    while (true) {
      y = y * 1.5;
      if (y > 10) break;
    }
    return y;
  }
  // 1.5^6 = 11.39 > 10 at x = 1; 2·1.5^5 = 15.19 > 10 (2·1.5^4 = 10.125 > 10 too: 4 steps) at x = 2
  checkClosed(t, f, [1], [1.5 ** 6]);
  checkClosed(t, f, [2], [1.5 ** 4]);
  checkClosed(t, f, [0.3], [1.5 ** 9]);
});

test('while loop with continue', (t) => {
  function f(x) {
    let i = 0;
    let s = 0;
    while (i < 6) {
      i++;
      if (i === 3 || i === 5) continue;
      s += Math.exp(x / i);
    }
    return s;
  }
  checkGradient(t, f, [0.7]);
});

test('do-while loop: runs at least once, then while a tracked test holds', (t) => {
  function f(x) {
    let y = x;
    do {
      y = Math.sin(y) + y;
    } while (y < 3);
    return y;
  }
  checkGradient(t, f, [0.5]);
  // at x = 4 the body runs exactly once: d/dx (sin x + x) = cos x + 1
  checkClosed(t, f, [4], [Math.cos(4) + 1]);
});

test('while loop to convergence: Newton iteration for sqrt(a) has derivative 1 / (2 sqrt(a))', (t) => {
  function newtonSqrt(a) {
    let x = a > 1 ? a : 1;
    let steps = 0;
    while (Math.abs(x * x - a) > 1e-12 * a && steps < 100) {
      x = (x + a / x) / 2;
      steps++;
    }
    return x;
  }
  for (const a of [2, 10, 0.3]) checkClosed(t, newtonSqrt, [a], [1 / (2 * Math.sqrt(a))], { rtol: 1e-9 });
});

test('do-while with continue and break', (t) => {
  function f(x) {
    let i = 0;
    let s = 0;
    do {
      i++;
      if (i === 2) continue;
      if (i === 5) break;
      s += x * i;
    } while (i < 10);
    return s;
  }
  // i = 1, 3, 4 contribute
  checkClosed(t, f, [2], [8]);
});

test('labelled loops: continue outer and break outer on tracked comparisons', (t) => {
  function f(xs) {
    let s = 0;
    outer: for (let i = 0; i < xs.length; i++) {
      for (let j = 0; j < xs.length; j++) {
        if (j > i) continue outer;
        if (xs[i] * xs[j] > 22) break outer;
        s += xs[i] * xs[j];
      }
    }
    return s;
  }
  // pairs j ≤ i, stopping at (5, 5) = 25 > 22
  checkGradient(t, f, [[1, 2, 3, 4, 5]]);
  // hand-derived: s = Σ_{j≤i} x_i x_j minus the (4, 4) term; ∂s/∂x_k = x_k + Σ_j x_j − 2·x_4·[k = 4]
  const xs = [1, 2, 3, 4, 5];
  const total = 15;
  checkClosed(t, f, [xs], [xs.map((v, k) => v + total - (k === 4 ? 2 * 5 : 0))]);
});

test('labelled block with break', (t) => {
  function f(x) {
    let y = x * x;
    block: {
      if (x > 0) break block;
      y = y * x;
    }
    return y;
  }
  checkClosed(t, f, [3], [6]);
  checkClosed(t, f, [-2], [12]);
});

test('nested loops: quadratic form vᵀAv, gradient (A + Aᵀ)v and v vᵀ', (t) => {
  function quad(A, v) {
    let s = 0;
    for (let i = 0; i < v.length; i++) {
      for (let j = 0; j < v.length; j++) {
        s += A[i][j] * v[i] * v[j];
      }
    }
    return s;
  }
  const A = [
    [1, 2, 0],
    [-1, 3, 0.5],
    [4, 0, 2],
  ];
  const v = [0.5, -1, 2];
  const dv = v.map((_, k) => v.reduce((acc, vj, j) => acc + (A[k][j] + A[j][k]) * vj, 0));
  const dA = A.map((row, i) => row.map((_, j) => v[i] * v[j]));
  checkClosed(t, quad, [A, v], [dA, dv]);
});

test('nested loops with a triangular bound and an inner break', (t) => {
  function f(xs) {
    let p = 0;
    for (let i = 0; i < xs.length; i++) {
      let q = 1;
      for (let j = 0; j <= i; j++) {
        q *= xs[j];
        if (q < -1) break;
      }
      p += q;
    }
    return p;
  }
  checkGradient(t, f, [[0.5, 2, -3, 1.5]]);
});

// ---------------------------------------------------------------- branches

test('early return and if/else chains pick the branch by the primal value', (t) => {
  function f(x) {
    if (x < -1) return -x * x;
    if (x < 1) {
      return x * x * x;
    } else if (x < 3) {
      return Math.exp(x);
    } else {
      return Math.log(x);
    }
  }
  checkClosed(t, f, [-2], [4]);
  checkClosed(t, f, [0.5], [0.75]);
  checkClosed(t, f, [2], [Math.exp(2)]);
  checkClosed(t, f, [4], [0.25]);
});

test('ternaries, nested', (t) => {
  const f = (x) => (x > 0 ? (x > 2 ? Math.sqrt(x) : x * x) : Math.log(-x) * 2);
  checkClosed(t, f, [4], [0.25]);
  checkClosed(t, f, [1.5], [3]);
  checkClosed(t, f, [-0.5], [-4]);
});

test('&& and || return the tracked operand: (x > 0 && x) || -x is |x|', (t) => {
  const abs = (x) => (x > 0 && x) || -x;
  checkClosed(t, abs, [2], [1]);
  checkClosed(t, abs, [-3], [-1]);
  t.is(traced(abs)(-3), 3);
});

test('|| on a tracked value that is zero (falsy) takes the right operand', (t) => {
  const f = (x) => (x - 1 || x * 5) * 2;
  // x = 1: x - 1 is 0, so 2·5x
  checkClosed(t, f, [1], [10]);
  // x = 3: 2(x - 1)
  checkClosed(t, f, [3], [2]);
});

test('&& returning the right-hand tracked value, and a falsy left operand returned as is', (t) => {
  const f = (x, y) => {
    const a = x > 0 && y * y;
    const b = x < 0 && y;
    return (a || 0) + (b === false ? x : b * 10);
  };
  checkClosed(t, f, [1, 3], [1, 6]);
  checkClosed(t, f, [-1, 3], [null, 10]);
});

test('?? picks a default when a lookup is missing and the tracked value otherwise', (t) => {
  function f(x, m) {
    const a = m.get('a') ?? x;
    const b = m.get('b') ?? x * 10;
    return a * b;
  }
  // a = x (missing), b = m.b
  const m = new Map([['b', 3]]);
  const [dx, dm] = checkClosed(t, f, [2, m], [3, new Map([['b', 2]])]);
  t.truthy(dx);
  t.truthy(dm);
  // a tracked zero is not nullish: ?? keeps it
  const g = (x) => (x - 2 ?? 100) * x;
  checkClosed(t, g, [2], [2 * 2 - 2]);
});

test('switch with fallthrough on a computed string', (t) => {
  function f(x) {
    let y = 0;
    switch (x > 1 ? 'big' : x > 0 ? 'small' : 'neg') {
      case 'neg':
        y -= x;
      // falls through
      case 'small':
        y += x * x;
        break;
      case 'big':
        y += Math.sin(x);
      // falls through
      default:
        y += x / 2;
    }
    return y;
  }
  checkClosed(t, f, [-2], [-1 + 2 * -2]);
  checkClosed(t, f, [0.5], [1]);
  checkClosed(t, f, [2], [Math.cos(2) + 0.5]);
});

test('switch with fallthrough on a computed number (Math.floor of a tracked value)', (t) => {
  // Regression (fixed): switch compares case labels with native ===, so a tracked discriminant (Math.floor(x)) never matches a case
  // under gradient: the default branch runs and the gradient is silently wrong (plain calls are right).
  function f(x) {
    let y = 0;
    switch (Math.floor(x)) {
      case 0:
        y += x;
      // falls through
      case 1:
        y += x * x;
        break;
      case 2:
        y += Math.sin(x);
      // falls through
      default:
        y += 1;
    }
    return y;
  }
  checkClosed(t, f, [0.5], [1 + 2 * 0.5]);
  checkClosed(t, f, [1.5], [3]);
  checkClosed(t, f, [2.5], [Math.cos(2.5)]);
});

test('switch on a tracked number with numeric cases', (t) => {
  // Regression (fixed): switch compares case labels with native ===, so a tracked discriminant never matches a case.
  function f(x, n) {
    switch (n) {
      case 1:
        return x;
      case 2:
        return x * x;
      default:
        return 0 * x;
    }
  }
  checkClosed(t, f, [3, 2], [6, null]);
});

test('comparisons choose branches by primal values; the branch flips for different inputs', (t) => {
  const f = (x, y) => (x > y ? x * y : x + y);
  checkClosed(t, f, [3, 2], [2, 3]);
  checkClosed(t, f, [2, 3], [1, 1]);
  // equality tests on tracked values compare primals
  const g = (x, y) => (x === y ? x * x : x == 2 ? 10 * x : x !== 5 ? -x : y);
  checkClosed(t, g, [1.5, 1.5], [3, null]);
  checkClosed(t, g, [2, 7], [10, null]);
  checkClosed(t, g, [4, 7], [-1, null]);
  checkClosed(t, g, [5, 7], [null, 1]);
  // comparisons against constants on either side, and <= / >=
  const h = (x) => (1 <= x && x >= -1 ? x * 3 : 2 >= x ? x * x : 0);
  checkClosed(t, h, [1], [3]);
  checkClosed(t, h, [0.5], [1]);
  const max = (xs) => {
    let best = xs[0];
    for (const v of xs) if (v > best) best = v;
    return best;
  };
  checkClosed(t, max, [[1, 5, 2]], [[0, 1, 0]]);
  checkClosed(t, max, [[7, 5, 2]], [[1, 0, 0]]);
});

test('! on tracked values uses the primal', (t) => {
  const f = (x) => (!(x - 1) ? x * 7 : !!x ? x * x : 0);
  checkClosed(t, f, [1], [7]);
  checkClosed(t, f, [3], [6]);
});

test('Boolean() of a tracked value uses the primal', (t) => {
  // Regression (fixed): Boolean(tracked 0) is true (native Boolean sees an object), so the wrong branch runs under gradient.
  const f = (x) => (Boolean(x - 3) ? x * x : x * 4);
  checkClosed(t, f, [1], [2]);
  checkClosed(t, f, [3], [4]);
});

// ---------------------------------------------------------------- recursion

function rpow(x, n) {
  return n === 0 ? 1 : x * rpow(x, n - 1);
}

function risingProduct(x, n) {
  if (n <= 0) return 1;
  return (x + n) * risingProduct(x, n - 1);
}

test('recursion: recursive power', (t) => {
  for (const x of [2, -0.7]) checkClosed(t, (x) => rpow(x, 5), [x], [5 * x ** 4], { scope: { rpow: traced(rpow) } });
});

test('recursion: factorial-like product (x+1)(x+2)(x+3)(x+4)', (t) => {
  const risingProductT = traced(risingProduct);
  const f = (x) => risingProduct(x, 4);
  checkGradient(t, f, [0.3], { scope: { risingProduct: risingProductT } });
  // d/dx Π(x+k) = Π(x+k) · Σ 1/(x+k)
  const x = 0.3;
  const p = (x + 1) * (x + 2) * (x + 3) * (x + 4);
  checkClosed(t, f, [x], [p * (1 / (x + 1) + 1 / (x + 2) + 1 / (x + 3) + 1 / (x + 4))], {
    scope: { risingProduct: risingProductT },
  });
});

function evenStep(x, n) {
  return n === 0 ? x : oddStep(Math.sin(x), n - 1);
}
function oddStep(x, n) {
  return n === 0 ? x : evenStep(x * x, n - 1);
}

test('mutual recursion through a shared scope', (t) => {
  // scope entries exist before tracing (so the names resolve) and are filled in afterwards
  const S = { evenStep: null, oddStep: null };
  S.evenStep = traced(evenStep, S);
  S.oddStep = traced(oddStep, S);
  const f = (x) => evenStep(x, 4);
  checkGradient(t, f, [0.9], { scope: S });
  // evenStep(x, 2) = sin(x)² → 2 sin x cos x
  checkClosed(t, (x) => evenStep(x, 2), [0.9], [Math.sin(1.8)], { scope: S });
});

test('recursion over a nested structure (tree sum of squares)', (t) => {
  function treeSum(node) {
    if (typeof node === 'number') return node * node;
    let s = 0;
    for (const child of node.children) s += treeSum(child);
    return s * node.w;
  }
  const tree = { w: 2, children: [1, { w: 0.5, children: [3, 4] }, 2] };
  // value = 2·(1 + 0.5·(9 + 16) + 4) = 35
  const S = { treeSum: null };
  S.treeSum = traced(treeSum, S);
  const f = traced((tree) => treeSum(tree), S);
  t.is(f(tree), 35);
  const [g] = gradient(f, tree);
  assertClose(t, g, { w: 17.5, children: [4, { w: 50, children: [6, 8] }, 8] });
  t.deepEqual(leakedLeaves(tree), []);
});

// ---------------------------------------------------------------- exceptions

test('try/catch/finally when nothing throws', (t) => {
  function f(x) {
    let y = x * 2;
    try {
      y = y * x;
    } catch (e) {
      y = 0;
    } finally {
      y = y + Math.sin(x);
    }
    return y;
  }
  checkClosed(t, f, [1.2], [4 * 1.2 + Math.cos(1.2)]);
});

test('try/catch: the gradient of the value computed in catch', (t) => {
  function f(x) {
    try {
      if (x > 1) throw new Error('too big');
      return x * x;
    } catch (e) {
      return Math.log(x) * x;
    }
  }
  checkClosed(t, f, [2], [Math.log(2) + 1]);
  checkClosed(t, f, [0.5], [1]);
});

test('try/catch: a tracked value thrown and used in catch, finally still runs', (t) => {
  function f(x) {
    let extra = 0;
    try {
      throw x * 3;
    } catch (e) {
      extra = e * x;
    } finally {
      extra += x;
    }
    return extra;
  }
  // 3x² + x
  checkClosed(t, f, [2], [13]);
});

test('try/finally with a return in try: finally sees and changes state', (t) => {
  function f(x) {
    const box = { v: x };
    const g = () => {
      try {
        return box.v * 2;
      } finally {
        box.v = box.v * x;
      }
    };
    const first = g();
    return first + box.v;
  }
  // 2x + x²
  checkClosed(t, f, [3], [8]);
});

test('an error thrown from a nested traced call is caught by the caller', (t) => {
  function risky(x) {
    if (x < 0) throw new RangeError('negative');
    return Math.sqrt(x);
  }
  function safe(x) {
    try {
      return risky(x);
    } catch (e) {
      return e instanceof RangeError ? -x * x : 0;
    }
  }
  const scope = { risky: traced(risky) };
  checkClosed(t, safe, [4], [0.25], { scope });
  checkClosed(t, safe, [-3], [6], { scope });
});

// ---------------------------------------------------------------- iteration

test('for...of over an array', (t) => {
  function f(xs) {
    let s = 0;
    for (const v of xs) s += v * v * v;
    return s;
  }
  checkClosed(t, f, [[1, -2, 0.5]], [[3, 12, 0.75]]);
});

test('for...of over Map entries with destructuring', (t) => {
  function f(m) {
    let s = 0;
    for (const [k, v] of m) s += k.length * v * v;
    return s;
  }
  const m = new Map([
    ['a', 2],
    ['bb', 3],
    ['ccc', -1],
  ]);
  checkGradient(t, f, [m]);
  checkClosed(t, f, [m], [new Map([['a', 4], ['bb', 12], ['ccc', -6]])]);
  t.true([...m.values()].every((v) => typeof v === 'number'));
});

test('for...of over Map.entries(), Map.values() and Object.entries()', (t) => {
  function f(m, o) {
    let s = 0;
    for (const [, v] of m.entries()) s += Math.sin(v);
    for (const v of m.values()) s += v;
    for (const [k, v] of Object.entries(o)) s += k === 'double' ? 2 * v : v * v;
    return s;
  }
  const m = new Map([
    [1, 0.5],
    [2, 1.5],
  ]);
  const o = { double: 3, square: 4 };
  checkGradient(t, f, [m, o]);
});

test('for...in over an object', (t) => {
  function f(o) {
    let p = 1;
    for (const k in o) p *= o[k];
    return p;
  }
  checkClosed(t, f, [{ a: 2, b: 3, c: 5 }], [{ a: 15, b: 10, c: 6 }]);
});

test('for...in over an array (string keys)', (t) => {
  function f(xs) {
    let s = 0;
    for (const i in xs) s += xs[i] * (Number(i) + 1);
    return s;
  }
  checkClosed(t, f, [[5, 6, 7]], [[1, 2, 3]]);
});

test('for...of over a generator that yields tracked values', (t) => {
  function* pairs(xs) {
    for (let i = 0; i + 1 < xs.length; i++) yield xs[i] * xs[i + 1];
  }
  function f(xs) {
    let s = 0;
    for (const p of pairs(xs)) s += p;
    return s;
  }
  // x0x1 + x1x2 + x2x3
  checkClosed(t, f, [[1, 2, 3, 4]], [[2, 4, 6, 3]], { scope: { pairs: traced(pairs) } });
});

test('optional chaining and compound assignment on object fields', (t) => {
  function f(o, x) {
    const a = o.inner?.v ?? 0;
    const b = o.missing?.v ?? x;
    o.inner.v *= x;
    o.inner.v += b;
    return o.inner.v * a;
  }
  // a = v, b = x; result (v·x + x)·v = v²x + vx
  const o = { inner: { v: 2 } };
  const [g, dx] = gradient(traced(f), structuredClone(o), 3);
  assertClose(t, [g, dx], [{ inner: { v: 2 * 2 * 3 + 3 } }, 4 + 2]);
});

// ---------------------------------------------------------------- closures, calls, rest/spread, destructuring, defaults

test('a closure over a tracked value, returned and called inside', (t) => {
  function makeScaler(a) {
    return (v) => v * a;
  }
  function f(x) {
    const scale = makeScaler(x * x);
    return scale(x) + scale(2);
  }
  // x³ + 2x²
  checkClosed(t, f, [1.5], [3 * 2.25 + 4 * 1.5], { scope: { makeScaler: traced(makeScaler) } });
});

test('a closure that accumulates into a captured variable', (t) => {
  function f(x) {
    let total = 0;
    const add = (v) => {
      total += v * x;
    };
    add(1);
    add(x);
    [2, 3].forEach(add);
    return total;
  }
  // x + x² + 5x
  checkClosed(t, f, [2], [1 + 4 + 5]);
});

test('closure counter made in one traced call and used in the next call', (t) => {
  function f(x) {
    let acc = x;
    const step = () => {
      acc = acc * x;
      return acc;
    };
    step();
    step();
    return acc;
  }
  // x³
  checkClosed(t, f, [2], [12]);
  checkClosed(t, f, [-1], [3]);
});

test('calls between traced functions (three levels)', (t) => {
  function h(x) {
    return Math.exp(x) - 1;
  }
  function g(x, y) {
    return h(x * y) / y;
  }
  function f(x) {
    return g(x, 2) + g(x, x);
  }
  const hT = traced(h);
  const gT = traced(g, { h: hT });
  checkGradient(t, f, [0.4], { scope: { g: gT } });
});

test('rest parameters and spread: Math.max(...xs) and f(...args)', (t) => {
  function sumAll(...vals) {
    let s = 0;
    for (const v of vals) s += v;
    return s;
  }
  function f(x, y) {
    const args = [x, y * 2, x * y];
    return sumAll(...args) + sumAll(x, ...[y, y]);
  }
  // (x + 2y + xy) + (x + 2y)
  checkClosed(t, f, [2, 3], [2 + 3, 4 + 2], { scope: { sumAll: traced(sumAll) } });

  const maxOf = (xs) => Math.max(...xs);
  checkClosed(t, maxOf, [[1, 7, 3]], [[0, 1, 0]]);
  const mix = (xs) => Math.max(...xs) * Math.min(...xs) + Math.hypot(...xs);
  checkGradient(t, mix, [[1.5, -2, 3]]);
  // spread into an array literal keeps the tracked values
  const spreadArray = (xs) => {
    const ys = [...xs, ...xs];
    return ys[0] * ys[4];
  };
  checkClosed(t, spreadArray, [[2, 5, 7]], [[5, 2, 0]]);
});

test('destructuring of arrays and objects, with defaults and rest', (t) => {
  function f(p) {
    const {
      a,
      b: [c, d = 5, ...more],
      e = a * 2,
    } = p;
    const [first, , third] = more;
    return a * c + d * e + first * third;
  }
  // e defaults to 2a, d defaults to 5; more = [m0, m1, m2]
  const p = { a: 3, b: [4, undefined, 6, 7, 8] };
  checkClosed(t, f, [p], [{ a: 4 + 10, b: [3, null, 8, 0, 6] }]);
});

test('destructuring parameters and swapping through a destructuring assignment', (t) => {
  function f([x, y], { k }) {
    let a = x;
    let b = y * k;
    [a, b] = [b, a];
    return a * a + 3 * b;
  }
  // (yk)² + 3x
  checkClosed(t, f, [[2, 3], { k: 0.5 }], [[3, 2 * 3 * 0.25], { k: 2 * 0.5 * 9 }]);
});

test('default parameters computed from tracked arguments', (t) => {
  function scaled(x, k = x * 2) {
    return x * k;
  }
  const scope = { scaled: traced(scaled) };
  checkClosed(t, (x) => scaled(x), [3], [12], { scope });
  checkClosed(t, (x) => scaled(x, 3), [3], [3], { scope });
  checkClosed(t, (x, k) => scaled(x, k), [3, 4], [4, 3], { scope });
});

// ---------------------------------------------------------------- classes

const Vec = traced(
  class Vec {
    constructor(x, y) {
      this.x = x;
      this.y = y;
    }
    get norm() {
      return Math.hypot(this.x, this.y);
    }
    dot(o) {
      return this.x * o.x + this.y * o.y;
    }
    scale(k) {
      return new Vec(this.x * k, this.y * k);
    }
    static sum(vs) {
      let s = new Vec(0, 0);
      for (const v of vs) s = new Vec(s.x + v.x, s.y + v.y);
      return s;
    }
  },
);

test('class methods, a getter and a static method of a traced class', (t) => {
  const f = (a, b) => {
    const v = new Vec(a, b);
    return v.scale(2).norm + v.dot(v) + Vec.sum([v, v]).x;
  };
  // 2·|v| + a² + b² + 2a at (3, 4): |v| = 5
  checkClosed(t, f, [3, 4], [1.2 + 6 + 2, 1.6 + 8], { scope: { Vec } });
  t.is(traced(f, { Vec })(3, 4), 10 + 25 + 6);
});

test('a class instance as the argument: its gradient is a plain object of its fields', (t) => {
  const v = new Vec(3, 4);
  const [g] = gradient(traced((v) => v.norm * v.dot(v)), v);
  // |v|³: gradient 3|v| v
  assertClose(t, g, { x: 45, y: 60 });
  t.is(Object.getPrototypeOf(g), Object.prototype);
  t.true(v instanceof Vec);
  t.deepEqual(leakedLeaves(v), []);
  t.is(typeof v.x, 'number');
});

test('a class with a setter and a mutating method', (t) => {
  const Acc = traced(
    class Acc {
      constructor() {
        this.total = 0;
      }
      set add(v) {
        this.total = this.total + v;
      }
      times(k) {
        this.total *= k;
        return this;
      }
    },
  );
  const f = (x) => {
    const a = new Acc();
    a.add = x;
    a.add = x * x;
    return a.times(x).total;
  };
  // (x + x²)·x
  checkClosed(t, f, [2], [3 * 4 + 2 * 2], { scope: { Acc } });
});

// ---------------------------------------------------------------- array methods with callbacks

test('map and reduce: sum of squares', (t) => {
  const f = (xs) => xs.map((v) => v * v).reduce((a, b) => a + b, 0);
  checkClosed(t, f, [[1, -2, 3]], [[2, -4, 6]]);
  const g = (xs) => xs.reduce((a, v, i) => a + v ** (i + 1));
  checkGradient(t, g, [[0.5, 1.5, 2]]);
});

test('forEach accumulating into a closure variable', (t) => {
  const f = (xs) => {
    let s = 0;
    xs.forEach((v, i) => {
      s += Math.sin(v) * i;
    });
    return s;
  };
  checkGradient(t, f, [[0.1, 0.2, 0.3, 0.4]]);
});

test('filter by a tracked comparison', (t) => {
  const f = (xs, x) =>
    xs.filter((v) => v > x).reduce((a, v) => a + (v - x) ** 2, 0);
  // elements above 1: 2 and 3 → (2-x)² + (3-x)²
  const [dxs, dx] = checkClosed(t, f, [[0.5, 2, 3, -1], 1], [[0, 2, 4, 0], -6]);
  t.is(dxs.length, 4);
  t.is(typeof dx, 'number');
  checkGradient(t, f, [[0.5, 2, 3, -1], 1.2]);
});

test('find, some, every and flatMap on tracked values', (t) => {
  const f = (xs) => {
    const big = xs.find((v) => v > 2);
    const anyNeg = xs.some((v) => v < 0);
    const allSmall = xs.every((v) => v < 10);
    const pairs = xs.flatMap((v) => [v, v * v]);
    return big * (anyNeg ? 2 : 1) * (allSmall ? 1 : 0) + pairs[3];
  };
  // big = 3 (xs[1]), anyNeg: yes; pairs[3] = xs[1]²
  checkClosed(t, f, [[1, 3, -1]], [[0, 2 + 6, 0]]);
});

test('sort with a numeric comparator (a - b) on tracked values', (t) => {
  // Regression (fixed): native sort coerces the comparator's tracked result and throws; the error blames the caller of gradient.
  const f = (xs) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return sorted[0] * 10 + sorted[2];
  };
  // sorted = [-1, 1, 3]: 10·xs[2] + xs[1]
  checkClosed(t, f, [[1, 3, -1]], [[0, 1, 10]]);
});

test('map building objects, then reading them back', (t) => {
  const f = (xs) => {
    const objs = xs.map((v, i) => ({ v, w: v * i }));
    let s = 0;
    for (const { v, w } of objs) s += v * w;
    return s;
  };
  // Σ i·v_i² → 2 i v_i
  checkClosed(t, f, [[1, 2, 3]], [[0, 4, 12]]);
});
