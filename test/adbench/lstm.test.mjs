// Tests of the ADBench D-LSTM objective (bench/adbench/lstm.mjs): ADBench's reference loss, a closed form, and tracegrad's gradient against Richardson finite differences.
import test from 'ava';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tg from '../../dist/index.js';
import { loadLstm, lstmObjective, tracedLstm } from '../../bench/adbench/lstm.mjs';
import { richardsonEstimate } from '../helpers/reference.mjs';
import { mulberry32 } from '../../examples/lib/random.mjs';

// The data stays outside the repository (../shared/adbench beside the checkout); a clone elsewhere may lack it.
const DATA = new URL('../../../shared/adbench/lstm/lstm_l2_c1024.txt', import.meta.url);
const haveData = existsSync(fileURLToPath(DATA));
const dataTest = haveData ? test : test.skip;
const needsData = haveData ? '' : ` (skipped: ADBench LSTM data not found at ${fileURLToPath(DATA)})`;
if (!haveData) console.error(`lstm.test.mjs: ADBench LSTM data not found at ${fileURLToPath(DATA)}; data tests skipped`);
let loaded = null;
const load = () => (loaded ??= loadLstm(DATA));

const argsOf = (d) => [d.l, d.c, d.b, d.mainParams, d.extraParams, d.state, d.sequence];

/** A random instance (seeded) with ADBench's shapes: parameters and state in [−1, 1], a one-hot character sequence. */
function randomInstance(seed, l, c, b) {
  const rand = mulberry32(seed);
  const uniform = (n) => Float64Array.from({ length: n }, () => 2 * rand() - 1);
  const sequence = new Float64Array(c * b);
  for (let t = 0; t < c; t++) sequence[t * b + Math.floor(rand() * b)] = 1;
  return { l, c, b, mainParams: uniform(8 * l * b), extraParams: uniform(3 * b), state: uniform(2 * l * b), sequence };
}

/**
 * tracegrad's parameters-only gradient against Richardson finite differences of the plain objective for the given
 * entries ([which, index], which 0: main, 1: extra). The loss is O(1) and an average, so the partials are small: the
 * tolerance is absolute, 1e-9, plus relative 1e-6 (a difference quotient's rounding, ~1e-16/h, is ~1e-12 after
 * extrapolation; a wrong term changes a partial by 1e-4 or more on these instances).
 */
function checkGradient(t, d, entries) {
  const { ofParams } = tracedLstm(tg, d);
  const [gMain, gExtra] = tg.gradient(ofParams, d.mainParams, d.extraParams);
  t.log(`tier: ${tg.tierOf(ofParams)}`);
  const grads = [gMain, gExtra];
  const names = ['main', 'extra'];
  let worst = 0;
  const bad = [];
  for (const [which, k] of entries) {
    const base = which === 0 ? d.mainParams : d.extraParams;
    const fd = richardsonEstimate((x) => {
      const copy = base.slice();
      copy[k] = x;
      const args = argsOf(d);
      args[3 + which] = copy;
      return lstmObjective(...args);
    }, base[k]);
    const got = grads[which][k];
    const diff = Math.abs(got - fd.value);
    worst = Math.max(worst, diff);
    if (!(diff <= 1e-9 + 1e-6 * Math.abs(fd.value))) bad.push(`${names[which]}[${k}]: tracegrad ${got}, finite difference ${fd.value} (±${fd.error.toExponential(1)})`);
  }
  t.log(`${entries.length} partials; largest |tracegrad − finite difference| ${worst.toExponential(2)}`);
  if (bad.length) t.fail(bad.join('\n'));
  else t.pass();
}

