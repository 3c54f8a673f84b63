// Independent reference utilities for tests: Richardson finite differences, numeric gradients of structured arguments, and a tolerant structural comparison.

/**
 * Derivative of a scalar function by central differences with Richardson extrapolation,
 * together with an error estimate.
 *
 * The central difference D(h) = (f(x+h) - f(x-h)) / 2h has the error expansion
 *   D(h) = f'(x) + c1 h^2 + c2 h^4 + c3 h^6 + ...
 * With h_i = h0 / 2^i, the tableau
 *   R[i][0] = D(h_i)
 *   R[i][j] = R[i][j-1] + (R[i][j-1] - R[i-1][j-1]) / (4^j - 1)
 * cancels one more even power of h per column. The entry with the smallest error estimate
 *   max(|R[i][j] - R[i][j-1]|, |R[i][j] - R[i-1][j-1]|)
 * is returned; the halving stops early once the diagonal starts to diverge, i.e. when
 * rounding error begins to dominate truncation error (Ridders' method, as in Numerical Recipes).
 *
 * To make x +- h exactly representable, the default h0 is a power of two, the difference
 * quotient divides by the step actually taken, (x+h) - (x-h), and `opts.round` maps each
 * probe point to the value the argument can really hold (e.g. Math.fround for float32 storage).
 *
 * @param {(x: number) => number} f
 * @param {number} x
 * @param {{h?: number, steps?: number, round?: (v: number) => number}} [opts]
 *   h: initial step (default: the power of two nearest 1e-2 * max(1, |x|));
 *   steps: maximum number of tableau rows (default 10);
 *   round: maps a probe point to a representable value (default identity).
 * @returns {{value: number, error: number}}
 */
export function richardsonEstimate(f, x, opts = {}) {
  const {
    h = 2 ** Math.round(Math.log2(1e-2 * Math.max(1, Math.abs(x)))),
    steps = 10,
    round = (v) => v,
  } = opts;
  const centralDifference = (step) => {
    const xPlus = round(x + step);
    const xMinus = round(x - step);
    return (f(xPlus) - f(xMinus)) / (xPlus - xMinus);
  };
  // Stop once the diagonal has moved by more than `divergence` times the best error so far.
  const divergence = 2;

  let previousRow = [centralDifference(h)];
  let value = previousRow[0];
  let error = Infinity;
  for (let i = 1; i < steps; i++) {
    const row = [centralDifference(h / 2 ** i)];
    for (let j = 1; j <= i; j++) {
      row[j] = row[j - 1] + (row[j - 1] - previousRow[j - 1]) / (4 ** j - 1);
      const entryError = Math.max(Math.abs(row[j] - row[j - 1]), Math.abs(row[j] - previousRow[j - 1]));
      if (entryError <= error) {
        error = entryError;
        value = row[j];
      }
    }
    if (Math.abs(row[i] - previousRow[i - 1]) >= divergence * error) break;
    previousRow = row;
  }
  return { value, error };
}

/**
 * Derivative of a scalar function at x by Richardson-extrapolated central differences.
 * Same options as {@link richardsonEstimate}; returns only the estimate.
 *
 * @param {(x: number) => number} f
 * @param {number} x
 * @param {{h?: number, steps?: number, round?: (v: number) => number}} [opts]
 * @returns {number}
 */
export function richardsonDerivative(f, x, opts) {
  return richardsonEstimate(f, x, opts).value;
}

const isFloatArray = (v) => v instanceof Float64Array || v instanceof Float32Array;

/** Plain objects and class instances: any non-null object that is not an array, typed array or Map. */
const isRecord = (v) =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v) && !(v instanceof Map);

const isContainer = (v) => Array.isArray(v) || isFloatArray(v) || v instanceof Map || isRecord(v);

/** Whether a value is, or (transitively) contains, a number that numericGradient differentiates. */
function hasNumericLeaf(v) {
  if (typeof v === 'number') return true;
  if (Array.isArray(v) || isFloatArray(v)) return Array.from(v).some(hasNumericLeaf);
  if (v instanceof Map) return [...v.values()].some(hasNumericLeaf);
  if (isRecord(v)) return Object.values(v).some(hasNumericLeaf);
  return false;
}

