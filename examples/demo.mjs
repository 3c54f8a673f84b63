// `npm start`: the talk's examples as plain JS, run under the loader (node --import tracegrad/register), results printed.
import { gradient, pullback, defineAdjoint, hook, checkpoint, withGradient, derivative, hessian, taylor, complex, chain, dense, randn, tensor, sum, sgd } from 'tracegrad';
import { colourDifference } from './ciede2000.mjs';

const show = (label, value) => console.log(`${label.padEnd(58)} ${format(value)}`);
const format = (v) => JSON.stringify(v, (_k, x) => (x instanceof Map ? Object.fromEntries(x) : typeof x === 'number' ? +x.toPrecision(10) : x));

console.log('tracegrad: the examples from "Zygote: Bridging Machine Learning and Scientific Computing"\n');

// pow with a while loop
function pow(x, n) {
  let r = 1;
  while (n > 0) {
    n -= 1;
    r *= x;
  }
  return r;
}
show('pow(5, 3)', pow(5, 3));
show('gradient(x => pow(x, 3), 5)', gradient((x) => pow(x, 3), 5));
const [y, back] = pullback(pow, 5, 3);
show('y, back = pullback(pow, 5, 3); y', y);
show('back(1)', back(1));
show('gradient((a, b) => a * b, 2, 3)', gradient((a, b) => a * b, 2, 3));

// dispatch through a table chosen at run time (the talk reads the name with readline)
const fs = { sin: Math.sin, cos: Math.cos, tan: Math.tan };
const inputs = ['sin', 'cos'];
const readline = () => inputs.shift();
const f = (x) => fs[readline()](x);
show("f(x) = fs[readline()](x); gradient(f, 1) reading 'sin'", gradient(f, 1));
show("... and again, reading 'cos'", gradient(f, 1));

// nestlevel: a custom adjoint that counts levels of differentiation
function nestlevel() {
  return 0;
}
defineAdjoint(nestlevel, () => [nestlevel() + 1, () => []]);
const levels = [];
const g = (x) => {
  levels.push(nestlevel());
  return x;
};
g(1);
gradient(g, 1);
gradient((x) => x * gradient(g, x)[0], 1);
show('nestlevel() seen at 0, 1 and 2 levels of nesting', levels);

// hooks: reverse or observe a gradient
show('gradient((a, b) => hook(g => -g, a) * b, 2, 3)', gradient((a, b) => hook((d) => -d, a) * b, 2, 3));
const seen = [];
gradient((a, b) => hook((d) => (seen.push(d), d), a) * b, 2, 3);
show('hook(ā -> show(ā), a) * b observes ā', seen);

// checkpointing: intermediates are recomputed in the backward pass
let runs = 0;
const heavy = (x) => {
  runs++;
  return Math.sin(Math.cos(x)) * x;
};
show('gradient(x => checkpoint(heavy, x), 2)', gradient((x) => checkpoint(heavy, x), 2));
show('heavy ran (forward + re-run in backward)', runs);

// colours: data structures
show('gradient(c => c.r ** 2, {r: 1, g: 0, b: 0})', gradient((c) => c.r ** 2, { r: 1, g: 0, b: 0 }));
const red = { r: 1, g: 0, b: 0 };
const green = { r: 0, g: 1, b: 0 };
show('colourDifference(red, green) (CIEDE2000)', colourDifference(red, green));
show('gradient(a -> colourDifference(a, green), red)', gradient((a) => colourDifference(a, green), red)[0]);

// the Map version of pow: state kept in a Map across the loop
const vars = new Map([['r', 0], ['n', 0]]);
function powMap(x, n) {
  vars.set('r', 1);
  vars.set('n', n);
  while (vars.get('n') > 0) {
    vars.set('n', vars.get('n') - 1);
    vars.set('r', vars.get('r') * x);
  }
}
show("gradient(x => (pow!(x, 3); vars.get('r')), 5)", gradient((x) => (powMap(x, 3), vars.get('r')), 5));
show("vars.get('r') afterwards (a plain number)", vars.get('r'));

// withGradient: a loss with auxiliary output
const { value, grad } = withGradient((x) => [x * x, x + 1], 3);
show('withGradient(x => [x * x, x + 1], 3)', { value, grad });


// differentiation à la carte: forward mode, nesting, Hessians, Taylor series, complex numbers (same code, same rules)
show('derivative(x => x * derivative(y => x * y, 1), 4)', derivative((x) => x * derivative((y) => x * y, 1), 4));
show('hessian(v => Math.atan2(v[0], v[1]), [1, 2])', hessian((v) => Math.atan2(v[0], v[1]), [1, 2]));
show('taylor(x => Math.exp(x), 0, 5)', taylor((x) => Math.exp(x), 0, 5));
show('gradient(z => z.re * z.im, 2 + 3i)', String(gradient((z) => z.re * z.im, complex(2, 3))[0]));

// deep learning in 5 lines: closure-style layers whose parameters are reachable, the gradient with respect to the
// model (a structure like it), and m -= η·m̄
const mlp = chain(dense(randn([5, 10], { seed: 1, scale: 0.3 }), randn([5], { seed: 2 }), Math.tanh), dense(randn([2, 5], { seed: 3, scale: 0.3 }), randn([2], { seed: 4 })));
const [xIn, yOut] = [randn([10], { seed: 5 }), tensor([1, -1])];
const mlpLoss = (m) => sum((m(xIn) - yOut) ** 2);
const before = mlpLoss(mlp);
for (let step = 0; step < 30; step++) sgd({ lr: 0.05 }).step(mlp, gradient(mlpLoss, mlp)[0]);
show('MLP loss before and after 30 SGD steps', [before, mlpLoss(mlp)]);
