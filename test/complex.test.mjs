// Complex numbers in traced code: values vs a plain-JS reference complex arithmetic, gradients/pullbacks/jvps/Hessians vs closed forms and Richardson finite differences in re and im, and the error cases.
import test from 'ava';
import {
  traced,
  gradient,
  withGradient,
  pullback,
  jvp,
  derivative,
  hessian,
  hvp,
  jacobian,
  Complex,
  complex,
  conj,
  TracegradError,
} from '../dist/index.js';
import { richardsonDerivative, assertClose } from './helpers/reference.mjs';

// ---------------------------------------------------------------------------------------------------------------
// Reference complex arithmetic on plain numbers ({ re, im } objects), written independently of lib/complex.ts:
// sqrt uses the half-angle formulas instead of the polar form, sin/cos go through exp, pow(z, n) multiplies n times.
// ---------------------------------------------------------------------------------------------------------------
const C = (re, im = 0) => ({ re, im });
const R = {
  add: (a, b) => C(a.re + b.re, a.im + b.im),
  sub: (a, b) => C(a.re - b.re, a.im - b.im),
  mul: (a, b) => C(a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re),
  div: (a, b) => {
    const d = b.re * b.re + b.im * b.im;
    return C((a.re * b.re + a.im * b.im) / d, (a.im * b.re - a.re * b.im) / d);
  },
  neg: (a) => C(-a.re, -a.im),
  conj: (a) => C(a.re, -a.im),
  scale: (k, a) => C(k * a.re, k * a.im),
  abs: (a) => Math.hypot(a.re, a.im),
  exp: (a) => C(Math.exp(a.re) * Math.cos(a.im), Math.exp(a.re) * Math.sin(a.im)),
  log: (a) => C(Math.log(Math.hypot(a.re, a.im)), Math.atan2(a.im, a.re)),
  // √z = √((|z|+x)/2) + i·sign(y)·√((|z|−x)/2), sign(±0) = ±1 (principal branch, cut on the negative real axis)
  sqrt: (a) => {
    const r = Math.hypot(a.re, a.im);
    const s = a.im < 0 || Object.is(a.im, -0) ? -1 : 1;
    return C(Math.sqrt((r + a.re) / 2), s * Math.sqrt((r - a.re) / 2));
  },
  // sin z = (e^{iz} − e^{−iz}) / 2i, cos z = (e^{iz} + e^{−iz}) / 2
  sin: (a) => {
    const p = R.exp(C(-a.im, a.re)), m = R.exp(C(a.im, -a.re));
    return R.div(R.sub(p, m), C(0, 2));
  },
  cos: (a) => {
    const p = R.exp(C(-a.im, a.re)), m = R.exp(C(a.im, -a.re));
    return R.scale(0.5, R.add(p, m));
  },
  powInt: (a, n) => {
    let r = C(1, 0);
    for (let k = 0; k < Math.abs(n); k++) r = R.mul(r, a);
    return n < 0 ? R.div(C(1, 0), r) : r;
  },
  pow: (a, b) => R.exp(R.mul(b, R.log(a))),
};

/** A Complex (or { re, im }) as a plain { re, im } object, for assertClose against reference values. */
const plain = (z) => ({ re: z.re, im: z.im });

/** ∂g/∂x + i·∂g/∂y of a plain real function g(x, y) at (x, y), by Richardson finite differences. */
const fdGrad = (g, x, y) => C(richardsonDerivative((s) => g(s, y), x), richardsonDerivative((s) => g(x, s), y));

/** Partials of a plain complex-valued F(x, y) = u + iv: { fx: u_x + i v_x, fy: u_y + i v_y } by finite differences. */
const fdPartials = (F, x, y) => ({
  fx: C(richardsonDerivative((s) => F(s, y).re, x), richardsonDerivative((s) => F(s, y).im, x)),
  fy: C(richardsonDerivative((s) => F(x, s).re, y), richardsonDerivative((s) => F(x, s).im, y)),
});

const FD = { rtol: 1e-7, atol: 1e-9 };
const TIGHT = { rtol: 1e-12, atol: 1e-14 };

const Z = C(0.7, -1.3);
const W = C(-0.4, 2.1);
const POINTS = [C(0.7, -1.3), C(-1.2, 0.4), C(2, 3), C(0.3, 0.9)];

// ---------------------------------------------------------------------------------------------------------------
// values
// ---------------------------------------------------------------------------------------------------------------

test('arithmetic on Complex values, and mixed with reals on either side, matches the reference arithmetic', (t) => {
  const f = traced((z, w) => ({
    add: z + w, sub: z - w, mul: z * w, div: z / w,
    addL: 2 + z, addR: z + 2, subL: 2 - z, subR: z - 2,
    mulL: 2 * z, mulR: z * 2, divL: 2 / z, divR: z / 2, neg: -z,
  }));
  for (const [z, w] of [[Z, W], [W, Z], [C(3, 4), C(1, -2)]]) {
    const out = f(complex(z.re, z.im), complex(w.re, w.im));
    for (const v of Object.values(out)) t.true(v instanceof Complex);
    const two = C(2, 0);
    const expected = {
      add: R.add(z, w), sub: R.sub(z, w), mul: R.mul(z, w), div: R.div(z, w),
      addL: R.add(two, z), addR: R.add(z, two), subL: R.sub(two, z), subR: R.sub(z, two),
      mulL: R.mul(two, z), mulR: R.mul(z, two), divL: R.div(two, z), divR: R.div(z, two), neg: R.neg(z),
    };
    assertClose(t, Object.fromEntries(Object.entries(out).map(([k, v]) => [k, plain(v)])), expected, TIGHT);
  }
});

