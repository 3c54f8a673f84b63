// Containers in traced code: reads and writes of tracked values through objects, class instances, arrays, typed arrays, Maps and Sets carry gradients, and no tracked value leaks into the caller's containers.
import test from 'ava';
import { traced, gradient, withGradient, pullback, jacobian } from '../../dist/index.js';
import { numericGradient, assertClose } from '../helpers/reference.mjs';

// ---------------------------------------------------------------------------------------------------------------
// helpers

const NON_NUMERIC = new Set(['string', 'boolean', 'undefined', 'function', 'symbol', 'bigint']);

/**
 * Walks every leaf of `root` (array elements, typed-array elements, own enumerable fields of objects and class
 * instances, Map keys and values, Set elements) and asserts that each leaf that is not a string/boolean/null/
 * undefined/function has `typeof v === 'number'`: an object that is not a container (a tracked value) fails.
 */
function assertPlain(t, root, label = 'container') {
  const bad = [];
  const seen = new Set();
  const walk = (x, path) => {
    if (x === null || NON_NUMERIC.has(typeof x)) return;
    if (typeof x === 'number') return;
    if (seen.has(x)) return;
    seen.add(x);
    if (ArrayBuffer.isView(x)) {
      for (let i = 0; i < x.length; i++) if (typeof x[i] !== 'number') bad.push(`${path}[${i}]`);
      return;
    }
    if (Array.isArray(x)) {
      for (let i = 0; i < x.length; i++) walk(x[i], `${path}[${i}]`);
      return;
    }
    if (x instanceof Map) {
      for (const [k, v] of x) {
        if (k !== null && typeof k === 'object' && !isWalkable(k)) bad.push(`${path} key ${String(k)}`);
        walk(v, `${path}.get(${String(k)})`);
      }
      return;
    }
    if (x instanceof Set) {
      for (const v of x) {
        if (v !== null && typeof v === 'object' && !isWalkable(v)) bad.push(`${path} element ${String(v)}`);
        else walk(v, `${path}{${String(v)}}`);
      }
      return;
    }
    const proto = Object.getPrototypeOf(x);
    const isPlainOrInstance = proto === Object.prototype || proto === null || isUserClassInstance(x);
    if (!isPlainOrInstance) {
      // anything else that is an object where a number should be: a leaked tracked value
      bad.push(`${path} (${x?.constructor?.name ?? 'object'})`);
      return;
    }
    for (const k of Object.keys(x)) walk(x[k], `${path}.${k}`);
  };
  walk(root, label);
  if (bad.length === 0) t.pass();
  else t.fail(`${label} holds non-number leaves at: ${bad.join(', ')}`);
}
const isWalkable = (x) => Array.isArray(x) || x instanceof Map || x instanceof Set || ArrayBuffer.isView(x);
/** Instances of classes defined in this file (the library's tracked value class is not one of them). */
const USER_CLASSES = new Set();
const isUserClassInstance = (x) => [...USER_CLASSES].some((C) => x instanceof C);

/** The state the caller's arguments should be in after f mutates them: run the plain function on clones. */
function plainRun(f, ...args) {
  const copies = structuredClone(args);
  f(...copies);
  return copies;
}

// ---------------------------------------------------------------------------------------------------------------
// plain objects

test('object: field reads carry the gradient; the object stays plain and unchanged', (t) => {
  const f = (o) => o.a * o.b + Math.sin(o.c) * o.a;
  const mk = () => ({ a: 1.3, b: -0.7, c: 0.4, label: 'p' });
  const o = mk();
  const [g] = gradient(f, o);
  // closed form: d/da = b + sin c, d/db = a, d/dc = a cos c; label -> null
  assertClose(t, g, { a: -0.7 + Math.sin(0.4), b: 1.3, c: 1.3 * Math.cos(0.4), label: null });
  assertClose(t, g, numericGradient(f, mk())[0]);
  assertPlain(t, o);
  t.deepEqual(o, mk());
});

test('object: writing fields, compound assignment and adding new fields carry the gradient', (t) => {
  const f = (o) => {
    o.a = o.a * o.b;
    o.extra = o.a + Math.exp(o.b);
    o['k' + 1] = o.extra * o.extra;
    o.b += o.a;
    o.count = 0;
    o.count++;
    return o.k1 - o.b + o.count * o.a;
  };
  const mk = () => ({ a: 1.1, b: 0.6 });
  const o = mk();
  const [g] = gradient(f, o);
  assertClose(t, g, numericGradient(f, mk())[0]);
  // closed form with p = a b: L = (p + e^b)^2 - (b + p) + p
  const a = 1.1, b = 0.6, p = a * b, e = p + Math.exp(b);
  assertClose(t, g, { a: 2 * e * b, b: 2 * e * (a + Math.exp(b)) - 1 });
  assertPlain(t, o);
  assertClose(t, o, plainRun(f, mk())[0]);
  t.deepEqual(Object.keys(o), ['a', 'b', 'extra', 'k1', 'count']);
});

