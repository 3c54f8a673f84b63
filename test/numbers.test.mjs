// Custom number types (defineNumberType): an RGB colour and a 2-vector used as numbers in traced code, under gradient, jvp, pullback and second derivatives, vs closed forms and finite differences.
import test from 'ava';
import {
  traced,
  gradient,
  pullback,
  jvp,
  derivative,
  hessian,
  defineNumberType,
  TracegradError,
} from '../dist/index.js';
import { richardsonDerivative, numericGradient, assertClose } from './helpers/reference.mjs';

// ---------------------------------------------------------------------------------------------------------------
// RGB: channel-wise arithmetic, pow, sqrt, exp; ordered by luminance; gradients built as RGB by fromFields.
// ---------------------------------------------------------------------------------------------------------------
class RGB {
  constructor(r, g, b) {
    this.r = r;
    this.g = g;
    this.b = b;
  }
}
/** A number stands for the grey with all three channels equal to it. */
const rgbOf = (a) => (a instanceof RGB ? a : new RGB(a, a, a));
// Rec. 709 luminance, traced so that it may be called on tracked channels
const lum = traced((c) => 0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b);
defineNumberType(
  RGB,
  {
    add: (a, b) => { const p = rgbOf(a), q = rgbOf(b); return new RGB(p.r + q.r, p.g + q.g, p.b + q.b); },
    sub: (a, b) => { const p = rgbOf(a), q = rgbOf(b); return new RGB(p.r - q.r, p.g - q.g, p.b - q.b); },
    mul: (a, b) => { const p = rgbOf(a), q = rgbOf(b); return new RGB(p.r * q.r, p.g * q.g, p.b * q.b); },
    div: (a, b) => { const p = rgbOf(a), q = rgbOf(b); return new RGB(p.r / q.r, p.g / q.g, p.b / q.b); },
    pow: (a, b) => { const p = rgbOf(a), q = rgbOf(b); return new RGB(p.r ** q.r, p.g ** q.g, p.b ** q.b); },
    neg: (a) => new RGB(-a.r, -a.g, -a.b),
    sqrt: (a) => new RGB(Math.sqrt(a.r), Math.sqrt(a.g), Math.sqrt(a.b)),
    exp: (a) => new RGB(Math.exp(a.r), Math.exp(a.g), Math.exp(a.b)),
    lt: (a, b) => lum(rgbOf(a)) < lum(rgbOf(b)),
    gt: (a, b) => lum(rgbOf(a)) > lum(rgbOf(b)),
    le: (a, b) => lum(rgbOf(a)) <= lum(rgbOf(b)),
    ge: (a, b) => lum(rgbOf(a)) >= lum(rgbOf(b)),
    // unreached channels arrive as null
    fromFields: (f) => new RGB(f.r ?? 0, f.g ?? 0, f.b ?? 0),
  },
  { RGB, rgbOf, lum },
);

// ---------------------------------------------------------------------------------------------------------------
// Vec2: element-wise + − * /, negation, ordered by length (lt only); no sqrt, pow, mod, gt; no fromFields.
// ---------------------------------------------------------------------------------------------------------------
class Vec2 {
  constructor(x, y) {
    this.x = x;
    this.y = y;
  }
}
const vecOf = (a) => (a instanceof Vec2 ? a : new Vec2(a, a));
defineNumberType(
  Vec2,
  {
    add: (a, b) => { const p = vecOf(a), q = vecOf(b); return new Vec2(p.x + q.x, p.y + q.y); },
    sub: (a, b) => { const p = vecOf(a), q = vecOf(b); return new Vec2(p.x - q.x, p.y - q.y); },
    mul: (a, b) => { const p = vecOf(a), q = vecOf(b); return new Vec2(p.x * q.x, p.y * q.y); },
    div: (a, b) => { const p = vecOf(a), q = vecOf(b); return new Vec2(p.x / q.x, p.y / q.y); },
    neg: (a) => new Vec2(-a.x, -a.y),
    lt: (a, b) => { const p = vecOf(a), q = vecOf(b); return p.x * p.x + p.y * p.y < q.x * q.x + q.y * q.y; },
  },
  { Vec2, vecOf },
);

const TIGHT = { rtol: 1e-12, atol: 1e-14 };
const FD = { rtol: 1e-7, atol: 1e-9 };
const fields = (o) => ({ ...o });
const CH = ['r', 'g', 'b'];