test('objective with one layer, two characters and one bit matches the closed form', (t) => {
  // l = c = b = 1: x = y₀·w_in; forget = σ(x w_f + β_f), in = σ(h₀ w_i + β_i), out = σ(x w_o + β_o),
  // change = tanh(h₀ w_c + β_c); s = s₀·forget + in·change; h = out·tanh(s); ŷ = h w_out + β_out;
  // loss = −y₁ (ŷ − log(e^ŷ + 2)).
  const sig = (z) => 1 / (1 + Math.exp(-z));
  const [wf, wi, wo, wc, bf, bi, bo, bc] = [0.3, -0.7, 0.5, 1.1, 0.2, -0.1, 0.4, -0.6];
  const [wIn, wOut, bOut] = [0.9, -1.3, 0.25];
  const [h0, s0] = [0.35, -0.45];
  const [y0, y1] = [1, 0.8];
  const x = y0 * wIn;
  const s = s0 * sig(x * wf + bf) + sig(h0 * wi + bi) * Math.tanh(h0 * wc + bc);
  const yhat = sig(x * wo + bo) * Math.tanh(s) * wOut + bOut;
  const want = -y1 * (yhat - Math.log(Math.exp(yhat) + 2));
  const got = lstmObjective(1, 2, 1, Float64Array.of(wf, wi, wo, wc, bf, bi, bo, bc), Float64Array.of(wIn, wOut, bOut),
    Float64Array.of(h0, s0), Float64Array.of(y0, y1));
  t.true(Math.abs(got - want) <= 1e-15, `${got} vs ${want}`);
});

test('objective leaves the state it is given unchanged', (t) => {
  const d = randomInstance(1, 2, 5, 3);
  const before = d.state.slice();
  lstmObjective(...argsOf(d));
  t.deepEqual([...d.state], [...before]);
});

test('gradient on a small synthetic instance (l = 2, c = 6, b = 3) matches finite differences in every entry', (t) => {
  const d = randomInstance(2, 2, 6, 3);
  const entries = [...Array.from({ length: d.mainParams.length }, (_, k) => [0, k]), ...Array.from({ length: d.extraParams.length }, (_, k) => [1, k])];
  checkGradient(t, d, entries);
});

dataTest(`loader reads lstm_l2_c1024.txt with its layout${needsData}`, (t) => {
  const d = load();
  t.deepEqual([d.l, d.c, d.b, d.mainParams.length, d.extraParams.length, d.state.length, d.sequence.length], [2, 1024, 14, 224, 42, 56, 14336]);
  t.is(d.mainParams[0], 0.7477620204927391);
});

dataTest(`objective on lstm_l2_c1024.txt reproduces ADBench's loss 0.66666518${needsData}`, (t) => {
  const got = lstmObjective(...argsOf(load()));
  t.log(`loss ${got}`);
  t.true(Math.abs(got - 0.66666518) <= 5e-9, `${got} is not 0.66666518 to the printed precision`);
});

dataTest(`gradient on lstm_l2_c1024.txt matches finite differences on a sample of entries${needsData}`, (t) => {
  const d = load();
  // spread over both layers, every gate's weights and biases, and the three parts of the extra parameters
  const main = [0, 13, 17, 30, 45, 56, 70, 97, 111, 112, 127, 150, 169, 190, 223];
  const extra = [0, 9, 14, 22, 28, 41];
  checkGradient(t, d, [...main.map((k) => [0, k]), ...extra.map((k) => [1, k])]);
});

dataTest(`compiled and interpreted gradients agree bit for bit on lstm_l2_c1024.txt${needsData}`, (t) => {
  const d = load();
  const { ofParams } = tracedLstm(tg, d);
  const got = tg.gradient(ofParams, d.mainParams, d.extraParams);
  t.log(`tier: ${tg.tierOf(ofParams)}`);
  tg.jit.enabled = false;
  let want;
  try {
    want = tg.gradient(tracedLstm(tg, d).ofParams, d.mainParams, d.extraParams);
  } finally {
    tg.jit.enabled = true;
  }
  for (let a = 0; a < 2; a++) {
    const k = [...got[a]].findIndex((v, j) => !Object.is(v, want[a][j]));
    t.is(k, -1, k < 0 ? '' : `argument ${a}[${k}]: ${got[a][k]} vs ${want[a][k]}`);
  }
});
