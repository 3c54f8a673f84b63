// fast-check arbitrary of random, self-contained JavaScript programs `function prog(x, data)` for differentiation tests.
//
// Each generated value is
//
//   {
//     source:   string,            // the text of `function prog(x, data) { ... }`, self-contained (only Math is used)
//     k:        number,            // x is an array of k numbers (1..4); the program returns one number
//     makeData: () => data,        // a factory of fresh state; the program reads AND mutates it, so every
//                                  // evaluation needs its own: { m: Map<string, number>, arr: number[],
//                                  //                              obj: { f: number, g: number } }
//     dataSource: string,          // the text of makeData (for reports)
//     toString(): string,          // source + dataSource: what fast-check prints for a counterexample
//   }
//
// The programs are small but use the features an AD tool for untyped JavaScript has to get right:
//   - `let` variables assigned expressions of + - * /, unary minus, Math.sin/cos/tanh/exp, `**` with small integer
//     exponents, Math.max/min, constants, x[i] reads, ternaries;
//   - compound assignment (+=, -=, *=, /=), ++/-- (prefix and postfix) on an integer counter and on tracked
//     variables, destructuring swaps `[a, b] = [b, a]`, block-scoped temporaries;
//   - if/else on comparisons of tracked values (branches that flip as x changes);
//   - for loops with constant trip counts 1..4, while loops driven by counters (optionally also by a comparison of
//     tracked values), for...of over x, data.arr and the entries of data.m, `break`/`continue` under conditions;
//   - reads and writes of data.m (Map get/set with string keys, including a key that starts absent, read with ??),
//     data.arr (constant and loop-dependent indices, the last element, push, reduce with an arrow callback),
//     data.obj.f/g (also through a computed key `data.obj[c ? 'f' : 'g']`), with repeated overwrites of a key;
//   - a local closure `const h = (u) => ...` that captures (and, in one variant, reassigns) a variable;
//   - a nested helper function declaration `function helper(p, q) { ... }` with its own loops and branches, which
//     reads x and reads and writes data through the enclosing scope;
//   - a return of one number expression combining the variables.
//
// Values are kept bounded so finite differences are well conditioned: divisions are always `e1 / (1 + e2 * e2)`,
// exponentials are `Math.exp(Math.sin(e))`, and in loops and the helper (which loops may call) every stored value is squashed (tanh/sin/cos, or
// multiplied by a factor in [0.5, 1.5], or divided by 1 + e * e) so nothing grows exponentially with the trip count.
// Comparisons of tracked values and Math.max/min make the programs piecewise smooth: a test comparing with finite
// differences must skip inputs that lie within a step of a branch flip or kink (e.g. by looking at the Richardson
// error estimate, and at one-sided differences).
//
// Shrinking works on the program structure (statements are removed, expressions shrink towards constants and
// leaves), so a failing case shrinks to a short program. Use `compileProgram(source)` to get the plain (untraced)
// function. Usage:
//
//   fc.assert(fc.property(programArbitrary(), ({ source, k, makeData }) => {
//     const prog = compileProgram(source);
//     const x = Array.from({ length: k }, () => Math.random() * 4 - 2);
//     ... compare gradient(traced(prog), x, makeData())[0] with finite differences of prog(x', makeData()) ...
//   }));

import fc from 'fast-check';

/**
 * The plain JavaScript function for a generated `source` (no tracing): the reference for finite differences.
 *
 * @example
 * ```js
 * import { compileProgram } from 'tracegrad/fast-check';
 * const prog = compileProgram('function prog(x, data) { return x[0] * data.scale; }');
 * prog([3], { scale: 2 }); // → 6
 * ```
 */
export function compileProgram(source) {
  return new Function(`return (${source});`)();
}

// ---------------------------------------------------------------------------------------------------------------
// Abstract syntax. Expressions and statements are plain objects tagged with `t`; names are resolved when the
// arbitrary is built (each context knows which variables are in scope), while indices into x and data.arr are
// stored as naturals and reduced modulo k / the array length when rendering, so k can shrink independently.
// ---------------------------------------------------------------------------------------------------------------

const CONSTANTS = [0.5, 1, 2, 3, -1, 0.25, 1.5, -0.75, 0.1];
const MAP_KEYS = ['p', 'q', 'r'];
/** A Map key that makeData does not set: reads use `?? 0.5`, writes create it. */
const OPTIONAL_MAP_KEY = 's';
const OBJ_FIELDS = ['f', 'g'];
const SQUASHES = ['tanh', 'sin', 'cos'];

