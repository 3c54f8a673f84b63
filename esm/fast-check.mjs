// `tracegrad/fast-check`: property-based gradient checking of your own code: arbitraries shaped like an example value, input domains, random programs, and checkGradients (fast-check with gradcheck as the predicate).
import fc from 'fast-check';
import { gradcheck, tensor, Tensor, Complex, complex } from './index.mjs';

export { programArbitrary, compileProgram } from './fast-check/program.mjs';

/**
 * Input domains for functions defined on part of the line, as { min, max } ranges (open ends kept away from the edge
 * so finite differences stay inside): `like(example, { domain: 'positive' })`, or `domain('log')` by function name.
 *
 * @example
 * ```js
 * import { domains, like } from 'tracegrad/fast-check';
 * domains.positive; // → { min: 0.01, max: 4 }
 * domains.unit; // → { min: -0.95, max: 0.95 }
 * const positiveVectors = like([1, 1, 1], { domain: domains.positive }); // an arbitrary of 3 numbers in [0.01, 4]
 * ```
 */
export const domains = {
  real: { min: -2, max: 2 },
  positive: { min: 1e-2, max: 4 },
  unit: { min: -0.95, max: 0.95 }, // asin, acos, atanh
  aboveOne: { min: 1.05, max: 4 }, // acosh
  nonNegative: { min: 0, max: 4 },
};
const byFunction = { log: 'positive', log2: 'positive', log10: 'positive', sqrt: 'positive', log1p: 'positive', asin: 'unit', acos: 'unit', atanh: 'unit', acosh: 'aboveOne', pow: 'positive' };

/**
 * `domain(name)`: the domain of a Math function's argument by name ('log' → positive), 'real' for the others.
 *
 * @example
 * ```js
 * import { domain } from 'tracegrad/fast-check';
 * domain('log'); // → { min: 0.01, max: 4 }
 * domain('acosh'); // → { min: 1.05, max: 4 }
 * domain('sin'); // → { min: -2, max: 2 }
 * ```
 */
export function domain(name) {
  return domains[byFunction[name] ?? name] ?? domains.real;
}

/**
 * A number in a domain, spread over it (a grid of 2²⁰ steps): fc.double favours 0, subnormals and the bounds, where a
 * wrong derivative times a tiny factor hides below any tolerance.
 */
function number(range) {
  const steps = 2 ** 20;
  return fc.integer({ min: 0, max: steps }).map((k) => range.min + ((range.max - range.min) * k) / steps);
}

/**
 * `like(example, { domain, min, max }?)`: random values shaped like `example`: numbers anywhere in it are drawn from
 * the domain (default 'real', [-2, 2]); arrays and typed arrays keep their lengths and types, objects and class
 * instances their keys (and prototype), Maps their keys, tensors their shape and dtype, Complex numbers stay complex.
 * E.g. like({ W: [[1, 2], [3, 4]], b: [0, 0] }) gives { W: 2×2 numbers, b: 2 numbers }.
 *
 * @example
 * ```js
 * import fc from 'fast-check';
 * import { like } from 'tracegrad/fast-check';
 * const model = like({ W: [[1, 2], [3, 4]], b: new Float64Array(2) }, { domain: 'positive' });
 * const [sample] = fc.sample(model, { numRuns: 1, seed: 1 });
 * [sample.W.length, sample.W[0].length, sample.b instanceof Float64Array, sample.b.length]; // → [2, 2, true, 2]
 * [...sample.W.flat(), ...sample.b].every((v) => v >= 0.01 && v <= 4); // → true
 * ```
 */
export function like(example, options = {}) {
  const range = { ...(typeof options.domain === 'string' ? domain(options.domain) : options.domain ?? domains.real), ...pick(options, ['min', 'max']) };
  const walk = (x) => {
    if (typeof x === 'number') return number(range);
    if (x instanceof Tensor) {
      // float32 elements are drawn as float32 values inside the domain (rounding must not leave it)
      const element = x.dtype === 'float32' ? fc.float({ min: Math.fround(range.min + Math.abs(range.min) * 2 ** -22), max: Math.fround(range.max - Math.abs(range.max) * 2 ** -22), noNaN: true, noDefaultInfinity: true }) : number(range);
      return fc.array(element, { minLength: x.size, maxLength: x.size }).map((d) => tensor(x.dtype === 'float32' ? new Float32Array(d) : new Float64Array(d), { shape: [...x.shape] }));
    }
    if (x instanceof Complex) return fc.tuple(number(range), number(range)).map(([re, im]) => complex(re, im));
    if (ArrayBuffer.isView(x)) return fc.array(number(range), { minLength: x.length, maxLength: x.length }).map((d) => new x.constructor(d));
    if (Array.isArray(x)) return x.length === 0 ? fc.constant([]) : fc.tuple(...x.map(walk));
    if (x instanceof Map) return fc.tuple(...[...x.values()].map(walk)).map((vs) => new Map([...x.keys()].map((k, i) => [k, vs[i]])));
    if (x !== null && typeof x === 'object' && !(x instanceof Tensor)) {
      const keys = Object.keys(x);
      return fc.tuple(...keys.map((k) => walk(x[k]))).map((vs) => {
        const o = Object.create(Object.getPrototypeOf(x));
        keys.forEach((k, i) => (o[k] = vs[i]));
        return o;
      });
    }
    return fc.constant(x); // strings, booleans, functions and models (withParams/dense/chain): kept as they are
  };
  return walk(example);
}
const pick = (o, keys) => Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));

