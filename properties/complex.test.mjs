// Property tests of Complex differentiation on random expressions in z: Cauchy–Riemann for holomorphic ones, and gradients, pullbacks with Complex seeds and jvps vs a hand-written forward-mode reference in plain JS.
import test from 'ava';
import fc from 'fast-check';
import { traced, gradient, pullback, jvp, complex, conj, Complex } from '../dist/index.js';

// ---------------------------------------------------------------------------------------------------------------
// Reference: plain complex arithmetic on { re, im } objects, and an evaluator that carries, with each value a, its
// partials a_x = ∂a/∂(Re z) and a_y = ∂a/∂(Im z) (complex numbers themselves). For holomorphic ops
// d op(a) = op′(a)·da in either direction; conj maps da to conj(da); |a| maps da to Re(conj(a)·da)/|a|.
// ---------------------------------------------------------------------------------------------------------------
const C = (re, im = 0) => ({ re, im });
const add = (a, b) => C(a.re + b.re, a.im + b.im);
const sub = (a, b) => C(a.re - b.re, a.im - b.im);
const mul = (a, b) => C(a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re);
const div = (a, b) => {
  const d = b.re * b.re + b.im * b.im;
  return C((a.re * b.re + a.im * b.im) / d, (a.im * b.re - a.re * b.im) / d);
};
const neg = (a) => C(-a.re, -a.im);
const cj = (a) => C(a.re, -a.im);
const scale = (k, a) => C(k * a.re, k * a.im);
const mag = (a) => Math.hypot(a.re, a.im);
const cexp = (a) => C(Math.exp(a.re) * Math.cos(a.im), Math.exp(a.re) * Math.sin(a.im));
const csin = (a) => C(Math.sin(a.re) * Math.cosh(a.im), Math.cos(a.re) * Math.sinh(a.im));
const ccos = (a) => C(Math.cos(a.re) * Math.cosh(a.im), -Math.sin(a.re) * Math.sinh(a.im));
const powInt = (a, n) => {
  let r = C(1);
  for (let k = 0; k < Math.abs(n); k++) r = mul(r, a);
  return n < 0 ? div(C(1), r) : r;
};
const I = C(0, 1);
const ZERO = C(0);

/**
 * Evaluates a tree at z; returns { v, fx, fy, ok, scale }. ok is false near singularities (small denominators or abs
 * arguments) and for overflow-prone magnitudes; scale is the largest magnitude of any value or partial seen, which
 * bounds the rounding error of both the reference and tracegrad.
 */
function evaluate(node, z) {
  const st = { ok: true, scale: 1 };
  const note = (r) => {
    const m = Math.max(mag(r.v), mag(r.fx), mag(r.fy));
    if (!Number.isFinite(m) || m > 1e6) st.ok = false;
    st.scale = Math.max(st.scale, m);
    return r;
  };
  const ev = (n) => {
    switch (n.op) {
      case 'z': return note({ v: z, fx: C(1), fy: I });
      case 'c': return note({ v: C(n.re, n.im), fx: ZERO, fy: ZERO });
      case 'r': return note({ v: C(n.re), fx: ZERO, fy: ZERO });
      case 'add': case 'sub': {
        const a = ev(n.a), b = ev(n.b), f = n.op === 'add' ? add : sub;
        return note({ v: f(a.v, b.v), fx: f(a.fx, b.fx), fy: f(a.fy, b.fy) });
      }
      case 'mul': {
        const a = ev(n.a), b = ev(n.b);
        const d = (da, db) => add(mul(da, b.v), mul(a.v, db));
        return note({ v: mul(a.v, b.v), fx: d(a.fx, b.fx), fy: d(a.fy, b.fy) });
      }
      case 'div': {
        const a = ev(n.a), b = ev(n.b);
        if (mag(b.v) < 0.05) st.ok = false;
        const q = div(a.v, b.v);
        // d(a/b) = (da − q db)/b
        const d = (da, db) => div(sub(da, mul(q, db)), b.v);
        return note({ v: q, fx: d(a.fx, b.fx), fy: d(a.fy, b.fy) });
      }
      case 'neg': { const a = ev(n.a); return note({ v: neg(a.v), fx: neg(a.fx), fy: neg(a.fy) }); }
      case 'exp': { const a = ev(n.a), e = cexp(a.v); return note({ v: e, fx: mul(e, a.fx), fy: mul(e, a.fy) }); }
      case 'sin': { const a = ev(n.a), c = ccos(a.v); return note({ v: csin(a.v), fx: mul(c, a.fx), fy: mul(c, a.fy) }); }
      case 'cos': {
        const a = ev(n.a), s = neg(csin(a.v));
        return note({ v: ccos(a.v), fx: mul(s, a.fx), fy: mul(s, a.fy) });
      }
      case 'pow': {
        const a = ev(n.a);
        if (n.n < 0 && mag(a.v) < 0.2) st.ok = false;
        // d aⁿ = n aⁿ⁻¹ da (0 for n = 0)
        const k = n.n === 0 ? ZERO : scale(n.n, powInt(a.v, n.n - 1));
        return note({ v: powInt(a.v, n.n), fx: mul(k, a.fx), fy: mul(k, a.fy) });
      }
      case 'conj': { const a = ev(n.a); return note({ v: cj(a.v), fx: cj(a.fx), fy: cj(a.fy) }); }
      case 'abs': {
        const a = ev(n.a), m = mag(a.v);
        if (m < 0.05) st.ok = false;
        const d = (da) => C(mul(cj(a.v), da).re / m);
        return note({ v: C(m), fx: d(a.fx), fy: d(a.fy) });
      }
      default: throw new Error(`unknown op ${n.op}`);
    }
  };
  const r = ev(node);
  return { ...r, ok: st.ok, scale: st.scale };
}

