// Pharmacokinetics by differentiable programming: a network maps patient covariates to drug half-life and volume, fitted to measured concentrations through a plain-JS RK4 solver of a two-compartment model. Run: node examples/pharmacokinetics.mjs
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { traced, withGradient, adam, tierOf } from 'tracegrad';
import { progressBar } from './lib/progress.mjs';
import { writeSeriesPlot } from './lib/series-plot.mjs';
import { mulberry32 } from './lib/random.mjs';

/** y + a·k, elementwise: the intermediate states of a Runge–Kutta step. */
export const shifted = traced(function shifted(y, k, a) {
  const out = new Array(y.length);
  for (let i = 0; i < y.length; i++) out[i] = y[i] + a * k[i];
  return out;
});

/**
 * The classic fourth-order Runge–Kutta method: y(t1) for dy/dt = f(t, y), y(t0) = y0, in `steps` equal steps of
 * h = (t1 − t0) / steps:
 *   k1 = f(t, y), k2 = f(t + h/2, y + h/2·k1), k3 = f(t + h/2, y + h/2·k2), k4 = f(t + h, y + h·k3),
 *   y ← y + h/6·(k1 + 2k2 + 2k3 + k4).
 * y is an array; f returns the derivatives as an array of the same length. Its local error is O(h⁵).
 */
export const rk4 = traced(function rk4(f, y0, t0, t1, steps) {
  const h = (t1 - t0) / steps;
  let y = y0;
  let t = t0;
  for (let s = 0; s < steps; s++) {
    const k1 = f(t, y);
    const k2 = f(t + h / 2, shifted(y, k1, h / 2));
    const k3 = f(t + h / 2, shifted(y, k2, h / 2));
    const k4 = f(t + h, shifted(y, k3, h));
    const next = new Array(y.length);
    for (let i = 0; i < y.length; i++) next[i] = y[i] + (h / 6) * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
    y = next;
    t += h;
  }
  return y;
}, { shifted });

/**
 * The two-compartment model: amounts A1 (central: blood and well-perfused organs, where the drug is measured and
 * eliminated) and A2 (peripheral tissue), with first-order rate constants k10 (elimination), k12 and k21 (exchange):
 *   dA1/dt = −(k10 + k12)·A1 + k21·A2,   dA2/dt = k12·A1 − k21·A2.
 */
export const twoCompartment = traced(function twoCompartment(t, amounts, rates) {
  const [central, peripheral] = amounts;
  return [
    -(rates.k10 + rates.k12) * central + rates.k21 * peripheral,
    rates.k12 * central - rates.k21 * peripheral,
  ];
});

/**
 * Concentrations C = A1 / V1 at the sample times after an IV bolus `dose` (mg) into the central compartment at
 * t = 0, integrating from one sample time to the next with about `stepsPerHour` RK4 steps per hour.
 */
export const concentrations = traced(function concentrations(rates, volume, dose, times, stepsPerHour) {
  let amounts = [dose, 0];
  let t = 0;
  const result = [];
  for (const next of times) {
    amounts = rk4((time, y) => twoCompartment(time, y, rates), amounts, t, next, Math.max(1, Math.ceil((next - t) * stepsPerHour)));
    t = next;
    result.push(amounts[0] / volume);
  }
  return result;
}, { rk4, twoCompartment });

/**
 * The closed-form solution of the same model after an IV bolus: C(t) = A e^(−αt) + B e^(−βt), with α > β the
 * roots of λ² − (k10 + k12 + k21)λ + k10·k21 = 0, A = D/V1·(α − k21)/(α − β) and B = D/V1·(k21 − β)/(α − β).
 * The synthetic measurements come from it, not from the solver the fit runs, so the fit cannot lean on the solver's
 * own discretisation error. (ln 2 / β is the terminal half-life, longer than ln 2 / k10.)
 */
