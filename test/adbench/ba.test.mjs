// Tests of the ADBench BA objective and its tracegrad Jacobian (bench/adbench/ba.mjs): hand-derived values, an explicit-matrix Rodrigues, and Richardson finite differences.
import test from 'ava';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tg from '../../dist/index.js';
import {
  loadBa, baObjective, residualSum, baJacobianBuilder, baJacobianPattern, CAMERA_PARAMS, BLOCK_SIZE,
} from '../../bench/adbench/ba.mjs';
import { richardsonEstimate } from '../helpers/reference.mjs';
import { mulberry32 } from '../../examples/lib/random.mjs';

// The data stays outside the repository (../shared/adbench beside the checkout); a clone elsewhere may lack it.
const DATA = new URL('../../../shared/adbench/ba/', import.meta.url);
const BIG = 'ba1_n49_m7776_p31843.txt';
const haveData = existsSync(fileURLToPath(new URL('test.txt', DATA))) && existsSync(fileURLToPath(new URL(BIG, DATA)));
const dataTest = haveData ? test : test.skip;
const needsData = haveData ? '' : ` (skipped: ADBench BA data not found at ${fileURLToPath(DATA)})`;
if (!haveData) console.error(`ba.test.mjs: ADBench BA data not found at ${fileURLToPath(DATA)}; data tests skipped`);

/** The objective's residuals for an instance: [reprojErr (2p), wErr (p)] as one array, in the Jacobian's row order. */
function residuals(ba, cams = ba.cams, points = ba.points, weights = ba.weights) {
  const reproj = new Float64Array(2 * ba.p);
  const wErr = new Float64Array(ba.p);
  baObjective(ba.n, ba.m, ba.p, cams, points, weights, ba.obs, ba.features, reproj, wErr);
  return [...reproj, ...wErr];
}

/** A hand-made instance: explicit cameras, points, weights, features and observation pairs. */
function instance(cams, points, weights, obs, features) {
  const p = weights.length;
  return {
    n: cams.length / CAMERA_PARAMS, m: points.length / 3, p, cams: Float64Array.from(cams), points: Float64Array.from(points),
    weights: Float64Array.from(weights), obs: Int32Array.from(obs), features: Float64Array.from(features),
  };
}

/**
 * A random instance (seeded): n cameras looking down +z at points in front of them, one camera with r = 0 (the θ² = 0
 * branch), p observations of random (camera, point) pairs.
 */
function randomInstance(seed, n, m, p) {
  const rand = mulberry32(seed);
  const between = (a, b) => a + (b - a) * rand();
  const cams = [];
  for (let c = 0; c < n; c++) {
    const r = c === 0 ? [0, 0, 0] : [between(-0.4, 0.4), between(-0.4, 0.4), between(-0.4, 0.4)];
    cams.push(...r, between(-0.5, 0.5), between(-0.5, 0.5), between(-6, -4), between(300, 600), between(-5, 5), between(-5, 5),
      between(-0.1, 0.1), between(-0.01, 0.01));
  }
  const points = Array.from({ length: 3 * m }, () => between(-1, 1));
  const weights = Array.from({ length: p }, () => between(0.2, 1.2));
  const obs = Array.from({ length: p }, (_, i) => [i % n, Math.floor(rand() * m)]).flat();
  const features = Array.from({ length: 2 * p }, () => between(-40, 40));
  return instance(cams, points, weights, obs, features);
}

// ---- the objective ---------------------------------------------------------------------------------------------------

test('objective at r = 0 (the θ² = 0 branch) matches values derived by hand', (t) => {
  // r = 0, C = 0: Xcam = X = (1, 2, 4); (u, v) = (1/4, 1/2); ρ² = 5/16; L = 1 + 0.1·5/16 + 0.01·25/256 = 1.0322265625;
  // proj = 2·L·(u, v) + (0.5, −0.25) = (1.01611328125, 0.7822265625); err = 0.5·(proj − (0.25, 1)); w_err = 1 − 0.25.
  const ba = instance([0, 0, 0, 0, 0, 0, 2, 0.5, -0.25, 0.1, 0.01], [1, 2, 4], [0.5], [0, 0], [0.25, 1]);
  const got = residuals(ba);
  const want = [0.383056640625, -0.10888671875, 0.75];
  got.forEach((g, i) => t.true(Math.abs(g - want[i]) <= 1e-15, `residual ${i}: ${g}, expected ${want[i]}`));
});

