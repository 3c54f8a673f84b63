// The CartPole example: its physics against hand-derived values and small-oscillation theory, the gradient through the simulator against Richardson finite differences, the quick run's solved controllers re-checked by an independent simulator, and the series plot helper.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withGradient } from '../../dist/index.js';
import { richardsonEstimate } from '../helpers/reference.mjs';
import { cartPoleStep, rolloutLoss, makeController, randomStart, simulate, main, DT } from '../../examples/cartpole.mjs';
import { seriesPlot } from '../../examples/lib/series-plot.mjs';
import { mulberry32 } from '../../examples/lib/random.mjs';

// Gym's cart-pole constants, typed again here: g, cart mass, pole mass, half pole length.
const g = 9.8, mc = 1.0, mp = 0.1, l = 0.5, M = mc + mp;

test('physics: with no force, a cart-pole at rest with the pole upright stays exactly where it is', (t) => {
  const rest = { x: 0, xDot: 0, theta: 0, thetaDot: 0 };
  const states = simulate(() => 0, rest, 100);
  t.deepEqual(states[100], rest);
});

test('physics: the first step from rest matches the closed-form accelerations', (t) => {
  // at rest, θ̇ = 0: θ̈ = (g sin θ − cos θ · F/M) / (l (4/3 − m cos²θ / M)), ẍ = F/M − m l θ̈ cos θ / M
  const theta = 0.01;
  const thetaAcc = (g * Math.sin(theta)) / (l * (4 / 3 - (mp * Math.cos(theta) ** 2) / M));
  const s1 = cartPoleStep({ x: 0, xDot: 0, theta, thetaDot: 0 }, 0);
  // semi-implicit Euler: velocities first, then positions from the new velocities
  t.true(Math.abs(s1.thetaDot - DT * thetaAcc) < 1e-15);
  t.true(Math.abs(s1.theta - (theta + DT * DT * thetaAcc)) < 1e-15);
  t.true(Math.abs(s1.xDot - (-DT * mp * l * thetaAcc * Math.cos(theta)) / M) < 1e-15);
  // and the small-angle value, worked by hand: g θ / (l (4/3 − m/M)) = 0.098 / 0.62121… = 0.157756…
  t.true(Math.abs(s1.thetaDot / DT - 0.157756) < 2e-5, `θ̈ ${s1.thetaDot / DT}`);

  // a 1 N push at θ = 0: θ̈ = −(1/M) / (l (4/3 − m/M)) = −1.463415, ẍ = 1/M − m l θ̈ / M = 4/3 / (4/3 M − m) = 0.975610
  const pushed = cartPoleStep({ x: 0, xDot: 0, theta: 0, thetaDot: 0 }, 1);
  t.true(Math.abs(pushed.thetaDot / DT + 1.463415) < 1e-6, `θ̈ ${pushed.thetaDot / DT}`);
  t.true(Math.abs(pushed.xDot / DT - 0.97561) < 1e-5, `ẍ ${pushed.xDot / DT}`);
});

test('physics: the hanging pole swings with the small-oscillation period and the mass centre does not accelerate', (t) => {
  // linearised about θ = π: φ̈ = −g φ / (l (4/3 − m/M)), so the period is 2π √(l (4/3 − m/M) / g) = 1.5819 s
  const period = 2 * Math.PI * Math.sqrt((l * (4 / 3 - mp / M)) / g);
  const states = simulate(() => 0, { x: 0, xDot: 0, theta: Math.PI + 0.02, thetaDot: 0 }, 1000);
  const crossings = [];
  for (let i = 1; i < states.length; i++) {
    const a = states[i - 1].theta - Math.PI, b = states[i].theta - Math.PI;
    if (a > 0 && b <= 0) crossings.push((i - 1 + a / (a - b)) * DT); // downward crossings, linearly interpolated
  }
  t.true(crossings.length >= 10);
  const measured = (crossings[crossings.length - 1] - crossings[0]) / (crossings.length - 1);
  t.true(Math.abs(measured / period - 1) < 0.005, `period ${measured} s, theory ${period} s`);
  // no horizontal force: the horizontal momentum M ẋ + m l θ̇ cos θ starts at 0 and stays there, up to the
  // integrator's error (the pole's own swing carries m l θ̇ ≈ 4e-3)
  for (const s of states) if (Math.abs(M * s.xDot + mp * l * s.thetaDot * Math.cos(s.theta)) > 1e-6) return t.fail(`momentum ${M * s.xDot + mp * l * s.thetaDot * Math.cos(s.theta)}`);
  t.pass();
});