export function biexponential({ k10, k12, k21 }, volume, dose) {
  const sum = k10 + k12 + k21, root = Math.sqrt(sum * sum - 4 * k10 * k21);
  const alpha = (sum + root) / 2, beta = (sum - root) / 2;
  const A = ((dose / volume) * (alpha - k21)) / (alpha - beta), B = ((dose / volume) * (k21 - beta)) / (alpha - beta);
  return { alpha, beta, A, B, at: (t) => A * Math.exp(-alpha * t) + B * Math.exp(-beta * t) };
}

// The simulated drug's true population: how the patients' parameters really depend on their covariates.
export const TRUE_K12 = 0.5; // 1/h, central → peripheral
export const TRUE_K21 = 0.25; // 1/h, peripheral → central
/** Central volume grows in proportion to body weight: 0.3 L/kg. */
export const trueVolume = (weight) => 0.3 * weight;
/**
 * Clearance scales allometrically with weight (exponent 3/4) and falls 1% per year of age from 40 (kidney function
 * declines): CL = 3 L/h·(weight/70)^0.75·(1 − 0.01·(age − 40)).
 */
export const trueClearance = (weight, age) => 3 * (weight / 70) ** 0.75 * (1 - 0.01 * (age - 40));
/** The elimination half-life from the central compartment: t½ = ln 2 / k10 with k10 = CL / V1 (hours). */
export const trueHalfLife = (weight, age) => (Math.LN2 * trueVolume(weight)) / trueClearance(weight, age);

export const SAMPLE_TIMES = [0.25, 0.5, 1, 2, 4, 6, 8, 12, 24]; // hours after the dose
export const DOSE = 500; // mg

/**
 * `patients(count, { seed, noise })`: synthetic patients with weight uniform in 50–110 kg and age in 20–80 years,
 * each given the dose at t = 0 and sampled at SAMPLE_TIMES; the measured concentrations are the true model's
 * (closed form) times log-normal measurement error with `noise` standard deviation on the log scale (10% by default).
 */
export function patients(count, { seed = 1, noise = 0.1 } = {}) {
  const uniform = mulberry32(seed);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform()); // Box–Muller
  return Array.from({ length: count }, () => {
    const weight = 50 + 60 * uniform(), age = 20 + 60 * uniform();
    const volume = trueVolume(weight), k10 = Math.LN2 / trueHalfLife(weight, age);
    const curve = biexponential({ k10, k12: TRUE_K12, k21: TRUE_K21 }, volume, DOSE);
    return { weight, age, observed: SAMPLE_TIMES.map((t) => curve.at(t) * Math.exp(noise * gaussian())) };
  });
}

/**
 * The model: a network 2 covariates → `hidden` tanh units → 2 outputs, the log half-life and log central volume as
 * offsets from typical adult values (6 h, 20 L), and the exchange rates k12, k21 shared by the whole population (kept
 * as logarithms, so they stay positive), started at a guess of 0.3/h. The output layer starts at zero, so every
 * patient starts at the typical values.
 */
export function makeModel(hidden = 8, seed = 1) {
  const uniform = mulberry32(seed);
  const W1 = new Float64Array(2 * hidden);
  for (let i = 0; i < W1.length; i++) W1[i] = 2 * uniform() - 1;
  return { W1, b1: new Float64Array(hidden), W2: new Float64Array(2 * hidden), b2: new Float64Array(2), logK12: Math.log(0.3), logK21: Math.log(0.3) };
}

/** A patient's half-life (h) and central volume (L) as the network predicts them from weight and age. */
export const patientParameters = traced(function patientParameters(model, weight, age) {
  // covariates centred and scaled to order one
  const inputs = [(weight - 80) / 20, (age - 50) / 20];
  const hidden = model.b1.length;
  let logHalfLife = model.b2[0], logVolume = model.b2[1];
  for (let j = 0; j < hidden; j++) {
    const h = Math.tanh(model.b1[j] + model.W1[2 * j] * inputs[0] + model.W1[2 * j + 1] * inputs[1]);
    logHalfLife += model.W2[j] * h;
    logVolume += model.W2[hidden + j] * h;
  }
  return { halfLife: 6 * Math.exp(logHalfLife), volume: 20 * Math.exp(logVolume) };
});

