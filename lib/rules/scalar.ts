// Scalar primitives: one line per op with its plain implementation and its derivative, written in overloaded ops.
import { O, type UnaryRule, type BinaryRule, type UnaryOp, type BinaryOp } from './registry';
import { primal } from '../trace/tracked';

const LN2 = Math.LN2;
const LN10 = Math.LN10;
const zero = () => 0;
const one = () => 1;
const sq = (x: any) => O.mul(x, x);

/**
 * Kink conventions (documented in README): abs'(0) = sign(0) = 0; sqrt'(0) = cbrt'(0) = +Infinity (the one-sided
 * limit); floor, ceil, round, trunc and sign have derivative 0 everywhere; fround is treated as the identity.
 */
export const unaryRules: { [K in UnaryOp]: UnaryRule } = {
  neg:    { f: (x) => -x,     d: () => -1 },
  pos:    { f: (x) => +x,     d: one },
  abs:    { f: Math.abs,      d: (x) => O.sign(x) },                              // sign: a rule (derivative 0), so tensors and symbols take it too
  sign:   { f: Math.sign,     d: zero },
  floor:  { f: Math.floor,    d: zero },
  ceil:   { f: Math.ceil,     d: zero },
  round:  { f: Math.round,    d: zero },
  trunc:  { f: Math.trunc,    d: zero },
  fround: { f: Math.fround,   d: one },
  exp:    { f: Math.exp,      d: (_x, y) => y },                                  // (eˣ)' = eˣ
  expm1:  { f: Math.expm1,    d: (_x, y) => O.add(y, 1) },                        // (eˣ−1)' = eˣ
  log:    { f: Math.log,      d: (x) => O.div(1, x) },
  log1p:  { f: Math.log1p,    d: (x) => O.div(1, O.add(1, x)) },
  log2:   { f: Math.log2,     d: (x) => O.div(1, O.mul(x, LN2)) },
  log10:  { f: Math.log10,    d: (x) => O.div(1, O.mul(x, LN10)) },
  sqrt:   { f: Math.sqrt,     d: (_x, y) => O.div(0.5, y) },                      // 1/(2√x)
  cbrt:   { f: Math.cbrt,     d: (_x, y) => O.div(1, O.mul(3, sq(y))) },          // 1/(3 ∛x²)
  sin:    { f: Math.sin,      d: (x) => O.cos(x) },
  cos:    { f: Math.cos,      d: (x) => O.neg(O.sin(x)) },
  tan:    { f: Math.tan,      d: (_x, y) => O.add(1, sq(y)) },                    // 1 + tan²x
  asin:   { f: Math.asin,     d: (x) => O.div(1, O.sqrt(O.sub(1, sq(x)))) },
  acos:   { f: Math.acos,     d: (x) => O.div(-1, O.sqrt(O.sub(1, sq(x)))) },
  atan:   { f: Math.atan,     d: (x) => O.div(1, O.add(1, sq(x))) },
  sinh:   { f: Math.sinh,     d: (x) => O.cosh(x) },
  cosh:   { f: Math.cosh,     d: (x) => O.sinh(x) },
  tanh:   { f: Math.tanh,     d: (x) => O.div(1, sq(O.cosh(x))) },                // sech²x (1 − tanh²x cancels for large |x|)
  asinh:  { f: Math.asinh,    d: (x) => O.div(1, O.hypot(x, 1)) },                 // 1/√(x²+1) without overflow
  acosh:  { f: Math.acosh,    d: (x) => O.div(1, O.mul(O.sqrt(O.sub(x, 1)), O.sqrt(O.add(x, 1)))) }, // 1/√(x²−1)
  atanh:  { f: Math.atanh,    d: (x) => O.div(1, O.sub(1, sq(x))) },
};

/**
 * pow conventions: ∂/∂a aᵇ = b·aᵇ⁻¹, taken as 0 when b = 0 (so 0⁰ has slope 0, not 0·∞); ∂/∂b aᵇ = aᵇ·ln a, taken as
 * 0 when a = 0 and NaN when a < 0 (a negative base has no real derivative in its exponent).
 * mod: a % b = a − b·q with the integer q = trunc(a/b), so ∂/∂a = 1 and ∂/∂b = −q; q is recovered as (a − a % b)/b
 * rounded, because trunc(a/b) of the rounded quotient can be off by one (1 % 0.1 has q = 9, but 1/0.1 rounds to 10).
 */
export const binaryRules: { [K in BinaryOp]: BinaryRule } = {
  add:   { f: (a, b) => a + b, da: one,                 db: one },
  sub:   { f: (a, b) => a - b, da: one,                 db: () => -1 },
  mul:   { f: (a, b) => a * b, da: (_a, b) => b,        db: (a) => a },
  div:   { f: (a, b) => a / b, da: (_a, b) => O.div(1, b), db: (a, b) => O.neg(O.div(O.div(a, b), b)) }, // −(a/b)/b: no b² (nesting squares it again each level)
  mod:   { f: (a, b) => a % b, da: one,                 db: (a, b) => { const p = primal(a), q = primal(b); return -Math.round((p - (p % q)) / q); } },
  pow:   { f: Math.pow,
           da: (a, b) => (+primal(b) === 0 ? 0 : O.mul(b, O.pow(a, O.sub(b, 1)))), // + reads the value (a symbolic b throws: jit/symbolic.ts)
           db: (a, _b, y) => { const p = primal(a); return p === 0 ? 0 : p < 0 ? NaN : O.mul(y, O.log(a)); } },
  atan2: { f: Math.atan2,                                // atan2(y, x): ∂/∂y = x/(x²+y²), ∂/∂x = −y/(x²+y²),
           da: (a, b) => { const h = O.hypot(a, b); return O.div(O.div(b, h), h); },    // as (x/h)/h with h = hypot(x, y),
           db: (a, b) => { const h = O.hypot(a, b); return O.div(O.div(O.neg(a), h), h); } }, // which cannot under- or overflow
};
