// fast-check arbitrary of reduction loops: programs that end with a counted loop accumulating into the returned value (Rosenbrock's, the sum loop's and a least-squares loss's shape), the loops the compiled tier fuses (lib/jit/fusedloop.ts), and near misses it must not fuse.
//
// Each generated value is { source, fusable, mutation, toString() }: `source` an arrow function
// `(x0, a0, a1, th) => { ... return s; }` over a number x0, two arrays a0, a1 of one length and an array th of two
// (read-only; Float64Array or Array); `fusable` whether the compiled tier should run its last loop fused; `mutation`
// what makes a near miss unfusable.
//
//   let w = x0 * 0.7;                 // a prefix value, reassigned in the body: its reverse needs the entry value back
//   const p = Math.cos(x0);           // a prefix value: read in the body only by near misses (an invariant)
//   let s = Math.sin(w) * w;          // the output, accumulated by the loop
//   let t = 0, k = 0;                 // a second accumulator, and a loop-carried value without adjoint
//   for (let i = FROM; i < a0.length - DROP; i++) {     // or <=
//     w = Math.tanh(a0[i] + a1[i + 1]) * 0.5;           // body-local values: assigned before they are read
//     let u0 = Math.tanh(a0[i] - w);
//     let u1; if (a1[i] > 0.2) { u1 = u0 * 2; } else { u1 = Math.sin(u0); }   // defined on both paths
//     if (u1 < 0) { s += u1 * 0.5; } else { t -= u0; }  // accumulations in branches
//     s += a0[i] * u1;  k = k + 1;
//   }
//   return s;
//
// Elements of a0, a1 are read at the counter plus `low` (−1, 0 or 1) and, when `carries`, `low + 1`, in statements
// every iteration runs. FROM and DROP keep every read in range for every length (a loop may run zero times). Values
// are squashed (tanh, sin, exp(sin), divisions by 1 + e²) so everything stays finite. Near misses (`mutation`): an
// invariant read in the body (x0, p, th[0], th[1]: in branches too), a read two apart (low + 2), an element read at
// the counter inside a branch, the output read as a value in the body, a differentiable value carried from one
// iteration to the next, a statement after the loop, an array read at a fixed index.
import fc from 'fast-check';

const MUTATIONS = ['invariant', 'invariant', 'wide', 'branchRead', 'outRead', 'carried', 'tail', 'mixed'];

const at = (c) => (c === 0 ? 'i' : c > 0 ? `i + ${c}` : `i - ${-c}`);

/** An expression tree as data: leaves pick among what is in scope when rendered (so shrinking keeps it valid). */
const expr = fc.letrec((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ t: fc.constant('elem'), array: fc.nat(1), far: fc.boolean() }),
    fc.record({ t: fc.constant('local'), n: fc.nat(3) }),
    fc.record({ t: fc.constant('invariant'), n: fc.nat(3) }),
    fc.record({ t: fc.constant('lit'), v: fc.constantFrom('0.5', '2', '-1.5', '1') }),
    fc.record({ t: fc.constant('k') }),
    fc.record({ t: fc.constant('bin'), op: fc.constantFrom('+', '-', '*', 'div'), a: tie('e'), b: tie('e') }),
    fc.record({ t: fc.constant('call'), f: fc.constantFrom('sin', 'tanh', 'expsin', 'sqrt1', 'abs', 'square', 'max'), a: tie('e'), b: tie('e') }),
  ),
})).e;

const test = fc.constantFrom('elem', 'local', 'x0', 'parity');
const statement = fc.oneof(
  { weight: 3, arbitrary: fc.record({ t: fc.constant('local'), e: expr }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('if'), test, n: fc.nat(3), yes: expr, no: fc.option(expr) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('both'), test, yes: expr, no: expr }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('acc'), target: fc.constantFrom('s', 's', 't'), op: fc.constantFrom('+=', '-='), e: expr }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('accIf'), test, yes: expr, no: fc.option(expr) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('k') }) },
);

/** Reduction programs; about one in three is a near miss (mutation ≠ null), which must not be fused. */
export function reductionProgram() {
  return fc.record({
    low: fc.constantFrom(-1, 0, 0, 1),
    carries: fc.boolean(),
    cmp: fc.constantFrom('<', '<='),
    prefixW: fc.boolean(),
    init: fc.constantFrom('0', 'Math.sin(w) * w', 'x0 * 0.5', 'a0.length * 0.25'),
    body: fc.array(statement, { minLength: 0, maxLength: 5 }),
    last: expr,
    mutation: fc.oneof({ weight: 2, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom(...MUTATIONS) }),
  }).map(render);
}