test('objective with a quarter turn about z matches values derived by hand', (t) => {
  // r = (0, 0, π/2) turns (x, y, z) into (−y, x, z). X − C = (2, 3, 5) − (1, 0, 0) = (1, 3, 5) → (−3, 1, 5);
  // (u, v) = (−0.6, 0.2), no distortion, f = 10: proj = (−6, 2); w = 2, feature (1, −1): err = 2·(−7, 3).
  const ba = instance([0, 0, Math.PI / 2, 1, 0, 0, 10, 0, 0, 0, 0], [2, 3, 5], [2], [0, 0], [1, -1]);
  const got = residuals(ba);
  const want = [-14, 6, -3];
  got.forEach((g, i) => t.true(Math.abs(g - want[i]) <= 1e-13, `residual ${i}: ${g}, expected ${want[i]}`));
});

test('objective matches a straightforward implementation with explicit rotation matrices', (t) => {
  // R = I + sin θ K + (1 − cos θ) K², K the cross-product matrix of the unit axis (R = I at θ = 0), built as a
  // 3×3 matrix and applied by a matrix-vector product: the textbook form, not the objective's expanded one.
  const explicitResiduals = (ba) => {
    const out = [];
    for (let i = 0; i < ba.p; i++) {
      const cam = ba.cams.subarray(ba.obs[2 * i] * CAMERA_PARAMS, (ba.obs[2 * i] + 1) * CAMERA_PARAMS);
      const X = ba.points.subarray(ba.obs[2 * i + 1] * 3, ba.obs[2 * i + 1] * 3 + 3);
      const theta = Math.hypot(cam[0], cam[1], cam[2]);
      const [kx, ky, kz] = theta === 0 ? [0, 0, 0] : [cam[0] / theta, cam[1] / theta, cam[2] / theta];
      const K = [[0, -kz, ky], [kz, 0, -kx], [-ky, kx, 0]];
      const K2 = K.map((row) => [0, 1, 2].map((j) => row.reduce((s, v, k) => s + v * K[k][j], 0)));
      const R = [0, 1, 2].map((a) => [0, 1, 2].map((b) => (a === b ? 1 : 0) + Math.sin(theta) * K[a][b] + (1 - Math.cos(theta)) * K2[a][b]));
      const d = [X[0] - cam[3], X[1] - cam[4], X[2] - cam[5]];
      const Xc = R.map((row) => row[0] * d[0] + row[1] * d[1] + row[2] * d[2]);
      const [u, v] = [Xc[0] / Xc[2], Xc[1] / Xc[2]];
      const r2 = u * u + v * v;
      const L = 1 + cam[9] * r2 + cam[10] * r2 * r2;
      out.push(ba.weights[i] * (cam[6] * L * u + cam[7] - ba.features[2 * i]), ba.weights[i] * (cam[6] * L * v + cam[8] - ba.features[2 * i + 1]));
    }
    for (let i = 0; i < ba.p; i++) out.push(1 - ba.weights[i] ** 2);
    return out;
  };
  const ba = randomInstance(7, 4, 6, 20);
  const got = residuals(ba);
  const want = explicitResiduals(ba);
  let worst = 0;
  got.forEach((g, i) => (worst = Math.max(worst, Math.abs(g - want[i]) / Math.max(1, Math.abs(want[i])))));
  t.log(`largest relative difference over ${got.length} residuals: ${worst.toExponential(2)}`);
  t.true(worst <= 1e-12);
});

test('residualSum at zero perturbations is the sum of all the objective\'s residuals; a perturbation moves only its own residual', (t) => {
  const ba = randomInstance(11, 3, 5, 17);
  const want = residuals(ba).reduce((s, r) => s + r, 0);
  const deltas = new Float64Array(31 * ba.p);
  const sumAt = (d) => residualSum(ba.p, d, ba.cams, ba.points, ba.weights, ba.obs, ba.features);
  const got = sumAt(deltas);
  t.true(Math.abs(got - want) <= 1e-12 * Math.max(1, Math.abs(want)), `${got} vs ${want}`);
  // shifting residual 2i + 1's focal length (entry 6 of its block) by h changes the sum by its residual's change alone
  const i = 5, h = 1e-3;
  const shifted = { ...ba, cams: Float64Array.from(ba.cams) };
  shifted.cams[ba.obs[2 * i] * 11 + 6] += h;
  const moved = residuals(shifted)[2 * i + 1] - residuals(ba)[2 * i + 1];
  deltas[(2 * i + 1) * BLOCK_SIZE + 6] = h;
  t.true(Math.abs(sumAt(deltas) - got - moved) <= 1e-9 * Math.max(1, Math.abs(moved)), `${sumAt(deltas) - got} vs ${moved}`);
});