/** Defaults of programArbitrary's options. */
const DEFAULTS = {
  minInputs: 1, //         smallest k
  maxInputs: 4, //         largest k
  maxStatements: 6, //     statements in the top-level block (nested blocks: at most half, at least 1)
  maxNesting: 2, //        nesting of if/for/while/for...of blocks
  maxExpressionDepth: 2, // operator depth of expressions
  data: true, //           reads and writes of data.m / data.arr / data.obj
  closure: true, //        the local closure h
  helper: true, //         the nested helper function
  loops: true, //          for/while loops, break/continue
  branches: true, //       if/else and ternaries
  redundantParens: false, // write right-hand sides of assignments as `a += (b * c);` (a common style)
};

/**
 * What an expression or statement may refer to.
 * inLoop: break/continue allowed; bounded: the code may run many times (in a loop, or in the helper, which may be
 * called from loops), so stored values are squashed.
 * @typedef {{ tracked: string[], ints: string[], data: boolean, calls: boolean, inLoop: boolean, bounded: boolean,
 *             loopDepth: number, consts: string[] }} Ctx
 */

/** Builds the arbitraries for one set of options; memoised per (context, depth) because the grammar is recursive. */
function grammar(opts) {
  const memo = new Map();
  const memoised = (kind, ctx, depth, build) => {
    const key = `${kind}|${JSON.stringify(ctx)}|${depth}`;
    if (!memo.has(key)) memo.set(key, build());
    return memo.get(key);
  };

  // fc.oneof over [weight, () => arbitrary, enabled?] entries; disabled entries are never built. The first entry is
  // the simplest (a constant, a leaf, an assignment): with cross-shrinking, failing cases shrink towards it.
  const weighted = (...entries) =>
    fc.oneof(
      { withCrossShrink: true },
      ...entries.filter(([, , on = true]) => on).map(([weight, build]) => ({ weight, arbitrary: build() })),
    );

  /** Reads of the state object (only where `ctx.data`). */
  const dataRead = (ctx) =>
    memoised('data', ctx, 0, () =>
      weighted(
        [3, () => fc.nat(3).map((i) => ({ t: 'arrGet', i }))],
        [1, () => fc.constantFrom(...ctx.ints).map((name) => ({ t: 'arrGetDyn', name })), ctx.ints.length > 0],
        [1, () => fc.constant({ t: 'arrLast' })],
        [2, () => fc.constantFrom(...OBJ_FIELDS).map((f) => ({ t: 'objGet', f }))],
        [3, () => fc.constantFrom(...MAP_KEYS).map((key) => ({ t: 'mapGet', key }))],
        [1, () => fc.constant({ t: 'mapGetOpt', key: OPTIONAL_MAP_KEY })],
      ),
    );

  /** Leaves: constants, variables, x[i], integer counters / loop indices, data reads. */
  const leaf = (ctx) =>
    memoised('leaf', ctx, 0, () =>
      weighted(
        [2, () => fc.constantFrom(...CONSTANTS).map((v) => ({ t: 'num', v }))],
        [6, () => fc.constantFrom(...ctx.tracked, ...ctx.consts).map((name) => ({ t: 'name', name })), ctx.tracked.length + ctx.consts.length > 0],
        [4, () => fc.nat(3).map((i) => ({ t: 'x', i }))],
        [1, () => fc.constantFrom(...ctx.ints).map((name) => ({ t: 'name', name })), ctx.ints.length > 0],
        [2, () => dataRead(ctx), ctx.data],
      ),
    );

  /** Comparisons of two expressions (the values compared are usually tracked, so the branch depends on x). */
  const comparison = (ctx, depth) =>
    memoised('cmp', ctx, depth, () =>
      fc
        .record({ op: fc.constantFrom('<', '>', '<=', '>='), l: expr(ctx, depth), r: expr(ctx, depth) })
        .map((c) => ({ t: 'cmp', ...c })),
    );

  /** Expressions of operator depth at most `depth`. */
  const expr = (ctx, depth) =>
    memoised('expr', ctx, depth, () => {
      if (depth <= 0) return leaf(ctx);
      const sub = expr(ctx, depth - 1);
      const canCall = ctx.calls && opts.closure;
      return weighted(
        [6, () => leaf(ctx)],
        [3, () => fc.record({ op: fc.constantFrom('+', '-', '*'), l: sub, r: sub }).map((e) => ({ t: 'bin', ...e }))],
        [1, () => sub.map((e) => ({ t: 'neg', e }))],
        [1, () => fc.record({ l: sub, r: sub }).map((e) => ({ t: 'div', ...e }))],
        [2, () => fc.record({ f: fc.constantFrom(...SQUASHES), e: sub }).map((e) => ({ t: 'math', ...e }))],
        [1, () => sub.map((e) => ({ t: 'expSin', e }))],
        [1, () => fc.record({ n: fc.constantFrom(2, 3), squash: fc.boolean(), e: sub }).map((e) => ({ t: 'pow', ...e }))],
        [1, () => fc.record({ f: fc.constantFrom('max', 'min'), a: sub, b: sub }).map((e) => ({ t: 'minmax', ...e }))],
        [1, () => fc.constantFrom(...ctx.tracked).map((name) => ({ t: 'reduce', name })), ctx.data && ctx.tracked.length > 0],
        [1, () => fc.record({ c: comparison(ctx, depth - 1), a: sub, b: sub }).map((e) => ({ t: 'cond', ...e })), opts.branches],
        [1, () => sub.map((e) => ({ t: 'callH', e })), canCall],
        [1, () => fc.record({ a: sub, b: sub }).map((e) => ({ t: 'callHelper', ...e })), ctx.calls && opts.helper],
      );
    });

  /** A block of statements at nesting level `nest` (0 is the function body). */
  const block = (ctx, nest) =>
    memoised('block', ctx, nest, () => {
      const maxLength = nest === 0 ? opts.maxStatements : Math.max(1, Math.floor(opts.maxStatements / 2));
      return fc.array(statement(ctx, nest), { minLength: 1, maxLength });
    });

  const statement = (ctx, nest) =>
    memoised('stmt', ctx, nest, () => {
      const e = expr(ctx, opts.maxExpressionDepth);
      const small = expr(ctx, Math.max(0, opts.maxExpressionDepth - 1));
      const target = fc.constantFrom(...ctx.tracked);
      const nested = nest < opts.maxNesting;
      const loopCtx = { ...ctx, inLoop: true, bounded: true, loopDepth: ctx.loopDepth + 1, ints: [...ctx.ints, `i${ctx.loopDepth}`] };
      const whileCtx = { ...ctx, inLoop: true, bounded: true, loopDepth: ctx.loopDepth + 1, ints: [...ctx.ints, `w${ctx.loopDepth}`] };
      const forOfCtx = { ...ctx, inLoop: true, bounded: true, loopDepth: ctx.loopDepth + 1, consts: [...ctx.consts, `v${ctx.loopDepth}`] };
      const counters = ctx.ints.filter((name) => name === 'n');
      return weighted(
        // tracked variables; a right-hand side is squashed with probability 2/3, in bounded code always
        [6, () => fc.record({ name: target, e, squash: ctx.bounded ? fc.constantFrom(...SQUASHES) : fc.constantFrom(null, ...SQUASHES.slice(0, 2)) }).map((s) => ({ t: 'assign', ...s }))],
        [3, () => fc.record({ name: target, op: fc.constantFrom('+=', '-=', '*=', '/='), e: small }).map((s) => ({ t: 'compound', ...s }))],
        [1, () => fc.uniqueArray(target, { minLength: 2, maxLength: 2 }).map(([a, b]) => ({ t: 'swap', a, b })), ctx.tracked.length > 1],
        [1, () => fc.record({ name: fc.constantFrom(...counters, ...ctx.tracked), op: fc.constantFrom('++', '--'), prefix: fc.boolean() }).map((s) => ({ t: 'incdec', ...s }))],
        [1, () => fc.record({ name: target, e: small, f: small }).map((s) => ({ t: 'temp', ...s }))],
        [2, () => fc.record({ c: comparison(ctx, 1), then: block(ctx, nest + 1), else: fc.option(block(ctx, nest + 1), { nil: null }) }).map((s) => ({ t: 'if', ...s })), nested && opts.branches],
        [2, () => fc.record({ n: fc.integer({ min: 1, max: 4 }), body: block(loopCtx, nest + 1) }).map((s) => ({ t: 'for', index: `i${ctx.loopDepth}`, ...s })), nested && opts.loops],
        [1, () => fc.record({ n: fc.integer({ min: 1, max: 4 }), c: fc.option(comparison(ctx, 1), { nil: null }), body: block(whileCtx, nest + 1) }).map((s) => ({ t: 'while', counter: `w${ctx.loopDepth}`, ...s })), nested && opts.loops],
        [1, () => fc.record({ over: fc.constantFrom(...(ctx.data ? ['x', 'arr', 'map'] : ['x'])), body: block(forOfCtx, nest + 1) }).map((s) => ({ t: 'forOf', name: `v${ctx.loopDepth}`, key: `key${ctx.loopDepth}`, ...s })), nested && opts.loops],
        [1, () => fc.record({ kind: fc.constantFrom('break', 'continue'), c: comparison(ctx, 1) }).map((s) => ({ t: 'jump', ...s })), ctx.inLoop],
        // data
        [1, () => fc.record({ i: fc.nat(3), op: fc.constantFrom('=', '+=', '*='), e: small }).map((s) => ({ t: 'arrSet', ...s })), ctx.data],
        [1, () => fc.record({ name: fc.constantFrom(...ctx.ints), e: small }).map((s) => ({ t: 'arrSetDyn', ...s })), ctx.data && ctx.ints.length > 0],
        [1, () => fc.record({ f: fc.constantFrom(...OBJ_FIELDS), op: fc.constantFrom('=', '+=', '*='), e: small }).map((s) => ({ t: 'objSet', ...s })), ctx.data],
        [1, () => fc.record({ c: comparison(ctx, 0), e: small }).map((s) => ({ t: 'objSetDyn', ...s })), ctx.data],
        [1, () => fc.record({ key: fc.constantFrom(...MAP_KEYS, OPTIONAL_MAP_KEY), e: small }).map((s) => ({ t: 'mapSet', ...s })), ctx.data],
        [1, () => fc.record({ key: fc.constantFrom(...MAP_KEYS), e: small }).map((s) => ({ t: 'mapAdd', ...s })), ctx.data],
        // no push in loops or in the helper (which may run inside `for (const v of data.arr)`)
        [1, () => small.map((e) => ({ t: 'push', e })), ctx.data && !ctx.inLoop && ctx.calls],
        [1, () => small.map((e) => ({ t: 'callStmt', e })), ctx.calls && opts.closure],
      );
    });

  return { expr, block };
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------------------------

const num = (v) => (v < 0 ? `(${v})` : String(v));
/** Parenthesises a rendered operand that starts with a unary minus (for `-(-a)` and `(-a) ** 2`). */
const paren = (text) => (text.startsWith('-') ? `(${text})` : text);
/** Drops parentheses that enclose all of a rendered expression (for right-hand sides and call arguments). */
function bare(text) {
  if (!text.startsWith('(') || !text.endsWith(')')) return text;
  let depth = 0;
  for (let i = 0; i < text.length - 1; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')') depth--;
    if (depth === 0) return text; // the first parenthesis closes before the end: `(a) + (b)`
  }
  return text.slice(1, -1);
}
const squash = (f, text) => (f ? `Math.${f}(${text})` : text);