// ---------------------------------------------------------------------------------------------------------------
// gradients
// ---------------------------------------------------------------------------------------------------------------

test('RGB under gradient: channel-wise arithmetic and Math.sqrt, gradients are RGB (fromFields), vs closed form and FD', (t) => {
  // per channel k: m = c d + c/2 − d/2, s = √(m² + 1); f = s.r + 2 s.g − s.b
  const f = traced((c, d) => {
    const m = c * d + 0.5 * c - d / 2;
    const s = Math.sqrt(m * m + 1);
    return s.r + 2 * s.g - s.b;
  });
  const w = { r: 1, g: 2, b: -1 };
  const ref = (c, d) => CH.reduce((acc, k) => acc + w[k] * Math.sqrt((c[k] * d[k] + 0.5 * c[k] - d[k] / 2) ** 2 + 1), 0);
  const c = new RGB(0.3, 0.6, 0.9), d = new RGB(0.8, 0.2, 0.5);
  assertClose(t, f(c, d), ref(c, d), TIGHT);
  const [gc, gd] = gradient(f, c, d);
  t.true(gc instanceof RGB);
  t.true(gd instanceof RGB);
  // ∂f/∂c_k = w_k (m/s)(d_k + 1/2), ∂f/∂d_k = w_k (m/s)(c_k − 1/2)
  const ms = (k) => { const m = c[k] * d[k] + 0.5 * c[k] - d[k] / 2; return m / Math.sqrt(m * m + 1); };
  assertClose(t, fields(gc), Object.fromEntries(CH.map((k) => [k, w[k] * ms(k) * (d[k] + 0.5)])), TIGHT);
  assertClose(t, fields(gd), Object.fromEntries(CH.map((k) => [k, w[k] * ms(k) * (c[k] - 0.5)])), TIGHT);
  const [nc, nd] = numericGradient(ref, { r: c.r, g: c.g, b: c.b }, { r: d.r, g: d.g, b: d.b });
  assertClose(t, fields(gc), nc, FD);
  assertClose(t, fields(gd), nd, FD);
});

test('Vec2 under gradient: gradients are plain objects with the fields x, y, vs closed form and FD', (t) => {
  // u = 2v + 3w − v w/(1 + v) per component; f = u.x u.y
  const f = traced((v, w) => {
    const u = 2 * v + w * 3 - (v * w) / (1 + v);
    return u.x * u.y;
  });
  const ref = (v, w) => {
    const u = (a, b) => 2 * a + 3 * b - (a * b) / (1 + a);
    return u(v.x, w.x) * u(v.y, w.y);
  };
  const v = new Vec2(0.5, 1.5), w = new Vec2(-1, 2);
  assertClose(t, f(v, w), ref(v, w), TIGHT);
  assertClose(t, f(v, w), -13, TIGHT);
  const [gv, gw] = gradient(f, v, w);
  t.is(Object.getPrototypeOf(gv), Object.prototype, 'no fromFields: a plain object');
  t.is(Object.getPrototypeOf(gw), Object.prototype);
  const ux = 2 * v.x + 3 * w.x - (v.x * w.x) / (1 + v.x), uy = 2 * v.y + 3 * w.y - (v.y * w.y) / (1 + v.y);
  // ∂u/∂v = 2 − w/(1 + v)², ∂u/∂w = 3 − v/(1 + v)
  assertClose(t, gv, { x: uy * (2 - w.x / (1 + v.x) ** 2), y: ux * (2 - w.y / (1 + v.y) ** 2) }, TIGHT);
  assertClose(t, gw, { x: uy * (3 - v.x / (1 + v.x)), y: ux * (3 - v.y / (1 + v.y)) }, TIGHT);
  const [nv, nw] = numericGradient(ref, { x: v.x, y: v.y }, { x: w.x, y: w.y });
  assertClose(t, gv, nv, FD);
  assertClose(t, gw, nw, FD);
});

