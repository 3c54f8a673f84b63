// fast-check arbitrary of random scalar programs inside the JIT's compiled subset (numbers in, one number out).
//
// Each generated value is
//
//   {
//     source:  string,   // an arrow function `(x0, x1) => { ... return e; }`, self-contained (only Math is used)
//     arity:   number,   // its number of parameters (1..3); call it with exactly that many numbers
//     roles:   string[], // per parameter: 'value' (flows into values), 'test' (read only in tests), 'unused'
//     toString(): string // the source: what fast-check prints for a counterexample
//   }
//
// The programs stay in the subset that lib/jit/compile.ts compiles (see `tierOf`): plain identifier parameters;
// let declarations with unique names; assignments and compound assignments (+= -= *= /= %= **=) to identifiers;
// ++/-- (prefix and postfix) as statements; if/else and else-if chains; for loops with constant trip counts; while loops whose trip
// count depends on the inputs through a comparison (`while (k0 < 3 && x0 * k0 < 2) { ...; k0++; }`, bounded by the
// counter); a final `return e`. Expressions: number literals, identifiers, + - * / % **, unary minus, Math.f(x) for
// unary f, Math.pow and Math.atan2. Tests: comparisons (< > <= >= === !== == !=), &&, ||, ! and truthiness.
// No copy `v = w` is generated (unless `{ copies: true }`, below): a right-hand side that would be a bare name is
// written `w + 0` or `1 * w`.
//
// Programs exercise: branches that flip with the inputs (tests compare active values), trip counts that change with
// the inputs, variables reassigned many times, loop counters used as values (so they are not passive), block-local
// temporaries declared inside loops, kink functions (abs, floor, round, trunc, ceil, sign, %), parameters that are
// unused or read only in tests (their gradient is null) and outputs that are sometimes constant.
//
// Values are kept finite, and every local derivative finite, by construction (exactness does not need smoothness,
// but a non-finite partial derivative is a different class of edge case, tested separately): assignments store
// squashed values (tanh, sin, cos, atan, exp(sin e), ...) or sums/halved sums of stored values, so nothing grows
// faster than doubling per executed statement; divisions are `e / (1 + f * f)`; sqrt, log and cbrt take `1 + e * e`;
// atan2's second argument is `1 + e * e`; pow has a non-negative integer exponent or a positive base; `**=` squares
// a value squashed just before. With `{ wild: true }` these guards are dropped (sqrt/log/division of raw values,
// pow with active exponents): programs then hit NaN and infinite partial derivatives at inputs such as 0.
//
// Names are stored as naturals and resolved against the names in scope when rendering, so the structure shrinks
// independently of scoping. Usage:
//
//   fc.assert(fc.property(scalarProgramArbitrary(), fc.array(fc.double(...)), ({ source, arity }, xs) => { ... }));
//
// With `{ arrays: true }` the programs also take 1-2 read-only array parameters `a0`, `a1` (placed anywhere among
// 0-3 number parameters; call them with a Float64Array or an Array of numbers). Each array has a length range
// [minLength, maxLength] (1 <= minLength <= maxLength <= 6): every element read is in range for every length in it,
// so one program can be called with arrays of different lengths. Arrays are read
//   - in loops over their length: `for (let j = 0; j < a.length; j++)`, downwards from `a.length - 1`, over
//     `a.length - 1` with `a[j + 1]`, from 1 with `a[j - 1]`, and in scans `while (k < a.length && (a[k] ...))`
//     whose trip count depends on the elements and the other inputs;
//   - at constant indices (`a[2]`, `a[1 + 1]`, `1 * a[0]`...) and at indices from counters (`a[i]`, `a[2 * i]`,
//     `a[i - 1]`...) of constant loops, while loops and the array loops above (of this array or of another one);
//   - inside branches (some elements are then read only on some inputs; elements past every constant index and
//     never reached by a loop are never read: their gradient entry is 0), in tests, in Math calls, in `+= -= *= =`
//     of dot products, products of two elements and squared differences (Rosenbrock-like), and as `a.length`.
// Roles of arrays: 'value' (elements flow into values), 'test' (elements read only in tests: gradient null) and
// 'unused'. No element copy is generated (`v = a[i]` is written `a[i] * 1` or `a[i] + 0`; `{ copies: true }` lifts
// this). The value gains `kinds` (per parameter, 'number' or 'array') and `arrays` ([{ name, index, minLength,
// maxLength, role }]). Array parameters are never written.
//
// With `{ locals: true }` the programs also use 1-2 local scratch arrays, declared first in the body:
// `const w0 = new Float64Array(3)` (a literal length 1..5) or, with arrays, `const w1 = new Float64Array(a0.length + 1)`
// (the length of an array parameter that is read, plus 0..2: indices are checked against it for every length of
// that parameter, so counters of loops over `a0.length` index both). About 1 program in 4 also has a loop whose body
// declares a fresh `const wt = new Float64Array(n)` on each iteration, writes it, lets the body's statements read
// and write it, and folds one of its elements into a local. `new Float64Array(length)` is the only constructor call.
// Scratch arrays are
//   - written at in-range indices (constants, or counters as for parameters): `w0[i] = e`, `+=`, `-=`, `*=` (by a
//     squashed value), with the bounded right-hand sides of other assignments; elements are overwritten many times,
//     and some are never written and read as 0;
//   - filled by loops over their length (`for (let j = 0; j < w0.length; j++) w0[j] = Math.tanh(a0[j])`, from an
//     array parameter where `a0[j]` is in range, else from values and the counter), reduced by later loops
//     (`v += w0[j] * a0[j]`, `v -= Math.sin(w0[j])`), smoothed (`w0[j] = 0.5 * (w0[j] + w0[j - 1])`), and looped
//     over with random bodies (`w0.length` or the literal / `a0.length + 1` as the bound, up, down, over pairs);
//     a program sometimes starts with a fill loop and ends with a reduce loop;
//   - read in values, tests and Math calls (`w0[k]`, `w0.length`), and returned (`return w0[2] * 1`).
//
// With `{ copies: true }` the programs also make plain copies, one value under two names: `v = w`, `let c = w`
// (then both names are read and reassigned), `let c = x0` (parameters), `v = i` (counters), `v = v`,
// `v = a0[i]` and `v = w0[i]` (element to variable), and with scratch arrays `w0[i] = v`, `w0[i] = a0[j]`,
// `w0[i] = w0[j]` (element writes by copy, also in loops: `w0[j] = a0[j]`, `w0[j] = w0[j - 1]`). Copies are followed
// by uses of both names in one expression (`v = a0[i]; s += v * a0[i];`, `s -= Math.exp(Math.sin(w - c))`), they
// occur inside branches and loops, and `return c` / `return w0[2]` return a copy or an element directly.
// Max scans: `let m = w0[0]; for (let j = 1; j < 3; j++) if (w0[j] > m) m = w0[j];` over a scratch array or an array
// parameter read in values (or `let m = v0; if (v1 > m) m = v1; ...` over names when there is neither), then
// log-sum-exp (`let s = 0; for (...) s += Math.exp(w0[j] - m); v = m + Math.log(s);`: each term <= 1 and one is
// exp(0), so s >= 1 and every value stays finite), a softmax-weighted sum or another use of m and the elements.
// Products of a copy with its source only occur where the source is an element of an array parameter or a
// literal; elsewhere one factor is squashed, so values still grow at most linearly per statement.
//
// The options combine freely ({ arrays, locals, copies, wild }); without them, the programs are exactly those of
// the versions without these options (same structure, same random choices, same text).