dataTest(`loader replicates the listed camera, point, weight and feature${needsData}`, (t) => {
  const ba = loadBa(new URL('test.txt', DATA));
  t.deepEqual([ba.n, ba.m, ba.p], [2, 10, 10]);
  t.deepEqual([...ba.cams.subarray(11, 22)], [1.797201, 0.590697, -0.635786, 90.859550, 29.361415, 28.777534, 211.628116, -0.284531, -14.762924, 0.058931, 0.069976]);
  t.deepEqual([...ba.points.subarray(27)], [4.173048, 5.586898, 1.403869]);
  t.deepEqual([...ba.obs.subarray(0, 8)], [0, 0, 1, 1, 0, 2, 1, 3]);
  t.is(ba.weights[9], 0.417022);
  t.deepEqual([...ba.features.subarray(18)], [-525.672849, 161.811929]);
  const big = loadBa(new URL(BIG, DATA));
  t.deepEqual([big.n, big.m, big.p, big.cams.length, big.points.length, big.obs[2 * 31842], big.obs[2 * 31842 + 1]], [49, 7776, 31843, 539, 23328, 31842 % 49, 31842 % 7776]);
});

// ---- the Jacobian --------------------------------------------------------------------------------------------------

/** The CSR result as a dense row-major array (rows × cols). */
function dense(J) {
  const out = new Float64Array(J.nrows * J.ncols);
  for (let r = 0; r < J.nrows; r++) for (let k = J.rows[r]; k < J.rows[r + 1]; k++) out[r * J.ncols + J.cols[k]] += J.vals[k];
  return out;
}

/**
 * ∂residual/∂variable by Richardson-extrapolated central differences of the plain objective, for every residual at
 * once per column (each probe point is evaluated once and shared by the rows). Column order as the pattern: cameras,
 * points, weights.
 */
function finiteDifferenceColumn(ba, column) {
  const nc = CAMERA_PARAMS * ba.n;
  const [array, at] = column < nc ? ['cams', column] : column < nc + 3 * ba.m ? ['points', column - nc] : ['weights', column - nc - 3 * ba.m];
  const cache = new Map();
  const at_ = (t) => {
    if (!cache.has(t)) {
      const copy = ba[array].slice();
      copy[at] = t;
      cache.set(t, residuals(ba, array === 'cams' ? copy : ba.cams, array === 'points' ? copy : ba.points, array === 'weights' ? copy : ba.weights));
    }
    return cache.get(t);
  };
  const rows = 3 * ba.p;
  return Array.from({ length: rows }, (_, r) => richardsonEstimate((t) => at_(t)[r], ba[array][at]));
}

function checkJacobianAgainstFd(t, ba, J) {
  const D = dense(J);
  let worst = 0, checked = 0;
  const bad = [];
  for (let c = 0; c < J.ncols; c++) {
    const fd = finiteDifferenceColumn(ba, c);
    for (let r = 0; r < J.nrows; r++) {
      const got = D[r * J.ncols + c];
      const want = fd[r].value;
      // a difference quotient carries rounding of ~|residual|·1e-16/h, kept to ~1e-10 relative by extrapolation here;
      // a wrong term changes a partial by far more
      const tol = 1e-8 * Math.max(1, Math.abs(want)) + 10 * fd[r].error;
      const diff = Math.abs(got - want);
      worst = Math.max(worst, diff / Math.max(1, Math.abs(want)));
      checked++;
      if (!(diff <= tol)) bad.push(`J[${r}][${c}] = ${got}, finite difference ${want} (±${fd[r].error.toExponential(1)})`);
    }
  }
  t.log(`${checked} entries (structural zeros included) against finite differences; largest relative difference ${worst.toExponential(2)}`);
  if (bad.length) t.fail(`${bad.length} mismatches:\n${bad.slice(0, 8).join('\n')}`);
  else t.pass();
}

