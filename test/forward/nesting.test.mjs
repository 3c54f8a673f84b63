// Nested forward mode and mixed nesting (forward over reverse, reverse over forward): perturbation confusion, higher derivatives, nestlevel, hook and checkpoint.
import test from 'ava';
import { derivative, jvp, gradient, traced, defineAdjoint, hook, checkpoint } from '../../dist/index.js';
import { richardsonDerivative, assertClose } from '../helpers/reference.mjs';

/** D(f): x ↦ f'(x) by forward mode; G(f): the same by reverse mode. Both are traced, so they nest in either order. */
const D = (f) => traced((x) => derivative(f, x), { derivative, f });
const G = (f) => traced((x) => gradient(f, x)[0], { gradient, f });
const sum = traced((xs) => xs.reduce((a, b) => a + b, 0)); // traced: it is called on tracked values

// ---------------------------------------------------------------- perturbation confusion (Siskind & Pearlmutter)

test('perturbation confusion: derivative(x => x * derivative(y => x + y, 1), 1) is 1', (t) => {
  // d/dy (x + y) = 1 whatever x is, so the outer function is x·1; a confused implementation gives 2
  const f = traced((x) => x * derivative((y) => x + y, 1), { derivative });
  t.is(derivative(f, 1), 1);
});

test('perturbation confusion: derivative(x => x * derivative(y => x * y, 1), 4) is 8', (t) => {
  // d/dy (x y) = x, so the outer function is x², whose derivative at 4 is 8
  const f = traced((x) => x * derivative((y) => x * y, 1), { derivative });
  t.is(derivative(f, 4), 8);
});

test('perturbation confusion with the modes mixed: forward outside reverse and reverse outside forward', (t) => {
  t.is(derivative(traced((x) => x * gradient((y) => x + y, 1)[0], { gradient }), 1), 1);
  t.is(derivative(traced((x) => x * gradient((y) => x * y, 1)[0], { gradient }), 4), 8);
  t.deepEqual(gradient(traced((x) => x * derivative((y) => x + y, 1), { derivative }), 1), [1]);
  t.deepEqual(gradient(traced((x) => x * derivative((y) => x * y, 1), { derivative }), 4), [8]);
  // the inner perturbation must not reach the outer one: d/dx [x · d/dy (x y²)|y=3] = d/dx (6x²) = 12x
  const f = traced((x) => x * jvp((y) => x * y * y, [3], [1])[1], { jvp });
  t.is(derivative(f, 2), 24);
});

// ---------------------------------------------------------------- higher derivatives, all orders of nesting

test('third derivatives of x⁴, sin and x·eˣ by every combination of forward and reverse levels', (t) => {
  const cases = [
    ['x⁴', traced((x) => x * x * x * x), (x) => 24 * x],
    ['sin', traced((x) => Math.sin(x)), (x) => -Math.cos(x)],
    ['x·eˣ', traced((x) => x * Math.exp(x)), (x) => Math.exp(x) * (x + 3)], // (x eˣ)⁽ⁿ⁾ = eˣ (x + n)
  ];
  for (const [name, f, third] of cases) {
    for (const x of [-0.8, 0.5, 1.7]) {
      for (const outer of [D, G]) {
        for (const middle of [D, G]) {
          for (const inner of [D, G]) {
            const label = `${name} at ${x}: ${[outer, middle, inner].map((m) => (m === D ? 'fwd' : 'rev')).join('∘')}`;
            assertClose(t, outer(middle(inner(f)))(x), third(x), { rtol: 1e-13, atol: 1e-14, message: label });
          }
        }
      }
    }
  }
  t.is(D(D(D(traced((x) => x * x * x * x))))(2), 48, 'exact for a polynomial');
});

test('gradient of gradient and derivative of derivative agree with each other and with the closed form', (t) => {
  const cases = [
    ['x³', (x) => x * x * x, (x) => 6 * x],
    ['x sin x', (x) => x * Math.sin(x), (x) => 2 * Math.cos(x) - x * Math.sin(x)],
    ['1/(1+x²)', (x) => 1 / (1 + x * x), (x) => (6 * x * x - 2) / (1 + x * x) ** 3],
    ['log x', (x) => Math.log(x), (x) => -1 / (x * x)],
    ['atan', (x) => Math.atan(x), (x) => (-2 * x) / (1 + x * x) ** 2],
  ];
  for (const [name, plain, second] of cases) {
    const f = traced(plain);
    for (const x of [0.4, 1.3, 2.2]) {
      const ff = D(D(f))(x);
      const rr = G(G(f))(x);
      assertClose(t, ff, rr, { rtol: 1e-14, atol: 1e-15, message: `${name}: fwd∘fwd vs rev∘rev at ${x}` });
      assertClose(t, ff, second(x), { rtol: 1e-13, message: `${name}: closed form at ${x}` });
      // the closed form checked by differences of the first derivative the library gives at each probe point
      assertClose(t, ff, richardsonDerivative((u) => derivative(f, u), x), { rtol: 1e-7, message: `${name}: FD at ${x}` });
    }
  }
});