test('mixing with numbers both ways: 2 ∘ v and v ∘ 2 for + − * /, and a tracked scalar on either side', (t) => {
  const f = traced((v) => [2 + v, v + 2, 2 - v, v - 2, 2 * v, v * 2, 2 / v, v / 2, -v]);
  const v = new Vec2(0.5, -4);
  const out = f(v);
  for (const o of out) t.true(o instanceof Vec2);
  const expect = (g) => ({ x: g(v.x), y: g(v.y) });
  assertClose(t, out.map(fields), [
    expect((a) => 2 + a), expect((a) => a + 2), expect((a) => 2 - a), expect((a) => a - 2), expect((a) => 2 * a),
    expect((a) => a * 2), expect((a) => 2 / a), expect((a) => a / 2), expect((a) => -a),
  ], TIGHT);
  // a tracked scalar k: g = (k v).x + (v k).y + (k − v).x (v − k).y + (k / v).x + (v / k).y
  const g = traced((v, k) => (k * v).x + (v * k).y + (k - v).x * (v - k).y + (k / v).x + (v / k).y);
  const ref = (vx, vy, k) => k * vx + vy * k + (k - vx) * (vy - k) + k / vx + vy / k;
  const k = 1.5;
  assertClose(t, g(v, k), ref(v.x, v.y, k), TIGHT);
  const [gv, gk] = gradient(g, v, k);
  // ∂/∂k = vx + vy + (vy − k) − (k − vx) + 1/vx − vy/k²
  assertClose(t, gk, v.x + v.y + (v.y - k) - (k - v.x) + 1 / v.x - v.y / (k * k), TIGHT);
  // ∂/∂vx = k − (vy − k) − k/vx², ∂/∂vy = k + (k − vx) + 1/k
  assertClose(t, gv, { x: k - (v.y - k) - k / v.x ** 2, y: k + (k - v.x) + 1 / k }, TIGHT);
  // RGB mixes the same way; 2 ** c uses RGB's pow with the number on the left
  const h = traced((c, k) => { const m = k * c - c / k + 2 ** c + c ** 2; return m.r + m.g * m.b; });
  const c = new RGB(0.2, 0.7, 1.3);
  const refH = (cr, cg, cb, k) => {
    const m = (x) => k * x - x / k + 2 ** x + x * x;
    return m(cr) + m(cg) * m(cb);
  };
  assertClose(t, h(c, k), refH(c.r, c.g, c.b, k), TIGHT);
  const [gc, gk2] = gradient(h, c, k);
  const at = [c.r, c.g, c.b, k];
  const part = (i) => richardsonDerivative((s) => refH(...at.map((a, j) => (j === i ? s : a))), at[i]);
  assertClose(t, fields(gc), { r: part(0), g: part(1), b: part(2) }, FD);
  assertClose(t, gk2, part(3), FD);
});

// ---------------------------------------------------------------------------------------------------------------
// jvp
// ---------------------------------------------------------------------------------------------------------------

test('jvp through RGB and Vec2: number outputs give J·t; type outputs give tangents of the type (RGB via fromFields)', (t) => {
  // f(c) = Σ_k w_k √(c_k² + 1) → J·t = Σ w_k c_k t_k / √(c_k² + 1)
  const f = traced((c) => { const s = Math.sqrt(c * c + 1); return s.r + 2 * s.g - s.b; });
  const c = new RGB(0.3, -0.6, 0.9), tc = new RGB(1, 0.5, -2);
  const w = { r: 1, g: 2, b: -1 };
  const [y, dy] = jvp(f, [c], [tc]);
  assertClose(t, y, CH.reduce((a, k) => a + w[k] * Math.sqrt(c[k] ** 2 + 1), 0), TIGHT);
  assertClose(t, dy, CH.reduce((a, k) => a + (w[k] * c[k] * tc[k]) / Math.sqrt(c[k] ** 2 + 1), 0), TIGHT);
  // a tangent given as a plain object works the same
  const [, dy2] = jvp(f, [c], [{ r: 1, g: 0.5, b: -2 }]);
  assertClose(t, dy2, dy, TIGHT);
  // RGB output: d(c √c · e^c) = (3/2 √c + c^{3/2}) e^c · t per channel
  const g = traced((c) => c * Math.sqrt(c) * Math.exp(c));
  const cp = new RGB(0.3, 0.6, 0.9);
  const [gy, gdy] = jvp(g, [cp], [tc]);
  t.true(gy instanceof RGB);
  t.true(gdy instanceof RGB, 'the tangent of an RGB output is an RGB (fromFields)');
  assertClose(t, fields(gy), Object.fromEntries(CH.map((k) => [k, cp[k] ** 1.5 * Math.exp(cp[k])])), TIGHT);
  assertClose(t, fields(gdy), Object.fromEntries(CH.map((k) => [k, (1.5 * Math.sqrt(cp[k]) + cp[k] ** 1.5) * Math.exp(cp[k]) * tc[k]])), TIGHT);
  // Vec2 output: d(v·v / (1 + v)) = (2v(1 + v) − v²)/(1 + v)² · t, a plain object
  const h = traced((v, k) => (v * v) / (1 + v) * k);
  const v = new Vec2(0.5, 2), tv = new Vec2(1, -1);
  const [hy, hdy] = jvp(h, [v, 3], [tv, 0.5]);
  t.true(hy instanceof Vec2);
  t.is(Object.getPrototypeOf(hdy), Object.prototype);
  const q = (a) => (a * a) / (1 + a), dq = (a) => (2 * a * (1 + a) - a * a) / (1 + a) ** 2;
  assertClose(t, fields(hy), { x: q(v.x) * 3, y: q(v.y) * 3 }, TIGHT);
  assertClose(t, hdy, { x: dq(v.x) * tv.x * 3 + q(v.x) * 0.5, y: dq(v.y) * tv.y * 3 + q(v.y) * 0.5 }, TIGHT);
  // and FD on the plain formula for the Vec2 output's x part along (tv, 0.5)
  const along = (s) => q(v.x + s * tv.x) * (3 + s * 0.5);
  assertClose(t, hdy.x, richardsonDerivative(along, 0), FD);
});