/** An index into data.arr computed from an integer variable (the counter n may go negative: n-- is generated). */
const dynIndex = (name, env) => (name === 'n' ? `Math.abs(n) % ${env.arrLength}` : `${name} % ${env.arrLength}`);

/** Renders an expression; `env` = { k, arrLength, used: Set } (used records which of h / helper are called). */
function renderExpr(e, env) {
  const r = (x) => renderExpr(x, env);
  switch (e.t) {
    case 'num': return num(e.v);
    case 'name': return env.rename?.[e.name] ?? e.name;
    case 'x': return `x[${e.i % env.k}]`;
    case 'arrGet': return `data.arr[${e.i % env.arrLength}]`;
    case 'arrGetDyn': return `data.arr[${dynIndex(e.name, env)}]`;
    case 'arrLast': return 'data.arr[data.arr.length - 1]';
    case 'objGet': return `data.obj.${e.f}`;
    case 'mapGet': return `data.m.get('${e.key}')`;
    case 'mapGetOpt': return `(data.m.get('${e.key}') ?? 0.5)`;
    case 'bin': return `(${r(e.l)} ${e.op} ${r(e.r)})`;
    case 'neg': return `-${paren(r(e.e))}`;
    case 'div': { const d = r(e.r); return `(${r(e.l)} / (1 + ${d} * ${d}))`; }
    case 'math': return `Math.${e.f}(${bare(r(e.e))})`;
    case 'expSin': return `Math.exp(Math.sin(${bare(r(e.e))}))`;
    case 'pow': return e.squash ? `(Math.tanh(${bare(r(e.e))}) ** ${e.n})` : `(${paren(r(e.e))} ** ${e.n})`;
    case 'minmax': return `Math.${e.f}(${bare(r(e.a))}, ${bare(r(e.b))})`;
    case 'reduce': return `data.arr.reduce((s, v) => s + Math.sin(v * ${env.rename?.[e.name] ?? e.name}), 0)`;
    case 'cond': return `(${renderCmp(e.c, env)} ? ${r(e.a)} : ${r(e.b)})`;
    case 'callH': env.used.add('h'); return `h(${bare(r(e.e))})`;
    case 'callHelper': env.used.add('helper'); return `helper(${bare(r(e.a))}, ${bare(r(e.b))})`;
    case 'cmp': return renderCmp(e, env);
    default: throw new Error(`unknown expression ${e.t}`);
  }
}