test('exact small cases: (1+2i)(3−i) = 5+5i, (3+4i)/(1+2i) = 2.2−0.4i (rounded), i·i = −1', (t) => {
  const mul = traced((a, b) => a * b);
  t.deepEqual(plain(mul(complex(1, 2), complex(3, -1))), C(5, 5));
  t.deepEqual(plain(mul(complex(0, 1), complex(0, 1))), C(-1, 0));
  const q = traced((a, b) => a / b)(complex(3, 4), complex(1, 2));
  assertClose(t, plain(q), C(2.2, -0.4), TIGHT);
  // a Complex with only a real part given has im 0
  t.deepEqual(plain(complex(5)), C(5, 0));
});

test('Math.exp, log, sqrt, sin, cos and abs of Complex match closed forms', (t) => {
  const f = traced((z) => [Math.exp(z), Math.log(z), Math.sqrt(z), Math.sin(z), Math.cos(z), Math.abs(z)]);
  for (const z of POINTS) {
    const [e, l, s, sn, cs, a] = f(complex(z.re, z.im));
    assertClose(t, plain(e), R.exp(z), TIGHT);
    assertClose(t, plain(l), R.log(z), TIGHT);
    assertClose(t, plain(s), R.sqrt(z), TIGHT);
    // sin(x+iy) = sin x cosh y + i cos x sinh y, cos(x+iy) = cos x cosh y − i sin x sinh y
    assertClose(t, plain(sn), C(Math.sin(z.re) * Math.cosh(z.im), Math.cos(z.re) * Math.sinh(z.im)), TIGHT);
    assertClose(t, plain(sn), R.sin(z), { rtol: 1e-12, atol: 1e-13 });
    assertClose(t, plain(cs), C(Math.cos(z.re) * Math.cosh(z.im), -Math.sin(z.re) * Math.sinh(z.im)), TIGHT);
    assertClose(t, plain(cs), R.cos(z), { rtol: 1e-12, atol: 1e-13 });
    t.is(typeof a, 'number');
    assertClose(t, a, Math.hypot(z.re, z.im), TIGHT);
  }
});

test('known values: e^{iπ} = −1, log(−1) = iπ, log i = iπ/2, √−4 = 2i, sin i = i·sinh 1, cos i = cosh 1, |3+4i| = 5', (t) => {
  const f = traced((z) => Math.exp(z));
  assertClose(t, plain(f(complex(0, Math.PI))), C(-1, 0), { atol: 1e-15, rtol: 0 });
  assertClose(t, plain(traced((z) => Math.log(z))(complex(-1, 0))), C(0, Math.PI), TIGHT);
  assertClose(t, plain(traced((z) => Math.log(z))(complex(0, 1))), C(0, Math.PI / 2), TIGHT);
  assertClose(t, plain(traced((z) => Math.sqrt(z))(complex(-4, 0))), C(0, 2), { atol: 1e-15, rtol: 1e-15 });
  // principal branch: just below the cut the root has a negative imaginary part
  const below = traced((z) => Math.sqrt(z))(complex(-4, -1e-12));
  t.true(below.im < 0);
  assertClose(t, plain(traced((z) => Math.sin(z))(complex(0, 1))), C(0, Math.sinh(1)), TIGHT);
  assertClose(t, plain(traced((z) => Math.cos(z))(complex(0, 1))), C(Math.cosh(1), 0), TIGHT);
  t.is(traced((z) => Math.abs(z))(complex(3, 4)), 5);
});

test('identities: exp(log z) = z, (√z)² = z, sin² z + cos² z = 1, e^{z+w} = e^z e^w', (t) => {
  const f = traced((z, w) => [Math.exp(Math.log(z)), Math.sqrt(z) * Math.sqrt(z), Math.sin(z) * Math.sin(z) + Math.cos(z) * Math.cos(z),
    Math.exp(z + w) - Math.exp(z) * Math.exp(w)]);
  for (const z of POINTS) {
    const [a, b, c, d] = f(complex(z.re, z.im), complex(W.re, W.im));
    assertClose(t, plain(a), z, { rtol: 1e-13, atol: 1e-14 });
    assertClose(t, plain(b), z, { rtol: 1e-13, atol: 1e-14 });
    assertClose(t, plain(c), C(1, 0), { rtol: 1e-12, atol: 1e-12 });
    assertClose(t, plain(d), C(0, 0), { rtol: 0, atol: 1e-12 * R.abs(R.exp(R.add(z, W))) });
  }
});

test('integer powers are exact repeated products: (1+2i)^2..^5 over the Gaussian integers, z^0 = 1, 0^3 = 0', (t) => {
  const f = traced((z) => [z ** 2, z ** 3, z ** 4, z ** 5, z ** 0, z ** 1]);
  // (1+2i)² = −3+4i, ³ = −11−2i, ⁴ = −7−24i, ⁵ = 41−38i
  t.deepEqual(f(complex(1, 2)).map(plain), [C(-3, 4), C(-11, -2), C(-7, -24), C(41, -38), C(1, 0), C(1, 2)]);
  t.deepEqual(plain(traced((z) => z ** 3)(complex(0, 0))), C(0, 0));
  t.deepEqual(plain(traced((z) => z ** 0)(complex(0, 0))), C(1, 0));
});