test('object: nested objects, written and read back, including a new nested object', (t) => {
  const f = (o) => {
    o.q.r.w = o.p.x * o.q.r.z;
    o.p.y = o.p.y * o.q.r.w;
    o.q.s = { t: o.p.y + 1, list: [o.p.x, o.q.r.w] };
    return o.q.s.t * o.p.x + o.q.r.w + o.q.s.list[1] * o.q.s.list[0];
  };
  const mk = () => ({ p: { x: 0.5, y: 1.5 }, q: { r: { z: -0.3 } }, tag: 'n', flag: true });
  const o = mk();
  const [g] = gradient(f, o);
  assertClose(t, g, numericGradient(f, mk())[0]);
  t.is(g.tag, null);
  t.is(g.flag, null);
  assertPlain(t, o);
  assertClose(t, o, plainRun(f, mk())[0]);
});

// ---------------------------------------------------------------------------------------------------------------
// class instances

class Vec {
  constructor(x, y) {
    this.x = x;
    this.y = y;
  }
  norm2() {
    return this.x * this.x + this.y * this.y;
  }
  scale(k) {
    this.x = this.x * k;
    this.y *= k;
    return this;
  }
}
USER_CLASSES.add(Vec);
const VecT = traced(Vec);
USER_CLASSES.add(VecT);

test('class: a traced constructor sets tracked fields and traced methods mutate this', (t) => {
  const f = traced((a, b) => {
    const v = new VecT(a, b);
    v.scale(a);
    return v.norm2();
  }, { VecT });
  const [a, b] = [1.3, -0.8];
  // v = (a^2, a b): L = a^4 + a^2 b^2
  assertClose(t, gradient(f, a, b), [4 * a ** 3 + 2 * a * b * b, 2 * a * a * b]);
});

test('class: instance argument, methods mutate this; gradient is a plain object and the instance stays plain', (t) => {
  const f = traced((v, k) => {
    v.scale(k);
    return v.norm2() * k + v.x;
  });
  const v = new VecT(1.5, -2);
  const [gv, gk] = gradient(f, v, 0.7);
  // L = k^3 (x^2 + y^2) + k x
  const [x, y, k] = [1.5, -2, 0.7];
  assertClose(t, gv, { x: 2 * k ** 3 * x + k, y: 2 * k ** 3 * y });
  assertClose(t, gk, 3 * k * k * (x * x + y * y) + x);
  t.is(Object.getPrototypeOf(gv), Object.prototype);
  t.true(v instanceof VecT);
  assertPlain(t, v);
  assertClose(t, { x: v.x, y: v.y }, { x: x * k, y: y * k });
});

test('class: a class defined inside a self-contained function', (t) => {
  const f = (a, b) => {
    class P {
      constructor(x) {
        this.x = x;
      }
      sq() {
        return this.x * this.x;
      }
      bump(k) {
        this.x = this.x + k;
      }
    }
    const p = new P(a);
    p.bump(b * a);
    return p.sq();
  };
  assertClose(t, gradient(f, 2, 3), numericGradient(f, 2, 3));
  assertClose(t, gradient(f, 2, 3), [2 * (2 + 6) * (1 + 3), 2 * (2 + 6) * 2]);
});

test('class: an instance captured through scope is mutated and left plain with the new values', (t) => {
  const acc = new VecT(0, 0.25);
  const f = traced((x) => {
    acc.x = x * 2;
    acc.scale(x);
    return acc.x + acc.y;
  }, { acc });
  // acc = (2x^2, x/4): L' = 4x + 1/4
  assertClose(t, gradient(f, 1.5), [4 * 1.5 + 0.25]);
  assertPlain(t, acc);
  assertClose(t, { x: acc.x, y: acc.y }, { x: 2 * 1.5 * 1.5, y: 0.25 * 1.5 });
});

// ---------------------------------------------------------------------------------------------------------------
// nested arrays

test('arrays: 2-D arrays written then read back, including writes into the argument', (t) => {
  const f = (A) => {
    const n = A.length;
    const B = [];
    for (let i = 0; i < n; i++) {
      B.push([]);
      for (let j = 0; j < n; j++) B[i][j] = A[i][j] * A[j][i] + A[i][i];
    }
    A[0][1] = B[1][0] * A[1][1];
    A[1][0] += A[0][1];
    let s = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) s += B[i][j] * A[i][j];
    return s;
  };
  const mk = () => [[1.2, -0.5], [0.3, 2.0]];
  const A = mk();
  const [g] = gradient(f, A);
  assertClose(t, g, numericGradient(f, mk())[0]);
  assertPlain(t, A);
  assertClose(t, A, plainRun(f, mk())[0]);
});