function renderCmp(c, env) {
  return `${renderExpr(c.l, env)} ${c.op} ${renderExpr(c.r, env)}`;
}

/** Renders a statement list as lines (without indentation of the first level). */
function renderBlock(stmts, env, indent) {
  return stmts.flatMap((s) => renderStatement(s, env, indent));
}

function renderStatement(s, env, indent) {
  const pad = '  '.repeat(indent);
  const r = (e) => renderExpr(e, env);
  // The right-hand side of an assignment: without enclosing parentheses, or with them in the redundantParens style.
  const rhs = (text) => (env.redundantParens ? `(${bare(text)})` : bare(text));
  // A factor in [0.5, 1.5] for *=, and a divisor >= 1 for /=, so products in loops cannot blow up.
  const factor = (e) => rhs(`1 + 0.5 * Math.sin(${bare(r(e))})`);
  const divisor = (e) => rhs(`1 + ${r(e)} * ${r(e)}`);
  // Inside loops, added values are squashed so that sums grow at most linearly with the trip count.
  const added = (e) => rhs(env.bounded ? `Math.tanh(${bare(r(e))})` : r(e));
  const update = (target, op, e) => {
    if (op === '*=') return `${target} *= ${factor(e)};`;
    if (op === '/=') return `${target} /= ${divisor(e)};`;
    return `${target} ${op} ${added(e)};`;
  };
  switch (s.t) {
    case 'assign': return [`${pad}${s.name} = ${rhs(s.squash ? squash(s.squash, bare(r(s.e))) : r(s.e))};`];
    case 'compound': return [`${pad}${update(s.name, s.op, s.e)}`];
    case 'swap': return [`${pad}[${s.a}, ${s.b}] = [${s.b}, ${s.a}];`];
    case 'incdec': return [`${pad}${s.prefix ? s.op + s.name : s.name + s.op};`];
    case 'temp': {
      const name = `t${env.temps++}`;
      return [`${pad}let ${name} = ${bare(r(s.e))};`, `${pad}${s.name} = Math.tanh(${name} * ${r(s.f)} + ${name});`];
    }
    case 'if': {
      const lines = [`${pad}if (${renderCmp(s.c, env)}) {`, ...renderBlock(s.then, env, indent + 1)];
      if (s.else) lines.push(`${pad}} else {`, ...renderBlock(s.else, env, indent + 1));
      lines.push(`${pad}}`);
      return lines;
    }
    case 'for': {
      const inner = { ...env, bounded: true };
      const lines = [`${pad}for (let ${s.index} = 0; ${s.index} < ${s.n}; ${s.index}++) {`, ...renderBlock(s.body, inner, indent + 1), `${pad}}`];
      env.temps = inner.temps;
      return lines;
    }
    case 'while': {
      // The counter is declared at the top of the function and incremented first, so `continue` cannot loop forever.
      env.counters.add(s.counter);
      const inner = { ...env, bounded: true };
      const cond = s.c ? `${s.counter} < ${s.n} && ${renderCmp(s.c, env)}` : `${s.counter} < ${s.n}`;
      const lines = [
        `${pad}${s.counter} = 0;`,
        `${pad}while (${cond}) {`,
        `${pad}  ${s.counter}++;`,
        ...renderBlock(s.body, inner, indent + 1),
        `${pad}}`,
      ];
      env.temps = inner.temps;
      return lines;
    }
    case 'forOf': {
      const inner = { ...env, bounded: true };
      const head =
        s.over === 'map' ? `for (const [${s.key}, ${s.name}] of data.m)` : `for (const ${s.name} of ${s.over === 'x' ? 'x' : 'data.arr'})`;
      const lines = [`${pad}${head} {`, ...renderBlock(s.body, inner, indent + 1), `${pad}}`];
      env.temps = inner.temps;
      return lines;
    }
    case 'jump': return [`${pad}if (${renderCmp(s.c, env)}) ${s.kind};`];
    case 'arrSet': return [`${pad}${update(`data.arr[${s.i % env.arrLength}]`, s.op, s.e)}`];
    case 'arrSetDyn': return [`${pad}data.arr[${dynIndex(s.name, env)}] = ${rhs(`Math.sin(${bare(r(s.e))})`)};`];
    case 'objSet': return [`${pad}${update(`data.obj.${s.f}`, s.op, s.e)}`];
    case 'objSetDyn': return [`${pad}data.obj[${renderCmp(s.c, env)} ? 'f' : 'g'] = ${rhs(`Math.sin(${bare(r(s.e))})`)};`];
    case 'mapSet': return [`${pad}data.m.set('${s.key}', ${env.bounded ? `Math.cos(${bare(r(s.e))})` : bare(r(s.e))});`];
    case 'mapAdd': return [`${pad}data.m.set('${s.key}', data.m.get('${s.key}') + Math.tanh(${bare(r(s.e))}));`];
    case 'push': return [`${pad}data.arr.push(${bare(r(s.e))});`];
    case 'callStmt': env.used.add('h'); return [`${pad}h(${bare(r(s.e))});`];
    default: throw new Error(`unknown statement ${s.t}`);
  }
}