function render({ low, carries, cmp, prefixW, init, body, last, mutation }) {
  const high = mutation === 'wide' ? low + 2 : carries ? low + 1 : low;
  const from = Math.max(0, -low), drop = Math.max(0, high);
  const locals = [];
  const elem = (array, far) => `a${array}[${at(far ? high : low)}]`;
  // invariants only in near misses of that kind; elsewhere a literal stands in
  const invariants = mutation === 'invariant' ? ['x0', 'p', 'th[0]', 'th[1]'] : ['0.25', '-0.75', '1.5', '0.5'];
  // inside a branch no element of a0, a1 is read (a conditional read at the counter is a near miss of its own): a
  // local or an invariant stands in
  let inBranch = false;
  const show = (e) => {
    switch (e.t) {
      case 'elem': return inBranch ? (locals[0] ?? invariants[2 + e.array]) : elem(e.array, e.far);
      case 'local': return locals.length === 0 ? (inBranch ? invariants[2] : elem(0, false)) : locals[e.n % locals.length];
      case 'invariant': return invariants[e.n % invariants.length];
      case 'lit': return e.v;
      case 'k': return '(k * 0.01)';
      case 'bin': return e.op === 'div' ? `(${show(e.a)} / (1 + ${show(e.b)} * ${show(e.b)}))` : `(${show(e.a)} ${e.op} ${show(e.b)})`;
      default: {
        const a = show(e.a);
        return { sin: `Math.sin(${a})`, tanh: `Math.tanh(${a})`, expsin: `Math.exp(Math.sin(${a}))`, sqrt1: `Math.sqrt(1 + ${a} * ${a})`,
          abs: `Math.abs(${a})`, square: `(${a}) ** 2`, max: `Math.max(${a}, ${show(e.b)})` }[e.f];
      }
    }
  };
  const branch = (e) => {
    inBranch = true;
    const text = show(e);
    inBranch = false;
    return text;
  };
  const testText = (kind, target) => ({ elem: `${elem(1, false)} > 0.2`, local: `${target ?? 'p'} < 0`, x0: 'x0 > 0', parity: 'i % 2 === 0' }[kind]);
  // a bare name or element would be a copy (one value under two names: adjoint slots, not fused): times 1
  const value = (e) => (e.t === 'elem' || e.t === 'local' || e.t === 'invariant' ? `${show(e)} * 1` : show(e));
  const lines = [];
  if (prefixW) (lines.push('w = Math.tanh(a0[' + at(low) + '] + a1[' + at(high) + ']) * 0.5;'), locals.push('w'));
  let n = 0;
  for (const s of body) {
    if (s.t === 'local') {
      const text = value(s.e);
      lines.push(`let u${n} = ${text};`);
      locals.push(`u${n++}`);
    } else if (s.t === 'if' && locals.length > 0) {
      const target = locals[s.n % locals.length];
      const no = s.no === null ? '' : ` else { ${target} = Math.tanh(${branch(s.no)}); }`;
      lines.push(`if (${testText(s.test, target)}) { ${target} = Math.sin(${branch(s.yes)}); }${no}`);
    } else if (s.t === 'both') {
      // defined on both paths, then read like any local
      lines.push(`let u${n};`, `if (${testText(s.test, locals[0])}) { u${n} = Math.sin(${branch(s.yes)}); } else { u${n} = Math.tanh(${branch(s.no)}) * 2; }`);
      locals.push(`u${n++}`);
    } else if (s.t === 'acc') lines.push(`${s.target} ${s.op} ${show(s.e)};`);
    else if (s.t === 'accIf') {
      const no = s.no === null ? '' : ` else { t -= ${branch(s.no)}; }`;
      lines.push(`if (${testText(s.test, locals[0])}) { s += ${branch(s.yes)}; }${no}`);
    } else if (s.t === 'k') lines.push('k = k + 1;');
  }
  // the output always takes an element (so it carries an adjoint), and the far one when carried or wide
  lines.push(`s += ${elem(0, high !== low)} * ${show(last)};`);
  switch (mutation) {
    case 'invariant': lines.push(`if (${testText('x0')}) { s -= th[1] * x0; }`, `s += p * a1[${at(low)}];`); break;
    case 'wide': lines.push(`s -= a0[${at(low)}] * 0.25;`); break; // with the last line's a0 at low + 2
    case 'branchRead': lines.push(`if (x0 > 0) { s += a0[${at(low)}] * 0.5; }`); break;
    case 'outRead': lines.push(`t += s * 0.5;`); break;
    case 'carried': lines.push(`c = c * 0.5 + a1[${at(low)}];`, 's += c * 0.25;'); break;
    case 'mixed': lines.push(`s += a1[0] * a1[${at(low)}];`); break; // a1[0] is in range whenever the body runs
  }
  const bound = cmp === '<' ? `i < a0.length${drop ? ` - ${drop}` : ''}` : `i <= a0.length - ${drop + 1}`;
  const source = `(x0, a0, a1, th) => {
  let w = x0 * 0.7;
  const p = Math.cos(x0);
  let s = ${init};
  let t = 0;
  let k = 0;
  let c = 0;
  for (let i = ${from}; ${bound}; i++) {
    ${lines.join('\n    ')}
  }
  ${mutation === 'tail' ? 's = s * 1.5 + t;\n  ' : ''}return s;
}`;
  return { source, fusable: mutation === null, mutation, toString: () => source };
}