/** JavaScript source of a tree, for traced(); real constants are parenthesised so that unary minus composes. */
function source(n) {
  switch (n.op) {
    case 'z': return 'z';
    case 'c': return `complex(${n.re}, ${n.im})`;
    case 'r': return `(${n.re})`;
    case 'add': return `(${source(n.a)} + ${source(n.b)})`;
    case 'sub': return `(${source(n.a)} - ${source(n.b)})`;
    case 'mul': return `(${source(n.a)} * ${source(n.b)})`;
    case 'div': return `(${source(n.a)} / ${source(n.b)})`;
    case 'neg': return `(-${source(n.a)})`;
    case 'exp': case 'sin': case 'cos': case 'abs': return `Math.${n.op}(${source(n.a)})`;
    case 'pow': return `(${source(n.a)} ** ${n.n})`;
    case 'conj': return `conj(${source(n.a)})`;
    default: throw new Error(`unknown op ${n.op}`);
  }
}

const hasZ = (n) => n.op === 'z' || (n.a !== undefined && hasZ(n.a)) || (n.b !== undefined && hasZ(n.b));

// ---------------------------------------------------------------------------------------------------------------
// arbitraries
// ---------------------------------------------------------------------------------------------------------------
// uniform on a fine grid: fc.double draws uniformly over bit patterns, so mostly tiny magnitudes, which make trivial
// constants and points near 0
const small = (min, max) => fc.integer({ min: min * 1e6, max: max * 1e6 }).map((i) => i / 1e6);
const unit = small(-1.5, 1.5);

function treeArbitrary(depth, { nonHolomorphic }) {
  const leaf = fc.oneof(
    { weight: 4, arbitrary: fc.constant({ op: 'z' }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('c'), re: unit, im: unit }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('r'), re: unit }) },
  );
  if (depth === 0) return leaf;
  const sub = treeArbitrary(depth - 1, { nonHolomorphic });
  const unaryOps = ['neg', 'exp', 'sin', 'cos', ...(nonHolomorphic ? ['conj', 'abs'] : [])];
  return fc.oneof(
    { weight: 1, arbitrary: leaf },
    { weight: 3, arbitrary: fc.record({ op: fc.constantFrom(...unaryOps), a: sub }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('pow'), a: sub, n: fc.integer({ min: -3, max: 4 }) }) },
    { weight: 4, arbitrary: fc.record({ op: fc.constantFrom('add', 'sub', 'mul', 'div'), a: sub, b: sub }) },
  );
}

const point = fc.record({ re: unit, im: unit });
const tangent = fc.record({ re: small(-2, 2), im: small(-2, 2) });

/** The traced f (Complex result: a Complex zero is added so that real-valued subtrees still give a Complex), u = Re f, v = Im f. */
function build(tree) {
  const body = `(${source(tree)} + complex(0, 0))`;
  const make = (expr) => traced(new Function(`return (z) => ${expr};`)(), { complex, conj });
  return { f: make(body), u: make(`${body}.re`), v: make(`${body}.im`) };
}

/** The gradient of a Complex argument as { re, im }; null (nothing reached) counts as 0. */
const grad1 = (fn, z) => {
  const [g] = gradient(fn, complex(z.re, z.im));
  if (g === null) return ZERO;
  if (!(g instanceof Complex)) throw new Error(`expected a Complex gradient, got ${g}`);
  return C(g.re, g.im);
};
const cot = (back, s) => {
  const [g] = back(complex(s.re, s.im));
  return g === null ? ZERO : C(g.re, g.im);
};

const close = (a, b, tol) => Math.abs(a - b) <= tol;
const closeC = (a, b, tol) => close(a.re, b.re, tol) && close(a.im, b.im, tol);
const show = (x) => JSON.stringify(x);

// relative tolerance on the largest magnitude that flows through the expression
const RTOL = 1e-9;