/**
 * Deep copy of the container structure. Class instances keep their prototype; non-container
 * values (and Map keys) are shared. `copies` maps originals to copies so that aliasing between
 * (and within) arguments is preserved and cycles terminate.
 */
function deepCopy(v, copies) {
  if (!isContainer(v)) return v;
  if (copies.has(v)) return copies.get(v);
  if (isFloatArray(v)) {
    const copy = v.slice();
    copies.set(v, copy);
    return copy;
  }
  if (Array.isArray(v)) {
    const copy = new Array(v.length);
    copies.set(v, copy);
    for (let i = 0; i < v.length; i++) copy[i] = deepCopy(v[i], copies);
    return copy;
  }
  if (v instanceof Map) {
    const copy = new Map();
    copies.set(v, copy);
    for (const [key, value] of v) copy.set(key, deepCopy(value, copies));
    return copy;
  }
  const copy = Object.create(Object.getPrototypeOf(v));
  copies.set(v, copy);
  for (const key of Object.keys(v)) copy[key] = deepCopy(v[key], copies);
  return copy;
}

const getChild = (container, key) => (container instanceof Map ? container.get(key) : container[key]);

function setChild(container, key, value) {
  if (container instanceof Map) container.set(key, value);
  else container[key] = value;
}

/**
 * Finite-difference gradient of a scalar-valued f with respect to every numeric leaf of every
 * argument. Returns an array with one entry per argument, each mirroring that argument:
 *   number                      -> number (the partial derivative)
 *   Array                       -> Array of the same length; nested containers recurse,
 *                                  other non-numeric entries are null
 *   Float64Array / Float32Array -> the same typed-array type
 *   plain object / class inst.  -> plain object with the same own enumerable keys
 *   Map                         -> Map with the same keys
 * An argument without any numeric leaf gives null. Every evaluation of f receives a fresh deep
 * copy of all arguments with one leaf perturbed, so the originals are never mutated (not even
 * by f itself); aliasing between and within arguments is preserved in the copies, and
 * arguments must be acyclic. Each partial derivative is computed with {@link richardsonDerivative}; leaves
 * stored in a Float32Array are probed at float32-representable points.
 *
 * @param {(...args: any[]) => number} f
 * @param {...any} args
 * @returns {any[]}
 */
export function numericGradient(f, ...args) {
  // Partial derivative with respect to the leaf at `path`: [argument index, key, key, ...].
  const partial = (path, leaf, round) =>
    richardsonDerivative(
      (t) => {
        const copies = deepCopy(args, new Map());
        const parent = path.slice(0, -1).reduce(getChild, copies);
        setChild(parent, path[path.length - 1], t);
        return f(...copies);
      },
      leaf,
      { round },
    );

  // Gradient structure mirroring `value`, which is found at `path`.
  const gradientOf = (value, path) => {
    if (typeof value === 'number') return partial(path, value);
    if (!isContainer(value)) return null;
    if (isFloatArray(value)) {
      const round = value instanceof Float32Array ? Math.fround : undefined;
      return value.map((leaf, i) => partial([...path, i], leaf, round));
    }
    if (Array.isArray(value)) {
      return Array.from({ length: value.length }, (_, i) => gradientOf(value[i], [...path, i]));
    }
    if (value instanceof Map) {
      return new Map([...value].map(([key, v]) => [key, gradientOf(v, [...path, key])]));
    }
    return Object.fromEntries(Object.keys(value).map((key) => [key, gradientOf(value[key], [...path, key])]));
  };

  return args.map((arg, i) => (hasNumericLeaf(arg) ? gradientOf(arg, [i]) : null));
}

/** Renders a key path like `[0].W[1][2]` or `.get("bias")` for Map keys. */
function formatPath(path, mapSteps) {
  return path
    .map((key, i) => {
      if (mapSteps.has(i)) return `.get(${typeof key === 'string' ? JSON.stringify(key) : String(key)})`;
      if (typeof key === 'number') return `[${key}]`;
      return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
    })
    .join('');
}