import fc from 'fast-check';

const LITERALS = ['0', '1', '2', '3', '0.5', '1.5', '0.25', '0.1', '0.7'];
const CMP = ['<', '>', '<=', '>=', '<', '>', '===', '!==', '==', '!='];
/** Unary Math functions applied to bounded arguments, written around an argument text `a`. */
const SAFE_UNARY = {
  sin: (a) => `Math.sin(${a})`,
  cos: (a) => `Math.cos(${a})`,
  tanh: (a) => `Math.tanh(${a})`,
  atan: (a) => `Math.atan(${a})`,
  abs: (a) => `Math.abs(${a})`,
  floor: (a) => `Math.floor(${a})`,
  round: (a) => `Math.round(${a})`,
  trunc: (a) => `Math.trunc(${a})`,
  ceil: (a) => `Math.ceil(${a})`,
  sign: (a) => `Math.sign(${a})`,
  exp: (a) => `Math.exp(Math.sin(${a}))`,
  expm1: (a) => `Math.expm1(Math.cos(${a}))`,
  sqrt: (a) => `Math.sqrt(1 + ${a} * ${a})`,
  log: (a) => `Math.log(1 + ${a} * ${a})`,
  log1p: (a) => `Math.log1p(${a} * ${a})`,
  cbrt: (a) => `Math.cbrt(1 + ${a} * ${a})`,
  asin: (a) => `Math.asin(0.5 * Math.tanh(${a}))`,
  sinh: (a) => `Math.sinh(Math.tanh(${a}))`,
  cosh: (a) => `Math.cosh(Math.sin(${a}))`,
  atanh: (a) => `Math.atanh(0.5 * Math.sin(${a}))`,
};
/** The same functions on raw arguments (wild mode): NaN values, infinite and NaN derivatives at 0 or below. */
const WILD_UNARY = {
  ...SAFE_UNARY,
  sqrt: (a) => `Math.sqrt(${a})`,
  log: (a) => `Math.log(${a})`,
  cbrt: (a) => `Math.cbrt(${a})`,
  exp: (a) => `Math.exp(${a})`,
  asin: (a) => `Math.asin(${a})`,
  atanh: (a) => `Math.atanh(${a})`,
  tan: (a) => `Math.tan(${a})`,
  acosh: (a) => `Math.acosh(${a})`,
};
/** Squashes: bounded functions of any value, used for everything stored by an assignment. */
const SQUASH = {
  tanh: (a) => `Math.tanh(${a})`,
  sin: (a) => `Math.sin(${a})`,
  cos: (a) => `Math.cos(${a})`,
  atan: (a) => `Math.atan(${a})`,
  half: (a) => `0.5 * Math.tanh(${a})`,
  expsin: (a) => `Math.exp(Math.sin(${a}))`,
  ratio: (a) => `${a} / (1 + ${a} * ${a})`,
  absSin: (a) => `Math.abs(Math.sin(${a}))`,
  floorTanh: (a) => `Math.floor(2 * Math.tanh(${a}))`,
  modSin: (a) => `(3 * Math.sin(${a})) % 1.25`,
};

// ---------------------------------------------------------------------------------------------------------------
// Abstract syntax: plain objects tagged with `t`. Leaves hold naturals, resolved modulo the names in scope.
// ---------------------------------------------------------------------------------------------------------------

