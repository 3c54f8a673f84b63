// The pharmacokinetics example: RK4 against the two-compartment model's closed-form solution, the synthetic data's noise, gradients through the solver against Richardson finite differences, and the quick fit's recovered half-lives.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withGradient, gradient, traced } from '../../dist/index.js';
import { numericGradient, richardsonEstimate, assertClose } from '../helpers/reference.mjs';
import { rk4, twoCompartment, concentrations, biexponential, patients, makeModel, fitLoss, main, SAMPLE_TIMES, DOSE } from '../../examples/pharmacokinetics.mjs';
import { mulberry32 } from '../../examples/lib/random.mjs';

/**
 * The central concentration after an IV bolus, from the eigen-decomposition of the rate matrix
 * K = [[−(k10 + k12), k21], [k12, −k21]]: A(t) = c₁ v₁ e^(λ₁t) + c₂ v₂ e^(λ₂t), with the eigenvectors
 * v = [k21, λ + k10 + k12] (from K's first row) and c solving c₁v₁ + c₂v₂ = [dose, 0].
 */
function exactConcentration({ k10, k12, k21 }, volume, dose, t) {
  const trace = -(k10 + k12 + k21), det = k10 * k21;
  const root = Math.sqrt(trace * trace - 4 * det);
  const [l1, l2] = [(trace + root) / 2, (trace - root) / 2];
  const [v1, v2] = [[k21, l1 + k10 + k12], [k21, l2 + k10 + k12]];
  const d = v1[0] * v2[1] - v2[0] * v1[1]; // Cramer's rule
  const c1 = (dose * v2[1]) / d, c2 = (-dose * v1[1]) / d;
  return (c1 * v1[0] * Math.exp(l1 * t) + c2 * v2[0] * Math.exp(l2 * t)) / volume;
}

const rates = { k10: 0.15, k12: 0.5, k21: 0.25 };

test('RK4 on the two-compartment model matches the closed-form solution, with fourth-order convergence', (t) => {
  const solveAt = (T, steps) => rk4((time, y) => twoCompartment(time, y, rates), [DOSE, 0], 0, T, steps)[0] / 20;
  for (const T of [0.5, 2, 8, 24]) {
    const exact = exactConcentration(rates, 20, DOSE, T);
    const coarse = Math.abs(solveAt(T, 4 * T) - exact), fine = Math.abs(solveAt(T, 8 * T) - exact);
    t.true(coarse < 3e-5 * exact, `t = ${T} h: relative error ${coarse / exact} at 4 steps per hour`);
    t.true(coarse / fine > 13 && coarse / fine < 19, `t = ${T} h: halving the step divides the error by ${coarse / fine} (16 for fourth order)`);
  }
  // the sample-to-sample integration the fit uses
  const got = concentrations(rates, 20, DOSE, SAMPLE_TIMES, 4);
  SAMPLE_TIMES.forEach((T, i) => t.true(Math.abs(got[i] / exactConcentration(rates, 20, DOSE, T) - 1) < 3e-5));
  // and the example's own bi-exponential form is the same function
  const curve = biexponential(rates, 20, DOSE);
  for (const T of [0, 1, 5, 24]) t.true(Math.abs(curve.at(T) / exactConcentration(rates, 20, DOSE, T) - 1) < 1e-12);
  t.true(Math.abs(curve.alpha * curve.beta - rates.k10 * rates.k21) < 1e-15, 'αβ = k10·k21');
});

test('the synthetic patients: the true relation worked by hand, and 10% log-normal measurement error', (t) => {
  const cohort = patients(200, { seed: 5 });
  const residuals = [];
  for (const { weight, age, observed } of cohort) {
    t.true(weight >= 50 && weight <= 110 && age >= 20 && age <= 80);
    const volume = 0.3 * weight, clearance = 3 * Math.pow(weight / 70, 0.75) * (1 - 0.01 * (age - 40));
    const truth = { k10: clearance / volume, k12: 0.5, k21: 0.25 };
    observed.forEach((c, i) => residuals.push(Math.log(c / exactConcentration(truth, volume, DOSE, SAMPLE_TIMES[i]))));
  }
  const mean = residuals.reduce((s, r) => s + r, 0) / residuals.length;
  const sd = Math.sqrt(residuals.reduce((s, r) => s + (r - mean) ** 2, 0) / (residuals.length - 1));
  t.true(Math.abs(mean) < 0.01, `mean log residual ${mean}`);
  t.true(Math.abs(sd - 0.1) < 0.006, `log residual deviation ${sd}`);
});