test('pullback of an RGB output takes an RGB seed: back(s)_k = s_k / (2√c_k)', (t) => {
  const c = new RGB(0.25, 1, 4);
  const [y, back] = pullback(traced((c) => Math.sqrt(c)), c);
  t.true(y instanceof RGB);
  assertClose(t, fields(y), { r: 0.5, g: 1, b: 2 }, TIGHT);
  const [g] = back(new RGB(1, 2, 3));
  t.true(g instanceof RGB);
  assertClose(t, fields(g), { r: 1 / (2 * 0.5), g: 2 / 2, b: 3 / 4 }, TIGHT);
});

// ---------------------------------------------------------------------------------------------------------------
// comparisons, Math functions, missing operations
// ---------------------------------------------------------------------------------------------------------------

test('a comparison defined by the type steers a branch: RGB by luminance, Vec2 by length, with numbers on either side', (t) => {
  const f = traced((c, d) => (c > d ? (c * d).r : (c + d).g));
  // red is brighter channel-wise in r but darker in luminance: lum(c) ≈ 0.270 < lum(d) ≈ 0.386
  const c = new RGB(0.9, 0.1, 0.1), d = new RGB(0.1, 0.5, 0.1);
  t.is(f(c, d), c.g + d.g);
  let [gc, gd] = gradient(f, c, d);
  assertClose(t, fields(gc), { r: 0, g: 1, b: 0 }, TIGHT);
  assertClose(t, fields(gd), { r: 0, g: 1, b: 0 }, TIGHT);
  // swapped: now c > d, the other branch: ∂(c d).r = (d.r, c.r)
  t.is(f(d, c), d.r * c.r);
  [gc, gd] = gradient(f, d, c);
  assertClose(t, fields(gc), { r: c.r, g: 0, b: 0 }, TIGHT);
  assertClose(t, fields(gd), { r: d.r, g: 0, b: 0 }, TIGHT);
  // numbers on either side are greys; every ordering op is the type's own
  const cmp = traced((c) => [c < 0.3, 0.3 < c, c <= 0.27, c >= 0.27, 0.5 > c]);
  t.deepEqual(cmp(c), [true, false, false, true, true]);
  // a while loop whose trip count is set by the type's comparison: scale by 1.5 until the luminance reaches 1
  const grow = traced((c) => { let n = 0; while (c < 1) { c = c * 1.5; n++; } return [c.g, n]; });
  const [, n] = grow(new RGB(0.1, 0.1, 0.1));
  t.is(n, 6); // 0.1·1.5⁵ ≈ 0.76 < 1 ≤ 0.1·1.5⁶ ≈ 1.14
  const [gg] = gradient(traced((c) => { while (c < 1) c = c * 1.5; return c.g; }), new RGB(0.1, 0.1, 0.1));
  assertClose(t, fields(gg), { r: 0, g: 1.5 ** 6, b: 0 }, TIGHT);
  // Vec2 by length: |v| < |w| picks x·y, else x + y
  const h = traced((v, w) => (v < w ? v.x * v.y : v.x + v.y));
  const [gv1] = gradient(h, new Vec2(3, 1), new Vec2(-1, 3.5)); // |v|² = 10 < 13.25
  assertClose(t, gv1, { x: 1, y: 3 }, TIGHT);
  const [gv2] = gradient(h, new Vec2(3, 1), new Vec2(-1, 3)); // 10 < 10 fails
  assertClose(t, gv2, { x: 1, y: 1 }, TIGHT);
});

