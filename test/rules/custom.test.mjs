// Custom rules with structured arguments and outputs: containers in, containers out, cycles, typed arrays.
import test from 'ava';
import { gradient, traced, defineAdjoint } from '../../dist/index.js';

test('a rule with an array output: each output leaf sends its cotangent back through one back(dy)', (t) => {
  function polar(r, th) {
    return [r * Math.cos(th), r * Math.sin(th)];
  }
  let calls = 0;
  defineAdjoint(polar, (r, th) => [polar(r, th), (dy) => {
    calls++;
    // J = [[cos θ, −r sin θ], [sin θ, r cos θ]]; cotangents Jᵀ·dy
    return [dy[0] * Math.cos(th) + dy[1] * Math.sin(th), -dy[0] * r * Math.sin(th) + dy[1] * r * Math.cos(th)];
  }]);
  const f = traced((r, th) => {
    const [x, y] = polar(r, th);
    return x * x + 3 * y;
  }, { polar });
  const [gr, gth] = gradient(f, 2, 0.5);
  // f = r² cos² θ + 3 r sin θ
  t.true(Math.abs(gr - (2 * 2 * Math.cos(0.5) ** 2 + 3 * Math.sin(0.5))) < 1e-12);
  t.true(Math.abs(gth - (-2 * 4 * Math.cos(0.5) * Math.sin(0.5) + 3 * 2 * Math.cos(0.5))) < 1e-12);
  t.is(calls, 1);
});

test('a rule taking a cyclic object: the tracked leaves get their cotangents, no infinite walk', (t) => {
  function weigh(node) {
    return node.w * 2;
  }
  defineAdjoint(weigh, (node) => [node.w * 2, (dy) => [{ w: 2 * dy, self: null }]]);
  const node = { w: 3 };
  node.self = node;
  const [g] = gradient(traced((n) => weigh(n) * n.w, { weigh }), node);
  t.is(g.w, 2 * 3 + 2 * 3); // d/dw (2w · w) = 4w
  t.is(node.self, node);
  t.is(typeof node.w, 'number');
});

test('a rule taking a Float64Array: its cotangent is an array of the same length', (t) => {
  function dot2(v) {
    return v[0] * v[1];
  }
  defineAdjoint(dot2, (v) => [v[0] * v[1], (dy) => [[dy * v[1], dy * v[0]]]]);
  const [g] = gradient(traced((v) => dot2(v) + v[0], { dot2 }), new Float64Array([2, 5]));
  t.true(g instanceof Float64Array);
  t.deepEqual([...g], [6, 2]);
});