test('forward over reverse and reverse over forward: the mixed partial of x²y + sin(xy)', (t) => {
  const f = traced((x, y) => x * x * y + Math.sin(x * y));
  // ∂f/∂y = x² + x cos(xy); ∂²f/∂x∂y = 2x + cos(xy) − xy sin(xy)
  const mixed = (x, y) => 2 * x + Math.cos(x * y) - x * y * Math.sin(x * y);
  const [x0, y0] = [0.7, -1.3];
  // forward over reverse: perturb x, differentiate the reverse-mode ∂f/∂y
  const fOverR = derivative(traced((x) => gradient(f, x, y0)[1], { gradient, f, y0 }), x0);
  // reverse over forward: the gradient in y of the forward-mode ∂f/∂x
  const rOverF = gradient(traced((y) => jvp(f, [x0, y], [1, null])[1], { jvp, f, x0 }), y0)[0];
  assertClose(t, fOverR, mixed(x0, y0), { rtol: 1e-14 });
  assertClose(t, rOverF, mixed(x0, y0), { rtol: 1e-14 });
  // and forward over forward in the other order
  const fOverF = derivative(traced((y) => derivative(traced((x) => f(x, y), { f, y }), x0), { derivative, traced, f, x0 }), y0);
  assertClose(t, fOverF, mixed(x0, y0), { rtol: 1e-14 });
});

// ---------------------------------------------------------------- the vector second-order case

test('vector second order: gradient of sum(gradient(y => sum(sin y), x)) is −sin x, in every mix of modes', (t) => {
  const inner = traced((y) => sum(y.map(Math.sin)), { sum });
  const outer = traced((x) => sum(gradient(inner, x)[0]), { gradient, inner, sum }); // Σ cos xᵢ
  const x = [0.3, -1.2, 2.5, 0];
  const expected = x.map((v) => -Math.sin(v));

  // reverse over reverse
  const [g] = gradient(outer, x);
  assertClose(t, g, expected, { rtol: 1e-15, atol: 1e-16 });
  t.true(x.every((v) => typeof v === 'number'), 'the argument is plain afterwards');

  // forward over reverse: one jvp per unit direction gives one entry each; a general direction gives the dot product
  x.forEach((_v, i) => {
    const e = x.map((_w, j) => (j === i ? 1 : 0));
    assertClose(t, jvp(outer, [x], [e])[1], expected[i], { rtol: 1e-15, atol: 1e-16, message: `e${i}` });
  });
  const v = [1, -2, 0.5, 3];
  assertClose(t, jvp(outer, [x], [v])[1], sum(expected.map((d, i) => d * v[i])), { rtol: 1e-14 });

  // reverse over forward: the directional derivative along all-ones is Σ cos xᵢ again
  const viaJvp = traced((u) => jvp(inner, [u], [u.map(() => 1)])[1], { jvp, inner });
  assertClose(t, gradient(viaJvp, x)[0], expected, { rtol: 1e-15, atol: 1e-16 });
  t.true(x.every((w) => typeof w === 'number'));
});

// ---------------------------------------------------------------- second derivatives where tfjs fails

test('second derivatives of exp, tanh and sigmoid by forward over forward, forward over reverse and reverse over forward', (t) => {
  const sigmoid = (x) => 1 / (1 + Math.exp(-x));
  const cases = [
    ['exp', traced((u) => Math.exp(u)), (x) => Math.exp(x)],
    ['tanh', traced((u) => Math.tanh(u)), (x) => { const th = Math.tanh(x); return -2 * th * (1 - th * th); }],
    ['sigmoid', traced((u) => 1 / (1 + Math.exp(-u))), (x) => { const s = sigmoid(x); return s * (1 - s) * (1 - 2 * s); }],
  ];
  for (const [name, f, second] of cases) {
    for (const x of [-1.3, 0, 0.7, 2, 6]) {
      const e = second(x);
      for (const [how, h] of [['fwd∘fwd', D(D(f))], ['fwd∘rev', D(G(f))], ['rev∘fwd', G(D(f))]]) {
        assertClose(t, h(x), e, { rtol: 1e-12, atol: 1e-15, message: `${name}'' at ${x} by ${how}` });
      }
    }
  }
});