test('Math.sqrt and Math.exp on RGB dispatch to the type: values and gradients channel-wise', (t) => {
  const f = traced((c) => { const s = Math.sqrt(c) + Math.exp(-c); return s.r + s.g + s.b; });
  const c = new RGB(0.25, 1, 2);
  assertClose(t, f(c), CH.reduce((a, k) => a + Math.sqrt(c[k]) + Math.exp(-c[k]), 0), TIGHT);
  const [g] = gradient(f, c);
  assertClose(t, fields(g), Object.fromEntries(CH.map((k) => [k, 1 / (2 * Math.sqrt(c[k])) - Math.exp(-c[k])])), TIGHT);
});

test('a missing operation throws a TracegradError naming the operation and the class', (t) => {
  const v = new Vec2(1, 2);
  const cases = [
    ['sqrt', (v) => Math.sqrt(v)],
    ['pow', (v) => v ** 2],
    ['mod', (v) => v % 2],
    ['gt', (v) => v > 1],
    ['ge', (v) => v >= v],
    ['exp', (v) => Math.exp(v)],
  ];
  for (const [op, body] of cases) {
    const e = t.throws(() => traced(body)(v), { instanceOf: TracegradError }, op);
    t.regex(e.message, /Vec2/, op);
    t.regex(e.message, new RegExp(`\\b${op}\\b`), op);
  }
  // also under gradient, and for RGB's missing log
  const e1 = t.throws(() => gradient(traced((v) => Math.sqrt(v).x), v), { instanceOf: TracegradError });
  t.regex(e1.message, /Vec2/);
  t.regex(e1.message, /\bsqrt\b/);
  const e2 = t.throws(() => gradient(traced((c) => Math.log(c).r), new RGB(1, 2, 3)), { instanceOf: TracegradError });
  t.regex(e2.message, /RGB/);
  t.regex(e2.message, /\blog\b/);
});

test('two number types together: the left operand\'s type is asked first', (t) => {
  // lengths in metres and feet (1 ft = 0.3048 m); each type's add returns its own unit
  class Metres { constructor(v) { this.v = v; } }
  class Feet { constructor(v) { this.v = v; } }
  const FT = 0.3048;
  // conversions do arithmetic on tracked values, so they are traced too
  const inM = traced((a) => (a instanceof Metres ? a.v : a instanceof Feet ? a.v * FT : a), { Metres, Feet, FT });
  const inFt = traced((a) => (a instanceof Feet ? a.v : a instanceof Metres ? a.v / FT : a), { Metres, Feet, FT });
  defineNumberType(Metres, { add: (a, b) => new Metres(inM(a) + inM(b)), mul: (a, b) => new Metres(inM(a) * inM(b)) }, { Metres, inM });
  defineNumberType(Feet, { add: (a, b) => new Feet(inFt(a) + inFt(b)) }, { Feet, inFt });
  const f = traced((m, ft) => [m + ft, ft + m]);
  const [a, b] = f(new Metres(2), new Feet(10));
  t.true(a instanceof Metres);
  t.true(b instanceof Feet);
  assertClose(t, a.v, 2 + 10 * FT, TIGHT);
  assertClose(t, b.v, 2 / FT + 10, TIGHT);
  const [gm, gf] = gradient(traced((m, ft) => (ft + m).v), new Metres(2), new Feet(10));
  assertClose(t, gm, { v: 1 / FT }, TIGHT);
  assertClose(t, gf, { v: 1 }, TIGHT);
  // Feet has no mul: the right operand's type is asked next
  const p = traced((m, ft) => ft * m)(new Metres(2), new Feet(10));
  t.true(p instanceof Metres);
  assertClose(t, p.v, 10 * FT * 2, TIGHT);
});