/** Renders a whole generated program (see `programArbitrary`) to `{ source, k, makeData, dataSource }`. */
function renderProgram(p, opts) {
  const { k, arr, m, obj } = p;
  const env = { k, arrLength: arr.length, used: new Set(), counters: new Set(), temps: 0, bounded: false, redundantParens: opts.redundantParens };

  const body = renderBlock(p.body, env, 1);
  const ret = `  return ${renderExpr(p.ret, env)}${p.retTail.map((term) => ` + ${term}`).join('')};`;

  // The helper and the closure are emitted only when called; the helper's own while counters are local to it.
  const fnLines = [];
  if (env.used.has('helper')) {
    const henv = { ...env, used: new Set(), counters: new Set(), temps: 0, bounded: true };
    const hbody = renderBlock(p.helper.body, henv, 2);
    fnLines.push('  function helper(p, q) {');
    fnLines.push(`    let r = ${bare(renderExpr(p.helper.init, henv))};`);
    if (henv.counters.size > 0) fnLines.push(`    let ${[...henv.counters].sort().map((c) => `${c} = 0`).join(', ')};`);
    fnLines.push(...hbody, `    return ${bare(renderExpr(p.helper.ret, henv))};`, '  }');
  }
  if (env.used.has('h')) {
    const cap = p.closure.captured;
    const cenv = { ...env, used: new Set(), rename: { CAPTURED: cap } };
    if (p.closure.mutates) {
      fnLines.push(
        `  const h = (u) => {`,
        `    ${cap} = Math.tanh(${bare(renderExpr(p.closure.update, cenv))});`,
        `    return ${bare(renderExpr(p.closure.e, cenv))};`,
        `  };`,
      );
    } else {
      fnLines.push(`  const h = (u) => ${renderExpr(p.closure.e, cenv)};`);
    }
  }

  const inits = p.inits.map((e, i) => `${'abcd'[i]} = ${bare(renderExpr(e, env))}`);
  const lines = ['function prog(x, data) {', `  let ${inits.join(', ')};`];
  const ints = ['n = 0', ...[...env.counters].sort().map((c) => `${c} = 0`)];
  lines.push(`  let ${ints.join(', ')};`, ...fnLines, ...body, ret, '}');
  const source = lines.join('\n');

  const mapEntries = MAP_KEYS.map((key, i) => `['${key}', ${m[i]}]`).join(', ');
  const dataSource = `() => ({ m: new Map([${mapEntries}]), arr: [${arr.join(', ')}], obj: { f: ${obj[0]}, g: ${obj[1]} } })`;
  const makeData = () => ({
    m: new Map(MAP_KEYS.map((key, i) => [key, m[i]])),
    arr: arr.slice(),
    obj: { f: obj[0], g: obj[1] },
  });
  return {
    source,
    k,
    makeData,
    dataSource,
    toString: () => `${source}\n// makeData = ${dataSource}`,
    // fast-check uses this to print counterexamples
    [fc.toStringMethod]: () => `\n${source}\n// k = ${k}, makeData = ${dataSource}\n`,
  };
}