test('powers: negative integers, fractional, complex exponents and a real base with a Complex exponent', (t) => {
  const f = traced((z, w) => ({ m2: z ** -2, m3: z ** -3, half: z ** 0.5, frac: z ** 1.7, cz: z ** w, base: 2 ** z }));
  for (const z of POINTS) {
    const out = f(complex(z.re, z.im), complex(W.re, W.im));
    assertClose(t, plain(out.m2), R.powInt(z, -2), TIGHT);
    assertClose(t, plain(out.m3), R.powInt(z, -3), TIGHT);
    assertClose(t, plain(out.half), R.sqrt(z), { rtol: 1e-13, atol: 1e-14 });
    assertClose(t, plain(out.frac), R.pow(z, C(1.7)), { rtol: 1e-13, atol: 1e-14 });
    assertClose(t, plain(out.cz), R.pow(z, W), { rtol: 1e-12, atol: 1e-14 });
    // 2^z = e^{z ln 2}
    assertClose(t, plain(out.base), R.exp(R.scale(Math.LN2, z)), { rtol: 1e-13, atol: 1e-14 });
  }
});

test('compound assignments += -= *= /= **= on Complex: values vs reference, gradient vs finite differences', (t) => {
  const f = traced((z, w) => { let s = complex(1, 0); s += z; s *= w; s -= z; s /= w; s **= 2; return s; }, { complex });
  const ref = (z, w) => R.powInt(R.div(R.sub(R.mul(R.add(C(1), z), w), z), w), 2);
  const z = C(0.5, 1), w = C(2, -1);
  // ((1 + z) w − z)/w = 1.5 + 0.5i, squared 2 + 1.5i
  assertClose(t, plain(f(complex(z.re, z.im), complex(w.re, w.im))), C(2, 1.5), TIGHT);
  assertClose(t, plain(f(complex(z.re, z.im), complex(w.re, w.im))), ref(z, w), TIGHT);
  const u = traced((z, w) => f(z, w).im, { f });
  const [gz, gw] = gradient(u, complex(z.re, z.im), complex(w.re, w.im));
  assertClose(t, plain(gz), fdGrad((x, y) => ref(C(x, y), w).im, z.re, z.im), FD);
  assertClose(t, plain(gw), fdGrad((x, y) => ref(z, C(x, y)).im, w.re, w.im), FD);
});

test('gradients with respect to exponents: z ** w in both arguments, and z ** n with a tracked integer n', (t) => {
  const z = C(0.5, 1), w = C(2, 0.5);
  const [gz, gw] = gradient(traced((z, w) => (z ** w).re), complex(z.re, z.im), complex(w.re, w.im));
  assertClose(t, plain(gz), fdGrad((x, y) => R.pow(C(x, y), w).re, z.re, z.im), FD);
  assertClose(t, plain(gw), fdGrad((x, y) => R.pow(z, C(x, y)).re, w.re, w.im), FD);
  // n tracked: the general exp(n log z) path; d/dn Re zⁿ = Re(zⁿ log z), ∇_z Re zⁿ = conj(n zⁿ⁻¹)
  const [hz, hn] = gradient(traced((z, n) => (z ** n).re), complex(z.re, z.im), 3);
  assertClose(t, plain(hz), R.conj(R.scale(3, R.powInt(z, 2))), { rtol: 1e-12, atol: 1e-13 });
  assertClose(t, hn, R.mul(R.powInt(z, 3), R.log(z)).re, { rtol: 1e-12, atol: 1e-13 });
});

test('conj(z) and z.conj() flip the imaginary part, also of a real; toString formats re±im·i', (t) => {
  const f = traced((z, x) => [z.conj(), conj(z), conj(x)], { conj });
  const [a, b, c] = f(complex(0.7, -1.3), 2.5);
  t.deepEqual(plain(a), C(0.7, 1.3));
  t.deepEqual(plain(b), C(0.7, 1.3));
  t.true(c instanceof Complex);
  t.is(c.re, 2.5);
  t.is(Math.abs(c.im), 0);
  t.is(String(complex(1, -2)), '1-2i');
  t.is(String(complex(1.5, 2)), '1.5+2i');
});

// ---------------------------------------------------------------------------------------------------------------
// gradients of real functions of z: ∂f/∂re + i·∂f/∂im
// ---------------------------------------------------------------------------------------------------------------

/**
 * Each case: a traced real f(z), the same function on plain (x, y), and the gradient ∂f/∂x + i ∂f/∂y in closed form.
 */