test('Jacobian: every entry of a small instance (θ² = 0 and θ² > 0 cameras) matches finite differences', (t) => {
  const ba = randomInstance(3, 3, 4, 9); // camera 0 has r = 0: observations 0, 3, 6 take the θ² = 0 branch
  const builder = baJacobianBuilder(tg, ba);
  const J = builder.jacobian(ba.cams, ba.points, ba.weights);
  t.log(`tiers: ${JSON.stringify(builder.tiers())}`);
  const pattern = baJacobianPattern(ba.n, ba.m, ba.p, ba.obs);
  t.deepEqual([J.nrows, J.ncols, J.rows.length, J.cols.length, J.vals.length], [3 * ba.p, 11 * ba.n + 3 * ba.m + ba.p, 3 * ba.p + 1, 31 * ba.p, 31 * ba.p]);
  t.deepEqual([...J.cols], [...pattern.cols]);
  checkJacobianAgainstFd(t, ba, J);
});

test('Jacobian at r = 0 against the first-order rotation derived by hand', (t) => {
  // At r = 0, R·d = d + r × d, so ∂(Xcam)/∂r₀ = e₀ × d: for d = (1, 2, 4) (C = 0), (0, −4, 2). With f = 1, no
  // distortion and w = 1, err = (x/z, y/z): ∂err_x/∂r₀ = (0·4 − 1·2)/16 = −1/8, ∂err_y/∂r₀ = (−4·4 − 2·2)/16 = −5/4.
  const ba = instance([0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0], [1, 2, 4], [1], [0, 0], [0, 0]);
  const J = baJacobianBuilder(tg, ba).jacobian(ba.cams, ba.points, ba.weights);
  t.true(Math.abs(J.vals[0] + 0.125) <= 1e-15, `∂err_x/∂r0 = ${J.vals[0]}`);
  t.true(Math.abs(J.vals[BLOCK_SIZE] + 1.25) <= 1e-15, `∂err_y/∂r0 = ${J.vals[BLOCK_SIZE]}`);
  t.is(J.vals[2 * BLOCK_SIZE], -2); // ∂(1 − w²)/∂w at w = 1
});

test('Jacobian: compiled and interpreted tiers agree bit for bit', (t) => {
  const ba = randomInstance(5, 3, 4, 12);
  const compiled = baJacobianBuilder(tg, ba);
  const got = compiled.jacobian(ba.cams, ba.points, ba.weights).vals.slice();
  t.log(`tiers: ${JSON.stringify(compiled.tiers())}`);
  tg.jit.enabled = false;
  let want;
  try {
    want = baJacobianBuilder(tg, ba).jacobian(ba.cams, ba.points, ba.weights).vals;
  } finally {
    tg.jit.enabled = true;
  }
  const differing = [...got].findIndex((v, k) => !Object.is(v, want[k]));
  t.is(differing, -1, differing < 0 ? '' : `entry ${differing}: ${got[differing]} vs ${want[differing]}`);
});

dataTest(`Jacobian on ${BIG}: the first and last observations' rows match finite differences${needsData}`, (t) => {
  const ba = loadBa(new URL(BIG, DATA));
  const J = baJacobianBuilder(tg, ba).jacobian(ba.cams, ba.points, ba.weights);
  // the first and last observation, differenced on their own (each residual reads its own camera, point and weight)
  for (const i of [0, ba.p - 1]) {
    const one = instance(ba.cams.subarray(ba.obs[2 * i] * 11, ba.obs[2 * i] * 11 + 11), ba.points.subarray(ba.obs[2 * i + 1] * 3, ba.obs[2 * i + 1] * 3 + 3),
      [ba.weights[i]], [0, 0], ba.features.subarray(2 * i, 2 * i + 2));
    const fdCols = Array.from({ length: BLOCK_SIZE }, (_, c) => finiteDifferenceColumn(one, c));
    for (let row = 0; row < 2; row++) {
      for (let c = 0; c < BLOCK_SIZE; c++) {
        const got = J.vals[J.rows[2 * i + row] + c];
        const want = fdCols[c][row].value;
        t.true(Math.abs(got - want) <= 1e-8 * Math.max(1, Math.abs(want)) + 10 * fdCols[c][row].error,
          `observation ${i}, row ${row}, column ${c}: ${got} vs ${want}`);
      }
    }
    t.is(J.vals[J.rows[2 * ba.p + i]], -2 * ba.weights[i]);
  }
});