const describe = (v) => {
  if (typeof v === 'number' || v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return `Array(${v.length})`;
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${v.length})`;
  if (v instanceof Map) return `Map(${v.size})`;
  if (typeof v === 'object') return 'object';
  return JSON.stringify(v) ?? String(v);
};

/**
 * Ava assertion that `actual` matches `expected` structurally, with numbers compared as
 *   |a - e| <= atol + rtol * |e|.
 * Supported shapes: numbers, null, arrays, Float64Array/Float32Array (same type required),
 * plain objects (same own enumerable keys) and Maps (same keys). NaN matches NaN, +-Infinity
 * matches only itself; any other value must be identical (Object.is). Records one assertion:
 * t.pass() on success, otherwise t.fail() with a message naming the path of each mismatch
 * (first `maxReported`) and both values.
 *
 * @param {{pass: Function, fail: Function}} t ava execution context
 * @param {any} actual
 * @param {any} expected
 * @param {{rtol?: number, atol?: number, message?: string, maxReported?: number}} [opts]
 * @returns {boolean} whether the structures matched
 */
export function assertClose(t, actual, expected, opts = {}) {
  const { rtol = 1e-6, atol = 1e-8, message, maxReported = 5 } = opts;
  const mismatches = [];
  const mismatch = (path, mapSteps, reason) =>
    mismatches.push(`at ${formatPath(path, mapSteps) || '<root>'}: ${reason}`);

  const compare = (a, e, path, mapSteps) => {
    const valuesDiffer = () => mismatch(path, mapSteps, `actual ${describe(a)}, expected ${describe(e)}`);
    if (typeof e === 'number') {
      if (typeof a !== 'number') return valuesDiffer();
      if (!Number.isFinite(e) || !Number.isFinite(a)) {
        if (!Object.is(a, e) && !(Number.isNaN(a) && Number.isNaN(e))) valuesDiffer();
        return;
      }
      const tolerance = atol + rtol * Math.abs(e);
      if (!(Math.abs(a - e) <= tolerance)) {
        mismatch(path, mapSteps, `actual ${a}, expected ${e} (|diff| ${Math.abs(a - e)} > tol ${tolerance})`);
      }
      return;
    }
    if (isFloatArray(e) || Array.isArray(e)) {
      const sameKind = isFloatArray(e) ? a?.constructor === e.constructor : Array.isArray(a);
      if (!sameKind || a.length !== e.length) return valuesDiffer();
      for (let i = 0; i < e.length; i++) compare(a[i], e[i], [...path, i], mapSteps);
      return;
    }
    if (e instanceof Map) {
      if (!(a instanceof Map) || a.size !== e.size) return valuesDiffer();
      for (const [key, value] of e) {
        const step = new Set(mapSteps).add(path.length);
        if (!a.has(key)) mismatch([...path, key], step, `missing in actual, expected ${describe(value)}`);
        else compare(a.get(key), value, [...path, key], step);
      }
      return;
    }
    if (isRecord(e)) {
      if (!isRecord(a)) return valuesDiffer();
      const actualKeys = new Set(Object.keys(a));
      for (const key of Object.keys(e)) {
        if (!actualKeys.delete(key)) mismatch([...path, key], mapSteps, `missing in actual, expected ${describe(e[key])}`);
        else compare(a[key], e[key], [...path, key], mapSteps);
      }
      for (const key of actualKeys) mismatch([...path, key], mapSteps, `unexpected key in actual, value ${describe(a[key])}`);
      return;
    }
    if (!Object.is(a, e)) valuesDiffer();
  };

  compare(actual, expected, [], new Set());
  if (mismatches.length === 0) {
    t.pass();
    return true;
  }
  const omitted = mismatches.length - maxReported;
  const lines = mismatches.slice(0, maxReported);
  if (omitted > 0) lines.push(`... and ${omitted} more`);
  t.fail(`${message ? `${message}: ` : ''}assertClose mismatch\n  ${lines.join('\n  ')}`);
  return false;
}