const REAL_CASES = [
  { name: 'z.re * z.im', f: (z) => z.re * z.im, g: (x, y) => x * y, grad: (x, y) => C(y, x) },
  { name: '|z|² as (z·conj z).re', f: (z) => (z * conj(z)).re, g: (x, y) => x * x + y * y, grad: (x, y) => C(2 * x, 2 * y) },
  { name: 'Math.abs(z)', f: (z) => Math.abs(z), g: (x, y) => Math.hypot(x, y), grad: (x, y) => C(x / Math.hypot(x, y), y / Math.hypot(x, y)) },
  // |e^z| = e^x
  { name: 'abs(exp(z))', f: (z) => Math.abs(Math.exp(z)), g: (x, y) => R.abs(R.exp(C(x, y))), grad: (x) => C(Math.exp(x), 0) },
  // (z²).re = x² − y², (z²).im = 2xy
  { name: '(z*z).re', f: (z) => (z * z).re, g: (x, y) => R.mul(C(x, y), C(x, y)).re, grad: (x, y) => C(2 * x, -2 * y) },
  { name: '(z*z).im', f: (z) => (z * z).im, g: (x, y) => R.mul(C(x, y), C(x, y)).im, grad: (x, y) => C(2 * y, 2 * x) },
  // arg z = atan2(y, x): ∇ = (−y, x)/r²
  { name: 'Math.log(z).im (arg z)', f: (z) => Math.log(z).im, g: (x, y) => R.log(C(x, y)).im,
    grad: (x, y) => C(-y / (x * x + y * y), x / (x * x + y * y)) },
  // |sin z|² = sin² x + sinh² y: ∇ = (sin 2x, sinh 2y)
  { name: '|sin z|²', f: (z) => Math.abs(Math.sin(z)) ** 2, g: (x, y) => R.abs(R.sin(C(x, y))) ** 2,
    grad: (x, y) => C(Math.sin(2 * x), Math.sinh(2 * y)) },
  // (1/z).re = x/r²: ∇ = ((y² − x²)/r⁴, −2xy/r⁴)
  { name: '(1/z).re', f: (z) => (1 / z).re, g: (x, y) => R.div(C(1), C(x, y)).re,
    grad: (x, y) => { const r2 = x * x + y * y; return C((y * y - x * x) / (r2 * r2), (-2 * x * y) / (r2 * r2)); } },
  // Re(z³ − 2z) = x³ − 3xy² − 2x: ∇ = (3x² − 3y² − 2, −6xy)
  { name: '(z**3 - 2*z).re', f: (z) => (z ** 3 - 2 * z).re, g: (x, y) => R.sub(R.powInt(C(x, y), 3), R.scale(2, C(x, y))).re,
    grad: (x, y) => C(3 * x * x - 3 * y * y - 2, -6 * x * y) },
  // Im √z: no simple closed form worth writing; finite differences only
  { name: 'Math.sqrt(z).im', f: (z) => Math.sqrt(z).im, g: (x, y) => R.sqrt(C(x, y)).im },
  { name: 'Math.cos(z * z).re / (1 + |z|)', f: (z) => Math.cos(z * z).re / (1 + Math.abs(z)),
    g: (x, y) => R.cos(R.mul(C(x, y), C(x, y))).re / (1 + Math.hypot(x, y)) },
];

test('the gradient of z.re * z.im at 2+3i is the Complex 3+2i (Zygote convention)', (t) => {
  const [g] = gradient(traced((z) => z.re * z.im), complex(2, 3));
  t.true(g instanceof Complex);
  t.deepEqual(plain(g), C(3, 2));
});

for (const c of REAL_CASES) {
  test(`gradient of ${c.name} vs closed form and finite differences in re and im`, (t) => {
    const f = traced(c.f, { conj });
    for (const z of POINTS) {
      const [g] = gradient(f, complex(z.re, z.im));
      t.true(g instanceof Complex, 'the gradient of a Complex argument is a Complex');
      if (c.grad) assertClose(t, plain(g), c.grad(z.re, z.im), TIGHT);
      assertClose(t, plain(g), fdGrad(c.g, z.re, z.im), FD);
      // the value itself
      assertClose(t, f(complex(z.re, z.im)), c.g(z.re, z.im), TIGHT);
    }
  });
}

test('gradient of a real function of two Complex arguments and a real one vs finite differences', (t) => {
  const f = traced((z, w, k) => Math.abs(z * w + conj(z) * k) + (Math.exp(z / w)).im * k, { conj });
  const g = (zr, zi, wr, wi, k) => {
    const z = C(zr, zi), w = C(wr, wi);
    return R.abs(R.add(R.mul(z, w), R.scale(k, R.conj(z)))) + R.exp(R.div(z, w)).im * k;
  };
  const k = 0.8;
  const [gz, gw, gk] = gradient(f, complex(Z.re, Z.im), complex(W.re, W.im), k);
  const at = [Z.re, Z.im, W.re, W.im, k];
  const partial = (i) => richardsonDerivative((s) => g(...at.map((v, j) => (j === i ? s : v))), at[i]);
  assertClose(t, plain(gz), C(partial(0), partial(1)), FD);
  assertClose(t, plain(gw), C(partial(2), partial(3)), FD);
  assertClose(t, gk, partial(4), FD);
});

test('withGradient of a real loss of z returns the value and a Complex gradient; the argument stays plain', (t) => {
  const z = complex(1, 2);
  const { value, grad } = withGradient(traced((z) => [Math.abs(z), z * 2]), z);
  assertClose(t, value[0], Math.sqrt(5), TIGHT);
  t.deepEqual(plain(value[1]), C(2, 4));
  assertClose(t, plain(grad[0]), C(1 / Math.sqrt(5), 2 / Math.sqrt(5)), TIGHT);
  t.is(typeof z.re, 'number');
  t.is(typeof z.im, 'number');
  t.deepEqual(plain(z), C(1, 2));
});

test('gradient through integer powers at z = 0 is finite (repeated multiplication, no log 0)', (t) => {
  const [g] = gradient(traced((z) => (z ** 3).re + (z ** 2).im + (z ** 1).re), complex(0, 0));
  // Re z³ and Im z² have zero gradient at 0, Re z has gradient 1
  t.deepEqual(plain(g), C(1, 0));
});

test('derivative of a real function of a real x through complex intermediates: Re e^{ix} = cos x, Im((x + 2i)³)', (t) => {
  for (const x of [0.3, -1.1, 2]) {
    const d1 = derivative(traced((x) => Math.exp(complex(0, x)).re, { complex }), x);
    assertClose(t, d1, -Math.sin(x), TIGHT);
    // Im((x+2i)³) = 3x²·2 − 8 → d/dx = 12x
    const d2 = derivative(traced((x) => (complex(x, 2) ** 3).im, { complex }), x);
    assertClose(t, d2, 12 * x, TIGHT);
    const [g] = gradient(traced((x) => Math.abs(Math.sin(complex(x, 0.5))), { complex }), x);
    assertClose(t, g, richardsonDerivative((s) => R.abs(R.sin(C(s, 0.5))), x), FD);
  }
});