test('arrays: a 2-D array created inside the function, filled with tracked values, read back', (t) => {
  const f = (x, y) => {
    const M = [[0, 0], [0, 0]];
    M[0][0] = x * y;
    M[0][1] = Math.cos(x);
    M[1] = [M[0][0] * 2, M[0][1] * y];
    return M[1][0] * M[1][1] + M[0][0];
  };
  assertClose(t, gradient(f, 0.8, -1.4), numericGradient(f, 0.8, -1.4));
});

// ---------------------------------------------------------------------------------------------------------------
// typed arrays

test('Float64Array argument: indexed reads; gradient is a Float64Array', (t) => {
  const f = (ta) => {
    let s = 0;
    for (let i = 0; i < ta.length; i++) s += ta[i] * ta[i] * (i + 1);
    return Math.sqrt(s);
  };
  const ta = new Float64Array([0.5, -1.25, 2]);
  const [g] = gradient(f, ta);
  t.true(g instanceof Float64Array);
  const s = 0.25 + 2 * 1.5625 + 3 * 4;
  assertClose(t, g, new Float64Array([0.5 / Math.sqrt(s), (2 * -1.25) / Math.sqrt(s), (3 * 2) / Math.sqrt(s)]));
  assertClose(t, g, numericGradient(f, new Float64Array([0.5, -1.25, 2]))[0]);
  assertPlain(t, ta);
  t.deepEqual([...ta], [0.5, -1.25, 2]);
});

test('Float32Array argument: gradient is a Float32Array', (t) => {
  const f = (ta) => {
    let s = 0;
    for (let i = 0; i < ta.length; i++) s += ta[i] * ta[i] * (i + 1);
    return s;
  };
  const ta = new Float32Array([0.5, 1.25, -2]);
  const [g] = gradient(f, ta);
  t.true(g instanceof Float32Array);
  assertClose(t, g, new Float32Array([1, 5, -12]));
  assertClose(t, g, numericGradient(f, new Float32Array([0.5, 1.25, -2]))[0], { rtol: 1e-5 });
  assertPlain(t, ta);
});

test('Float64Array created inside the function: a tracked value written into it and read back', (t) => {
  const f = (x) => {
    const buf = new Float64Array(3);
    buf[0] = x * x;
    buf[1] = Math.sin(x);
    buf[2] = buf[0] * buf[1];
    return buf[2] + buf[0];
  };
  const x = 0.9;
  assertClose(t, gradient(f, x), [2 * x * Math.sin(x) + x * x * Math.cos(x) + 2 * x]);
  assertClose(t, gradient(f, x), numericGradient(f, x));
});

test('Float64Array argument written in place then read back; caller sees the written plain numbers', (t) => {
  const f = (ta, x) => {
    ta[1] = ta[0] * x;
    ta[2] = ta[2] * ta[1];
    ta[0] += x;
    return ta[1] + ta[2] * x + ta[0] * ta[0];
  };
  const mk = () => [new Float64Array([0.7, 5, -1.3]), 1.9];
  const [ta, x] = mk();
  const [gta, gx] = gradient(f, ta, x);
  t.true(gta instanceof Float64Array);
  assertClose(t, [gta, gx], numericGradient(f, ...mk()));
  assertPlain(t, ta);
  assertClose(t, ta, plainRun(f, ...mk())[0]);
});

test('Float32Array argument written in place with float32-representable values: gradient flows, caller sees plain numbers', (t) => {
  const f = (ta, x) => {
    ta[0] = ta[0] * x;
    return ta[0] * ta[1];
  };
  const ta = new Float32Array([1.5, 2]);
  const [gta, gx] = gradient(f, ta, 0.5);
  t.true(gta instanceof Float32Array);
  assertClose(t, gx, 1.5 * 2);
  assertClose(t, gta, new Float32Array([0.5 * 2, 1.5 * 0.5]));
  assertPlain(t, ta);
  t.deepEqual([...ta], [0.75, 2]);
});

// Regression (fixed): a tracked value whose primal is not float32-representable, written into a Float32Array, silently loses its gradient (the shadow is dropped because the stored fround(v) differs from v).
test('Float32Array: writing a non-representable tracked value keeps its gradient (derivative of the rounding taken as 1)', (t) => {
  const f = (ta, x) => {
    ta[0] = ta[0] * x;
    return ta[0] * ta[1];
  };
  const ta = new Float32Array([1.5, 2]);
  const [gta, gx] = gradient(f, ta, 0.1);
  assertClose(t, gx, 1.5 * 2, { rtol: 1e-6 });
  assertClose(t, gta, new Float32Array([0.1 * 2, 1.5 * 0.1]), { rtol: 1e-6 });
  assertPlain(t, ta);
  t.is(ta[0], Math.fround(1.5 * 0.1));
  // same inside the function: a Float32Array scratch buffer
  const g = (x) => {
    const b = new Float32Array(1);
    b[0] = x * 3;
    return b[0] * 2;
  };
  assertClose(t, gradient(g, 0.1), [6], { rtol: 1e-6 });
});