test('the gradient of the rollout loss through 30 simulator steps matches Richardson finite differences', (t) => {
  const net = makeController(6, 3);
  const uniform = mulberry32(9);
  for (let j = 0; j < net.W2.length; j++) net.W2[j] = uniform() - 0.5; // a controller that pushes (the default starts at zero force)
  net.b1[2] = 0.3;
  const start = { x: 0.1, xDot: -0.2, theta: 0.08, thetaDot: 0.3 };
  const { value, grad } = withGradient(rolloutLoss, net, start, 30, 0.01);
  t.true(value > 0);
  const [gNet, gStart] = grad;
  const probes = [['W1', 2], ['W1', 13], ['b1', 2], ['W2', 4], ['b2', null]];
  for (const [field, i] of probes) {
    const perturbed = (v) => {
      const copy = { W1: net.W1.slice(), b1: net.b1.slice(), W2: net.W2.slice(), b2: net.b2 };
      if (i === null) copy[field] = v;
      else copy[field][i] = v;
      return rolloutLoss(copy, start, 30, 0.01);
    };
    const { value: numeric, error } = richardsonEstimate(perturbed, i === null ? net[field] : net[field][i]);
    const analytic = i === null ? gNet[field] : gNet[field][i];
    t.true(Math.abs(analytic - numeric) <= 1e-7 * Math.max(1e-3, Math.abs(numeric)) + 10 * error, `${field}[${i}]: ${analytic} vs ${numeric} ± ${error}`);
  }
  const { value: dTheta } = richardsonEstimate((v) => rolloutLoss(net, { ...start, theta: v }, 30, 0.01), start.theta);
  t.true(Math.abs(gStart.theta - dTheta) < 1e-7 * Math.abs(dTheta), `∂/∂θ0 ${gStart.theta} vs ${dTheta}`);
});

/** A plain re-implementation of the controller and the simulator, to re-check "solved" independently of the example's code. */
function survives(net, start, steps) {
  let { x, xDot, theta, thetaDot } = start;
  const hidden = net.b1.length;
  for (let s = 0; s < steps; s++) {
    let out = net.b2;
    const inputs = [x / 2.4, xDot, theta / ((12 * Math.PI) / 180), thetaDot];
    for (let j = 0; j < hidden; j++) out += net.W2[j] * Math.tanh(net.b1[j] + inputs.reduce((sum, v, k) => sum + net.W1[4 * j + k] * v, 0));
    const force = 10 * Math.tanh(out);
    const temp = (force + mp * l * thetaDot ** 2 * Math.sin(theta)) / M;
    const thetaAcc = (g * Math.sin(theta) - Math.cos(theta) * temp) / (l * (4 / 3 - (mp * Math.cos(theta) ** 2) / M));
    xDot += 0.02 * (temp - (mp * l * thetaAcc * Math.cos(theta)) / M);
    thetaDot += 0.02 * thetaAcc;
    x += 0.02 * xDot;
    theta += 0.02 * thetaDot;
    if (!(Math.abs(theta) < (12 * Math.PI) / 180 && Math.abs(x) < 2.4)) return false;
  }
  return true;
}