// ---------------------------------------------------------------------------------------------------------------
// pullback with Complex seeds: a plain vector–Jacobian product on (re, im) pairs.
// For output u + iv and seed s: cotangent = s.re·(u_x + i u_y) + s.im·(v_x + i v_y).
// Wirtinger: with A = conj(∂f/∂z), B = ∂f/∂z̄: back(1) = A + B, back(i) = i(A − B), so
// ∂f/∂z = conj((back(1) − i·back(i))/2) and ∂f/∂z̄ = (back(1) + i·back(i))/2.
// ---------------------------------------------------------------------------------------------------------------

const I = C(0, 1);
const wirtinger = (b1, bi) => ({
  dz: R.conj(R.scale(0.5, R.sub(b1, R.mul(I, bi)))),
  dzbar: R.scale(0.5, R.add(b1, R.mul(I, bi))),
});

const HOLOMORPHIC = [
  { name: 'z²', f: (z) => z * z, F: (z) => R.mul(z, z), d: (z) => R.scale(2, z) },
  { name: 'exp z', f: (z) => Math.exp(z), F: R.exp, d: R.exp },
  { name: 'sin z', f: (z) => Math.sin(z), F: R.sin, d: R.cos },
  { name: '1/z', f: (z) => 1 / z, F: (z) => R.div(C(1), z), d: (z) => R.neg(R.div(C(1), R.mul(z, z))) },
  { name: 'z³ − 2z + 1', f: (z) => z ** 3 - 2 * z + 1, F: (z) => R.add(R.sub(R.powInt(z, 3), R.scale(2, z)), C(1)),
    d: (z) => R.sub(R.scale(3, R.mul(z, z)), C(2)) },
  { name: 'cos z · e^z', f: (z) => Math.cos(z) * Math.exp(z), F: (z) => R.mul(R.cos(z), R.exp(z)),
    d: (z) => R.mul(R.sub(R.cos(z), R.sin(z)), R.exp(z)) },
  { name: 'log z', f: (z) => Math.log(z), F: R.log, d: (z) => R.div(C(1), z) },
  { name: '√z', f: (z) => Math.sqrt(z), F: R.sqrt, d: (z) => R.div(C(0.5), R.sqrt(z)) },
];

for (const c of HOLOMORPHIC) {
  test(`pullback of holomorphic ${c.name}: back(1) = conj f′(z), back(i) = i·conj f′(z), ∂f/∂z̄ = 0`, (t) => {
    const f = traced(c.f);
    for (const z of POINTS) {
      const [y, back] = pullback(f, complex(z.re, z.im));
      t.true(y instanceof Complex);
      assertClose(t, plain(y), c.F(z), { rtol: 1e-12, atol: 1e-13 });
      const [b1] = back(complex(1, 0));
      const [bi] = back(complex(0, 1));
      t.true(b1 instanceof Complex);
      const fp = c.d(z);
      assertClose(t, plain(b1), R.conj(fp), { rtol: 1e-12, atol: 1e-13 });
      assertClose(t, plain(bi), R.mul(I, R.conj(fp)), { rtol: 1e-12, atol: 1e-13 });
      const w = wirtinger(plain(b1), plain(bi));
      assertClose(t, w.dz, fp, { rtol: 1e-12, atol: 1e-13 });
      assertClose(t, w.dzbar, C(0, 0), { rtol: 0, atol: 1e-12 * (1 + R.abs(fp)) });
      // and the same from finite differences of the reference: f_x = f′, f_y = i f′
      const { fx, fy } = fdPartials((x, yy) => c.F(C(x, yy)), z.re, z.im);
      assertClose(t, plain(b1), C(fx.re, fy.re), FD);
      assertClose(t, plain(bi), C(fx.im, fy.im), FD);
    }
  });
}

const NON_HOLOMORPHIC = [
  // conj z: ∂/∂z = 0, ∂/∂z̄ = 1
  { name: 'conj z', f: (z) => conj(z), F: R.conj, dz: () => C(0), dzbar: () => C(1) },
  { name: 'z.conj()', f: (z) => z.conj(), F: R.conj, dz: () => C(0), dzbar: () => C(1) },
  // z·z̄ = |z|²: ∂/∂z = z̄, ∂/∂z̄ = z
  { name: 'z·conj z', f: (z) => z * conj(z), F: (z) => R.mul(z, R.conj(z)), dz: R.conj, dzbar: (z) => z },
  // z|z| = z (z z̄)^{1/2}: ∂/∂z = |z| + z z̄/(2|z|) = 3|z|/2, ∂/∂z̄ = z²/(2|z|)
  { name: 'z·|z|', f: (z) => z * Math.abs(z), F: (z) => R.scale(R.abs(z), z), dz: (z) => C(1.5 * R.abs(z)),
    dzbar: (z) => R.scale(1 / (2 * R.abs(z)), R.mul(z, z)) },
  // |z| as a real output seeded with 1: ∂/∂z = ∂/∂z̄ = … ; back(1) = z/|z|. Kept complex-valued via complex(|z|, 0).
  { name: 'complex(|z|, 0)', f: (z) => complex(Math.abs(z), 0), F: (z) => C(R.abs(z)),
    dz: (z) => R.scale(1 / (2 * R.abs(z)), R.conj(z)), dzbar: (z) => R.scale(1 / (2 * R.abs(z)), z) },
  // z² + conj(z)·e^z: ∂/∂z = 2z + z̄ e^z, ∂/∂z̄ = e^z
  { name: 'z² + conj(z)·e^z', f: (z) => z * z + conj(z) * Math.exp(z), F: (z) => R.add(R.mul(z, z), R.mul(R.conj(z), R.exp(z))),
    dz: (z) => R.add(R.scale(2, z), R.mul(R.conj(z), R.exp(z))), dzbar: R.exp },
];