test('Float64Array: for...of over the argument', (t) => {
  const f = (ta) => {
    let s = 0;
    for (const v of ta) s += Math.exp(v) * v;
    return s;
  };
  const vals = [0.3, -0.4, 1.1];
  const [g] = gradient(f, new Float64Array(vals));
  t.true(g instanceof Float64Array);
  assertClose(t, g, new Float64Array(vals.map((v) => Math.exp(v) * (1 + v))));
});

test('Float64Array: map, forEach and reduce see tracked elements; map returns a Float64Array', (t) => {
  const kinds = [];
  const f = traced((ta) => {
    const sq = ta.map((v, i) => v * v * (i + 1));
    kinds.push(sq.constructor.name);
    let acc = 0;
    sq.forEach((v) => {
      acc += Math.sin(v);
    });
    return ta.reduce((s, v) => s + v * acc, 0);
  }, { kinds });
  const plain = (ta) => {
    const sq = ta.map((v, i) => v * v * (i + 1));
    let acc = 0;
    sq.forEach((v) => {
      acc += Math.sin(v);
    });
    return ta.reduce((s, v) => s + v * acc, 0);
  };
  const vals = [0.6, -0.2, 0.9];
  const ta = new Float64Array(vals);
  const [g] = gradient(f, ta);
  t.true(g instanceof Float64Array);
  assertClose(t, g, numericGradient(plain, new Float64Array(vals))[0]);
  t.deepEqual(kinds, ['Float64Array']);
  assertPlain(t, ta);
});

test('Float64Array: subarray views alias the argument for reads and writes', (t) => {
  const f = (ta) => {
    const v = ta.subarray(1, 3);
    v[0] = v[0] * v[1];
    return v[0] * ta[3] + ta[1] + v[1] * ta[0];
  };
  const mk = () => [new Float64Array([0.4, 1.5, -0.6, 2.2])];
  const [ta] = mk();
  const [g] = gradient(f, ta);
  t.true(g instanceof Float64Array);
  t.is(g.length, 4);
  assertClose(t, g, numericGradient(f, ...mk())[0]);
  assertPlain(t, ta);
  assertClose(t, ta, plainRun(f, ...mk())[0]);
});

test('Float64Array: a subarray view as the argument gives a gradient of the view length', (t) => {
  const f = (v) => v[0] * v[1] + v[2];
  const base = new Float64Array([9, 9, 0.5, 3, 7]);
  const view = base.subarray(2);
  const [g] = gradient(f, view);
  t.true(g instanceof Float64Array);
  assertClose(t, g, new Float64Array([3, 0.5, 1]));
  assertPlain(t, base);
});

test('Float64Array: set, fill, at, slice, spread, Array.from, compound assignment and ++ keep the gradient', (t) => {
  const f = (ta, x) => {
    const b = new Float64Array(3);
    b.set([x * 2, ta[0]]);
    b.fill(ta[1], 2);
    const c = ta.slice(1);
    const spread = [...ta];
    const copy = Array.from(ta);
    ta[0] += x;
    ta[1] *= 2;
    ta[1]++;
    return b[0] * b[1] + b[2] * ta.at(-1) + c[0] * spread[0] + copy[1] * ta[0] + ta[1];
  };
  const mk = () => [new Float64Array([0.7, -1.2, 2.5]), 0.4];
  const args = mk();
  const g = gradient(f, ...args);
  t.true(g[0] instanceof Float64Array);
  assertClose(t, g, numericGradient(f, ...mk()));
  assertPlain(t, args[0]);
  assertClose(t, args[0], plainRun(f, ...mk())[0]);
});

test('Float64Array: iterating a .map() result made inside the function', (t) => {
  const f = (ta) => {
    const m = ta.map((v) => v * 2);
    let s = 0;
    for (const v of m) s += v * v;
    return s + m[0] * m[1];
  };
  // s = 4(a^2 + b^2) + 4ab
  assertClose(t, gradient(f, new Float64Array([2, 3])), [new Float64Array([8 * 2 + 12, 8 * 3 + 8])]);
});

// Regression (fixed): array destructuring of a Float64Array argument (`const [a, b] = ta`) reads plain numbers: the gradient is silently null.
test('Float64Array: array destructuring of the argument carries the gradient', (t) => {
  const f = (ta) => {
    const [a, b] = ta;
    return a * b;
  };
  assertClose(t, gradient(f, new Float64Array([2, 3])), [new Float64Array([3, 2])]);
});

// Regression (fixed): iterating ta.values() / ta.entries() of a Float64Array argument yields plain numbers: the gradient is silently null.
test('Float64Array: for...of over ta.values() and ta.entries() carries the gradient', (t) => {
  const f = (ta) => {
    let s = 0;
    for (const v of ta.values()) s += v * v;
    for (const [i, v] of ta.entries()) s += v * i;
    return s;
  };
  assertClose(t, gradient(f, new Float64Array([2, 3])), [new Float64Array([4, 7])]);
});