/**
 * A fast-check arbitrary of random programs `function prog(x, data) { ... }` returning one number, where x is an
 * array of `k` numbers and data is fresh state from `makeData()`. Generates `{ source, k, makeData, dataSource }`;
 * see the top of this file for the language features covered.
 *
 * @param {Partial<typeof DEFAULTS>} [options]
 *   minInputs / maxInputs: range of k (within 1..4); maxStatements: statements in the function body; maxNesting:
 *   depth of nested if/for/while blocks; maxExpressionDepth: operator depth of expressions; data / closure / helper /
 *   loops / branches: switch features off (all on by default); redundantParens: wrap the right-hand sides of
 *   assignments in parentheses (`a += (b * c);`).
 * @returns {fc.Arbitrary<{ source: string, k: number, makeData: () => any, dataSource: string }>}
 *
 * @example
 * ```js
 * import fc from 'fast-check';
 * import { programArbitrary, compileProgram } from 'tracegrad/fast-check';
 * import { gradient, traced } from 'tracegrad';
 * const [program] = fc.sample(programArbitrary({ maxStatements: 3 }), { numRuns: 1, seed: 3 });
 * const x = new Array(program.k).fill(0.5);
 * typeof compileProgram(program.source)(x, program.makeData()); // → 'number'
 * gradient(traced(compileProgram(program.source)), x, program.makeData())[0].length; // → program.k
 * ```
 */
