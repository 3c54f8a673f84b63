// Rewriter regression tests: private fields, ++/-- on non-numbers, BigInt, logical assignment with a tracked 0, sequences and parenthesised targets.
import test from 'ava';
import { traced, gradient, withGradient } from '../../dist/index.js';
import { numericGradient, assertClose } from '../helpers/reference.mjs';

/** Plain JS and its traced copy must produce the same values (Object.is on every element). */
function samePlain(t, fn, scope) {
  const expected = fn();
  const actual = traced(fn, scope)();
  t.is(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    t.true(Object.is(actual[i], expected[i]), `element ${i}: traced ${String(actual[i])} (${typeof actual[i]}), plain ${String(expected[i])} (${typeof expected[i]})`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// private fields

class Acc {
  #t = 1;
  mul(v) { this.#t *= v; return this; }
  add(v) { this.#t += v; return this; }
  lit() { this.#t *= 3; return this; }
  inc() { this.#t++; return this; }
  dec() { --this.#t; return this; }
  sq() { this.#t **= 2; return this; }
  read() { return this.#t; }
}
const AccT = traced(Acc);

test('private fields: this.#p op= v with plain numbers gives the plain results', (t) => {
  t.is(new AccT().mul(3).read(), 3);
  t.is(new AccT().add(3).read(), 4);
  t.is(new AccT().lit().read(), 3);
  t.is(new AccT().inc().read(), 2);
  t.is(new AccT().dec().read(), 0);
  t.is(new AccT().add(2).sq().read(), 9);
  t.deepEqual(Object.keys(new AccT().mul(3)), []);
});

test('private fields: this.#t *= x twice gives x² (value 9, gradient 6 at 3)', (t) => {
  const f = traced((x) => new AccT().mul(x).mul(x).read(), { AccT });
  const r = withGradient(f, 3);
  t.is(r.value, 9);
  assertClose(t, r.grad, [6]);
});

test('private fields: +=, ++, --, **= on a tracked private field match finite differences', (t) => {
  // ((1 + x)·x + 1 - 1)² = (x + x²)²
  const f = traced((x) => new AccT().add(x).mul(x).inc().dec().sq().read(), { AccT });
  const plain = (x) => ((1 + x) * x) ** 2;
  for (const x of [0.7, -1.3]) {
    const r = withGradient(f, x);
    assertClose(t, r.value, plain(x));
    assertClose(t, r.grad, numericGradient(plain, x));
  }
});

test('private fields: a class defined inside the differentiated function (this.#v = x; this.#v += x)', (t) => {
  const f = (x) => {
    class D { #v = 0; set(y) { this.#v = y; this.#v += y; return this.#v; } }
    return new D().set(x) * x;
  };
  const r = withGradient(f, 3);
  t.is(r.value, 18);
  assertClose(t, r.grad, [12]); // d/dx 2x² = 4x
});

test('private fields: this.#n++ counter times x gives value x and gradient 1', (t) => {
  const f = (x) => {
    class C { #n = 0; inc(y) { this.#n++; return this.#n * y; } }
    return new C().inc(x);
  };
  const r = withGradient(f, 3);
  t.is(r.value, 3);
  assertClose(t, r.grad, [1]);
});

test('private fields: postfix and prefix ++/-- on a tracked private field return old and new values', (t) => {
  const f = (x) => {
    class C {
      #p;
      constructor(v) { this.#p = v; }
      run() { const old = this.#p++; const now = ++this.#p; const back = this.#p--; return old * now + back * this.#p; }
    }
    return new C(x).run();
  };
  // old = x, now = x + 2, back = x + 2, then #p = x + 1
  const plain = (x) => x * (x + 2) + (x + 2) * (x + 1);
  const x = 1.25;
  const r = withGradient(f, x);
  assertClose(t, r.value, plain(x));
  assertClose(t, r.grad, numericGradient(plain, x));
});

test('private fields: a getter with the same public name as the private field (#total / get total)', (t) => {
  class Total {
    #total = 0;
    add(v) { this.#total += v; return this; }
    get total() { return this.#total; }
  }
  const T = traced(Total);
  const f = traced((x) => new T().add(x * x).add(x).total, { T });
  const r = withGradient(f, 3);
  t.is(r.value, 12);
  assertClose(t, r.grad, [7]); // 2x + 1
});

test('private fields: getter and setter named like the private field (#v / get v / set v)', (t) => {
  const f = (x) => {
    class P {
      #v = 0;
      get v() { return this.#v; }
      set v(n) { this.#v = n * 3; }
    }
    const p = new P();
    p.v = x;
    p.v += x; // reads 3x, stores 3(3x + x) = 12x
    return p.v * x;
  };
  const plain = (x) => 12 * x * x;
  const r = withGradient(f, 1.5);
  assertClose(t, r.value, plain(1.5));
  assertClose(t, r.grad, numericGradient(plain, 1.5));
});

test('private fields: static private field A.#s *= x', (t) => {
  const f = (x) => {
    class A { static #s = 2; static m(v) { A.#s *= v; A.#s += v; return A.#s; } }
    return A.m(x);
  };
  const r = withGradient(f, 1.5);
  t.is(r.value, 2 * 1.5 + 1.5);
  assertClose(t, r.grad, [3]);
});

test('private fields: `#p in obj` still works in traced code', (t) => {
  const f = (x) => {
    class C { #p = 1; has(o) { return #p in o; } }
    const c = new C();
    return c.has(c) && !c.has({}) ? x * x : x;
  };
  assertClose(t, gradient(f, 3), [6]);
});

// ---------------------------------------------------------------------------------------------------------------
// ++ / -- and unary operators on non-numbers

test('++ and -- on variables holding strings, undefined, valueOf objects and Dates give the plain-JS results', (t) => {
  samePlain(t, () => {
    let s = '1'; s++;
    let s2 = '5'; --s2;
    let s3 = '7'; const oldS3 = s3++;
    let u; u++;
    const o = { valueOf() { return 5; } };
    let p = o; p++;
    let d = new Date(1000); d++;
    let d2 = new Date(1000); const oldD = d2--;
    return [s, typeof s, s2, oldS3, typeof oldS3, s3, u, p, d, d2, typeof oldD, oldD];
  });
});

// Regression (fixed): ++/-- on an object field or array element holding a string or Date concatenates ('7' → '71') instead of converting to a number
test('++ and -- on fields and elements holding strings and Dates give the plain-JS results', (t) => {
  samePlain(t, () => {
    const obj = { s: '7', d: new Date(5) };
    const post = obj.s++;
    obj.d++;
    const arr = ['2', '3'];
    arr[0]--;
    const pre = ++arr[1];
    return [post, obj.s, obj.d, arr[0], pre, arr[1]];
  });
});

test('unary - + ~ on strings, null, arrays, objects and Dates give the plain-JS results', (t) => {
  samePlain(t, () => [-'3', -null, -[], -{}, +'0x10', ~~'7', -new Date(5), +new Date(7), -'', +[2], -true, ~'x']);
});

test('a Date incremented inside differentiated code: x · d after d++', (t) => {
  const f = (x) => { let d = new Date(1000); d++; return x * d; };
  const r = withGradient(f, 2);
  t.is(r.value, 2002);
  assertClose(t, r.grad, [1001]);
});

test('BigInt arithmetic, -3n, += and ++ on variables and op= on fields in traced code stay BigInt', (t) => {
  samePlain(t, () => {
    let b = 1n; b += 2n; b++;
    let c = 5n; c--; --c;
    const a = [1n]; a[0] += 1n;
    const o = { v: 10n }; o.v *= 3n;
    return [1n + 2n, -3n, - (2n), 5n ** 2n, 7n % 3n, 2n * 3n, 10n / 3n, b, c, a[0], o.v, 1n < 2, 2n > 1n, 1n === 1n, 1n == 1, ~5n, 6n & 3n, 1n << 4n, typeof -3n];
  });
});

// Regression (fixed): ++/-- on an object field or array element holding a BigInt throws 'Cannot mix BigInt and other types'
test('BigInt ++ and -- on fields and array elements', (t) => {
  samePlain(t, () => {
    const a = [1n]; a[0]++;
    const o = { v: 10n }; const old = o.v--;
    return [a[0], o.v, old];
  });
});

test('BigInt alongside a differentiated number', (t) => {
  const f = (x) => { let n = 3n; n++; return x * Number(n) + Number(-3n); };
  const r = withGradient(f, 2);
  t.is(r.value, 5);
  assertClose(t, r.grad, [4]);
});

// ---------------------------------------------------------------------------------------------------------------
// &&= and ||= with a tracked 0 (falsy) and a tracked non-zero

test('||= on a variable: a tracked 0 is falsy, so the right side is assigned', (t) => {
  const f = (x, y) => { let a = x; a ||= y * y; return a * 3; };
  const r0 = withGradient(f, 0, 2);
  t.is(r0.value, 12); // a = y²
  t.is(r0.grad[1], 12); // 6y
  t.is(r0.grad[0], null); // x is overwritten: no gradient reaches it
  const r1 = withGradient(f, 1.5, 2);
  t.is(r1.value, 4.5); // a = x
  t.is(r1.grad[0], 3);
  t.is(r1.grad[1], null); // the right side never runs
});

test('&&= on a variable: a tracked 0 is falsy, so a keeps x', (t) => {
  const f = (x, y) => { let a = x; a &&= y * y; return a * 3 + y; };
  const r0 = withGradient(f, 0, 2);
  t.is(r0.value, 2);
  assertClose(t, r0.grad, [3, 1]);
  const r1 = withGradient(f, 1.5, 2);
  t.is(r1.value, 14);
  t.is(r1.grad[0], null); // a is overwritten by y²
  t.is(r1.grad[1], 13); // 6y + 1
});

test('||= and &&= on object fields (dotted, computed) with tracked 0 and non-zero', (t) => {
  const f = (x, y) => {
    const o = { a: x, b: x, c: [x] };
    o.a ||= y * y; // x = 0 → y²; else x
    o.b &&= y * 5; // x = 0 → x; else 5y
    o.c[0] ||= y; // x = 0 → y; else x
    const k = 'a';
    o[k] &&= o[k] * 2;
    return o.a + o.b * 7 + o.c[0] * 11;
  };
  const plain = (x, y) => {
    const a = x !== 0 ? x : y * y, b = x !== 0 ? y * 5 : x, c = x !== 0 ? x : y;
    return (a !== 0 ? a * 2 : a) + b * 7 + c * 11;
  };
  const r0 = withGradient(f, 0, 2);
  t.is(r0.value, plain(0, 2));
  // at x = 0: a = 2y² (4y = 8), b = x (7), c = y (11)
  assertClose(t, r0.grad, [7, 8 + 11]);
  const r1 = withGradient(f, 1.5, 2);
  t.is(r1.value, plain(1.5, 2));
  assertClose(t, r1.grad, numericGradient(plain, 1.5, 2));
});

test('||= and &&= on a private field with a tracked 0', (t) => {
  const f = (x, y) => {
    class C {
      #p;
      #q;
      constructor(v) { this.#p = v; this.#q = v; }
      run(w) { this.#p ||= w * w; this.#q &&= w * 3; return this.#p * 2 + this.#q; }
    }
    return new C(x).run(y);
  };
  const r0 = withGradient(f, 0, 2);
  t.is(r0.value, 8); // p = y², q = x
  assertClose(t, r0.grad, [1, 8]);
  const r1 = withGradient(f, 1.5, 2);
  t.is(r1.value, 9); // p = x, q = 3y
  assertClose(t, r1.grad, [2, 3]);
});

test('||= and &&= on captured variables and scope variables', (t) => {
  const scope = { s: 0, u: 0 };
  const f = traced((x, y) => {
    s = x; u = x;
    let c = x;
    const bump = () => { c ||= y * y; };
    bump();
    s ||= y;
    u &&= y * 10;
    return c + s * 2 + u;
  }, scope);
  const r0 = withGradient(f, 0, 2);
  t.is(r0.value, 4 + 4 + 0); // c = y², s = y, u = x
  assertClose(t, r0.grad, [1, 4 + 2]);
  t.is(typeof scope.s, 'number');
  t.is(scope.s, 2);
  t.is(typeof scope.u, 'number');
  const r1 = withGradient(f, 1.5, 2);
  t.is(r1.value, 1.5 + 3 + 20);
  assertClose(t, r1.grad, [3, 10]);
  t.is(scope.u, 20);
});

test('??= on a variable and a field', (t) => {
  const f = (x) => { let a; a ??= x * x; const o = { b: null, c: x }; o.b ??= x; o.c ??= 100; return a + o.b * o.c; };
  const plain = (x) => x * x + x * x;
  assertClose(t, gradient(f, 1.5), numericGradient(plain, 1.5));
});

// ---------------------------------------------------------------------------------------------------------------
// sequence expressions

test('sequence expressions: (a = 2x, b = a·x, b)', (t) => {
  const f = (x) => { let a, b; return (a = x * 2, b = a * x, b); };
  const r = withGradient(f, 1.5);
  t.is(r.value, 4.5);
  assertClose(t, r.grad, [6]);
});

test('sequence expressions as operands, arguments, tests, keys and callees', (t) => {
  const f = (x) => {
    const o = { k: 2, m(v) { return this.k * v; } };
    const arr = [x, x * x];
    let r = Math.sin((0, x)) + -(1, x * x) + (0, o.m)?.call(o, x) + o.m((0, x));
    r += [...(0, arr)][1];
    r += arr[(0, 1)];
    if ((0, x > 1)) r += x;
    r += !(0, x) ? 100 : 0;
    switch ((0, x > 1)) { case (0, true): r += 3 * x; break; default: r += 100; }
    for (let i = 0, j = 4; i < j; i += 2, j--) r += x;
    return (void 0, r * 2);
  };
  const plain = (x) => 2 * (Math.sin(x) - x * x + 2 * x + 2 * x + x * x + x * x + x + 3 * x + 2 * x);
  const x = 1.5;
  const r = withGradient(f, x);
  assertClose(t, r.value, plain(x));
  assertClose(t, r.grad, numericGradient(plain, x));
});

// ---------------------------------------------------------------------------------------------------------------
// parenthesised assignment targets

test('parenthesised targets: (a) = , (o.f) +=, (o[k]) *=, (a)++, [(a), (o.b)] =, ({ p: (c) } =)', (t) => {
  const f = (x) => {
    let a;
    const o = { f: 1, g: [2], v: x };
    const k = 0;
    (a) = x * x;
    (o.f) += x;
    (o.g[k]) *= x;
    (a)++;
    o.v--;
    let b, c;
    [(b), (o.h)] = [x, x * 3];
    ({ p: (c) } = { p: x * 5 });
    return a + o.f * 2 + o.g[0] * 3 + o.v * 4 + b * o.h + c;
  };
  const plain = (x) => (x * x + 1) + (1 + x) * 2 + 2 * x * 3 + (x - 1) * 4 + x * 3 * x + 5 * x;
  const x = 1.5;
  const r = withGradient(f, x);
  assertClose(t, r.value, plain(x));
  assertClose(t, r.grad, numericGradient(plain, x));
});

test('parenthesised private target: (this.#p) += x', (t) => {
  const f = (x) => {
    class C { #p = 1; m(v) { (this.#p) += v; (this.#p) *= v; return this.#p; } }
    return new C().m(x);
  };
  const r = withGradient(f, 3);
  t.is(r.value, 12); // (1 + x)·x
  assertClose(t, r.grad, [7]);
});

// Regression (fixed): a parenthesised member operand of ++/-- (`(o.v)++`, `--(o.v)`) is rewritten into invalid code (SyntaxError from traced)
test('parenthesised member operand of ++/--: (o.v)++, --(o.v), (o.a[0])--', (t) => {
  const f = (x) => {
    const o = { v: x, w: x * x, a: [x] };
    (o.v)++;
    --(o.w);
    const old = (o.a[0])--;
    return o.v * o.w + old * o.a[0];
  };
  const plain = (x) => (x + 1) * (x * x - 1) + x * (x - 1);
  const r = withGradient(f, 1.5);
  assertClose(t, r.value, plain(1.5));
  assertClose(t, r.grad, numericGradient(plain, 1.5));
});

// Regression (found writing examples/mlp-classifier.mjs): a computed member as a destructuring target was rewritten
// as a read, so the function no longer compiled ("Invalid destructuring assignment target").
test('destructuring into elements and computed fields compiles and differentiates (swap, defaults, rest, for-of)', (t) => {
  const swap = traced((a) => {
    [a[0], a[1]] = [a[1], a[0]];
    return a[0] * 2 + a[1];
  });
  t.deepEqual(gradient(swap, [3, 5])[0], [1, 2]); // after the swap f = 2·a1 + a0
  const fields = traced((o, k) => {
    ({ x: o[k] } = { x: o.y * 3 });
    [o[k + 'z'] = 7] = [];
    return o[k] + o.xz;
  });
  t.deepEqual(gradient(fields, { y: 2, x: 0, xz: 0 }, 'x')[0], { y: 3, x: null, xz: null }); // x and xz are overwritten before any read
  const rest = traced((a, b) => {
    [b[0], ...b[1]] = [a * 2, a, a];
    let s = 0;
    for ([b[2]] of [[a], [a * a]]) s += b[2];
    return b[0] + b[1][0] + b[1][1] + s;
  });
  t.is(gradient(rest, 1.5, [0, [], 0])[0], 2 + 1 + 1 + 1 + 2 * 1.5);
});