function grammar({ wild, arrays, locals, copies }) {
  const memo = new Map();
  const memoised = (key, build) => {
    if (!memo.has(key)) memo.set(key, build());
    return memo.get(key);
  };
  const weighted = (...entries) =>
    fc.oneof({ withCrossShrink: true }, ...entries.map(([weight, build]) => ({ weight, arbitrary: build() })));

  const leaf = () =>
    memoised('leaf', () =>
      weighted(
        [2, () => fc.constantFrom(...LITERALS).map((v) => ({ t: 'lit', v }))],
        [7, () => fc.nat(11).map((i) => ({ t: 'var', i }))],
        [2, () => fc.nat(3).map((i) => ({ t: 'param', i }))],
        [1, () => fc.nat(3).map((i) => ({ t: 'counter', i }))],
        ...(arrays ? [[4, () => elem()], [1, () => fc.nat(1).map((arr) => ({ t: 'len', arr }))]] : []),
        ...(locals ? [[4, () => welem()], [1, () => fc.nat(2).map((w) => ({ t: 'wlen', w }))]] : []),
      ),
    );
  /** An element read: which value array, whether its index comes from a counter in scope, and which index. */
  const elem = () =>
    memoised('elem', () =>
      fc.record({ arr: fc.nat(1), useCounter: fc.nat(3), k: fc.nat(11), form: fc.nat(5) }).map((e) => ({ t: 'elem', ...e })));
  /** An element read of a local scratch array (w0, w1, or wt inside the scratch loop): as `elem`, plus which array. */
  const welem = () =>
    memoised('welem', () =>
      fc.record({ w: fc.nat(2), useCounter: fc.nat(3), k: fc.nat(11), form: fc.nat(5) }).map((e) => ({ t: 'welem', ...e })));
  /** The source of a plain copy: a name (local, parameter, counter), an element of a parameter or a scratch array. */
  const copySource = () =>
    memoised('copySource', () =>
      weighted(
        [4, () => leaf()],
        [2, () => fc.nat(11).map((i) => ({ t: 'var', i }))],
        ...(arrays ? [[2, () => elem()]] : []),
        ...(locals ? [[2, () => welem()]] : []),
      ),
    );
  /** A loop over a scratch array doing one thing (fill it, reduce it, smooth it, shift it); see `wpassLine`. */
  const wpass = (kinds) =>
    fc.record({ w: fc.nat(2), kind: fc.constantFrom(...kinds), head: fc.nat(5), shape: fc.nat(4), f: fc.constantFrom(...Object.keys(SQUASH)),
      src: leaf(), v: fc.nat(11), op: fc.constantFrom('+=', '+=', '-=', '=') }).map((s) => ({ t: 'wpass', ...s }));
  /** Where an element write goes: a scratch array and an index (constant, or from a counter in scope where in range). */
  const windex = () => fc.record({ w: fc.nat(2), useCounter: fc.nat(3), k: fc.nat(11), form: fc.nat(5) });

  /** Expressions of operator depth <= d; at depth 0 only leaves. */
  const expr = (d) =>
    memoised(`expr${d}`, () => {
      if (d === 0) return leaf();
      const sub = expr(d - 1);
      const unary = wild ? WILD_UNARY : SAFE_UNARY;
      return weighted(
        [3, () => leaf()],
        [4, () => fc.record({ op: fc.constantFrom('+', '-', '*'), a: sub, b: sub }).map((e) => ({ t: 'bin', ...e }))],
        [1, () => sub.map((a) => ({ t: 'neg', a }))],
        [1, () => fc.record({ a: sub, b: sub }).map((e) => ({ t: 'div', ...e }))],
        [1, () => fc.record({ a: sub, b: sub, lit: fc.boolean() }).map((e) => ({ t: 'mod', ...e }))],
        [3, () => fc.record({ f: fc.constantFrom(...Object.keys(unary)), a: sub }).map((e) => ({ t: 'math', ...e }))],
        [1, () => fc.record({ a: sub, b: sub }).map((e) => ({ t: 'atan2', ...e }))],
        [1, () => fc.record({ a: d >= 2 ? expr(1) : sub, n: fc.nat(3), op: fc.boolean() }).map((e) => ({ t: 'pow', ...e }))],
        [1, () => fc.record({ a: sub, base: fc.constantFrom('2', '1.5', '0.5') }).map((e) => ({ t: 'powExp', ...e }))],
      );
    });

  /** What an assignment stores: bounded values (see the header). */
  const stored = () =>
    memoised('stored', () =>
      weighted(
        [4, () => fc.record({ f: fc.constantFrom(...Object.keys(SQUASH)), a: expr(2) }).map((e) => ({ t: 'squash', ...e }))],
        [2, () => fc.record({ op: fc.constantFrom('+', '-', 'half'), a: leaf(), b: leaf() }).map((e) => ({ t: 'lin', ...e }))],
        [1, () => fc.record({ a: leaf(), f: fc.constantFrom(...Object.keys(SQUASH)), b: expr(1) }).map((e) => ({ t: 'scale', ...e }))],
        [1, () => leaf().map((a) => ({ t: 'neg', a }))],
        [1, () => leaf().map((a) => ({ t: 'plain', a }))], // `v = w` is written as `v = w + 0` / `1 * w` (copies: `v = w`)
        ...(copies ? [[2, () => copySource().map((a) => ({ t: 'plain', a }))]] : []),
      ),
    );

  const test = (d) =>
    memoised(`test${d}`, () => {
      const cmp = fc
        .record({ op: fc.constantFrom(...CMP), a: expr(2), b: expr(1), testParam: fc.nat(7) })
        .map((e) => ({ t: 'cmp', ...e }));
      if (d === 0) return weighted([6, () => cmp], [1, () => expr(2).map((a) => ({ t: 'truthy', a }))]);
      const sub = test(d - 1);
      return weighted(
        [6, () => cmp],
        [2, () => fc.record({ op: fc.constantFrom('&&', '||'), a: sub, b: sub }).map((e) => ({ t: 'logic', ...e }))],
        [1, () => sub.map((a) => ({ t: 'not', a }))],
        [1, () => expr(2).map((a) => ({ t: 'truthy', a }))],
      );
    });

  const block = (d) => memoised(`block${d}`, () => fc.array(statement(d), { minLength: 1, maxLength: 3 }));

  /** Statements nested at most d deep. */
  const statement = (d) =>
    memoised(`stmt${d}`, () => {
      const simple = [
        [6, () => fc.record({ v: fc.nat(11), op: fc.constantFrom('=', '=', '+=', '-=', '*=', '/=', '%='), rhs: stored() })
          .map((s) => ({ t: 'assign', ...s }))],
        [1, () => fc.record({ v: fc.nat(11), op: fc.constantFrom('++', '--'), prefix: fc.boolean() }).map((s) => ({ t: 'update', ...s }))],
        [1, () => fc.record({ v: fc.nat(11), f: fc.constantFrom(...Object.keys(SQUASH)) }).map((s) => ({ t: 'square', ...s }))],
        [1, () => fc.record({ v: fc.nat(11), init: stored(), op: fc.constantFrom('+=', '-=', '*=') }).map((s) => ({ t: 'temp', ...s }))],
      ];
      if (arrays)
        simple.push([4, () => fc.record({ v: fc.nat(11), op: fc.constantFrom('+=', '+=', '-=', '*=', '='), e: elem(), e2: elem(), mul: leaf(),
          f: fc.constantFrom(...Object.keys(SQUASH)), shape: fc.nat(3) }).map((s) => ({ t: 'elemAcc', ...s }))]);
      if (locals) {
        simple.push([5, () => fc.record({ at: windex(), op: fc.constantFrom('=', '=', '+=', '-=', '*='), rhs: stored() }).map((s) => ({ t: 'wwrite', ...s }))]);
        simple.push([2, () => wpass(['fill', 'fill', 'reduce', 'reduce', 'smooth', ...(copies ? ['shift'] : [])])]);
      }
      if (copies) {
        simple.push(
          [3, () => fc.record({ v: fc.nat(11), src: copySource() }).map((s) => ({ t: 'copy', ...s }))],
          [2, () => fc.record({ src: copySource(), use: fc.option(fc.record({ v: fc.nat(11), form: fc.nat(4) }), { nil: null }) })
            .map((s) => ({ t: 'letCopy', ...s }))],
          [2, () => fc.record({ v: fc.nat(11), u: fc.nat(11), src: copySource(), form: fc.nat(4) }).map((s) => ({ t: 'copyUse', ...s }))],
          [2, () => fc.record({ src: fc.nat(3), head: fc.nat(5), braces: fc.boolean(), follow: fc.constantFrom('lse', 'lse', 'softmax', 'use', 'none'),
            v: fc.nat(11), f: fc.constantFrom(...Object.keys(SQUASH)) }).map((s) => ({ t: 'maxScan', ...s }))],
        );
        if (locals) simple.push([3, () => fc.record({ at: windex(), src: copySource() }).map((s) => ({ t: 'wcopy', ...s }))]);
      }
      if (d === 0) return weighted(...simple);
      const body = block(d - 1);
      return weighted(
        ...simple,
        ...(arrays ? [[5, () => fc.record({ arr: fc.nat(1), style: fc.constantFrom('up', 'up', 'down', 'pair', 'lag', 'scan'), inc: fc.nat(2),
          test: test(0), body, lead: fc.option(fc.record({ v: fc.nat(11), op: fc.constantFrom('+=', '-=', '='), f: fc.constantFrom(...Object.keys(SQUASH)) }),
            { nil: null }) }).map((s) => ({ t: 'aloop', ...s }))]] : []),
        [3, () => fc.record({ test: test(1), then: body, else: fc.option(body, { nil: null }), elseIf: fc.boolean() }).map((s) => ({ t: 'if', ...s }))],
        [2, () => fc.record({ n: fc.integer({ min: 1, max: 4 }), down: fc.boolean(), body }).map((s) => ({ t: 'for', ...s }))],
        [2, () => fc.record({ max: fc.integer({ min: 1, max: 4 }), test: test(0), body }).map((s) => ({ t: 'while', ...s }))],
        ...(locals ? [[3, () => fc.record({ w: fc.nat(2), style: fc.constantFrom('up', 'up', 'down', 'pair', 'lag'), inc: fc.nat(2), body,
          lead: fc.option(wpass(['fill', 'reduce', 'acc', ...(copies ? ['fill'] : [])]), { nil: null }) }).map((s) => ({ t: 'wloop', ...s }))]] : []),
      );
    });

  const program = fc.record({
    ...(arrays ? {
      arrs: fc.array(fc.record({ minLength: fc.integer({ min: 1, max: 6 }), extra: fc.nat(2), pos: fc.nat(3),
        role: fc.constantFrom('value', 'value', 'value', 'value', 'test', 'unused') }), { minLength: 1, maxLength: 2 }),
      numbers: fc.integer({ min: 0, max: 3 }),
    } : {}),
    roles: fc.tuple(
      fc.constantFrom('value', 'value', 'value', 'test', 'unused'),
      fc.constantFrom('value', 'value', 'test', 'unused'),
      fc.constantFrom('value', 'test', 'unused'),
    ),
    arity: fc.integer({ min: 1, max: 3 }),
    locals: fc.array(stored(), { minLength: 1, maxLength: 4 }),
    declStyle: fc.constantFrom('let', 'let', 'var', 'one'),
    body: fc.array(statement(2), { minLength: 0, maxLength: 6 }),
    ret: weighted(
      [5, () => expr(2).map((e) => ({ t: 'expr', e }))],
      [2, () => fc.nat(11).map((i) => ({ t: 'name', i }))],
      [1, () => fc.constantFrom(...LITERALS).map((v) => ({ t: 'const', v }))],
      [1, () => fc.nat(3).map((i) => ({ t: 'counter', i }))],
      ...(locals ? [[1, () => welem().map((e) => ({ t: 'welem', e }))]] : []),
    ),
    ...(locals ? {
      // 1-2 scratch arrays: a literal length 1..5, or the length of an array parameter plus 0..2
      warrs: fc.array(fc.record({ size: fc.integer({ min: 1, max: 5 }), fromParam: fc.nat(2), add: fc.nat(2) }), { minLength: 1, maxLength: 2 }),
      // a loop filling the scratch arrays before the body, and one reducing them after it (each sometimes)
      prologue: fc.option(wpass(['fill']), { nil: null, freq: 3 }),
      epilogue: fc.option(wpass(['reduce', ...(copies ? ['max'] : [])]), { nil: null, freq: 3 }),
      // about 1 program in 4: a loop whose body declares a fresh scratch array `wt` each iteration and uses it
      scratch: fc.oneof(
        { weight: 3, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: fc.record({ pos: fc.nat(6), n: fc.integer({ min: 1, max: 3 }), size: fc.integer({ min: 1, max: 3 }),
          init: fc.array(fc.record({ at: windex(), rhs: stored() }), { minLength: 0, maxLength: 2 }), body: block(1),
          v: fc.nat(11), use: fc.nat(3), f: fc.constantFrom(...Object.keys(SQUASH)) }) },
      ),
    } : {}),
  });
  return program;
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering. Scope: value params, locals (declared up front, in order), loop counters in scope, and counters of
// while loops already declared (kept passive unless read as values).
// ---------------------------------------------------------------------------------------------------------------

function render(p, { wild, arrays: withArrays, locals: withLocals, copies }) {
  const numbers = withArrays ? p.numbers : p.arity;
  const numberParams = Array.from({ length: numbers }, (_, i) => `x${i}`);
  const numberRoles = p.roles.slice(0, numbers);
  const valueParams = numberParams.filter((_, i) => numberRoles[i] === 'value');
  const testParams = numberParams.filter((_, i) => numberRoles[i] !== 'unused');
  // array parameters, inserted among the numbers; each with the range of lengths it is called with
  const arrays = (withArrays ? p.arrs : []).map((a, j) => ({
    name: `a${j}`, role: a.role, minLength: a.minLength, maxLength: Math.min(6, a.minLength + a.extra), pos: a.pos,
    base: `a${j}`, off: 0, // its length is its own length + 0 (scratch arrays sized `a.length + k` have base a, off k)
  }));
  const params = [...numberParams];
  const roles = [...numberRoles];
  for (const a of arrays) {
    const at = a.pos % (params.length + 1);
    params.splice(at, 0, a.name);
    roles.splice(at, 0, a.role);
  }
  const arity = params.length;
  for (const a of arrays) a.index = params.indexOf(a.name);
  const kinds = params.map((n) => (n.startsWith('a') ? 'array' : 'number'));
  const byName = new Map(arrays.map((a) => [a.name, a]));
  const valueArrays = arrays.filter((a) => a.role === 'value');
  const readArrays = arrays.filter((a) => a.role !== 'unused');
  let fresh = 0;
  const unary = wild ? WILD_UNARY : SAFE_UNARY;

  // Counters' ranges, for in-range indices: { lo, hi } (absolute), or { arr, lo, hiOff }: lo <= counter <= length of
  // arr + hiOff (array loops; with an empty range the loop body does not run and reads nothing).
  const ranges = new Map();
  const lengths = (a) => Array.from({ length: a.maxLength - a.minLength + 1 }, (_, i) => a.minLength + i);
  /** Whether index f(counter) is in range of array `to` for every length of the arrays involved. */
  const inRange = (counter, f, to) => {
    const r = ranges.get(counter);
    if (r === undefined) return false;
    const own = r.arr !== undefined ? byName.get(r.arr) : null;
    for (const len of own ? lengths(own) : [null]) {
      const lo = r.lo, hi = own ? len + r.hiOff : r.hi;
      if (hi < lo) continue;
      const a = f(lo), b = f(hi);
      // an array whose length follows the counter's array (itself, or a scratch array sized `a.length + off`)
      const top = own && to.base === own.name ? len + to.off - 1 : to.minLength - 1;
      if (Math.min(a, b) < 0 || Math.max(a, b) > top) return false;
    }
    return true;
  };
  const COUNTER_INDEX = [
    [(c) => c, (j) => j],
    [(c) => `${c} + 1`, (j) => j + 1],
    [(c) => `${c} - 1`, (j) => j - 1],
    [(c) => c, (j) => j],
    [(c) => `2 * ${c}`, (j) => 2 * j],
    [(c) => `${c} * 1`, (j) => j],
    [(c) => `(${c} + 2) - 2`, (j) => j],
    [(c) => `${c} + 2`, (j) => j + 2],
  ];
  const CONST_INDEX = [(k) => `${k}`, (k) => `${k + 1} - 1`, (k) => `1 * ${k}`, (k) => `${k} + 0`, (k) => (k > 0 ? `${k - 1} + 1` : '0 * 3')];
  /** `a[i]` for array a: from a counter in scope (innermost first) where one is in range, else a constant index. */
  const elemText = (l, a, sc) => {
    const counters = [...sc.counters].reverse();
    const fromCounters = [];
    for (const c of counters) for (const [text, f] of COUNTER_INDEX) if (inRange(c, f, a)) fromCounters.push(text(c));
    if (l.useCounter < 3 && fromCounters.length) return `${a.name}[${fromCounters[l.k % fromCounters.length]}]`;
    return `${a.name}[${CONST_INDEX[l.form % CONST_INDEX.length](l.k % a.minLength)}]`;
  };
  const isElement = (text) => /^[A-Za-z_$][\w$]*\[[^\]]*\]$/.test(text);

  // Scratch arrays ({ locals: true }): { name, base, off, minLength, maxLength } like the parameters, where `base`
  // names the parameter whose length the array's length follows (`a0.length + off`), or is null (a literal length).
  /** A length as program text: `w.length`, or how the array was sized (`3`, `a0.length + 1`). */
  const lenText = (w, form) =>
    form % 2 === 0 || (w.base && w.base === w.name) ? `${w.name}.length` : w.base ? (w.off ? `${w.base}.length + ${w.off}` : `${w.base}.length`) : `${w.minLength}`;
  /** The range of a counter running over lo .. length(w) + hiOff, as `ranges` holds it. */
  const rangeOver = (w, lo, hiOff) => (w.base ? { arr: w.base, lo, hiOff: w.off + hiOff } : { lo, hi: w.minLength + hiOff });
  const pickW = (i, sc) => sc.warrs[i % sc.warrs.length];
  /** An element of a value array parameter at counter j, where that is in range for every length; else null. */
  const paramAt = (j, k) => {
    const ok = valueArrays.filter((a) => inRange(j, (x) => x, a));
    return ok.length ? `${ok[k % ok.length].name}[${j}]` : null;
  };
  /** A nested scope: a block sees the names declared so far; its own declarations (copies `let c = w`) stay in it. */
  const nest = (sc, ...counters) => ({ locals: [...sc.locals], counters: [...sc.counters, ...counters], warrs: sc.warrs });

  // scope: { locals: names declared so far, counters: counters in scope }
  const leafText = (l, sc) => {
    switch (l.t) {
      case 'lit':
        return l.v;
      case 'var': {
        const pool = [...sc.locals, ...valueParams];
        return pool.length ? pool[l.i % pool.length] : LITERALS[l.i % LITERALS.length];
      }
      case 'param':
        return valueParams.length ? valueParams[l.i % valueParams.length] : LITERALS[l.i % LITERALS.length];
      case 'counter': {
        const pool = sc.counters.length ? sc.counters : sc.locals;
        return pool.length ? pool[l.i % pool.length] : LITERALS[l.i % LITERALS.length];
      }
      case 'elem':
        return valueArrays.length ? elemText(l, valueArrays[l.arr % valueArrays.length], sc) : leafText({ t: 'var', i: l.k }, sc);
      case 'len':
        return readArrays.length ? `${readArrays[l.arr % readArrays.length].name}.length` : LITERALS[l.arr];
      case 'welem':
        return sc.warrs.length ? elemText(l, pickW(l.w, sc), sc) : leafText({ t: 'var', i: l.k }, sc);
      case 'wlen':
        return sc.warrs.length ? `${pickW(l.w, sc).name}.length` : LITERALS[l.w];
    }
    throw new Error(`leaf ${l.t}`);
  };
  // every compound expression is parenthesised: the text is the same program for the interpreter and the compiler
  const exprText = (e, sc) => {
    switch (e.t) {
      case 'lit': case 'var': case 'param': case 'counter': case 'elem': case 'len': case 'welem': case 'wlen':
        return leafText(e, sc);
      case 'bin':
        return `(${exprText(e.a, sc)} ${e.op} ${exprText(e.b, sc)})`;
      case 'neg':
        return `(-${exprText(e.a, sc)})`;
      case 'div': {
        const b = exprText(e.b, sc);
        return wild ? `(${exprText(e.a, sc)} / ${b})` : `(${exprText(e.a, sc)} / (1 + ${b} * ${b}))`;
      }
      case 'mod': {
        const b = exprText(e.b, sc);
        return e.lit ? `(${exprText(e.a, sc)} % 1.5)` : wild ? `(${exprText(e.a, sc)} % ${b})` : `(${exprText(e.a, sc)} % (1 + ${b} * ${b}))`;
      }
      case 'math':
        return (unary[e.f] ?? SAFE_UNARY.sin)(exprText(e.a, sc));
      case 'atan2': {
        const b = exprText(e.b, sc);
        return wild ? `Math.atan2(${exprText(e.a, sc)}, ${b})` : `Math.atan2(${exprText(e.a, sc)}, 1 + ${b} * ${b})`;
      }
      case 'pow': {
        const a = exprText(e.a, sc);
        if (wild) return e.op ? `Math.pow(${a}, ${exprText(e.a, sc)})` : `(${a} ** -${e.n})`;
        return e.op ? `Math.pow(${a}, ${e.n})` : `(${a} ** ${e.n})`;
      }
      case 'powExp':
        return wild ? `(${exprText(e.a, sc)} ** 0.5)` : `(${e.base} ** Math.tanh(${exprText(e.a, sc)}))`;
    }
    throw new Error(`expr ${e.t}`);
  };
  /** A right-hand side that is never a bare name (a copy would make the function ineligible). */
  const notCopy = (text, k) =>
    (!copies && (/^[A-Za-z_$][\w$]*$/.test(text) || isElement(text)) ? (k % 2 ? `${text} + 0` : `1 * ${text}`) : text);
  const storedText = (s, sc) => {
    switch (s.t) {
      case 'squash':
        return SQUASH[s.f](exprText(s.a, sc));
      case 'lin': {
        const a = leafText(s.a, sc), b = leafText(s.b, sc);
        return s.op === 'half' ? `0.5 * (${a} + ${b})` : `${a} ${s.op} ${b}`;
      }
      case 'scale':
        return `${leafText(s.a, sc)} * ${SQUASH[s.f](exprText(s.b, sc))}`;
      case 'neg':
        return `-${leafText(s.a, sc)}`;
      case 'plain':
        return notCopy(leafText(s.a, sc), s.a.i ?? s.a.k ?? 0);
    }
    throw new Error(`stored ${s.t}`);
  };
  const testText = (c, sc) => {
    switch (c.t) {
      case 'cmp': {
        // tests may also read parameters whose role is 'test' (never in values: their gradient is null)
        // and elements of arrays whose role is 'test' (or any array read)
        const pool = [...readArrays.map((a) => elemText({ useCounter: c.testParam % 4, k: c.testParam, form: c.testParam }, a, sc)), ...testParams];
        const extra = pool.length && c.testParam < 3 ? ` + ${pool[c.testParam % pool.length]}` : '';
        return `${exprText(c.a, sc)}${extra} ${c.op} ${exprText(c.b, sc)}`;
      }
      case 'logic':
        return `(${testText(c.a, sc)}) ${c.op} (${testText(c.b, sc)})`;
      case 'not':
        return `!(${testText(c.a, sc)})`;
      case 'truthy':
        return exprText(c.a, sc);
    }
    throw new Error(`test ${c.t}`);
  };
  // assignments target locals and (less often) value parameters, which the compiled code then restores in reverse
  const target = (i, sc) => {
    const pool = [...sc.locals, ...sc.locals, ...valueParams];
    return pool[i % pool.length];
  };

  const lines = [];
  const emit = (depth, text) => lines.push(`${'  '.repeat(depth)}${text}`);
  const statementText = (s, sc, depth) => {
    switch (s.t) {
      case 'assign': {
        const rhs = storedText(s.rhs, sc);
        // *= multiplies by a squashed value; /= and %= divide by 1 + r * r (never 0, so no infinite partials)
        const text = s.op === '=' ? rhs
          : s.op === '*=' ? (s.rhs.t === 'squash' ? rhs : `Math.tanh(${rhs})`)
          : s.op === '/=' || s.op === '%=' ? (wild ? `(${rhs})` : `1 + (${rhs}) * (${rhs})`)
          : `(${rhs})`;
        emit(depth, `${target(s.v, sc)} ${s.op} ${text};`);
        return;
      }
      case 'update': {
        const v = target(s.v, sc);
        emit(depth, s.prefix ? `${s.op}${v};` : `${v}${s.op};`);
        return;
      }
      case 'square': {
        const v = target(s.v, sc);
        emit(depth, `${v} = ${SQUASH[s.f](v)} + 0.5;`);
        emit(depth, `${v} **= 2;`);
        return;
      }
      case 'temp': {
        const u = `u${fresh++}`;
        const init = notCopy(storedText(s.init, sc), fresh);
        emit(depth, `let ${u} = ${s.op === '*=' && s.init.t !== 'squash' ? `Math.tanh(${init})` : init};`);
        emit(depth, `${target(s.v, sc)} ${s.op} ${u};`);
        return;
      }
      case 'if':
        emit(depth, `if (${testText(s.test, sc)}) {`);
        // each branch is a block: a while loop's counter declared there is not in scope after the if
        const thenScope = nest(sc);
        s.then.forEach((b) => statementText(b, thenScope, depth + 1));
        if (s.else && s.else.length === 1 && s.else[0].t === 'if' && s.elseIf) {
          // `else if (...)`: the alternate is an if statement, not a block
          const inner = s.else[0];
          const elseScope = nest(sc);
          lines.push(`${'  '.repeat(depth)}} else ${''}`);
          const at = lines.length;
          statementText(inner, elseScope, depth);
          lines[at - 1] += lines[at].trimStart();
          lines.splice(at, 1);
          return;
        }
        if (s.else) {
          emit(depth, '} else {');
          const elseScope = nest(sc);
          s.else.forEach((b) => statementText(b, elseScope, depth + 1));
        }
        emit(depth, '}');
        return;
      case 'for': {
        const i = `i${fresh++}`;
        ranges.set(i, s.down ? { lo: 1, hi: s.n } : { lo: 0, hi: s.n - 1 });
        emit(depth, s.down ? `for (let ${i} = ${s.n}; ${i} > 0; ${i}--) {` : `for (let ${i} = 0; ${i} < ${s.n}; ${i} += 1) {`);
        const inner = nest(sc, i);
        s.body.forEach((b) => statementText(b, inner, depth + 1));
        emit(depth, '}');
        return;
      }
      case 'while': {
        const k = `k${fresh++}`;
        ranges.set(k, { lo: 0, hi: s.max }); // max after the loop
        emit(depth, `let ${k} = 0;`);
        emit(depth, `while (${k} < ${s.max} && (${testText(s.test, sc)})) {`);
        const inner = nest(sc, k);
        s.body.forEach((b) => statementText(b, inner, depth + 1));
        emit(depth + 1, `${k}++;`);
        emit(depth, '}');
        sc.counters.push(k); // readable (as a value) after the loop
        return;
      }
      case 'elemAcc': {
        const e = leafText(s.e, sc);
        let rhs;
        if (s.shape === 0) rhs = `${e} * ${leafText(s.mul, sc)}`; // a dot product
        else if (s.shape === 1) rhs = SQUASH[s.f](e);
        else if (s.shape === 2) rhs = `${e} * ${leafText(s.e2, sc)}`; // e.g. a[j] * a[j + 1], a0[j] * a1[j]
        else rhs = `Math.pow(${e} - Math.tanh(${leafText(s.mul, sc)}), 2)`; // Rosenbrock-like
        // *= multiplies by a squashed value, as for other assignments
        const text = s.op === '*=' && s.shape !== 1 ? `Math.tanh(${rhs})` : rhs;
        emit(depth, `${target(s.v, sc)} ${s.op} ${text};`);
        return;
      }
      case 'aloop': {
        if (readArrays.length === 0) return statementText({ t: 'for', n: 2, down: false, body: s.body }, sc, depth);
        const a = readArrays[s.arr % readArrays.length].name;
        /** The loop's typical read of its own array, first in the body (when a is read in values). */
        const lead = (c, sc2, depth2) => {
          if (s.lead === null || byName.get(a).role !== 'value') return;
          const rhs = {
            up: `${a}[${c}] * ${a}[${c}]`, down: `${SQUASH[s.lead.f](`${a}[${c}]`)}`, scan: `Math.sin(${a}[${c}])`,
            pair: SQUASH[s.lead.f](`${a}[${c} + 1] - ${a}[${c}]`), lag: `${a}[${c}] * ${a}[${c} - 1]`,
          }[s.style];
          emit(depth2, `${target(s.lead.v, sc2)} ${s.lead.op} ${rhs};`);
        };
        if (s.style === 'scan') {
          // trip count from the elements: `while (k < a.length && (test reading a[k]))`
          const k = `k${fresh++}`;
          emit(depth, `let ${k} = 0;`);
          ranges.set(k, { arr: a, lo: 0, hiOff: -1 }); // in the test (after k < a.length) and the body
          const inTest = nest(sc, k);
          emit(depth, `while (${k} < ${a}.length && (${testText(s.test, inTest)})) {`);
          lead(k, inTest, depth + 1);
          s.body.forEach((b) => statementText(b, inTest, depth + 1));
          emit(depth + 1, [`${k}++;`, `++${k};`, `${k} += 1;`][s.inc]);
          emit(depth, '}');
          ranges.set(k, { arr: a, lo: 0, hiOff: 0 }); // after the loop: k <= a.length
          sc.counters.push(k);
          return;
        }
        const j = `j${fresh++}`;
        const up = [`${j}++`, `++${j}`, `${j} += 1`][s.inc], down = [`${j}--`, `--${j}`, `${j} -= 1`][s.inc];
        const head = {
          up: [`let ${j} = 0; ${j} < ${a}.length; ${up}`, { lo: 0, hiOff: -1 }],
          down: [`let ${j} = ${a}.length - 1; ${j} >= 0; ${down}`, { lo: 0, hiOff: -1 }],
          pair: [`let ${j} = 0; ${j} < ${a}.length - 1; ${up}`, { lo: 0, hiOff: -2 }], // reads a[j + 1]
          lag: [`let ${j} = 1; ${j} < ${a}.length; ${up}`, { lo: 1, hiOff: -1 }], // reads a[j - 1]
        }[s.style];
        ranges.set(j, { arr: a, ...head[1] });
        emit(depth, `for (${head[0]}) {`);
        const inner = nest(sc, j);
        lead(j, inner, depth + 1);
        s.body.forEach((b) => statementText(b, inner, depth + 1));
        emit(depth, '}');
        return;
      }
      // ---- scratch arrays ({ locals: true }) ----
      case 'wwrite': {
        // w[i] = e, += -= and *= (by a squashed value), at an index in range of the array for every length
        const rhs = storedText(s.rhs, sc);
        const text = s.op === '=' ? rhs : s.op === '*=' ? (s.rhs.t === 'squash' ? rhs : `Math.tanh(${rhs})`) : `(${rhs})`;
        emit(depth, `${elemText(s.at, pickW(s.at.w, sc), sc)} ${s.op} ${text};`);
        return;
      }
      case 'wpass': {
        if (s.kind === 'max')
          return statementText({ t: 'maxScan', src: s.w, head: s.head, braces: s.shape % 2 === 0, v: s.v, f: s.f,
            follow: ['lse', 'softmax', 'use', 'lse', 'none'][s.shape] }, sc, depth);
        // one loop over a scratch array: fill / reduce from 0 (or down to 0); smooth / shift from 1 (reads w[j - 1])
        const w = pickW(s.w, sc);
        const j = `j${fresh++}`;
        const L = lenText(w, s.head);
        const from = s.kind === 'smooth' || s.kind === 'shift' ? 1 : 0;
        ranges.set(j, rangeOver(w, from, -1));
        const head = s.head === 3 ? `let ${j} = ${L} - 1; ${j} >= ${from}; ${j}--` : `let ${j} = ${from}; ${j} < ${L}; ${[`${j}++`, `${j} += 1`, `++${j}`][s.head % 3]}`;
        const line = wpassLine(s, w, j, nest(sc, j));
        if (s.head % 3 === 2) emit(depth, `for (${head}) ${line}`);
        else {
          emit(depth, `for (${head}) {`);
          emit(depth + 1, line);
          emit(depth, '}');
        }
        return;
      }
      case 'wloop': {
        // a loop over a scratch array's length with a body of random statements (as 'aloop' for parameters)
        const w = pickW(s.w, sc);
        const j = `j${fresh++}`;
        const L = lenText(w, s.inc + (s.style === 'down' ? 1 : 0));
        const up = [`${j}++`, `++${j}`, `${j} += 1`][s.inc], down = [`${j}--`, `--${j}`, `${j} -= 1`][s.inc];
        const [head, lo, hiOff] = {
          up: [`let ${j} = 0; ${j} < ${L}; ${up}`, 0, -1],
          down: [`let ${j} = ${L} - 1; ${j} >= 0; ${down}`, 0, -1],
          pair: [`let ${j} = 0; ${j} < ${L} - 1; ${up}`, 0, -2], // reads w[j + 1]
          lag: [`let ${j} = 1; ${j} < ${L}; ${up}`, 1, -1], // reads w[j - 1]
        }[s.style];
        ranges.set(j, rangeOver(w, lo, hiOff));
        emit(depth, `for (${head}) {`);
        const inner = nest(sc, j);
        if (s.lead) emit(depth + 1, wpassLine(s.lead, w, j, inner));
        // neighbours: averaging keeps the elements bounded; the element written was maybe read just before
        if (s.style === 'pair') emit(depth + 1, `${w.name}[${j} + 1] = 0.5 * (${w.name}[${j} + 1] + ${w.name}[${j}]);`);
        if (s.style === 'lag') emit(depth + 1, `${w.name}[${j}] += ${SQUASH[s.lead?.f ?? 'sin'](`${w.name}[${j} - 1]`)};`);
        s.body.forEach((b) => statementText(b, inner, depth + 1));
        emit(depth, '}');
        return;
      }
      // ---- plain copies ({ copies: true }) ----
      case 'copy':
        // v = w, v = a[i], v = w0[i], v = x0, v = i (a counter), and v = v
        emit(depth, `${target(s.v, sc)} = ${leafText(s.src, sc)};`);
        return;
      case 'letCopy': {
        // `let c = w`: a new name for the same value; both names are read (and maybe reassigned) afterwards
        const c = `c${fresh++}`;
        const src = leafText(s.src, sc);
        emit(depth, `let ${c} = ${src};`);
        if (s.use) emit(depth, `${target(s.use.v, sc)} ${useBoth(c, src, s.use.form)};`);
        sc.locals.push(c);
        return;
      }
      case 'copyUse': {
        // `m = a0[i]; s += m * a0[i];`: one expression reads the copy and its source
        const src = leafText(s.src, sc);
        const c = target(s.v, sc);
        emit(depth, `${c} = ${src};`);
        emit(depth, `${target(s.u, sc)} ${useBoth(c, src, s.form)};`);
        return;
      }
      case 'wcopy':
        // w0[i] = v, w0[i] = a0[j], w0[i] = w0[j], w0[i] = w1[j]
        emit(depth, `${elemText(s.at, pickW(s.at.w, sc), sc)} = ${leafText(s.src, sc)};`);
        return;
      case 'maxScan': {
        // `let m = X[0]; for (let j = 1; j < N; j++) if (X[j] > m) m = X[j];` over a scratch array or an array
        // parameter read in values (or, with neither, over names), then uses of m together with X's elements:
        // log-sum-exp (exp(X[j] - m) <= 1, so the sum is >= 1 and its log finite), a softmax-weighted sum, ...
        const m = `m${fresh++}`;
        const t = target(s.v, sc);
        const candidates = [...sc.warrs, ...valueArrays];
        const branch = (test, lhs, rhs) => (s.braces ? `if (${test}) { ${lhs} = ${rhs}; }` : `if (${test}) ${lhs} = ${rhs};`);
        const sum = `s${fresh++}`;
        if (candidates.length === 0) {
          const pool = [...sc.locals, ...valueParams];
          const names = [...new Set([0, 1, 2].map((k) => pool[(s.v + k) % pool.length]))];
          emit(depth, `let ${m} = ${names[0]};`);
          names.slice(1).forEach((n) => emit(depth, branch(`${n} > ${m}`, m, n)));
          if (s.follow === 'lse' || s.follow === 'softmax') {
            emit(depth, `let ${sum} = ${names.map((n) => `Math.exp(${n} - ${m})`).join(' + ')};`);
            emit(depth, `${t} = ${m} + Math.log(${sum});`);
            sc.locals.push(sum);
          } else if (s.follow === 'use') emit(depth, `${t} += ${m} - ${SQUASH[s.f](names[0])};`);
          sc.locals.push(m);
          return;
        }
        const X = candidates[s.src % candidates.length], x = X.name;
        const L = lenText(X, s.head);
        const j = `j${fresh++}`;
        ranges.set(j, rangeOver(X, 1, -1));
        emit(depth, `let ${m} = ${x}[0];`);
        emit(depth, `for (let ${j} = 1; ${j} < ${L}; ${j}++) ${branch(`${x}[${j}] > ${m}`, m, `${x}[${j}]`)}`);
        const k = `j${fresh++}`;
        ranges.set(k, rangeOver(X, 0, -1));
        if (s.follow === 'lse') {
          emit(depth, `let ${sum} = 0;`);
          emit(depth, `for (let ${k} = 0; ${k} < ${L}; ${k}++) ${sum} += Math.exp(${x}[${k}] - ${m});`);
          emit(depth, `${t} = ${m} + Math.log(${sum});`);
          sc.locals.push(sum);
        } else if (s.follow === 'softmax') {
          emit(depth, `for (let ${k} = 0; ${k} < ${L}; ${k}++) {`);
          emit(depth + 1, `${t} += ${x}[${k}] * Math.exp(${x}[${k}] - ${m});`);
          emit(depth, '}');
        } else if (s.follow === 'use') emit(depth, `${t} += ${m} - ${SQUASH[s.f](`${x}[0]`)};`);
        sc.locals.push(m);
        return;
      }
    }
    throw new Error(`statement ${s.t}`);
  };

  /**
   * `op rhs` of an update reading both a copy c and its source src (both names of one value in one expression). A
   * product c * src only where src is an element of an array parameter (|src| <= 3) or a literal; else one factor is
   * squashed, so values grow at most linearly.
   */
  const useBoth = (c, src, form) => {
    const small = /^a\d\[/.test(src) || !/[A-Za-z_$]/.test(src);
    switch (form) {
      case 0:
        return `+= ${c} * ${small ? src : `Math.tanh(${src})`}`;
      case 1:
        return `+= Math.sin(${c}) * ${src}`;
      case 2:
        return `-= Math.exp(Math.sin(${src} - ${c}))`;
      case 3:
        return `= 0.5 * (${c} + ${src})`;
      default:
        return small ? `+= ${c} * ${src}` : `+= ${c} - Math.tanh(${src})`;
    }
  };

  /** The one statement of a scratch-array loop at counter j (in range of w: j from its loop over w's length). */
  const wpassLine = (s, w, j, sc) => {
    const wj = `${w.name}[${j}]`;
    const op = s.op;
    switch (s.kind) {
      case 'fill': {
        // from an array parameter's element at j where in range for every length, else from values
        const src = paramAt(j, s.shape) ?? leafText(s.src, sc);
        const rhs = [
          copies ? src : SQUASH[s.f](src), // with copies: `w0[j] = a0[j]`
          SQUASH[s.f](src),
          SQUASH[s.f](`${src} * ${j}`),
          `${src} * Math.tanh(${leafText(s.src, sc)})`,
          `0.5 * (${src} + ${wj})`,
        ][s.shape];
        return `${wj} ${op} ${notCopy(rhs, s.shape)};`;
      }
      case 'reduce': {
        const rhs = [
          wj,
          SQUASH[s.f](wj),
          `${wj} * ${SQUASH[s.f](leafText(s.src, sc))}`,
          `${wj} * ${paramAt(j, s.v) ?? '0.5'}`, // a dot product with an array parameter
          `${wj} * Math.tanh(${wj})`,
        ][s.shape];
        return `${target(s.v, sc)} ${op} ${op === '=' ? notCopy(rhs, s.head) : rhs};`;
      }
      case 'acc':
        return `${wj} ${op} ${SQUASH[s.f](leafText(s.src, sc))};`;
      case 'smooth': {
        const prev = `${w.name}[${j} - 1]`;
        return [
          `${wj} = 0.5 * (${wj} + ${prev});`,
          `${wj} += ${SQUASH[s.f](prev)};`,
          `${wj} = ${prev} * ${SQUASH[s.f](wj)};`,
          `${wj} -= 0.5 * ${prev};`,
          `${wj} *= ${SQUASH[s.f](prev)};`,
        ][s.shape];
      }
      case 'shift': // copies between elements: `w[j] = w[j - 1]` (an up loop spreads w[0]) or `w[j - 1] = w[j]`
        return s.shape % 2 ? `${wj} = ${w.name}[${j} - 1];` : `${w.name}[${j} - 1] = ${wj};`;
    }
    throw new Error(`wpass ${s.kind}`);
  };

  const top = { locals: [], counters: [], warrs: [] };
  // scratch arrays first (all elements 0): a literal length, or the length of an array parameter read by the program
  if (withLocals)
    p.warrs.forEach((d, k) => {
      const a = d.fromParam > 0 && readArrays.length ? readArrays[(d.fromParam - 1) % readArrays.length] : null;
      const w = a
        ? { name: `w${k}`, base: a.name, off: d.add, minLength: a.minLength + d.add, maxLength: a.maxLength + d.add }
        : { name: `w${k}`, base: null, off: 0, minLength: d.size, maxLength: d.size };
      emit(1, `const ${w.name} = new Float64Array(${a ? `${a.name}.length${d.add ? ` + ${d.add}` : ''}` : d.size});`);
      top.warrs.push(w);
    });
  // locals: one `let` each, or `var`, or one declaration with several declarators (reversed in the compiled reverse)
  const declared = p.locals.map((init, j) => {
    const text = notCopy(storedText(init, top), j);
    top.locals.push(`v${j}`);
    return `v${j} = ${text}`;
  });
  if (p.declStyle === 'one') emit(1, `let ${declared.join(',\n      ')};`);
  else declared.forEach((d) => emit(1, `${p.declStyle} ${d};`));
  if (withLocals && p.prologue) statementText(p.prologue, top, 1);
  /** A loop whose body declares a fresh scratch array `wt` each iteration, writes and reads it, and folds it into a local. */
  const scratchLoop = (q) => {
    const i = `i${fresh++}`;
    ranges.set(i, { lo: 0, hi: q.n - 1 });
    emit(1, `for (let ${i} = 0; ${i} < ${q.n}; ${i}++) {`);
    const wt = { name: 'wt', base: null, off: 0, minLength: q.size, maxLength: q.size };
    const inner = { locals: [...top.locals], counters: [...top.counters, i], warrs: [...top.warrs, wt] };
    emit(2, `const wt = new Float64Array(${q.size});`);
    q.init.forEach(({ at, rhs }) => emit(2, `${elemText(at, wt, inner)} = ${storedText(rhs, inner)};`));
    q.body.forEach((b) => statementText(b, inner, 2));
    const read = elemText({ useCounter: q.use, k: q.use, form: q.use }, wt, inner);
    emit(2, `${target(q.v, inner)} += ${q.use % 2 ? SQUASH[q.f](read) : `${read} * 0.5`};`);
    emit(1, '}');
  };
  const scratchAt = withLocals && p.scratch ? p.scratch.pos % (p.body.length + 1) : -1;
  p.body.forEach((s, k) => {
    if (k === scratchAt) scratchLoop(p.scratch);
    statementText(s, top, 1);
  });
  if (scratchAt === p.body.length) scratchLoop(p.scratch);
  if (withLocals && p.epilogue) statementText(p.epilogue, top, 1);
  let ret;
  switch (p.ret.t) {
    case 'expr':
      ret = exprText(p.ret.e, top);
      break;
    case 'name':
      ret = leafText({ t: 'var', i: p.ret.i }, top);
      break;
    case 'const':
      ret = p.ret.v;
      break;
    case 'counter':
      ret = top.counters.length ? `${top.counters[p.ret.i % top.counters.length]} * 2` : '1.5';
      break;
    case 'welem': // `return w0[2]`
      ret = elemText(p.ret.e, pickW(p.ret.e.w, top), top);
      break;
  }
  if (isElement(ret) && !copies) ret = `${ret} * 1`; // returning an element is a copy
  emit(1, `return ${ret};`);
  const source = `(${params.join(', ')}) => {\n${lines.join('\n')}\n}`;
  if (!withArrays) return { source, arity, roles };
  return { source, arity, roles, kinds, arrays: arrays.map(({ name, index, minLength, maxLength, role }) => ({ name, index, minLength, maxLength, role })) };
}

/**
 * Random programs in the compiled subset; `{ wild: true }` drops the guards that keep values and partials finite;
 * `{ arrays: true }` adds 1-2 read-only array parameters; `{ locals: true }` local scratch Float64Arrays with element
 * writes; `{ copies: true }` plain copies of names and elements (see the header). The options combine freely.
 */
export function scalarProgramArbitrary({ wild = false, arrays = false, locals = false, copies = false } = {}) {
  return grammar({ wild, arrays, locals, copies }).map((p) => {
    const r = render(p, { wild, arrays, locals, copies });
    return { ...r, toString: () => r.source };
  });
}

/** The plain (untraced) function of a generated source. */
export function compileScalarProgram(source) {
  return new Function(`return ${source};`)();
}