for (const c of NON_HOLOMORPHIC) {
  test(`pullback of non-holomorphic ${c.name}: Wirtinger derivatives from seeds 1 and i vs closed forms and finite differences`, (t) => {
    const f = traced(c.f, { conj, complex });
    for (const z of POINTS) {
      const [y, back] = pullback(f, complex(z.re, z.im));
      assertClose(t, plain(y), c.F(z), { rtol: 1e-12, atol: 1e-13 });
      const [b1] = back(complex(1, 0));
      const [bi] = back(complex(0, 1));
      const w = wirtinger(plain(b1), plain(bi));
      assertClose(t, w.dz, c.dz(z), { rtol: 1e-12, atol: 1e-13 });
      assertClose(t, w.dzbar, c.dzbar(z), { rtol: 1e-12, atol: 1e-13 });
      const { fx, fy } = fdPartials((x, yy) => c.F(C(x, yy)), z.re, z.im);
      assertClose(t, plain(b1), C(fx.re, fy.re), FD);
      assertClose(t, plain(bi), C(fx.im, fy.im), FD);
    }
  });
}

test('pullback seeds are linear: back(a + bi) = a·back(1) + b·back(i), and back(s) = s·conj f′ for holomorphic f', (t) => {
  const f = traced((z, w) => [Math.sin(z) * w, conj(z) + w * w], { conj });
  const [, back] = pullback(f, complex(Z.re, Z.im), complex(W.re, W.im));
  const s = [complex(0.3, -1.7), complex(-2, 0.5)];
  const [gz, gw] = back(s);
  const e1 = back([complex(1, 0), complex(0, 0)]), ei = back([complex(0, 1), complex(0, 0)]);
  const f1 = back([complex(0, 0), complex(1, 0)]), fi = back([complex(0, 0), complex(0, 1)]);
  const comb = (a, b, k) => R.add(R.scale(s[k].re, plain(a)), R.scale(s[k].im, plain(b)));
  assertClose(t, plain(gz), R.add(comb(e1[0], ei[0], 0), comb(f1[0], fi[0], 1)), TIGHT);
  assertClose(t, plain(gw), R.add(comb(e1[1], ei[1], 0), comb(f1[1], fi[1], 1)), TIGHT);
  // output 0 is holomorphic in z and w: its cotangent for seed s is s·conj(∂/∂z) = s·conj(cos z · w)
  assertClose(t, plain(e1[0]), R.conj(R.mul(R.cos(Z), W)), TIGHT);
  const [one] = pullback(traced((z) => Math.exp(z)), complex(Z.re, Z.im))[1](s[0]);
  assertClose(t, plain(one), R.mul(plain(s[0]), R.conj(R.exp(Z))), TIGHT);
});

// ---------------------------------------------------------------------------------------------------------------
// jvp with Complex tangents: J·t = f_x t.re + f_y t.im (= f′(z)·t for holomorphic f)
// ---------------------------------------------------------------------------------------------------------------

test('jvp of holomorphic f with a Complex tangent is f′(z)·t', (t) => {
  for (const c of HOLOMORPHIC) {
    const f = traced(c.f);
    for (const tan of [C(1, 0), C(0, 1), C(0.4, -2.5)]) {
      const [y, dy] = jvp(f, [complex(Z.re, Z.im)], [complex(tan.re, tan.im)]);
      assertClose(t, plain(y), c.F(Z), { rtol: 1e-12, atol: 1e-13, message: c.name });
      t.true(dy instanceof Complex, `${c.name}: the tangent of a Complex output is a Complex`);
      assertClose(t, plain(dy), R.mul(c.d(Z), tan), { rtol: 1e-12, atol: 1e-13, message: c.name });
    }
  }
});

test('jvp of non-holomorphic f is ∂f/∂z·t + ∂f/∂z̄·conj(t), checked against finite differences', (t) => {
  const tan = C(0.4, -2.5);
  for (const c of NON_HOLOMORPHIC) {
    const [, dy] = jvp(traced(c.f, { conj, complex }), [complex(Z.re, Z.im)], [complex(tan.re, tan.im)]);
    assertClose(t, plain(dy), R.add(R.mul(c.dz(Z), tan), R.mul(c.dzbar(Z), R.conj(tan))), { rtol: 1e-12, atol: 1e-13, message: c.name });
    const { fx, fy } = fdPartials((x, y) => c.F(C(x, y)), Z.re, Z.im);
    assertClose(t, plain(dy), R.add(R.scale(tan.re, fx), R.scale(tan.im, fy)), { ...FD, message: c.name });
  }
});

test('jvp: real output of a Complex input, Complex output of a real input, and a real exponent on a Complex base', (t) => {
  // d|z| along t = (x t.re + y t.im)/|z|
  const tan = C(1, 2);
  const [, da] = jvp(traced((z) => Math.abs(z)), [complex(Z.re, Z.im)], [complex(tan.re, tan.im)]);
  assertClose(t, da, (Z.re * tan.re + Z.im * tan.im) / R.abs(Z), TIGHT);
  // d/dx e^{ix} = i e^{ix}
  const [e, de] = jvp(traced((x) => Math.exp(complex(0, x)), { complex }), [0.3], [1]);
  assertClose(t, plain(e), C(Math.cos(0.3), Math.sin(0.3)), TIGHT);
  t.true(de instanceof Complex);
  assertClose(t, plain(de), C(-Math.sin(0.3), Math.cos(0.3)), TIGHT);
  // d/dx z^x = z^x log z
  const x = 2.3;
  const [p, dp] = jvp(traced((z, x) => z ** x), [complex(Z.re, Z.im), x], [null, 1]);
  assertClose(t, plain(p), R.pow(Z, C(x)), { rtol: 1e-12, atol: 1e-13 });
  assertClose(t, plain(dp), R.mul(R.pow(Z, C(x)), R.log(Z)), { rtol: 1e-12, atol: 1e-13 });
  // a tangent given as a plain { re, im } object works like a Complex one
  const [, dq] = jvp(traced((z) => z * z), [complex(Z.re, Z.im)], [{ re: 0, im: 1 }]);
  assertClose(t, plain(dq), R.mul(R.scale(2, Z), I), TIGHT);
});