// Regression (fixed): `new Float64Array([tracked, ...])` (and Float64Array.from) inside traced code throws "a tracked value reached arithmetic in ... which was not traced", blaming the user's traced function.
test('Float64Array: constructing a typed array from tracked values (new Float64Array([...]), Float64Array.from)', (t) => {
  const f = (x) => {
    const b = new Float64Array([x * 2, x]);
    const c = Float64Array.from([x, 1]);
    return b[0] * b[1] + c[0];
  };
  // 2x^2 + x
  assertClose(t, gradient(f, 3), [13]);
});

test('arrays: map/filter/reduce, spread, destructuring and Object.values over tracked values', (t) => {
  const f = (arr, o) => {
    const sq = arr.map((v) => v * v).filter((v) => v > 1);
    const [first, ...rest] = arr;
    const { a, b: [c] } = o;
    const copy = { ...o, z: a * 2 };
    return sq.reduce((s, v) => s + v, 0) + first * rest[1] + a * c + copy.z * copy.b[0] + Object.values(o).length * Math.max(...arr);
  };
  const mk = () => [[0.5, 2, 3], { a: 1.5, b: [-2] }];
  const args = mk();
  assertClose(t, gradient(f, ...args), numericGradient(f, ...mk()));
  for (const a of args) assertPlain(t, a);
  t.deepEqual(args, mk());
});

// Regression (fixed): Array.prototype.sort with a comparator on tracked values throws "a tracked value reached arithmetic ... not traced" (the comparator's tracked result reaches native sort).
test('arrays: sort with a comparator over tracked values', (t) => {
  const f = (arr) => {
    const s = arr.slice().sort((a, b) => a - b);
    return s[0] * 2 + s[2] * s[1];
  };
  // sorted (1, 2, 3) from indices (1, 2, 0): L = 2 a1 + a0 a2
  assertClose(t, gradient(f, [3, 1, 2]), [[2, 2, 3]]);
});

test('Map: values that are arrays and objects; gradient nests the same way', (t) => {
  const f = (m) => m.get('w')[0] * m.get('w')[1] + m.get('o').p * 2;
  const [g] = gradient(f, new Map([['w', [2, 3]], ['o', { p: 1.5, q: 4 }], ['k', 1]]));
  t.true(g instanceof Map);
  t.deepEqual([...g.keys()], ['w', 'o']);
  assertClose(t, g.get('w'), [3, 2]);
  assertClose(t, g.get('o'), { p: 2, q: null });
});

// Regression (fixed): a frozen object argument cannot hold inputs, and its gradient is silently null; expected the gradient or a clear TracegradError.
test('object: a frozen object argument gives its gradient or a clear error, not a silent null', (t) => {
  let g;
  try {
    g = gradient((o) => o.a * o.a, Object.freeze({ a: 2 }));
  } catch (err) {
    t.is(err.name, 'TracegradError');
    return;
  }
  assertClose(t, g, [{ a: 4 }]);
});

// ---------------------------------------------------------------------------------------------------------------
// Maps and Sets

test('Map: get/set/has/delete and iteration by for...of, forEach, keys, values and entries', (t) => {
  const f = (m) => {
    let s = 0;
    for (const [, v] of m) s += v * v;
    m.forEach((v, k) => {
      if (k !== 'c') s += v * m.get('c');
    });
    for (const k of m.keys()) s += m.get(k) * 0.5;
    for (const v of m.values()) s += Math.sin(v);
    for (const [k, v] of m.entries()) s += v * k.length;
    if (m.has('b')) s = s * m.get('b');
    m.set('d', m.get('a') * 3);
    m.delete('c');
    s += m.get('d') * m.get('a');
    if (!m.has('c')) s += 1;
    return s;
  };
  const mk = () => new Map([['a', 1.5], ['b', -0.5], ['cc', 0.25], ['c', 2]]);
  const m = mk();
  const [g] = gradient(f, m);
  t.true(g instanceof Map);
  assertClose(t, g, numericGradient(f, mk())[0]);
  assertPlain(t, m);
  assertClose(t, m, plainRun(f, mk())[0]);
  t.deepEqual([...m.keys()], ['a', 'b', 'cc', 'd']);
});

test('Map created inside the function with tracked values and a tracked key', (t) => {
  const f = (x, y) => {
    const m = new Map();
    m.set('x', x * y);
    m.set(2, Math.exp(x));
    m.set(y, 10); // a tracked key is looked up by its value
    let s = 0;
    for (const [k, v] of m) if (typeof k === 'string') s += v * v;
    return s + m.get(2) * m.get(y) + (m.has(-0.5) ? 1 : 0);
  };
  assertClose(t, gradient(f, 0.3, -0.5), numericGradient(f, 0.3, -0.5));
  // L = x^2 y^2 + 10 e^x + 1
  assertClose(t, gradient(f, 0.3, -0.5), [2 * 0.3 * 0.25 + 10 * Math.exp(0.3), 2 * 0.09 * -0.5]);
});