test('defineNumberType rejects a non-class, a non-function op and an op with an unresolved free variable', (t) => {
  t.throws(() => defineNumberType(42, {}), { instanceOf: TracegradError });
  t.throws(() => defineNumberType(class A {}, null), { instanceOf: TracegradError });
  t.throws(() => defineNumberType(class B {}, { add: 3 }), { instanceOf: TracegradError, message: /add/ });
  class Lonely { constructor(v) { this.v = v; } }
  const e = t.throws(() => defineNumberType(Lonely, { add: (a, b) => new Lonely(a.v + b.v) }), { instanceOf: TracegradError });
  t.regex(e.message, /Lonely/);
});

// ---------------------------------------------------------------------------------------------------------------
// fromFields
// ---------------------------------------------------------------------------------------------------------------

test('fromFields: RGB gradients are RGB instances (unreached channels 0); Vec2 gradients are plain objects (unreached null)', (t) => {
  const [gc] = gradient(traced((c) => (c * 2).r), new RGB(1, 2, 3));
  t.true(gc instanceof RGB);
  t.deepEqual(fields(gc), { r: 2, g: 0, b: 0 });
  const [gv] = gradient(traced((v) => (v * 2).x), new Vec2(1, 2));
  t.false(gv instanceof Vec2);
  t.deepEqual(gv, { x: 2, y: null });
  // a gradient of the type can be used as a value of the type: a gradient step c − 0.1 ∇ inside traced code
  const loss = traced((c) => { const e = c - new RGB(0.5, 0.5, 0.5); const s = e * e; return s.r + s.g + s.b; }, { RGB });
  const step = traced((c, g) => c - 0.1 * g);
  const c = new RGB(1, 0, 2);
  const [g] = gradient(loss, c);
  const next = step(c, g);
  t.true(next instanceof RGB);
  // ∇ = 2(c − 0.5) → c − 0.2(c − 0.5)
  assertClose(t, fields(next), { r: 0.9, g: 0.1, b: 1.7 }, TIGHT);
});

test('number-type values inside arrays and Maps: arguments, accumulation from a plain 0, and jvp of a mapped array', (t) => {
  // s = (c₁ + c₂)·w channel-wise, loss = s.r + 2 s.g: ∇c_i = (w.r, 2 w.g, 0), ∇w = (s.r, 2 s.g, 0) with s = c₁ + c₂
  const f = traced((cs, m) => { let s = 0; for (const c of cs) s = s + c; s = s * m.get('w'); return s.r + s.g * 2; });
  const cs = [new RGB(1, 2, 3), new RGB(4, 5, 6)], m = new Map([['w', new RGB(0.5, 1, 2)]]);
  const [gcs, gm] = gradient(f, cs, m);
  t.true(Array.isArray(gcs));
  for (const g of gcs) {
    t.true(g instanceof RGB);
    t.deepEqual(fields(g), { r: 0.5, g: 2, b: 0 });
  }
  t.true(gm instanceof Map);
  t.true(gm.get('w') instanceof RGB);
  t.deepEqual(fields(gm.get('w')), { r: 5, g: 14, b: 0 });
  // an argument that is never reached gives null
  t.deepEqual(gradient(traced((c, x) => x * 2), new RGB(1, 2, 3), 1), [null, 2]);
  // d(c²) = 2c·t per element
  const [ys, dys] = jvp(traced((vs) => vs.map((v) => v * v)), [[new Vec2(1, 2), new Vec2(-3, 0.5)]], [[new Vec2(1, 1), new Vec2(0, 2)]]);
  assertClose(t, ys.map(fields), [{ x: 1, y: 4 }, { x: 9, y: 0.25 }], TIGHT);
  assertClose(t, dys, [{ x: 2, y: 4 }, { x: 0, y: 2 }], TIGHT);
});

// ---------------------------------------------------------------------------------------------------------------
// second order
// ---------------------------------------------------------------------------------------------------------------