// ---------------------------------------------------------------------------------------------------------------
// second order through complex intermediates
// ---------------------------------------------------------------------------------------------------------------

test('hessian of Re((x + iy)³) = x³ − 3xy² is [[6x, −6y], [−6y, −6x]] at (1, 2), both modes', (t) => {
  const f = traced((v) => (complex(v[0], v[1]) ** 3).re, { complex });
  const expected = [[6, -12], [-12, -6]];
  assertClose(t, hessian(f, [1, 2]), expected, TIGHT);
  assertClose(t, hessian(f, [1, 2], { mode: 'reverse' }), expected, TIGHT);
  // a Hessian–vector product is the matching combination of columns
  assertClose(t, hvp(f, [1, 2], [1, -1]), [6 + 12, -12 + 6], TIGHT);
});

test('hessian of log|x + iy| (harmonic) vs closed form, through abs and log of a Complex', (t) => {
  const f1 = traced((v) => Math.log(Math.abs(complex(v[0], v[1]))), { complex });
  const f2 = traced((v) => Math.log(complex(v[0], v[1])).re, { complex });
  for (const [x, y] of [[1, 2], [-0.5, 0.3]]) {
    const r4 = (x * x + y * y) ** 2;
    // ∂²/∂x² log r = (y² − x²)/r⁴, ∂²/∂x∂y = −2xy/r⁴, ∂²/∂y² = (x² − y²)/r⁴
    const expected = [[(y * y - x * x) / r4, (-2 * x * y) / r4], [(-2 * x * y) / r4, (x * x - y * y) / r4]];
    assertClose(t, hessian(f1, [x, y]), expected, TIGHT);
    assertClose(t, hessian(f2, [x, y], { mode: 'reverse' }), expected, TIGHT);
  }
});

test('nested derivative through Complex: ∂²/∂x∂y Re((x+iy)³) = −6y, and a gradient inside a gradient', (t) => {
  const d = traced((x) => derivative((y) => (complex(x, y) ** 3).re, 2), { derivative, complex });
  // ∂/∂y Re = −6xy → ∂/∂x at y = 2: −12
  assertClose(t, derivative(d, 1), -12, TIGHT);
  // inner: ∂/∂y |e^{(x+iy)²}| = ∂/∂y e^{x²−y²} = −2y e^{x²−y²}; outer ∂/∂x at y = 0.5: −2y·2x e^{x²−y²}
  const g = traced((x) => gradient((y) => Math.abs(Math.exp(complex(x, y) * complex(x, y))), 0.5)[0], { gradient, complex });
  const x = 0.7;
  const [gx] = gradient(g, x);
  assertClose(t, gx, -2 * 0.5 * 2 * x * Math.exp(x * x - 0.25), TIGHT);
});

// ---------------------------------------------------------------------------------------------------------------
// errors
// ---------------------------------------------------------------------------------------------------------------

test('a Complex loss in gradient or withGradient throws a TracegradError that mentions Complex', (t) => {
  for (const run of [
    () => gradient(traced((z) => z * z), complex(1, 2)),
    () => gradient(traced((x) => complex(x, x), { complex }), 1),
    () => withGradient(traced((z) => [Math.exp(z), 1]), complex(1, 2)),
  ]) {
    const e = t.throws(run, { instanceOf: TracegradError });
    t.regex(e.message, /Complex/);
  }
});

test('jacobian of a function returning a Complex or an array of Complex throws a TracegradError', (t) => {
  t.throws(() => jacobian(traced((z) => z * z), complex(1, 2)), { instanceOf: TracegradError });
  t.throws(() => jacobian(traced((x) => complex(x, 1), { complex }), 2), { instanceOf: TracegradError });
  t.throws(() => jacobian(traced((x) => [complex(x, 1), complex(1, x)], { complex }), 2), { instanceOf: TracegradError });
  t.throws(() => jacobian(traced((v) => [complex(v[0], 1), complex(1, v[1]), complex(v[0], v[1])], { complex }), [2, 3]),
    { instanceOf: TracegradError });
  // derivative also wants a number output; jvp is the way to a Complex output's derivative
  t.throws(() => derivative(traced((x) => complex(x, x * x), { complex }), 2), { instanceOf: TracegradError });
});

test('comparisons of Complex values throw: <, >, <=, >= with Complex or real on either side, also under gradient', (t) => {
  const z = complex(1, 2), w = complex(2, 1);
  const cases = [(a, b) => a < b, (a, b) => a > b, (a, b) => a <= b, (a, b) => a >= b];
  for (const c of cases) {
    const f = traced(c);
    for (const [a, b] of [[z, w], [z, 1], [1, z]]) {
      const e = t.throws(() => f(a, b), { instanceOf: TracegradError });
      t.regex(e.message, /ordered/);
    }
  }
  t.throws(() => gradient(traced((z) => (z > 0 ? z.re : z.im)), z), { instanceOf: TracegradError });
});

