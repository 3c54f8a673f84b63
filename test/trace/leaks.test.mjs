// Leak regression tests: after a gradient call no tracked value remains in static fields, function properties, private fields, WeakMaps, symbol keys, hidden properties, prototypes or globals.
import test from 'ava';
import { traced, gradient } from '../../dist/index.js';
import { assertClose } from '../helpers/reference.mjs';

/**
 * Every leaf reachable from `root` through own properties (string and symbol keys, enumerable or not), prototypes
 * other than the built-in ones, array and typed-array elements, Map keys and values, and Set elements must be a
 * number or a non-numeric primitive; an object that is not a container (a tracked value) is reported by path.
 */
function leaks(root) {
  const bad = [];
  const seen = new Set();
  const builtinProtos = new Set([Object.prototype, Array.prototype, Function.prototype, Map.prototype, Set.prototype]);
  const walk = (v, path) => {
    if (v === null || typeof v !== 'object' && typeof v !== 'function') return;
    if (seen.has(v) || builtinProtos.has(v)) return;
    seen.add(v);
    if (ArrayBuffer.isView(v)) {
      for (let i = 0; i < v.length; i++) if (typeof v[i] !== 'number' && typeof v[i] !== 'bigint') bad.push(`${path}[${i}]`);
      return;
    }
    const isContainer = Array.isArray(v) || v instanceof Map || v instanceof Set || typeof v === 'function' ||
      Object.getPrototypeOf(v) === null || Object.getPrototypeOf(v) === Object.prototype ||
      v.constructor?.prototype === Object.getPrototypeOf(v) && v.constructor?.name !== 'Tracked' ||
      !Object.prototype.hasOwnProperty.call(Object.getPrototypeOf(v), 'constructor'); // made by Object.create(plain)
    if (!isContainer || v.constructor?.name === 'Tracked') {
      bad.push(`${path} (${Object.prototype.toString.call(v)} ${v.constructor?.name})`);
      return;
    }
    if (v instanceof Map) for (const [k, x] of v) { walk(k, `${path} key`); walk(x, `${path}.get(${String(k)})`); }
    if (v instanceof Set) for (const x of v) walk(x, `${path} element`);
    for (const key of Reflect.ownKeys(v)) {
      const d = Object.getOwnPropertyDescriptor(v, key);
      if ('value' in d) walk(d.value, `${path}.${String(key)}`);
    }
    walk(Object.getPrototypeOf(v), `${path}.<proto>`);
  };
  walk(root, '<root>');
  return bad;
}

const assertNoLeak = (t, root, label) => t.deepEqual(leaks(root), [], `${label}: tracked values left behind`);

test('the leak walker itself reports a tracked value that untraced code stashed away', (t) => {
  const box = {};
  const stash = (v) => { box.v = v; }; // untraced: its write is invisible to tracegrad
  gradient(traced((x) => { stash(x); return x * x; }, { stash }), 3);
  t.true(typeof box.v !== 'number', 'this stash is expected to keep the tracked value');
  t.deepEqual(leaks(box).length, 1);
  t.deepEqual(leaks({ a: [1, { b: new Map([['k', 2]]) }], s: new Set([3]), f: new Float64Array(2) }), []);
});

test('class static fields written in traced code hold plain numbers afterwards', (t) => {
  class K0 { static s = 0; static bump(v) { K0.s += v; } }
  const K = traced(K0);
  const g = gradient(traced((x) => { K.s = x * 7; K.bump(x * x); return x * x; }, { K }), 1.5);
  assertClose(t, g, [3]);
  t.is(typeof K.s, 'number');
  t.is(K.s, 1.5 * 7 + 1.5 ** 2);
  assertNoLeak(t, K, 'K');
});