test('quick run: backprop through the simulator solves within 10 episodes on every seed, in fewer than REINFORCE needs', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tracegrad-cartpole-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'angle.svg'), lines = [];
  const result = main({ quick: true, out, log: (s) => lines.push(s), stream: { isTTY: false, write() {} } });
  const { backprop, reinforce } = result;
  t.true(backprop.solved.every(Boolean));
  t.true(backprop.episodes.every((e) => e >= 1 && e <= 10), `backprop episodes ${backprop.episodes}`);
  backprop.episodes.forEach((e, i) => t.true(!reinforce.solved[i] || reinforce.episodes[i] > e, `seed ${i}: REINFORCE ${reinforce.episodes[i]} vs backprop ${e}`));
  t.true(lines.some((s) => s.includes(`median ${backprop.median} episodes`)), 'it prints the backprop count');
  t.true(lines.some((s) => s.includes('REINFORCE')), 'it prints the baseline');

  // the trained controllers keep the pole up for 500 steps from fresh random starts, simulated by the code above
  const uniform = mulberry32(4242);
  for (const net of backprop.controllers)
    for (let k = 0; k < 20; k++) {
      const start = randomStart(uniform);
      if (!survives(net, start, 500)) return t.fail(`a trained controller drops the pole from ${JSON.stringify(start)}`);
    }
  // and the untrained one (no force at all) does not
  t.false(survives(makeController(8, 1), { x: 0, xDot: 0, theta: 0.03, thetaDot: 0 }, 500));

  // the plot: two polylines, before (until the pole passes 12°) and after training (all 500 steps)
  const svg = readFileSync(out, 'utf8');
  const polylines = [...svg.matchAll(/<polyline[^>]*\spoints="([^"]*)"/g)].map((m) => m[1].trim().split(/\s+/).length);
  t.deepEqual(polylines, [result.angles.before.length, 501]);
  t.true(result.angles.before.length < 100, 'the untrained controller drops the pole within 2 s');
  t.true(Math.abs(result.angles.before.at(-1)) >= 12 && result.angles.before.slice(0, -1).every((a) => Math.abs(a) < 12));
  t.true(result.angles.after.every((a) => Math.abs(a) < 12));
  t.true(svg.includes('before training') && svg.includes('after'));
});

test('seriesPlot: one polyline per line series, one circle per data point, a legend row per label; bad input is refused', (t) => {
  const svg = seriesPlot([
    { xs: [0, 1, 2], ys: [1, 2, 3], label: 'line & more' },
    { xs: [0.5, 1.5], ys: [2, 1], label: 'dots', dots: true },
    { xs: [0, 2], ys: [0, 0] },
  ], { title: 'a < b', legend: 'bottom' });
  t.is(svg.match(/<polyline/g).length, 2);
  t.is(svg.match(/<circle/g).length, 2 + 1, 'two data points and the legend marker');
  t.true(svg.includes('line &amp; more') && svg.includes('a &lt; b'));
  t.false(svg.includes('undefined'));
  // x = 0 and x = 2 span the plot area's width; y runs downwards
  const points = svg.match(/points="([^"]*)"/)[1].split(' ').map((p) => p.split(',').map(Number));
  t.true(points[0][0] < points[1][0] && points[1][0] < points[2][0]);
  t.true(points[0][1] > points[1][1] && points[1][1] > points[2][1]);
  t.throws(() => seriesPlot([]), { message: /no series/ });
  t.throws(() => seriesPlot([{ xs: [1], ys: [NaN] }]), { message: /not finite/ });
  t.throws(() => seriesPlot([{ xs: [1, 2], ys: [1] }]), { message: /2 x values for 1/ });
  t.throws(() => seriesPlot([{ xs: [1], ys: [1] }], { legend: 'left' }), { message: /legend/ });
});

test('without an output path nothing is written, quiet prints nothing, and a capped baseline reports it did not solve', (t) => {
  const lines = [], writes = [];
  const result = main({ seeds: [1], maxReinforceEpisodes: 1, out: null, quiet: true, log: (s) => lines.push(s), stream: { isTTY: true, write: (s) => writes.push(s) } });
  t.is(result.out, null);
  t.deepEqual(lines, []);
  t.deepEqual(writes, []);
  t.deepEqual(result.reinforce.solved, [false]);
  t.is(result.reinforce.median, Infinity);
});
