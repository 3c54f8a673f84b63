// CartPole by differentiable programming: a plain-JS cart-pole simulator and a small tanh controller trained by backpropagating the squared pole angle through time, against a model-free REINFORCE baseline. Run: node examples/cartpole.mjs
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { traced, withGradient, gradient, adam, tierOf } from 'tracegrad';
import { progressBar } from './lib/progress.mjs';
import { writeSeriesPlot } from './lib/series-plot.mjs';
import { mulberry32 } from './lib/random.mjs';

// The classic cart-pole of Barto, Sutton & Anderson (1983), with the constants OpenAI Gym's CartPole uses.
export const GRAVITY = 9.8; // m/s²
export const CART_MASS = 1.0; // kg
export const POLE_MASS = 0.1; // kg
export const TOTAL_MASS = CART_MASS + POLE_MASS;
export const HALF_POLE_LENGTH = 0.5; // m: the distance from the pivot to the pole's centre of mass
export const FORCE_MAX = 10; // N: the controller's force is FORCE_MAX·tanh(output), so always within ±10 N
export const DT = 0.02; // s: one control step
// The episode fails when the pole leans more than 12° or the cart leaves the ±2.4 m track.
export const ANGLE_LIMIT = (12 * Math.PI) / 180;
export const TRACK_LIMIT = 2.4;

/**
 * One step of the cart-pole under a horizontal force on the cart. With θ measured from upright (positive leaning
 * right), pole mass m, half length l and total mass M, the equations of motion (Barto et al. 1983, frictionless) are
 *   θ̈ = (g sin θ − cos θ · (F + m l θ̇² sin θ) / M) / (l (4/3 − m cos² θ / M)),
 *   ẍ = (F + m l θ̇² sin θ) / M − m l θ̈ cos θ / M.
 * Integrated by semi-implicit Euler (velocities first, positions from the new velocities), which, unlike explicit
 * Euler, does not pump energy into the swinging pole.
 */
export const cartPoleStep = traced(function cartPoleStep(state, force) {
  const sinTheta = Math.sin(state.theta), cosTheta = Math.cos(state.theta);
  const push = (force + POLE_MASS * HALF_POLE_LENGTH * state.thetaDot * state.thetaDot * sinTheta) / TOTAL_MASS;
  const thetaAcc = (GRAVITY * sinTheta - cosTheta * push) / (HALF_POLE_LENGTH * (4 / 3 - (POLE_MASS * cosTheta * cosTheta) / TOTAL_MASS));
  const xAcc = push - (POLE_MASS * HALF_POLE_LENGTH * thetaAcc * cosTheta) / TOTAL_MASS;
  const xDot = state.xDot + DT * xAcc;
  const thetaDot = state.thetaDot + DT * thetaAcc;
  return { x: state.x + DT * xDot, xDot, theta: state.theta + DT * thetaDot, thetaDot };
}, { GRAVITY, POLE_MASS, HALF_POLE_LENGTH, TOTAL_MASS, DT });

/**
 * The controller: 4 state inputs → `hidden` tanh units → one output, the force FORCE_MAX·tanh(output).
 * Weights are kept in a plain object of Float64Arrays: W1 is hidden×4, row-major. The hidden layer starts random
 * (scaled 1/√fan-in) and the output layer at zero, so the untrained controller applies no force at all.
 */
export function makeController(hidden = 8, seed = 1) {
  const uniform = mulberry32(seed);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform()); // Box–Muller
  const W1 = new Float64Array(hidden * 4), b1 = new Float64Array(hidden), W2 = new Float64Array(hidden);
  for (let i = 0; i < W1.length; i++) W1[i] = gaussian() / 2;
  return { W1, b1, W2, b2: 0 };
}

/**
 * The controller's output before the force squashing (REINFORCE's Gaussian policy is centred on it). The inputs are
 * brought to order one: the cart position and pole angle as fractions of their failure limits, the velocities as
 * they are (m/s and rad/s).
 */
export const controllerOutput = traced(function controllerOutput(net, state) {
  let out = net.b2;
  for (let j = 0; j < net.b1.length; j++) {
    const h = Math.tanh(net.b1[j] + (net.W1[4 * j] * state.x) / TRACK_LIMIT + net.W1[4 * j + 1] * state.xDot + (net.W1[4 * j + 2] * state.theta) / ANGLE_LIMIT + net.W1[4 * j + 3] * state.thetaDot);
    out += net.W2[j] * h;
  }
  return out;
}, { TRACK_LIMIT, ANGLE_LIMIT });