test('Cauchy–Riemann: for holomorphic f, gradient(Re f) = ux + i uy and gradient(Im f) = vx + i vy give ux = vy, uy = −vx', (t) => {
  fc.assert(
    fc.property(treeArbitrary(4, { nonHolomorphic: false }), point, (tree, z) => {
      fc.pre(hasZ(tree));
      const ref = evaluate(tree, z);
      fc.pre(ref.ok);
      const { u, v } = build(tree);
      const gu = grad1(u, z), gv = grad1(v, z);
      const tol = RTOL * ref.scale;
      const ctx = `f = ${source(tree)}, z = ${show(z)}, ∇u = ${show(gu)}, ∇v = ${show(gv)}`;
      if (!close(gu.re, gv.im, tol)) throw new Error(`ux ≠ vy: ${ctx}`);
      if (!close(gu.im, -gv.re, tol)) throw new Error(`uy ≠ −vx: ${ctx}`);
      // and against the reference: ∇u = conj f′, ∇v = i·conj f′ with f′ = f_x
      if (!closeC(gu, cj(ref.fx), tol)) throw new Error(`∇u ≠ conj f′ = ${show(cj(ref.fx))}: ${ctx}`);
      if (!closeC(gv, mul(I, cj(ref.fx)), tol)) throw new Error(`∇v ≠ i·conj f′: ${ctx}`);
      // holomorphic reference sanity: f_y = i f_x
      if (!closeC(ref.fy, mul(I, ref.fx), tol)) throw new Error(`reference not holomorphic: ${ctx}`);
    }),
    { numRuns: 150 },
  );
  t.pass();
});

test('holomorphic f: pullback value = f(z), back(s) = s·conj f′(z), jvp(f, [z], [t]) = f′(z)·t', (t) => {
  fc.assert(
    fc.property(treeArbitrary(4, { nonHolomorphic: false }), point, tangent, tangent, (tree, z, s, tan) => {
      fc.pre(hasZ(tree));
      const ref = evaluate(tree, z);
      fc.pre(ref.ok);
      const { f } = build(tree);
      const tol = RTOL * ref.scale * 4;
      const ctx = `f = ${source(tree)}, z = ${show(z)}`;
      const [y, back] = pullback(f, complex(z.re, z.im));
      if (!(y instanceof Complex) || !closeC(y, ref.v, tol)) throw new Error(`value ${show(y)} ≠ ${show(ref.v)}: ${ctx}`);
      const b = cot(back, s);
      if (!closeC(b, mul(s, cj(ref.fx)), tol)) throw new Error(`back(${show(s)}) = ${show(b)} ≠ ${show(mul(s, cj(ref.fx)))}: ${ctx}`);
      const [y2, dy] = jvp(f, [complex(z.re, z.im)], [complex(tan.re, tan.im)]);
      if (!closeC(y2, ref.v, tol)) throw new Error(`jvp value ${show(y2)}: ${ctx}`);
      const d = dy === null || dy === 0 ? ZERO : dy;
      if (!closeC(d, mul(ref.fx, tan), tol)) throw new Error(`jvp tangent ${show(dy)} ≠ ${show(mul(ref.fx, tan))}: ${ctx}`);
    }),
    { numRuns: 100 },
  );
  t.pass();
});

test('with conj and abs: back(1) = u_x + i u_y, back(i) = v_x + i v_y, jvp = f_x t.re + f_y t.im (reference partials)', (t) => {
  fc.assert(
    fc.property(treeArbitrary(4, { nonHolomorphic: true }), point, tangent, (tree, z, tan) => {
      fc.pre(hasZ(tree));
      const ref = evaluate(tree, z);
      fc.pre(ref.ok);
      const { f } = build(tree);
      const tol = RTOL * ref.scale * 4;
      const ctx = `f = ${source(tree)}, z = ${show(z)}`;
      const [, back] = pullback(f, complex(z.re, z.im));
      const b1 = cot(back, C(1, 0)), bi = cot(back, C(0, 1));
      const e1 = C(ref.fx.re, ref.fy.re), ei = C(ref.fx.im, ref.fy.im);
      if (!closeC(b1, e1, tol)) throw new Error(`back(1) = ${show(b1)} ≠ ${show(e1)}: ${ctx}`);
      if (!closeC(bi, ei, tol)) throw new Error(`back(i) = ${show(bi)} ≠ ${show(ei)}: ${ctx}`);
      const [, dy] = jvp(f, [complex(z.re, z.im)], [complex(tan.re, tan.im)]);
      const d = dy === null || dy === 0 ? ZERO : dy;
      const e = add(scale(tan.re, ref.fx), scale(tan.im, ref.fy));
      if (!closeC(d, e, tol)) throw new Error(`jvp ${show(dy)} ≠ ${show(e)}: ${ctx}`);
    }),
    { numRuns: 100 },
  );
  t.pass();
});