test('Set of numbers still works (has/add/delete/iteration) and holds plain numbers afterwards', (t) => {
  const f = (x, s) => {
    let acc = 0;
    for (const v of s) acc += v * x;
    if (s.has(2)) acc = acc * x;
    s.add(x * 10);
    s.delete(1);
    return acc + (s.has(x * 10) ? x : 0) + s.size;
  };
  const s = new Set([1, 2, 3]);
  const [gx, gs] = gradient(f, 0.5, s);
  // acc = 6 x^2, + x
  assertClose(t, gx, 12 * 0.5 + 1);
  t.is(gs, null);
  assertPlain(t, s);
  t.deepEqual([...s], [2, 3, 5]);
});

// ---------------------------------------------------------------------------------------------------------------
// overwriting cuts the old value's path

test('overwrite: a Map key set twice keeps only the last value', (t) => {
  const f = (x) => {
    const m = new Map();
    m.set('a', x * 2);
    m.set('a', 3);
    return m.get('a') * x;
  };
  assertClose(t, gradient(f, 1.7), [3]);
});

test('overwrite: a Map argument entry replaced by a constant gets no gradient', (t) => {
  const f = (m, x) => {
    m.set('a', 3);
    return m.get('a') * x;
  };
  const m = new Map([['a', 1.5]]);
  const [gm, gx] = gradient(f, m, 2);
  t.is(gm, null);
  assertClose(t, gx, 3);
  t.is(m.get('a'), 3);
});

test('overwrite: an array element replaced by a constant cuts the old path', (t) => {
  const f = (x) => {
    const a = [x * x, x];
    a[0] = 5;
    return a[0] * a[1];
  };
  assertClose(t, gradient(f, 1.3), [5]);
  const g = (arr, x) => {
    arr[0] = 7;
    return arr[0] * x + arr[1] * x;
  };
  const arr = [1, 2];
  assertClose(t, gradient(g, arr, 0.5), [[0, 0.5], 9]);
  assertPlain(t, arr);
  t.deepEqual(arr, [7, 2]);
});

test('overwrite: a typed-array element replaced by a constant cuts the old path', (t) => {
  const f = (x) => {
    const b = new Float64Array(2);
    b[0] = x * x;
    b[0] = 4;
    return b[0] * x;
  };
  assertClose(t, gradient(f, 1.3), [4]);
  const g = (ta, x) => {
    ta[0] = ta[0] * x;
    ta[0] = 2;
    return ta[0] * ta[1] * x;
  };
  const ta = new Float64Array([3, 5]);
  const [gta, gx] = gradient(g, ta, 0.5);
  assertClose(t, gta, new Float64Array([0, 2 * 0.5]));
  assertClose(t, gx, 2 * 5);
  t.deepEqual([...ta], [2, 5]);
});

test('overwrite: an object field replaced by a constant cuts the old path', (t) => {
  const f = (o, x) => {
    o.a = o.a * x;
    o.a = 2;
    return o.a * x + o.b;
  };
  const o = { a: 3, b: 1 };
  const [go, gx] = gradient(f, o, 0.5);
  assertClose(t, go, { a: null, b: 1 });
  assertClose(t, gx, 2);
  t.deepEqual(o, { a: 2, b: 1 });
});

// ---------------------------------------------------------------------------------------------------------------
// gradient shapes

test('shape: Array argument has the same length, 0 for unreached numbers, null for non-numeric entries', (t) => {
  const f = (arr) => arr[1] * arr[4].k + arr[5][0] * arr[1];
  const mk = () => ['s', 1.5, null, 2, { k: 3 }, [4, 'z'], true, undefined, 2.5];
  const arr = mk();
  const [g] = gradient(f, arr);
  t.true(Array.isArray(g));
  t.is(g.length, arr.length);
  assertClose(t, g, [null, 3 + 4, null, 0, { k: 1.5 }, [1.5, null], null, null, 0]);
  assertPlain(t, arr);
  t.deepEqual(arr, mk());
});

test('shape: object argument has null for fields that got nothing', (t) => {
  const f = (o) => o.a * o.a;
  const [g] = gradient(f, { a: 1.5, b: 2, s: 'x', n: null });
  assertClose(t, g, { a: 3, b: null, s: null, n: null });
});

test('shape: Map argument lists only the keys that got a gradient', (t) => {
  const f = (m) => m.get('a') * 4;
  const [g] = gradient(f, new Map([['a', 1], ['b', 2], ['c', 'str']]));
  t.true(g instanceof Map);
  t.deepEqual([...g.keys()], ['a']);
  assertClose(t, g.get('a'), 4);
});