/**
 * The fit's loss: the mean squared difference of log concentrations, measured against predicted, over every
 * patient and sample (the log scale matches the proportional measurement error).
 */
export const fitLoss = traced(function fitLoss(model, cohort, stepsPerHour) {
  const rates0 = { k12: Math.exp(model.logK12), k21: Math.exp(model.logK21) };
  let total = 0, count = 0;
  for (const patient of cohort) {
    const { halfLife, volume } = patientParameters(model, patient.weight, patient.age);
    const rates = { k10: Math.LN2 / halfLife, k12: rates0.k12, k21: rates0.k21 };
    const predicted = concentrations(rates, volume, DOSE, SAMPLE_TIMES, stepsPerHour);
    for (let i = 0; i < predicted.length; i++) {
      const residual = Math.log(patient.observed[i]) - Math.log(predicted[i]);
      total += residual * residual;
      count++;
    }
  }
  return total / count;
}, { patientParameters, concentrations, DOSE, SAMPLE_TIMES });

/** The fit loss on two patients (two RK4 steps an hour) as a function of the model alone: what `tracegrad check` checks. */
const CHECK_COHORT = patients(2, { seed: 7 });
export const smallFitLoss = traced(function smallFitLoss(model) {
  return fitLoss(model, CHECK_COHORT, 2);
}, { fitLoss, CHECK_COHORT });

/** Example arguments of smallFitLoss (`npx tracegrad check examples/pharmacokinetics.mjs smallFitLoss --args exampleArgs`). */
export const exampleArgs = () => [makeModel(4, 1)];

/**
 * Fit the model to a synthetic cohort by Adam through the ODE solver, then compare the recovered relation with the
 * true one on a grid of weights and ages. Returns `{ losses, k12, k21, grid, meanHalfLifeError, maxHalfLifeError,
 * meanVolumeError, plots, tiers, model }`: the relative errors are |fitted − true| / true over the grid.
 */