// ---------------------------------------------------------------- nestlevel (the talk's example)

test('nestlevel with derivative: plain 0, derivative 1, nested derivative 2, mixed with gradient 2, three levels 3', (t) => {
  function nestlevel() {
    return 0;
  }
  // the rule's forward runs one level down; traced, its own nestlevel() call dispatches at that level (as in api.test.mjs)
  defineAdjoint(nestlevel, traced(() => [nestlevel() + 1, () => []], { nestlevel }));
  const log = [];
  const f = traced((x) => {
    log.push(nestlevel());
    return x;
  }, { log, nestlevel });

  t.is(f(1), 1);
  t.deepEqual(log.splice(0), [0], 'plain call');
  t.is(derivative(f, 1), 1, 'nestlevel leaves f the identity');
  t.deepEqual(log.splice(0), [1], 'inside derivative');

  const outerD = traced((x) => x * derivative(f, x), { derivative, f });
  t.is(derivative(outerD, 3), 1);
  t.deepEqual(log.splice(0), [2], 'derivative inside derivative');

  t.deepEqual(gradient(outerD, 3), [1]);
  t.deepEqual(log.splice(0), [2], 'derivative inside gradient');

  const outerG = traced((x) => x * gradient(f, x)[0], { gradient, f });
  t.is(derivative(outerG, 3), 1);
  t.deepEqual(log.splice(0), [2], 'gradient inside derivative');

  const third = traced((x) => derivative(outerD, x), { derivative, outerD });
  t.is(derivative(third, 3), 0); // d/dx of the constant 1
  t.deepEqual(log.splice(0), [3], 'three levels');
  t.is(f(1), 1);
  t.deepEqual(log.splice(0), [0], 'back to 0 afterwards');
});

// ---------------------------------------------------------------- hook and checkpoint inside nested AD

test('checkpoint inside nested AD: derivative of a gradient and gradient of a derivative', (t) => {
  const g = traced((x) => checkpoint((u) => Math.sin(u) * u * u, x), { checkpoint });
  // (x² sin x)'' = 2 sin x + 4x cos x − x² sin x
  const second = (x) => 2 * Math.sin(x) + 4 * x * Math.cos(x) - x * x * Math.sin(x);
  for (const x of [-1.1, 0.7, 2.4]) {
    assertClose(t, D(G(g))(x), second(x), { rtol: 1e-13, message: `fwd∘rev at ${x}` });
    assertClose(t, G(D(g))(x), second(x), { rtol: 1e-13, message: `rev∘fwd at ${x}` });
    assertClose(t, D(D(g))(x), second(x), { rtol: 1e-13, message: `fwd∘fwd at ${x}` });
  }
  // checkpoint of a function of two arguments, differentiated twice in the first
  const h = traced((a, b) => checkpoint((u, v) => u * u * u * v, a, b), { checkpoint });
  const hx = traced((a) => gradient(h, a, 5)[0], { gradient, h }); // 15 a²
  t.is(derivative(hx, 2), 60);
});

test('hook inside nested AD: jvp over a gradient that goes through a hook', (t) => {
  // h(x) = hook(c ↦ 3c, x²)·x: the hook triples the cotangent reaching x², so gradient(h) = 3·2x·x + x² = 7x²
  const h = traced((x) => hook((c) => c * 3, x * x) * x, { hook });
  const gh = traced((x) => gradient(h, x)[0], { gradient, h });
  for (const x of [-0.5, 1.5, 2]) {
    assertClose(t, gh(x), 7 * x * x, { rtol: 1e-15, message: `gradient at ${x}` });
    const [y, dy] = jvp(gh, [x], [1]);
    assertClose(t, y, 7 * x * x, { rtol: 1e-15 });
    assertClose(t, dy, 14 * x, { rtol: 1e-15, message: `jvp over gradient at ${x}` });
  }
  // a hook that negates the gradient, under two levels of forward mode: derivatives of −3x² are −6x then −6
  const neg = traced((x) => hook((c) => -c, x * x * x), { hook });
  t.is(D(G(neg))(2), -12);
  t.is(D(D(G(neg)))(2), -6);
});