test('shape: typed arrays keep their type', (t) => {
  const f = (a, b) => a[0] * b[1];
  const [ga, gb] = gradient(f, new Float32Array([2, 3]), new Float64Array([5, 7]));
  t.true(ga instanceof Float32Array);
  t.true(gb instanceof Float64Array);
  assertClose(t, ga, new Float32Array([7, 0]));
  assertClose(t, gb, new Float64Array([0, 2]));
});

test('shape: an argument no gradient reaches is null', (t) => {
  const f = (x, arr, o, m, ta, s) => x * 2;
  const r = gradient(f, 1, [1, 2], { a: 1 }, new Map([['a', 1]]), new Float64Array([1]), 'str');
  assertClose(t, r[0], 2);
  t.deepEqual(r.slice(1), [null, null, null, null, null]);
  // a number argument that is never used
  t.deepEqual(gradient((x, y) => x * 3, 1, 2).slice(1), [null]);
});

test('shape: the same array passed twice gets the total derivative in both places', (t) => {
  const f = (p, q) => p[0] * q[1] + p[1];
  const a = [1.5, 2.5];
  const [gp, gq] = gradient(f, a, a);
  // a0 * a1 + a1: d/da0 = a1, d/da1 = a0 + 1
  assertClose(t, gp, [2.5, 2.5]);
  assertClose(t, gq, [2.5, 2.5]);
  assertClose(t, [gp, gq], numericGradient(f, a, a));
  assertPlain(t, a);
  t.deepEqual(a, [1.5, 2.5]);
});

test('shape: aliasing inside one argument (the same row twice)', (t) => {
  const f = (A) => A[0][0] * A[1][1];
  const r = [2, 3];
  const A = [r, r];
  const [g] = gradient(f, A);
  assertClose(t, g, [[3, 2], [3, 2]]);
  assertClose(t, g, numericGradient(f, A)[0]);
  assertPlain(t, A);
});

test('shape: the same typed array passed twice', (t) => {
  const f = (p, q) => p[0] * q[0] + q[1];
  const ta = new Float64Array([3, 4]);
  const [gp, gq] = gradient(f, ta, ta);
  const total = new Float64Array([6, 1]);
  // both arguments name the same elements: either each gets the total, and the gradient can be read from either
  assertClose(t, gp, total);
  assertClose(t, gq, total);
});

// ---------------------------------------------------------------------------------------------------------------
// mutation visible to the caller, under every API

test('mutation: arguments mutated by f hold the mutated plain numbers after gradient, withGradient, pullback and jacobian', (t) => {
  const f = (arr, o, m, ta) => {
    arr.push(arr[0] * 2);
    arr[1] = arr[1] + 1;
    o.sum = arr[0] + arr[1];
    m.set('z', o.sum * 3);
    ta[0] = ta[0] * o.sum;
    return o.sum * ta[0];
  };
  const mk = () => [[0.5, 1.5], { w: 2 }, new Map([['y', 1]]), new Float64Array([0.25])];
  const expected = plainRun(f, ...mk());
  const check = (args, what) => {
    for (const a of args) assertPlain(t, a, what);
    assertClose(t, args, expected, { message: what });
  };
  const reference = numericGradient(f, ...mk());

  let args = mk();
  const g = gradient(f, ...args);
  check(args, 'gradient');
  // arr[1] and arr[0] reach the loss; o.w, m.y do not
  assertClose(t, g[0], reference[0]);
  assertClose(t, g[3], reference[3]);

  args = mk();
  const wg = withGradient(f, ...args);
  check(args, 'withGradient');
  t.is(typeof wg.value, 'number');

  args = mk();
  const [y, back] = pullback(f, ...args);
  check(args, 'pullback');
  t.is(typeof y, 'number');
  const b1 = back(1);
  const b2 = back(2);
  assertClose(t, b1[0], reference[0]);
  assertClose(t, b2[0], reference[0].map((v) => 2 * v));
  check(args, 'after back()');

  args = mk();
  jacobian(f, ...args);
  check(args, 'jacobian');
});

test('mutation: a tracked value returned inside a container output comes back as plain numbers', (t) => {
  const f = (arr) => {
    arr[0] = arr[0] * arr[1];
    return [arr[0] + arr[1], { aux: arr[0] }, arr];
  };
  const arr = [2, 3];
  const { value, grad } = withGradient(f, arr);
  assertPlain(t, value, 'value');
  assertPlain(t, arr, 'arr');
  assertClose(t, value, [9, { aux: 6 }, [6, 3]]);
  assertClose(t, grad, [[3, 3]]);
  t.is(value[2], arr);
});

// ---------------------------------------------------------------------------------------------------------------
// errors inside a gradient call restore the arguments