/** The force the controller applies in a state. */
export const controllerForce = traced(function controllerForce(net, state) {
  return FORCE_MAX * Math.tanh(controllerOutput(net, state));
}, { FORCE_MAX, controllerOutput });

/**
 * The loss of one rollout: the squared pole angle summed over `steps` control steps from `start`, plus
 * `cartWeight`·x². The angle alone says nothing about where the cart is: a controller that keeps the pole up while
 * the cart drifts scores well on it but runs off the track within the 10 s episode (with cartWeight 0, one of the ten
 * seeds main() runs never solves); a small position term keeps the cart near the centre. Divided by `steps`, so that
 * the scale does not depend on the horizon.
 */
export const rolloutLoss = traced(function rolloutLoss(net, start, steps, cartWeight) {
  let state = start;
  let loss = 0;
  for (let t = 0; t < steps; t++) {
    state = cartPoleStep(state, controllerForce(net, state));
    loss += state.theta * state.theta + cartWeight * state.x * state.x;
  }
  return loss / steps;
}, { cartPoleStep, controllerForce });

/** The rollout loss over 20 steps (the main run's cart weight) as a function of the controller and the start alone: what `tracegrad check` checks. */
export const shortRolloutLoss = traced(function shortRolloutLoss(net, start) {
  return rolloutLoss(net, start, 20, 0.01);
}, { rolloutLoss });

/** Example arguments of shortRolloutLoss (`npx tracegrad check examples/cartpole.mjs shortRolloutLoss --args exampleArgs`). */
export const exampleArgs = () => [makeController(4, 1), { x: 0, xDot: 0, theta: 0.05, thetaDot: 0 }];

/** A start drawn as Gym draws it: every state variable uniform in [−spread, spread]. */
export function randomStart(uniform, spread = 0.05) {
  const draw = () => spread * (2 * uniform() - 1);
  return { x: draw(), xDot: draw(), theta: draw(), thetaDot: draw() };
}

/** Whether a state is inside the limits (|θ| < 12°, |x| < 2.4 m). */
export const upright = (s) => Math.abs(s.theta) < ANGLE_LIMIT && Math.abs(s.x) < TRACK_LIMIT;

/** The states of a rollout of `steps` steps from `start` under `policy(state)` (a force), starting with `start`. */
export function simulate(policy, start, steps) {
  const states = [start];
  let state = start;
  for (let t = 0; t < steps; t++) states.push((state = cartPoleStep(state, policy(state))));
  return states;
}

/**
 * "Solved": the deterministic controller keeps |θ| < 12° and |x| < 2.4 m for all `steps` steps from every one of
 * the evaluation starts. Evaluation rollouts are tests, not training: neither method learns from them.
 */
export function solves(net, starts, steps = 500) {
  const policy = (s) => controllerForce(net, s);
  return starts.every((start) => {
    let state = start;
    for (let t = 0; t < steps; t++) if (!upright((state = cartPoleStep(state, policy(state))))) return false;
    return true;
  });
}

/**
 * Differentiable programming: each episode is one rollout from a random start; the gradient of rolloutLoss with
 * respect to the controller's weights flows back through every simulator step, and Adam takes one step. The
 * horizon starts at `firstHorizon` steps and doubles every episode up to `horizon`: while the controller still lets
 * the pole fall, most of a long rollout has the pole spinning, where the angle depends chaotically on the weights and
 * its gradient says nothing useful; the first half second says "push the cart under the pole".
 * Returns `{ episodes, solved, steps, losses }`: the number of training rollouts done when the controller first
 * solved the evaluation starts (checked before each episode, so 0 means it started solved), the simulator steps
 * those rollouts took, and each rollout's loss.
 */
export function trainByBackprop(net, { evalStarts, uniform, spread = 0.05, maxEpisodes = 100, horizon = 500, firstHorizon = 25, cartWeight = 0.01, lr = 0.1, onEpisode = () => {} }) {
  const opt = adam({ lr });
  const losses = [];
  let steps = 0;
  for (let episode = 0; ; episode++) {
    if (solves(net, evalStarts, horizon)) return { episodes: episode, solved: true, steps, losses };
    if (episode === maxEpisodes) return { episodes: episode, solved: false, steps, losses };
    const length = Math.min(horizon, firstHorizon * 2 ** episode);
    const { value, grad } = withGradient(rolloutLoss, net, randomStart(uniform, spread), length, cartWeight);
    opt.step(net, grad[0]); // grad[0] has the controller's shape: { W1, b1, W2, b2 }
    losses.push(value);
    steps += length;
    onEpisode(episode + 1, `loss ${value.toExponential(2)} over ${length} steps`);
  }
}