export function main({
  quick = false,
  patientCount = quick ? 30 : 60,
  iterations = quick ? 200 : 300,
  hidden = 8,
  lr = 0.03,
  stepsPerHour = 4,
  seed = 1,
  outDir = tmpdir(),
  quiet = false,
  log = console.log,
  stream = process.stderr,
} = {}) {
  const say = quiet ? () => {} : log;
  const cohort = patients(patientCount, { seed });
  const model = makeModel(hidden, seed);
  const opt = adam({ lr });
  say(`${patientCount} patients, IV bolus ${DOSE} mg, ${SAMPLE_TIMES.length} samples each over 24 h with 10% measurement error; network 2 → ${hidden} tanh → (t½, V1); RK4 with ${stepsPerHour} steps/h`);
  const bar = quiet ? null : progressBar(iterations, { label: 'fitting ', stream });
  const losses = [];
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) {
    const { value, grad } = withGradient(fitLoss, model, cohort, stepsPerHour);
    opt.step(model, grad[0]);
    losses.push(value);
    bar?.update(i + 1, `loss ${value.toExponential(3)}`);
  }
  const seconds = (performance.now() - t0) / 1000;
  bar?.finish(`loss ${losses[losses.length - 1].toExponential(3)}`);

  // the recovered relation on a grid inside the cohort's covariate range
  const grid = [];
  for (const weight of [55, 70, 85, 100]) for (const age of [25, 40, 55, 70]) {
    const fitted = patientParameters(model, weight, age);
    grid.push({ weight, age, halfLife: fitted.halfLife, trueHalfLife: trueHalfLife(weight, age), volume: fitted.volume, trueVolume: trueVolume(weight) });
  }
  const relative = (a, b) => Math.abs(a - b) / b;
  const halfLifeErrors = grid.map((g) => relative(g.halfLife, g.trueHalfLife));
  const meanHalfLifeError = halfLifeErrors.reduce((s, e) => s + e, 0) / grid.length;
  const maxHalfLifeError = Math.max(...halfLifeErrors);
  const meanVolumeError = grid.reduce((s, g) => s + relative(g.volume, g.trueVolume), 0) / grid.length;
  const k12 = Math.exp(model.logK12), k21 = Math.exp(model.logK21);

  say(`loss ${losses[0].toFixed(4)} → ${losses[losses.length - 1].toFixed(4)} in ${iterations} iterations (${seconds.toFixed(1)} s); the noise alone gives about ${(0.1 ** 2).toFixed(4)}`);
  say(`population exchange rates: k12 ${k12.toFixed(3)}/h (true ${TRUE_K12}), k21 ${k21.toFixed(3)}/h (true ${TRUE_K21})`);
  say('weight  age   t½ fitted   t½ true   V1 fitted   V1 true');
  for (const g of grid) say(`${String(g.weight).padStart(4)} kg ${String(g.age).padStart(3)} y ${g.halfLife.toFixed(2).padStart(8)} h ${g.trueHalfLife.toFixed(2).padStart(7)} h ${g.volume.toFixed(1).padStart(9)} L ${g.trueVolume.toFixed(1).padStart(7)} L`);
  say(`half-life relative error over the grid: mean ${(100 * meanHalfLifeError).toFixed(1)}%, max ${(100 * maxHalfLifeError).toFixed(1)}%; volume mean ${(100 * (meanVolumeError)).toFixed(1)}%`);
  // interpreted: rk4 takes the model as a function argument and returns arrays, outside the compiled subset; and the
  // cohort is an array of objects, an argument the compiled tier does not take (tierOf says so)
  const tiers = { fitLoss: tierOf(fitLoss) };
  say(`tier: fitLoss ${tiers.fitLoss}`);

  let plots = null;
  if (outDir !== null) {
    plots = { halfLife: join(outDir, 'tracegrad-pk-half-life.svg'), patient: join(outDir, 'tracegrad-pk-patient.svg') };
    const weights = Array.from({ length: 25 }, (_v, i) => 50 + 2.5 * i);
    const curve = (age, f) => ({ xs: weights, ys: weights.map((w) => f(w, age)) });
    writeSeriesPlot(plots.halfLife, [
      { ...curve(30, trueHalfLife), label: 'true, age 30', color: '#9ecae1' },
      { ...curve(30, (w, a) => patientParameters(model, w, a).halfLife), label: 'fitted, age 30', color: '#1f6fb4' },
      { ...curve(70, trueHalfLife), label: 'true, age 70', color: '#fdae6b' },
      { ...curve(70, (w, a) => patientParameters(model, w, a).halfLife), label: 'fitted, age 70', color: '#d9541e' },
    ], { title: 'Elimination half-life against weight: recovered from concentrations', xLabel: 'weight (kg)', yLabel: 't½ (h)', legend: 'middle' });
    // one patient's measurements against the fitted model's curve
    const patient = cohort[0], fitted = patientParameters(model, patient.weight, patient.age);
    const times = Array.from({ length: 97 }, (_v, i) => i / 4).slice(1);
    const predicted = concentrations({ k10: Math.LN2 / fitted.halfLife, k12, k21 }, fitted.volume, DOSE, times, stepsPerHour);
    writeSeriesPlot(plots.patient, [
      { xs: times, ys: predicted, label: 'fitted model' },
      { xs: SAMPLE_TIMES, ys: patient.observed, label: 'measured', dots: true },
    ], { title: `Patient 1 (${patient.weight.toFixed(0)} kg, ${patient.age.toFixed(0)} years)`, xLabel: 'time after the dose (h)', yLabel: 'concentration (mg/L)' });
    say(`plots written to ${plots.halfLife} and ${plots.patient}`);
  }
  return { losses, k12, k21, grid, meanHalfLifeError, maxHalfLifeError, meanVolumeError, seconds, plots, tiers, model };
}

if (import.meta.url === `file://${process.argv[1]}`) main();