// Regression (fixed): when f throws during gradient(), cleanUp never runs, so the caller's containers keep tracked values.
test('throw: after f throws inside gradient, every argument holds plain numbers again', (t) => {
  const f = (arr, o, ta, m, x) => {
    arr[0] = arr[0] * arr[1];
    o.a = o.a * x;
    o.b = [arr[0], { c: o.a }];
    ta[0] = ta[0] * 3;
    m.set('k', arr[0] * x);
    if (x > 0) throw new Error('stop');
    return x;
  };
  const arr = [1, 2];
  const o = { a: 3 };
  const ta = new Float64Array([4, 5]);
  const m = new Map([['j', 6]]);
  t.throws(() => gradient(f, arr, o, ta, m, 0.5), { message: 'stop' });
  for (const a of [arr, o, ta, m]) assertPlain(t, a);
  t.deepEqual(arr, [2, 2]);
  t.deepEqual(o, { a: 1.5, b: [2, { c: 1.5 }] });
  t.deepEqual([...ta], [12, 5]);
  t.deepEqual([...m], [['j', 6], ['k', 1]]);
});

test('throw: after f throws inside gradient, the error propagates unchanged and the next gradient call works', (t) => {
  const err = new TypeError('original');
  const f = traced((x) => {
    if (x > 0) throw err;
    return x;
  }, { err });
  t.is(t.throws(() => gradient(f, 1)), err);
  assertClose(t, gradient((x) => x * x, 3), [6]);
  const arr = [2];
  assertClose(t, gradient((a) => a[0] * a[0], arr), [[4]]);
  assertPlain(t, arr);
});

// Regression (fixed): when f throws during pullback()/withGradient(), the caller's containers keep tracked values.
test('throw: after f throws inside pullback and withGradient, the arguments are plain', (t) => {
  const f = (arr) => {
    arr.push(arr[0] * 2);
    throw new RangeError('nope');
  };
  const a1 = [1];
  t.throws(() => pullback(f, a1), { instanceOf: RangeError });
  assertPlain(t, a1);
  t.deepEqual(a1, [1, 2]);
  const a2 = [1];
  t.throws(() => withGradient(f, a2), { instanceOf: RangeError });
  assertPlain(t, a2);
  t.deepEqual(a2, [1, 2]);
});

// Regression (fixed): when traced code throws, containers captured through scope keep the tracked values written before the throw.
test('throw: a throw from a nested traced helper still restores captured containers', (t) => {
  const log = [];
  const helper = traced((v) => {
    log.push(v * 2);
    throw new Error('inner');
  }, { log });
  const f = traced((x) => helper(x * 3), { helper });
  t.throws(() => gradient(f, 1.5), { message: 'inner' });
  assertPlain(t, log);
  t.deepEqual(log, [9]);
});

// ---------------------------------------------------------------------------------------------------------------
// containers captured through traced scope outlive the call

test('captured: values written into a captured array, object, Map, typed array and scope variable are plain afterwards', (t) => {
  const store = [];
  const cache = new Map();
  const obj = {};
  const ta = new Float64Array(2);
  const scope = { store, cache, obj, ta, saved: 0 };
  const f = traced((x) => {
    store.push(x * 2);
    cache.set('sq', x * x);
    cache.set(x, 'key');
    obj.v = x + 1;
    obj.nested = { w: x * 3, arr: [x, x * x] };
    ta[0] = x * 5;
    saved = x * 4;
    return store[0] * cache.get('sq') + obj.nested.w + ta[0] + saved;
  }, scope);
  const x = 1.5;
  // L = 2x^3 + 3x + 5x + 4x
  assertClose(t, gradient(f, x), [6 * x * x + 12]);
  for (const c of [store, cache, obj, ta, scope]) assertPlain(t, c);
  t.deepEqual(store, [3]);
  t.deepEqual([...cache], [['sq', 2.25], [1.5, 'key']]);
  t.deepEqual(obj, { v: 2.5, nested: { w: 4.5, arr: [1.5, 2.25] } });
  t.deepEqual([...ta], [7.5, 0]);
  t.is(scope.saved, 6);
});

test('captured: a Map memo filled during one gradient call is a constant in the next', (t) => {
  const memo = new Map();
  const f = traced((x) => {
    if (!memo.has('w')) memo.set('w', x * 2);
    return memo.get('w') * x;
  }, { memo });
  assertClose(t, gradient(f, 1.5), [6]); // d/dx 2x^2 = 4x
  assertPlain(t, memo);
  t.is(memo.get('w'), 3);
  assertClose(t, gradient(f, 4), [3]); // memo holds the constant 3 now
  assertPlain(t, memo);
});

test('captured: a captured array written by pullback stays plain while back() runs repeatedly', (t) => {
  const trail = [];
  const f = traced((x, y) => {
    trail.push(x * y);
    return trail[trail.length - 1] * x;
  }, { trail });
  const [v, back] = pullback(f, 2, 3);
  assertPlain(t, trail);
  t.is(v, 12);
  assertClose(t, back(1), [12, 4]);
  assertClose(t, back(0.5), [6, 2]);
  assertPlain(t, trail);
  t.deepEqual(trail, [6]);
});