/**
 * REINFORCE's surrogate loss for the Gaussian policy a ~ N(output(s), σ²): −Σ_t advantage_t · log π(a_t | s_t),
 * with log π(a | s) = −(a − output(s))² / (2σ²) + const. Its gradient is minus the policy-gradient estimate.
 */
export const surrogateLoss = traced(function surrogateLoss(net, states, actions, advantages, sigma) {
  let total = 0;
  for (let t = 0; t < actions.length; t++) {
    const deviation = actions[t] - controllerOutput(net, states[t]);
    total += (advantages[t] * deviation * deviation) / (2 * sigma * sigma);
  }
  return total;
}, { controllerOutput });

/**
 * Model-free policy gradient (REINFORCE, Williams 1992) with the same network: the action is drawn from a Gaussian
 * centred on the controller's output and the force is FORCE_MAX·tanh(action); the reward is 1 for every step the
 * pole stays up (an episode ends when it falls or after `horizon` steps). The gradient of the expected return is
 * E[Σ_t (G_t − b_t) ∇ log π(a_t | s_t)], with G_t the reward to go and b_t a running average of G_t at step t as the
 * baseline; advantages are normalised per episode. The simulator is only run, never differentiated. Counted like
 * trainByBackprop: training episodes until the deterministic controller (the Gaussian's mean) solves the evaluation
 * starts, capped at `maxEpisodes`. Returns `{ episodes, solved, steps, lengths }`, lengths being each episode's steps.
 * This is a kind setting for REINFORCE: the usual counts of hundreds of episodes come from bang-bang actions and from
 * judging the noisy policy's own returns, while here the force is continuous and only the mean controller is judged.
 */
export function trainByReinforce(net, { evalStarts, uniform, spread = 0.05, maxEpisodes = 1000, horizon = 500, sigma = 0.5, lr = 0.03, baselineRate = 0.05, onEpisode = () => {} }) {
  const opt = adam({ lr });
  const baseline = new Float64Array(horizon);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform()); // Box–Muller
  const lengths = [];
  let steps = 0;
  for (let episode = 0; ; episode++) {
    if (solves(net, evalStarts, horizon)) return { episodes: episode, solved: true, steps, lengths };
    if (episode === maxEpisodes) return { episodes: episode, solved: false, steps, lengths };
    const states = [], actions = [];
    let state = randomStart(uniform, spread);
    while (states.length < horizon && upright(state)) {
      const action = controllerOutput(net, state) + sigma * gaussian();
      states.push(state);
      actions.push(action);
      state = cartPoleStep(state, FORCE_MAX * Math.tanh(action));
    }
    const T = states.length;
    steps += T;
    lengths.push(T);
    // reward to go G_t = T − t against the running baseline, then normalised to mean 0 and deviation 1
    const advantages = new Float64Array(T);
    for (let t = 0; t < T; t++) {
      advantages[t] = T - t - baseline[t];
      baseline[t] += baselineRate * (T - t - baseline[t]);
    }
    let mean = 0, square = 0;
    for (const a of advantages) (mean += a / T), (square += (a * a) / T);
    const deviation = Math.sqrt(Math.max(square - mean * mean, 0)) || 1;
    for (let t = 0; t < T; t++) advantages[t] = (advantages[t] - mean) / deviation;
    const [grad] = gradient(surrogateLoss, net, states, actions, advantages, sigma);
    opt.step(net, grad);
    onEpisode(episode + 1, `episode lasted ${T} steps`);
  }
}

/** The median of a list of numbers. */
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b), mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/**
 * Train controllers both ways, one pair per seed (each pair from the same initial weights, against the same
 * evaluation starts), print the episodes each needed, and plot the pole angle from the talk's start (−3°, 0.5°/s)
 * before and after the first seed's backprop training. Returns `{ backprop, reinforce, angles, out, tiers }`, with
 * `backprop` and `reinforce` as `{ episodes, solved, steps, controllers }` (one entry per seed) and `{ median, seconds }`.
 */
