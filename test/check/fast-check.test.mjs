// tracegrad/fast-check: arbitraries shaped like an example, domains, and checkGradients passing correct code and printing a shrunk counterexample with the faulty line for wrong code.
import test from 'ava';
import fc from 'fast-check';
import { like, domain, domains, checkGradients, programArbitrary, compileProgram } from 'tracegrad/fast-check';
import { tensor, complex, Complex, Tensor, defineAdjoint, traced } from 'tracegrad';

test('like(example) draws values of the example\'s shape, in the domain asked for', (t) => {
  const example = { W: [[1, 2], [3, 4]], b: new Float64Array(2), m: new Map([['k', 1]]), z: complex(1, 1), T: tensor([[1, 2, 3]], { dtype: 'float32' }), name: 'x' };
  for (const v of fc.sample(like(example, { domain: 'positive' }), 20)) {
    t.true(Array.isArray(v.W) && v.W.length === 2 && v.W.every((r) => r.length === 2));
    t.true(v.b instanceof Float64Array && v.b.length === 2);
    t.true(v.m instanceof Map && v.m.has('k'));
    t.true(v.z instanceof Complex);
    t.true(v.T instanceof Tensor && v.T.dtype === 'float32' && v.T.shape.join() === '1,3');
    t.is(v.name, 'x');
    const numbers = [...v.W.flat(), ...v.b, v.m.get('k'), v.z.re, v.z.im, ...v.T.data];
    t.true(numbers.every((x) => x >= domains.positive.min && x <= domains.positive.max), numbers.join(' '));
  }
  t.deepEqual(domain('log'), domains.positive);
  t.deepEqual(domain('asin'), domains.unit);
  t.deepEqual(domain('sin'), domains.real);
});

test('checkGradients passes correct code and reports a wrong adjoint with a shrunk counterexample and its line', (t) => {
  const ok = checkGradients((p) => Math.log(p.a) * p.b[1] + Math.sqrt(p.a) * p.b[0], [like({ a: 1, b: [1, 2] }, { domain: 'positive' })], { numRuns: 25, log: () => {} });
  t.true(ok.ok);
  function scaled(x) {
    return 3 * x;
  }
  const wrong = defineAdjoint(scaled, (x) => [3 * x, (dy) => [x > 1 ? dy * 3 : dy * 2]]); // wrong below 1
  const logged = [];
  const bad = checkGradients(traced((x) => wrong(x) + x * x, { wrong }), [fc.double({ min: -3, max: 3, noNaN: true })], { numRuns: 50, seed: 7, log: (m) => logged.push(m) });
  t.false(bad.ok);
  t.true(bad.counterexample[0] <= 1, `counterexample ${bad.counterexample}`);
  t.is(bad.report.fault.op, 'adjoint of scaled');
  t.regex(logged.join('\n'), /Counterexample/);
  t.regex(logged.join('\n'), /adjoint of scaled/);
});

test('random programs from the shared arbitrary pass checkGradients where they are smooth', (t) => {
  // the programs mutate their data: a fresh copy per evaluation (gradcheck copies its arguments)
  fc.assert(fc.property(programArbitrary(), (p) => {
    const prog = traced(compileProgram(p.source));
    const x = Array.from({ length: p.k }, (_v, i) => 0.3 + 0.2 * i);
    const f = traced((xs) => prog(xs, makeData()), { prog, makeData: p.makeData });
    const report = checkGradients(f, [fc.constant(x)], { numRuns: 1, log: () => {}, gradcheck: { compiled: false } });
    // a program is piecewise smooth: a leaf at a branch flip is reported as not smooth, never as a failure
    if (!report.ok) throw new Error(`${report.report?.failures.map((l) => l.path)} ${p.source}`);
  }), { numRuns: 15 });
  t.pass();
});
