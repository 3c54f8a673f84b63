// Complex numbers: a number type (rules/numbers.ts) whose arithmetic and Math functions are written in the overloaded ops, so every mode and level differentiates them.
import { O } from './rules/registry';
import { defineNumberType } from './rules/numbers';
import { TracegradError } from './errors';
import { Tracked } from './trace/tracked';
import { markTraced } from './ops';

/**
 * `re + i·im`. Inside traced code `+ - * / **`, unary minus and Math.exp, log, sqrt, sin, cos, abs work on Complex
 * values and mix with real numbers; `z.conj()` or `conj(z)` conjugates. The gradient of a real function of z is
 * ∂f/∂re + i·∂f/∂im (Zygote's convention), returned as a Complex; Wirtinger derivatives come from pullback with the
 * seeds 1 and i.
 *
 * @example
 * ```js
 * import { Complex, gradient } from 'tracegrad';
 * const z = new Complex(2, 3);
 * z.toString(); // → '2+3i'
 * // the gradient of a real f(z) is ∂f/∂re + i·∂f/∂im: here im + i·re
 * gradient((z) => z.re * z.im, z); // → [new Complex(3, 2)]
 * // |z|² = re² + im² has the gradient 2re + 2i·im
 * gradient((z) => Math.abs(z) ** 2, new Complex(3, 4)); // → [{ re: 6, im: 8 }]
 * ```
 */
export class Complex {
  constructor(public re: any, public im: any = 0) {}
  conj(): Complex {
    return conj(this);
  }
  toString(): string {
    return `${Number(this.re)}${Number(this.im) < 0 || Object.is(Number(this.im), -0) ? '-' : '+'}${Math.abs(Number(this.im))}i`;
  }
}

/**
 * `complex(re, im = 0)`: a Complex.
 *
 * @example
 * ```js
 * import { complex, gradient } from 'tracegrad';
 * const w = complex(1, 2);
 * [w.re, w.im]; // → [1, 2]
 * complex(5).im; // → 0
 * // Re(z²) = re² − im²: the gradient 2re − 2i·im
 * gradient((z) => (z * z).re, w); // → [complex(2, -4)]
 * ```
 */
export function complex(re: any, im: any = 0): Complex {
  return new Complex(re, im);
}

/**
 * The conjugate re − i·im.
 *
 * @example
 * ```js
 * import { conj, complex, gradient, traced } from 'tracegrad';
 * conj(complex(1, 2)); // → complex(1, -2)
 * complex(1, 2).conj(); // → complex(1, -2)
 * // z·conj(z) = |z|², whose gradient is 2re + 2i·im
 * gradient(traced((z) => (z * conj(z)).re, { conj }), complex(3, 4)); // → [complex(6, 8)]
 * ```
 */
export function conj(z: any): Complex {
  return z instanceof Complex ? new Complex(z.re, O.neg(z.im)) : new Complex(z, 0);
}

const re = (x: any) => (x instanceof Complex ? x.re : x);
const im = (x: any) => (x instanceof Complex ? x.im : 0);
const isReal = (x: any) => typeof x === 'number' || x instanceof Tracked;
const unordered = () => {
  throw new TracegradError('tracegrad: complex numbers are not ordered; compare their real parts, imaginary parts or abs().');
};

// each operation written with the overloaded ops (so it is differentiable at any level), declared once
const add = (a: any, b: any) => new Complex(O.add(re(a), re(b)), isReal(a) ? im(b) : isReal(b) ? im(a) : O.add(im(a), im(b)));
const sub = (a: any, b: any) => new Complex(O.sub(re(a), re(b)), isReal(b) ? im(a) : isReal(a) ? O.neg(im(b)) : O.sub(im(a), im(b)));
/** (a + bi)(c + di) = (ac − bd) + (ad + bc)i */
function mul(a: any, b: any): Complex {
  if (isReal(a)) return new Complex(O.mul(a, re(b)), O.mul(a, im(b)));
  if (isReal(b)) return new Complex(O.mul(re(a), b), O.mul(im(a), b));
  return new Complex(O.sub(O.mul(a.re, b.re), O.mul(a.im, b.im)), O.add(O.mul(a.re, b.im), O.mul(a.im, b.re)));
}
/** a / b = a·conj(b) / |b|² */
function div(a: any, b: any): Complex {
  if (isReal(b)) return new Complex(O.div(re(a), b), O.div(im(a), b));
  const d = O.add(O.mul(b.re, b.re), O.mul(b.im, b.im));
  const nre = O.add(O.mul(re(a), b.re), O.mul(im(a), b.im));
  const nim = O.sub(O.mul(im(a), b.re), O.mul(re(a), b.im));
  return new Complex(O.div(nre, d), O.div(nim, d));
}
/** e^(x + iy) = eˣ(cos y + i sin y) */
function exp(z: any): Complex {
  const r = O.exp(z.re);
  return new Complex(O.mul(r, O.cos(z.im)), O.mul(r, O.sin(z.im)));
}
/** log z = log|z| + i·arg z (principal branch) */
const log = (z: any) => new Complex(O.log(O.hypot(z.re, z.im)), O.atan2(z.im, z.re));
/** z ** b: integer powers by repeated multiplication (exact, and fine at 0), others as exp(b·log z) */
function pow(a: any, b: any): Complex {
  if (!(a instanceof Complex)) a = new Complex(a, 0);
  if (typeof b === 'number' && Number.isInteger(b) && Math.abs(b) <= 64) {
    let r: any = new Complex(1, 0);
    for (let k = 0; k < Math.abs(b); k++) r = mul(r, a);
    return b < 0 ? div(1, r) : r;
  }
  return exp(mul(b, log(a)));
}
/** the principal root from the polar form: √|z|·(cos θ/2 + i sin θ/2) */
function sqrt(z: any): Complex {
  const r = O.sqrt(O.hypot(z.re, z.im)), t = O.mul(0.5, O.atan2(z.im, z.re));
  return new Complex(O.mul(r, O.cos(t)), O.mul(r, O.sin(t)));
}
const sin = (z: any) => new Complex(O.mul(O.sin(z.re), O.cosh(z.im)), O.mul(O.cos(z.re), O.sinh(z.im)));
const cos = (z: any) => new Complex(O.mul(O.cos(z.re), O.cosh(z.im)), O.neg(O.mul(O.sin(z.re), O.sinh(z.im))));
const neg = (z: any) => new Complex(O.neg(z.re), O.neg(z.im));
const abs = (z: any) => O.hypot(z.re, z.im);

const ops: Record<string, (...xs: any[]) => any> = { add, sub, mul, div, pow, exp, log, sqrt, sin, cos, neg, abs,
  lt: unordered, gt: unordered, le: unordered, ge: unordered };
for (const f of Object.values(ops)) markTraced(f);
defineNumberType(Complex, { ...ops, fromFields: (g) => new Complex(g.re ?? 0, g.im ?? 0) });