/** A model whose output layer is not zero, so that every weight gets a gradient. */
function perturbedModel() {
  const model = makeModel(4, 7), uniform = mulberry32(11);
  for (let i = 0; i < model.W2.length; i++) model.W2[i] = 0.4 * (uniform() - 0.5);
  model.b1[1] = 0.2;
  return model;
}

test('the gradient of the fit loss through the ODE solver matches Richardson finite differences', (t) => {
  const model = perturbedModel(), cohort = patients(2, { seed: 3 });
  const { value, grad } = withGradient(fitLoss, model, cohort, 2);
  t.true(value > 0);
  const [numeric] = numericGradient((m) => fitLoss(m, cohort, 2), model);
  assertClose(t, grad[0], numeric, { rtol: 1e-6, atol: 1e-9 });
  // a covariate's gradient too: the loss's sensitivity to the first patient's weight
  const { value: dWeight } = richardsonEstimate((w) => fitLoss(model, [{ ...cohort[0], weight: w }, cohort[1]], 2), cohort[0].weight);
  t.true(Math.abs(grad[1][0].weight - dWeight) < 1e-6 * Math.abs(dWeight), `${grad[1][0].weight} vs ${dWeight}`);
});

test('the derivative of a solved concentration by an elimination rate: finite differences of the solver and the closed form agree', (t) => {
  const at6h = traced((k10) => concentrations({ k10, k12: 0.5, k21: 0.25 }, 20, DOSE, [2, 6], 4)[1], { concentrations, DOSE });
  const [g] = gradient(at6h, rates.k10);
  const { value: numeric } = richardsonEstimate(at6h, rates.k10);
  t.true(Math.abs(g - numeric) < 1e-8 * Math.abs(numeric), `${g} vs ${numeric}`);
  // the solver's derivative approximates the exact one (RK4's error at 4 steps per hour is about 1e-5 relative)
  const { value: exact } = richardsonEstimate((k10) => exactConcentration({ ...rates, k10 }, 20, DOSE, 6), rates.k10);
  t.true(Math.abs(g - exact) < 1e-4 * Math.abs(exact), `${g} vs exact ${exact}`);
});

test('quick fit: recovers the true half-lives within 8% on average (15% at worst) and the exchange rates within 10%', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tracegrad-pk-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const lines = [];
  const result = main({ quick: true, outDir: dir, log: (s) => lines.push(s), stream: { isTTY: false, write() {} } });
  for (const g of result.grid) {
    // the grid's true values, from the definitions: t½ = ln 2 · V1 / CL
    const truth = (Math.LN2 * 0.3 * g.weight) / (3 * (g.weight / 70) ** 0.75 * (1 - 0.01 * (g.age - 40)));
    t.true(Math.abs(g.trueHalfLife - truth) < 1e-12 * truth);
  }
  const errors = result.grid.map((g) => Math.abs(g.halfLife / g.trueHalfLife - 1));
  t.true(errors.reduce((s, e) => s + e, 0) / errors.length < 0.08, `mean t½ error ${result.meanHalfLifeError}`);
  t.true(Math.max(...errors) < 0.15, `max t½ error ${result.maxHalfLifeError}`);
  t.true(result.grid.every((g) => Math.abs(g.volume / g.trueVolume - 1) < 0.08), 'central volumes within 8%');
  t.true(Math.abs(result.k12 / 0.5 - 1) < 0.1 && Math.abs(result.k21 / 0.25 - 1) < 0.1, `k12 ${result.k12}, k21 ${result.k21}`);
  // the fit is as good as the data allow: the mean squared log residual at the truth is the noise variance, 0.01
  const final = result.losses[result.losses.length - 1];
  t.true(final > 0.005 && final < 0.0125, `final loss ${final}`);
  t.true(final < result.losses[0] / 10);
  t.true(lines.some((s) => s.includes(`k12 ${result.k12.toFixed(3)}/h`)), 'it prints the recovered rates');

  const halfLifePlot = readFileSync(result.plots.halfLife, 'utf8'), patientPlot = readFileSync(result.plots.patient, 'utf8');
  t.is(halfLifePlot.match(/<polyline/g).length, 4, 'true and fitted t½ at two ages');
  t.is(patientPlot.match(/<polyline/g).length, 1);
  t.is(patientPlot.match(/<circle/g).length, SAMPLE_TIMES.length + 1, 'one dot per measurement, one in the legend');
});