test('an operation Complex does not define (%, Math.tan) throws a TracegradError naming it', (t) => {
  const e1 = t.throws(() => traced((z) => z % 2)(complex(1, 2)), { instanceOf: TracegradError });
  t.regex(e1.message, /Complex/);
  t.regex(e1.message, /\bmod\b/);
  const e2 = t.throws(() => traced((z) => Math.tan(z))(complex(1, 2)), { instanceOf: TracegradError });
  t.regex(e2.message, /\btan\b/);
});

// ---------------------------------------------------------------------------------------------------------------
// containers
// ---------------------------------------------------------------------------------------------------------------

test('an array of Complex arguments gets an array of Complex gradients (vs finite differences)', (t) => {
  const f = traced((zs) => {
    let s = complex(0, 0);
    for (let k = 0; k < zs.length; k++) s = s + zs[k] * zs[(k + 1) % zs.length];
    return Math.abs(s);
  }, { complex });
  const zs = [C(0.7, -1.3), C(-0.4, 2.1), C(1.1, 0.2)];
  const g = (flat) => {
    const w = [C(flat[0], flat[1]), C(flat[2], flat[3]), C(flat[4], flat[5])];
    let s = C(0);
    for (let k = 0; k < 3; k++) s = R.add(s, R.mul(w[k], w[(k + 1) % 3]));
    return R.abs(s);
  };
  const flat = zs.flatMap((z) => [z.re, z.im]);
  const partial = (i) => richardsonDerivative((v) => g(flat.map((u, j) => (j === i ? v : u))), flat[i]);
  const [grad] = gradient(f, zs.map((z) => complex(z.re, z.im)));
  t.true(Array.isArray(grad));
  t.is(grad.length, 3);
  for (let k = 0; k < 3; k++) {
    t.true(grad[k] instanceof Complex);
    assertClose(t, plain(grad[k]), C(partial(2 * k), partial(2 * k + 1)), FD);
  }
});

test('Complex values in a Map and in an object argument get gradients of the same shape', (t) => {
  const m = new Map([['a', complex(Z.re, Z.im)], ['b', complex(W.re, W.im)]]);
  const [gm] = gradient(traced((m) => Math.abs(m.get('a') * m.get('b'))), m);
  t.true(gm instanceof Map);
  // |a b| = |a||b|: ∇_a = |b| a/|a|
  assertClose(t, plain(gm.get('a')), R.scale(R.abs(W) / R.abs(Z), Z), TIGHT);
  assertClose(t, plain(gm.get('b')), R.scale(R.abs(Z) / R.abs(W), W), TIGHT);
  const [go] = gradient(traced((o) => (o.z * o.k).re + o.z.im), { z: complex(Z.re, Z.im), k: 3 });
  // (k z).re + z.im = k x + y
  assertClose(t, plain(go.z), C(3, 1), TIGHT);
  assertClose(t, go.k, Z.re, TIGHT);
});

test('Complex values stored in arrays, objects and Maps built inside traced code', (t) => {
  const f = traced((z, x) => {
    const powers = [];
    for (let k = 0; k < 4; k++) powers.push(z ** k);
    const table = new Map();
    table.set('e', Math.exp(z * x));
    table.set('s', Math.sin(z));
    const box = { p: powers, t: table, w: complex(x, -x) };
    let s = complex(0, 0);
    for (const p of box.p) s = s + p;
    s = s * box.t.get('e') - box.t.get('s') * box.w;
    return s.re * s.im;
  }, { complex });
  const ref = (zr, zi, x) => {
    const z = C(zr, zi);
    let s = C(0);
    for (let k = 0; k < 4; k++) s = R.add(s, R.powInt(z, k));
    s = R.sub(R.mul(s, R.exp(R.scale(x, z))), R.mul(R.sin(z), C(x, -x)));
    return s.re * s.im;
  };
  const x = 0.6;
  assertClose(t, f(complex(Z.re, Z.im), x), ref(Z.re, Z.im, x), TIGHT);
  const [gz, gx] = gradient(f, complex(Z.re, Z.im), x);
  assertClose(t, plain(gz), C(richardsonDerivative((s) => ref(s, Z.im, x), Z.re), richardsonDerivative((s) => ref(Z.re, s, x), Z.im)), FD);
  assertClose(t, gx, richardsonDerivative((s) => ref(Z.re, Z.im, s), x), FD);
  // a pullback of an array of Complex outputs takes an array of Complex seeds
  const [ys, back] = pullback(traced((z) => [z * z, { w: Math.exp(z) }]), complex(Z.re, Z.im));
  assertClose(t, plain(ys[0]), R.mul(Z, Z), TIGHT);
  assertClose(t, plain(ys[1].w), R.exp(Z), TIGHT);
  const [gb] = back([complex(1, 0), { w: complex(0, 1) }]);
  // seed 1 on z² gives conj(2z); seed i on e^z gives i·conj(e^z)
  assertClose(t, plain(gb), R.add(R.conj(R.scale(2, Z)), R.mul(I, R.conj(R.exp(Z)))), TIGHT);
});

test('Complex arguments are left with plain number fields after gradient, pullback, jvp and hessian', (t) => {
  const z = complex(0.5, -0.25);
  gradient(traced((z) => Math.abs(z * z)), z);
  const [, back] = pullback(traced((z) => Math.exp(z)), z);
  back(complex(1, 0));
  jvp(traced((z) => Math.sin(z)), [z], [complex(1, 1)]);
  for (const v of [z.re, z.im]) t.is(typeof v, 'number');
  t.deepEqual(plain(z), C(0.5, -0.25));
  t.true(z instanceof Complex);
  const v = [1, 2];
  hessian(traced((v) => (complex(v[0], v[1]) ** 3).re, { complex }), v);
  t.deepEqual(v, [1, 2]);
});