test('static private fields hold plain numbers afterwards', (t) => {
  class A0 { static #sp = 1; static get sp() { return A0.#sp; } static bump(v) { A0.#sp *= v; } }
  const A = traced(A0);
  const g = gradient(traced((x) => { A.bump(x * 5); return x * x; }, { A }), 2);
  assertClose(t, g, [4]);
  t.is(typeof A.sp, 'number');
  t.is(A.sp, 10);
});

test('function properties (fn.cache = …, a named function expression storing m.last) hold plain numbers', (t) => {
  const fnObj = function () {};
  const f = traced((x) => { fnObj.cache = x * 2; return x * x; }, { fnObj });
  assertClose(t, gradient(f, 1.5), [3]);
  t.is(typeof fnObj.cache, 'number');
  t.is(fnObj.cache, 3);
  assertNoLeak(t, fnObj, 'fnObj');

  const memo = traced(function m(x) { m.last = x; return x * x; });
  assertClose(t, gradient(memo, 2), [4]);
  t.is(typeof memo.last, 'number');
  t.is(memo.last, 2);
  assertClose(t, gradient(traced((x) => memo(x) * 2, { memo }), 4), [16]);
  t.is(typeof memo.last, 'number');
  t.is(memo.last, 4);
});

// Regression (fixed): a fresh container stored on a function or class (fn.list = [x], K.list = [x]) keeps its tracked values (the same write on a plain object is cleaned)
test('containers stored as function and class properties hold plain numbers afterwards', (t) => {
  const fnObj = function () {};
  class K {}
  gradient(traced((x) => { fnObj.list = [x, { v: x * 3 }]; K.list = [x * 2]; return x * x; }, { fnObj, K }), 1.5);
  assertNoLeak(t, fnObj, 'fnObj');
  assertNoLeak(t, K, 'K');
  t.deepEqual(fnObj.list, [1.5, { v: 4.5 }]);
  t.deepEqual(K.list, [3]);
});

test('private fields of an instance that lives on hold plain numbers and work in the next gradient call', (t) => {
  class Acc0 {
    #total = 0;
    #p = 0;
    add(v) { this.#total += v; return this; }
    setP(v) { this.#p = v; }
    getP() { return this.#p; }
    get total() { return this.#total; }
  }
  const Acc = traced(Acc0);
  const acc = new Acc();
  const g1 = gradient(traced((x) => { acc.add(x * x); acc.setP(x * 7); return acc.total; }, { acc }), 3);
  assertClose(t, g1, [6]);
  t.is(typeof acc.total, 'number');
  t.is(acc.total, 9);
  t.is(typeof acc.getP(), 'number');
  t.is(acc.getP(), 21);
  // the stored 9 is a constant now: d/dx (9 + x) = 1
  const g2 = gradient(traced((x) => { acc.add(x); return acc.total * 1; }, { acc }), 2);
  assertClose(t, g2, [1]);
  t.is(typeof acc.total, 'number');
  t.is(acc.total, 11);
});

test('WeakMap values that are numbers hold plain numbers afterwards', (t) => {
  const ws = new WeakMap();
  const key = {};
  ws.set(key, { v: 0 });
  const other = {};
  const g = gradient(traced((x) => { ws.set(other, x * 8); ws.get(key).v = x * 4; return x * x; }, { ws, key, other }), 1.5);
  assertClose(t, g, [3]);
  t.is(typeof ws.get(other), 'number');
  t.is(ws.get(other), 12);
  t.is(typeof ws.get(key).v, 'number');
  t.is(ws.get(key).v, 6);
});

// Regression (fixed): a container created in traced code and stored as a WeakMap value (ws.set(k, [x * 3])) keeps its tracked values
test('WeakMap values that are fresh containers hold plain numbers afterwards', (t) => {
  const ws = new WeakMap();
  const k1 = {}, k2 = {};
  gradient(traced((x) => { ws.set(k1, [x * 3]); ws.set(k2, { v: x, m: new Map([['a', x * 2]]) }); return x; }, { ws, k1, k2 }), 2);
  assertNoLeak(t, ws.get(k1), 'ws.get(k1)');
  assertNoLeak(t, ws.get(k2), 'ws.get(k2)');
  t.deepEqual(ws.get(k1), [6]);
  t.is(ws.get(k2).v, 2);
});

// Regression (fixed): an object created in traced code and added to a Set that outlives the call keeps its tracked values
test('Set elements that are fresh objects hold plain numbers afterwards', (t) => {
  const st = new Set();
  gradient(traced((x) => { st.add({ v: x * 2 }); return x; }, { st }), 2);
  assertNoLeak(t, st, 'st');
  t.deepEqual([...st], [{ v: 4 }]);
});

test('symbol-keyed properties hold plain numbers afterwards', (t) => {
  const sym = Symbol('s');
  const holder = {};
  const g = gradient(traced((x) => { holder[sym] = x * 10; holder[Symbol.for('tg.leak')] = { deep: [x * 2] }; return x * x; }, { holder, sym }), 1.5);
  assertClose(t, g, [3]);
  t.is(typeof holder[sym], 'number');
  t.is(holder[sym], 15);
  t.is(typeof holder[Symbol.for('tg.leak')].deep[0], 'number');
  t.is(holder[Symbol.for('tg.leak')].deep[0], 3);
  assertNoLeak(t, holder, 'holder');
});

test('non-enumerable properties made with Object.defineProperty hold plain numbers afterwards', (t) => {
  const hidden = {};
  const g = gradient(traced((x) => {
    Object.defineProperty(hidden, 'h', { value: x * 11, enumerable: false, writable: true });
    Object.defineProperty(hidden, 'arr', { value: [x * 3], enumerable: false });
    return x * x;
  }, { hidden }), 1.5);
  assertClose(t, g, [3]);
  t.is(typeof hidden.h, 'number');
  t.is(hidden.h, 16.5);
  t.is(typeof hidden.arr[0], 'number');
  t.is(hidden.arr[0], 4.5);
  assertNoLeak(t, hidden, 'hidden');
});

test('Object.create({ inh: x }) prototypes hold plain numbers afterwards', (t) => {
  const out = {};
  const g = gradient(traced((x) => { out.p = Object.create({ inh: x * 13 }); out.q = Object.create(Object.create({ deep: x * 2 })); return x * x; }, { out }), 1.5);
  assertClose(t, g, [3]);
  t.is(typeof out.p.inh, 'number');
  t.is(out.p.inh, 19.5);
  t.is(typeof out.q.deep, 'number');
  t.is(out.q.deep, 3);
  assertNoLeak(t, out, 'out');
});

test('Object.create with an own numeric property and an existing prototype object', (t) => {
  const proto = { base: 0 };
  const out = {};
  const g = gradient(traced((x) => { proto.base = x * 2; out.o = Object.create(proto); out.o.own = x * 3; return out.o.base * out.o.own; }, { proto, out }), 1.5);
  assertClose(t, g, [12 * 1.5]); // d/dx 6x²
  t.is(typeof proto.base, 'number');
  t.is(proto.base, 3);
  t.is(typeof out.o.own, 'number');
  t.is(out.o.own, 4.5);
});

test('globalThis.G and bare global assignment hold plain numbers afterwards', (t) => {
  globalThis.__tgLeakG2 = 0;
  try {
    const g = gradient(traced((x) => { globalThis.__tgLeakG = x * 10; __tgLeakG2 = x * 3; return x * x; }), 1.5);
    assertClose(t, g, [3]);
    t.is(typeof globalThis.__tgLeakG, 'number');
    t.is(globalThis.__tgLeakG, 15);
    t.is(typeof globalThis.__tgLeakG2, 'number');
    t.is(globalThis.__tgLeakG2, 4.5);
  } finally {
    delete globalThis.__tgLeakG;
    delete globalThis.__tgLeakG2;
  }
});

test('all of the above together (the reviewer\'s repro): nothing tracked survives the call', (t) => {
  class K0 { static s = 0; #p = 0; setP(v) { this.#p = v; } getP() { return this.#p; } }
  const K = traced(K0);
  const fnObj = function () {};
  const outer = {};
  const outerArr = [0, 0, 0];
  const ks = new K();
  const ws = new WeakMap();
  const wk = {};
  const sym = Symbol('s');
  const nonEnum = {};
  const scope = { K, fnObj, outer, outerArr, ks, ws, wk, sym, nonEnum };
  const f = traced((x) => {
    K.s = x * 1; fnObj.cache = x * 2; Object.assign(outer, { a: x * 3 }); outerArr.fill(x * 4, 1); Reflect.set(outer, 'b', x * 5);
    Object.defineProperty(outer, 'c', { value: x * 6, enumerable: true, writable: true }); ks.setP(x * 7); ws.set(wk, x * 8);
    outer[sym] = x * 10; Object.defineProperty(nonEnum, 'h', { value: x * 11, enumerable: false, writable: true });
    outerArr.splice(0, 1, x * 12);
    outer.nested = new Map([['m', [x * 14]]]);
    globalThis.__tgLeakAll = x * 16;
    return x * x;
  }, scope);
  try {
    assertClose(t, gradient(f, 1.5), [3]);
    const expected = { Ks: 1.5, fnObj: 3, a: 4.5, fill: 6, b: 7.5, c: 9, priv: 10.5, weak: 12, sym: 15, nonEnum: 16.5, splice: 18, mapInArr: 21, G: 24 };
    const actual = {
      Ks: K.s, fnObj: fnObj.cache, a: outer.a, fill: outerArr[1], b: outer.b, c: outer.c, priv: ks.getP(), weak: ws.get(wk), sym: outer[sym],
      nonEnum: nonEnum.h, splice: outerArr[0], mapInArr: outer.nested.get('m')[0], G: globalThis.__tgLeakAll,
    };
    for (const [k, v] of Object.entries(actual)) t.is(typeof v, 'number', k);
    t.deepEqual(actual, expected);
    for (const [name, root] of Object.entries(scope)) assertNoLeak(t, root, name);
  } finally {
    delete globalThis.__tgLeakAll;
  }
});