test('second derivatives through Vec2: nested derivative, hessian in both modes, gradient of a gradient', (t) => {
  // q = v³ per component, f = q.x q.y = a³ b³: ∂²f/∂a∂b = 9a²b²
  const d = traced((a) => derivative((b) => { const p = new Vec2(a, b); const q = p * p * p; return q.x * q.y; }, 2), { derivative, Vec2 });
  assertClose(t, derivative(d, 1), 9 * 1 * 4, TIGHT);
  assertClose(t, derivative(d, 0.5), 9 * 0.25 * 4, TIGHT);
  // 2a³b³: [[12ab³, 18a²b²], [18a²b², 12a³b]] = [[96, 72], [72, 24]] at (1, 2)
  const f = traced((x) => { const p = new Vec2(x[0], x[1]); const q = p * p * p; return (q * 2).x * q.y; }, { Vec2 });
  assertClose(t, hessian(f, [1, 2]), [[96, 72], [72, 24]], TIGHT);
  assertClose(t, hessian(f, [1, 2], { mode: 'reverse' }), [[96, 72], [72, 24]], TIGHT);
  // gradient of a gradient with a Vec2 argument: inner ∇_v of (v / k).x·(v·k).y = vx vy, outer d/dk of ∇.x·k = vy
  const g = traced((k) => gradient((v) => (v / k).x * (v * k).y * k, new Vec2(3, 4))[0].x, { gradient, Vec2 });
  // inner f = vx vy k → ∂/∂vx = vy k → d/dk = vy = 4
  const [gk] = gradient(g, 0.7);
  assertClose(t, gk, 4, TIGHT);
});

test('second derivatives through RGB with sqrt: hessian of 2√(xy) vs closed form and FD of the gradient', (t) => {
  // c = (x, y, xy), s = √c; s.r s.g + s.b = 2√(xy)
  const f = traced((p) => { const s = Math.sqrt(new RGB(p[0], p[1], p[0] * p[1])); return s.r * s.g + s.b; }, { RGB });
  const [x, y] = [0.7, 1.9];
  const expected = [
    [-0.5 * Math.sqrt(y) * x ** -1.5, 0.5 / Math.sqrt(x * y)],
    [0.5 / Math.sqrt(x * y), -0.5 * Math.sqrt(x) * y ** -1.5],
  ];
  assertClose(t, hessian(f, [x, y]), expected, TIGHT);
  assertClose(t, hessian(f, [x, y], { mode: 'reverse' }), expected, TIGHT);
  // FD of the closed-form gradient (√(y/x), √(x/y)) as an independent check of the closed form itself
  assertClose(t, richardsonDerivative((s) => Math.sqrt(y / s), x), expected[0][0], FD);
  // nested derivative of a derivative of an RGB power: d²/dx² (x^{2.5}) via c ** 2.5
  const dd = traced((x) => derivative((u) => (new RGB(u, 1, 1) ** 2.5).r, x), { derivative, RGB });
  assertClose(t, derivative(dd, 1.3), 2.5 * 1.5 * 1.3 ** 0.5, TIGHT);
});

// ---------------------------------------------------------------------------------------------------------------
// arguments afterwards
// ---------------------------------------------------------------------------------------------------------------

test('arguments are left as plain numbers afterwards, and outputs outside AD hold plain numbers', (t) => {
  const c = new RGB(0.3, 0.6, 0.9), v = new Vec2(0.5, 1.5);
  const f = traced((c, v) => { const s = Math.sqrt(c * c + 1); const u = v * v - 1; return s.r * u.x + s.b * u.y; });
  gradient(f, c, v);
  jvp(f, [c, v], [new RGB(1, 0, 0), new Vec2(0, 1)]);
  const [, back] = pullback(traced((c) => Math.exp(c)), c);
  back(new RGB(1, 1, 1));
  hessian(traced((p) => (new Vec2(p[0], p[1]) * new Vec2(p[1], p[0])).x, { Vec2 }), [1, 2]);
  t.true(c instanceof RGB);
  t.true(v instanceof Vec2);
  t.deepEqual(fields(c), { r: 0.3, g: 0.6, b: 0.9 });
  t.deepEqual(fields(v), { x: 0.5, y: 1.5 });
  for (const k of CH) t.is(typeof c[k], 'number');
  for (const k of ['x', 'y']) t.is(typeof v[k], 'number');
  const out = traced((c) => Math.sqrt(c) * 2)(c);
  for (const k of CH) t.is(typeof out[k], 'number');
  const [y] = pullback(traced((v) => v * v + 1), v);
  t.is(typeof y.x, 'number');
  t.is(typeof y.y, 'number');
  t.deepEqual(fields(y), { x: 1.25, y: 3.25 });
});