export function main({
  quick = false,
  seeds = quick ? [1, 2] : [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  hidden = 8,
  horizon = 500,
  evalCount = 20,
  maxBackpropEpisodes = 100,
  maxReinforceEpisodes = quick ? 300 : 2000,
  out = join(tmpdir(), 'tracegrad-cartpole-angle.svg'),
  quiet = false,
  log = console.log,
  stream = process.stderr,
} = {}) {
  const say = quiet ? () => {} : log;
  say(`cart-pole, dt ${DT} s; controller 4 → ${hidden} tanh → force ${FORCE_MAX}·tanh(output)`);
  say(`solved: |θ| < 12° and |x| < ${TRACK_LIMIT} m for ${horizon} steps (${horizon * DT} s) from each of ${evalCount} random starts (as Gym draws them: each variable in ±0.05)`);
  const bar = quiet ? null : progressBar(2 * seeds.length, { label: 'training ', stream });
  const plotStart = { x: 0, xDot: 0, theta: (-3 * Math.PI) / 180, thetaDot: (0.5 * Math.PI) / 180 };
  const degrees = (states) => states.map((s) => (s.theta * 180) / Math.PI);
  const untilFailure = (states) => states.slice(0, states.findIndex((s) => !upright(s)) + 1 || states.length);
  const results = { backprop: [], reinforce: [] };
  const seconds = { backprop: 0, reinforce: 0 };
  let angles = null;

  seeds.forEach((seed, k) => {
    const evalUniform = mulberry32(seed + 1000);
    const evalStarts = Array.from({ length: evalCount }, () => randomStart(evalUniform));
    const progress = (run, method, cap) => (episode, info) => bar?.update(run + episode / cap, `seed ${seed} ${method} episode ${episode}: ${info}`);

    const net = makeController(hidden, seed);
    const before = simulate((s) => controllerForce(net, s), plotStart, horizon);
    let t0 = performance.now();
    results.backprop.push({ ...trainByBackprop(net, { evalStarts, uniform: mulberry32(seed + 1), maxEpisodes: maxBackpropEpisodes, horizon, onEpisode: progress(2 * k, 'backprop', maxBackpropEpisodes) }), net });
    seconds.backprop += (performance.now() - t0) / 1000;
    // the episode ends when the pole passes 12°: the untrained controller's curve stops there
    if (k === 0) angles = { before: degrees(untilFailure(before)), after: degrees(untilFailure(simulate((s) => controllerForce(net, s), plotStart, horizon))) };

    t0 = performance.now();
    const policyNet = makeController(hidden, seed);
    results.reinforce.push({ ...trainByReinforce(policyNet, { evalStarts, uniform: mulberry32(seed + 2), maxEpisodes: maxReinforceEpisodes, horizon, onEpisode: progress(2 * k + 1, 'REINFORCE', maxReinforceEpisodes) }), net: policyNet });
    seconds.reinforce += (performance.now() - t0) / 1000;
    bar?.update(2 * k + 2, `seed ${seed} done`);
  });
  bar?.finish(`${seeds.length} seeds`);

  const summary = {};
  for (const method of ['backprop', 'reinforce']) {
    const runs = results[method];
    summary[method] = {
      episodes: runs.map((r) => r.episodes),
      solved: runs.map((r) => r.solved),
      steps: runs.map((r) => r.steps),
      median: median(runs.map((r) => (r.solved ? r.episodes : Infinity))),
      seconds: seconds[method],
      controllers: runs.map((r) => r.net),
    };
  }
  const line = (name, s, cap) =>
    `${name}: median ${s.median} episodes to solve (per seed: ${s.episodes.map((e, i) => (s.solved[i] ? e : `>${cap}`)).join(' ')}; median ${median(s.steps)} simulator steps; ${s.seconds.toFixed(1)} s)`;
  say(line('differentiable programming (backprop through the simulator)', summary.backprop, maxBackpropEpisodes));
  say(line('model-free REINFORCE (Gaussian policy, running baseline)    ', summary.reinforce, maxReinforceEpisodes));
  say('(the talk: 6 episodes by differentiable programming against about 400 model-free)');
  // both interpreted: the controller object is passed on to helper functions and the state is an object the step
  // returns, outside the compiled subset; surrogateLoss's states are an array of objects, an argument the compiled
  // tier does not take (tierOf says which)
  const tiers = { rolloutLoss: tierOf(rolloutLoss), surrogateLoss: tierOf(surrogateLoss) };
  say(`tiers: rolloutLoss ${tiers.rolloutLoss}; surrogateLoss ${tiers.surrogateLoss}`);

  if (out !== null) {
    const times = (ys) => ys.map((_y, i) => i * DT);
    writeSeriesPlot(out, [
      { xs: times(angles.before), ys: angles.before, label: 'before training (until it falls)' },
      { xs: times(angles.after), ys: angles.after, label: `after ${summary.backprop.episodes[0]} backprop episodes` },
    ], { title: 'Pole angle from θ = −3°, θ̇ = 0.5°/s', xLabel: 'time (s)', yLabel: 'pole angle (degrees)', legend: 'bottom' });
    say(`pole angle plot written to ${out}`);
  }
  return { ...summary, angles, out, tiers };
}

if (import.meta.url === `file://${process.argv[1]}`) main();