/**
 * `checkGradients(f, arbitraries, options?)`: run fast-check with gradcheck as the predicate: f's gradient must match
 * finite differences on every generated argument list (one arbitrary per argument). On failure the shrunk
 * counterexample, the worst leaf and the faulty operation (with its line) are printed (options.log, default
 * console.error) and returned. Options: numRuns (100), seed, gradcheck (its options: rtol, atol, forward, compiled...).
 * Returns { ok, numRuns, seed, counterexample, report }.
 *
 * @example
 * ```js
 * import { checkGradients, like } from 'tracegrad/fast-check';
 * import { defineAdjoint, traced } from 'tracegrad';
 * const result = checkGradients((x) => Math.log(x) * x, [like(1, { domain: 'log' })], { numRuns: 20, seed: 1 });
 * [result.ok, result.numRuns]; // → [true, 20]
 * // a wrong rule for x² (x instead of 2x) fails, with a counterexample and gradcheck's report
 * const square = (x) => x * x;
 * defineAdjoint(square, (x) => [x * x, (dy) => [dy * x]]);
 * const failed = checkGradients(traced((x) => square(x), { square }), [like(1)], { numRuns: 20, seed: 1, log: () => {} });
 * [failed.ok, failed.counterexample.length, failed.report.fault.op]; // → [false, 1, 'adjoint of square']
 * ```
 */
export function checkGradients(f, arbitraries, options = {}) {
  const { numRuns = 100, seed, gradcheck: gradcheckOptions, log = console.error } = options;
  if (!Array.isArray(arbitraries)) throw new TypeError('tracegrad: checkGradients(f, arbitraries) takes one arbitrary per argument, in an array.');
  const run = (args) => (gradcheckOptions && Object.keys(gradcheckOptions).length > 0 ? gradcheck(f, ...args, gradcheckOptions) : gradcheck(f, ...args));
  const details = fc.check(fc.property(...arbitraries, (...args) => {
    const report = run(args);
    if (!report.ok) throw new Error(describe(report));
  }), { numRuns, ...(seed === undefined ? {} : { seed }) });
  if (!details.failed) return { ok: true, numRuns: details.numRuns, seed: details.seed, counterexample: null, report: null };
  const counterexample = details.counterexample;
  const report = counterexample ? run(counterexample) : null;
  log(`${fc.defaultReportMessage(details)}\n${report === null ? '' : describe(report)}`);
  return { ok: false, numRuns: details.numRuns, seed: details.seed, counterexample, report };
}

/**
 * A failing report in a few lines: the worst leaf, the fault, the forward and compiled checks.
 *
 * @example
 * ```js
 * import { describe } from 'tracegrad/fast-check';
 * import { gradcheck, defineAdjoint, traced } from 'tracegrad';
 * const square = (x) => x * x;
 * defineAdjoint(square, (x) => [x * x, (dy) => [dy * x]]); // wrong: d/dx x² is 2x
 * describe(gradcheck(traced((x) => square(x), { square }), 3)).split('\n')[0]; // → 'gradient wrong at args[0]: analytic 3, finite differences 6 (1 leaf outside tolerance)'
 * ```
 */
export function describe(report) {
  const lines = [];
  if (report.worst && report.failures.length > 0)
    lines.push(`gradient wrong at ${report.worst.path}: analytic ${report.worst.analytic}, finite differences ${report.worst.numeric} (${report.failures.length} leaf${report.failures.length === 1 ? '' : 'ves'} outside tolerance)`);
  if (report.fault) lines.push(`first operation whose derivative disagrees: ${report.fault.op}, input ${report.fault.input}, at ${report.fault.where ?? 'an unknown place'} (analytic ${report.fault.analytic}, numeric ${report.fault.numeric})`);
  if (report.forward && !report.forward.ok) lines.push(`forward mode ⟨∇f, u⟩ ${report.forward.jvp} differs from reverse ${report.forward.reverse}`);
  if (report.compiled && !report.compiled.ok) lines.push(`compiled tier differs from the interpreter: ${report.compiled.differences.slice(0, 3).join('; ')}`);
  return lines.join('\n') || 'gradcheck failed';
}