export function programArbitrary(options = {}) {
  const opts = { ...DEFAULTS, ...options };
  const { expr, block } = grammar(opts);
  const tracked = ['a', 'b', 'c', 'd'];
  const progCtx = { tracked, ints: ['n'], consts: [], data: opts.data, calls: true, inLoop: false, bounded: false, loopDepth: 0 };
  const initCtx = { tracked: [], ints: [], consts: [], data: opts.data, calls: false, inLoop: false, bounded: false, loopDepth: 0 };
  const closureCtx = { tracked: ['u', 'CAPTURED'], ints: [], consts: [], data: opts.data, calls: false, inLoop: false, bounded: true, loopDepth: 0 };
  const helperCtx = { tracked: ['p', 'q', 'r'], ints: [], consts: [], data: opts.data, calls: false, inLoop: false, bounded: true, loopDepth: 0 };
  const helperOpts = { ...opts, maxStatements: Math.max(1, Math.floor(opts.maxStatements / 2)), maxNesting: Math.min(1, opts.maxNesting) };
  const helperGrammar = grammar(helperOpts);
  const smallValue = fc.integer({ min: -16, max: 16 }).map((i) => i / 8);

  return fc
    .record({
      k: fc.integer({ min: opts.minInputs, max: opts.maxInputs }),
      inits: fc.tuple(...tracked.map(() => expr(initCtx, 1))),
      body: block(progCtx, 0),
      ret: expr(progCtx, opts.maxExpressionDepth),
      // terms added to the returned expression, so that most variables (and the state the program wrote) matter
      retTail: fc.subarray([...tracked, ...(opts.data ? ['data.arr[0]', 'data.obj.f', "data.m.get('p')"] : [])], { minLength: 1 }),
      // h's body refers to the captured variable as CAPTURED, renamed to `captured` when rendering
      closure: fc.record({
        captured: fc.constantFrom(...tracked),
        mutates: fc.boolean(),
        e: expr(closureCtx, opts.maxExpressionDepth),
        update: expr(closureCtx, 1),
      }),
      helper: fc.record({
        init: helperGrammar.expr({ ...helperCtx, tracked: ['p', 'q'] }, 1),
        body: helperGrammar.block(helperCtx, 0),
        ret: helperGrammar.expr(helperCtx, opts.maxExpressionDepth),
      }),
      arr: fc.array(smallValue, { minLength: 2, maxLength: 4 }),
      m: fc.tuple(...MAP_KEYS.map(() => smallValue)),
      obj: fc.tuple(smallValue, smallValue),
    })
    .map((p) => renderProgram(p, opts));
}
