// Tests of the ADBench Hand objective and its tracegrad Jacobian (bench/adbench/hand.mjs): rest pose, rigid and finger poses, and Richardson finite differences.
import test from 'ava';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tg from '../../dist/index.js';
import {
  loadHandModel, loadHandInstance, skinnedVertices, handObjective, handObjectiveComplicated, handCorrespondenceSum,
  handJacobianBuilder, bonesNeededPerCorrespondence, POSE_PARAMS,
} from '../../bench/adbench/hand.mjs';
import { richardsonEstimate } from '../helpers/reference.mjs';
import { mulberry32 } from '../../examples/lib/random.mjs';

// The data stays outside the repository (../shared/adbench beside the checkout); a clone elsewhere may lack it.
const DATA = new URL('../../../shared/adbench/hand/', import.meta.url);
const FILES = ['model/bones.txt', 'model/vertices.txt', 'model/triangles.txt', 'test.txt', 'simple_small/hand1_t26_c100.txt',
  'complicated_small/hand1_t26_c100.txt'];
const haveData = FILES.every((f) => existsSync(fileURLToPath(new URL(f, DATA))));
const dataTest = haveData ? test : test.skip;
const needsData = haveData ? '' : ` (skipped: ADBench Hand data not found at ${fileURLToPath(DATA)})`;
if (!haveData) console.error(`hand.test.mjs: ADBench Hand data not found at ${fileURLToPath(DATA)}; data tests skipped`);

let model = null;
const loadModel = () => (model ??= loadHandModel(new URL('model/', DATA)));
const loadData = (name, complicated = false) => loadHandInstance(new URL(name, DATA), { complicated });

/** Every vertex posed by θ (nVertices × 3). */
function posedVertices(theta) {
  const m = loadModel();
  const out = new Float64Array(3 * m.nVertices);
  skinnedVertices(theta, m.nBones, m.parents, m.baseRelatives, m.inverseBaseAbsolutes, m.nVertices, m.basePositions, m.weights, out);
  return out;
}

/** The objective's residuals (3·nPoints) at θ (and us for the complicated variant). */
function residuals(data, theta, us = data.us) {
  const err = new Float64Array(3 * data.nPoints);
  if (us) handObjectiveComplicated(theta, us, loadModel(), data, err);
  else handObjective(theta, loadModel(), data, err);
  return err;
}

/** A pose: small random finger angles and a global rotation and translation (seeded). */
function randomPose(seed) {
  const rand = mulberry32(seed);
  return Float64Array.from({ length: POSE_PARAMS }, (_, k) => (k < 3 ? 0.6 : k < 6 ? 0.2 : 0.5) * (2 * rand() - 1));
}

// ---- the objective ---------------------------------------------------------------------------------------------------

dataTest(`loader reads the model and the instances with their layout${needsData}`, (t) => {
  const m = loadModel();
  t.deepEqual([m.nBones, m.nVertices, m.triangles.length], [22, 544, 3 * 1084]);
  t.deepEqual([m.boneNames[0], m.boneNames[1], m.boneNames[21]], ['wrist', 'thumb1', 'forearm']);
  t.deepEqual([...m.parents.subarray(0, 6)], [-1, 0, 1, 2, 3, 0]);
  t.is(m.baseRelatives[16 + 7], 0.003628205507993698); // thumb1's translation, row 1 column 3 (row-major)
  t.is(m.weights[2 * m.nVertices + 0], 0.2707933843876052); // vertex 0: bone 2 with weight 0.2707933843876052
  const simple = loadData('simple_small/hand1_t26_c100.txt');
  t.deepEqual([simple.nPoints, simple.correspondences[0], simple.points[2], simple.theta.length, simple.theta[1], simple.theta[25]], [100, 132, 0.434077, 26, 2.243941, 0.878251]);
  const complicated = loadData('complicated_small/hand1_t26_c100.txt', true);
  t.deepEqual([complicated.nPoints, complicated.correspondences[0], complicated.us.length, complicated.us[0]], [100, 516, 200, 0.348857]);
});

dataTest(`zero pose reproduces the model's rest positions${needsData}`, (t) => {
  // θ = 0: every bone keeps its base transform, so transform_b = baseAbsolute_b · inverseBaseAbsolute_b = I, and the
  // skinning weights of each vertex sum to 1: the vertices are the file's base positions (to the file's float32 digits).
  const posed = posedVertices(new Float64Array(POSE_PARAMS));
  const m = loadModel();
  let worst = 0;
  posed.forEach((v, k) => (worst = Math.max(worst, Math.abs(v - m.basePositions[k]))));
  t.log(`largest deviation ${worst.toExponential(2)} (hand size ~0.3)`);
  t.true(worst <= 1e-7);
});

dataTest(`a global pose moves the rest hand rigidly: R·x + t with R from explicit matrices${needsData}`, (t) => {
  const theta = new Float64Array(POSE_PARAMS);
  theta.set([0.3, -0.5, 0.2, 0.1, -0.2, 0.05]);
  // R = I + sin θ K + (1 − cos θ) K², K the cross-product matrix of the unit axis
  const angle = Math.hypot(0.3, -0.5, 0.2);
  const [x, y, z] = [0.3 / angle, -0.5 / angle, 0.2 / angle];
  const K = [[0, -z, y], [z, 0, -x], [-y, x, 0]];
  const K2 = K.map((row) => [0, 1, 2].map((j) => row.reduce((s, v, k) => s + v * K[k][j], 0)));
  const R = [0, 1, 2].map((a) => [0, 1, 2].map((b) => (a === b ? 1 : 0) + Math.sin(angle) * K[a][b] + (1 - Math.cos(angle)) * K2[a][b]));
  const m = loadModel();
  const posed = posedVertices(theta);
  let worst = 0;
  for (let v = 0; v < m.nVertices; v++) {
    for (let j = 0; j < 3; j++) {
      const want = R[j][0] * m.basePositions[3 * v] + R[j][1] * m.basePositions[3 * v + 1] + R[j][2] * m.basePositions[3 * v + 2] + theta[3 + j];
      worst = Math.max(worst, Math.abs(posed[3 * v + j] - want));
    }
  }
  t.log(`largest deviation ${worst.toExponential(2)}`);
  t.true(worst <= 1e-7);
});

dataTest(`bending the index finger moves only the vertices its posed bones carry${needsData}`, (t) => {
  const m = loadModel();
  const theta = new Float64Array(POSE_PARAMS);
  theta.set([0.4, -0.2, 0.3, 0.2], 10); // the index finger's four parameters: bones 6 (two angles), 7, 8
  const rest = posedVertices(new Float64Array(POSE_PARAMS));
  const posed = posedVertices(theta);
  let moved = 0, carried = 0;
  for (let v = 0; v < m.nVertices; v++) {
    const onIndex = [6, 7, 8].some((b) => m.weights[b * m.nVertices + v] !== 0);
    const displacement = Math.hypot(posed[3 * v] - rest[3 * v], posed[3 * v + 1] - rest[3 * v + 1], posed[3 * v + 2] - rest[3 * v + 2]);
    if (onIndex) {
      carried++;
      if (displacement > 1e-4) moved++;
    } else t.is(displacement, 0, `vertex ${v} has no weight on the index finger's posed bones but moved by ${displacement}`);
  }
  t.log(`${carried} vertices carried by the index finger's posed bones, ${moved} of them moved by more than 1e-4`);
  t.true(carried > 10 && moved > carried / 2);
});

dataTest(`complicated objective with barycentric corners (1, 0), (0, 1), (0, 0) picks the triangle's vertices${needsData}`, (t) => {
  const m = loadModel();
  const theta = randomPose(4);
  const triangle = 17;
  const data = { nPoints: 3, correspondences: Float64Array.of(triangle, triangle, triangle), points: Float64Array.from({ length: 9 }, (_, k) => 0.01 * k) };
  const got = residuals(data, theta, Float64Array.of(1, 0, 0, 1, 0, 0));
  const posed = posedVertices(theta);
  for (let corner = 0; corner < 3; corner++) {
    const v = m.triangles[3 * triangle + corner];
    for (let j = 0; j < 3; j++) {
      const want = data.points[3 * corner + j] - posed[3 * v + j];
      t.true(Math.abs(got[3 * corner + j] - want) <= 1e-15, `corner ${corner}, coordinate ${j}: ${got[3 * corner + j]} vs ${want}`);
    }
  }
});

dataTest(`handCorrespondenceSum with every copy at θ is the sum of one coordinate of the residuals${needsData}`, (t) => {
  const m = loadModel();
  for (const [name, complicated] of [['simple_small/hand1_t26_c100.txt', false], ['complicated_small/hand1_t26_c100.txt', true]]) {
    const data = loadData(name, complicated);
    const theta = randomPose(9);
    const r = residuals(data, theta);
    const thetas = new Float64Array(POSE_PARAMS * data.nPoints);
    for (let i = 0; i < data.nPoints; i++) thetas.set(theta, POSE_PARAMS * i);
    const needed = bonesNeededPerCorrespondence(m, data, { complicated });
    for (let coordinate = 0; coordinate < 3; coordinate++) {
      let want = 0;
      for (let i = 0; i < data.nPoints; i++) want += r[3 * i + coordinate];
      const got = handCorrespondenceSum(thetas, data.us ?? new Float64Array(2 * data.nPoints), coordinate, complicated ? 1 : 0, data.nPoints,
        data.correspondences, data.points, m.triangles, m.nBones, m.parents, m.baseRelatives, m.inverseBaseAbsolutes, m.nVertices,
        m.basePositions, m.weights, needed);
      t.true(Math.abs(got - want) <= 1e-12, `${name}, coordinate ${coordinate}: ${got} vs ${want}`);
    }
  }
});

// ---- the Jacobian --------------------------------------------------------------------------------------------------

/**
 * Column `column` of the Jacobian by Richardson-extrapolated central differences of the plain objective: one estimate
 * per residual, each probe point evaluated once and shared by the rows. `perturb(t)` returns the residuals with the
 * variable set to t.
 */
function fdColumn(x0, perturb, rows, opts) {
  const cache = new Map();
  const at = (x) => {
    if (!cache.has(x)) cache.set(x, perturb(x));
    return cache.get(x);
  };
  return Array.from({ length: rows }, (_, r) => richardsonEstimate((x) => at(x)[r], x0, opts));
}

/**
 * The Jacobian's θ columns (and rows `uRows` of its u columns) against finite differences. The residuals are O(0.1–1);
 * the tolerance is 1e-8 absolute, relative 1e-7, plus ten times Richardson's own error estimate (a wrong term changes
 * an entry by far more: the entries are O(0.01–1)).
 */
function checkJacobian(t, data, theta, us, { uPoints = [] } = {}) {
  const complicated = us !== null;
  const builder = handJacobianBuilder(tg, loadModel(), data, { complicated });
  const { nRows, nCols, jacobian } = builder.compute(theta, us);
  t.log(`tiers: ${JSON.stringify(builder.tiers())}`);
  const uColumns = complicated ? 2 : 0;
  t.deepEqual([nRows, nCols], [3 * data.nPoints, uColumns + POSE_PARAMS]);
  const bad = [];
  let worst = 0, checked = 0;
  const compare = (row, col, fd) => {
    const got = jacobian[col * nRows + row];
    const diff = Math.abs(got - fd.value);
    worst = Math.max(worst, diff);
    checked++;
    if (!(diff <= 1e-8 + 1e-7 * Math.abs(fd.value) + 10 * fd.error)) bad.push(`J[${row}][${col}] = ${got}, finite difference ${fd.value} (±${fd.error.toExponential(1)})`);
  };
  for (let k = 0; k < POSE_PARAMS; k++) {
    const fd = fdColumn(theta[k], (x) => {
      const copy = theta.slice();
      copy[k] = x;
      return residuals(data, copy, us);
    }, nRows);
    fd.forEach((e, row) => compare(row, uColumns + k, e));
  }
  // u columns, compressed: column c holds ∂err_i/∂u_{i,c} in rows 3i..3i+2 (residual i reads only its own us)
  for (const i of uPoints) {
    for (let c = 0; c < 2; c++) {
      const fd = fdColumn(us[2 * i + c], (x) => {
        const copy = us.slice();
        copy[2 * i + c] = x;
        return residuals(data, theta, copy);
      }, nRows);
      for (let j = 0; j < 3; j++) compare(3 * i + j, c, fd[3 * i + j]);
      // and nothing else depends on u_{i,c}
      fd.forEach((e, row) => (Math.floor(row / 3) === i || Math.abs(e.value) <= 1e-12 ? null : bad.push(`residual ${row} depends on u of point ${i}: ${e.value}`)));
    }
  }
  t.log(`${checked} entries against finite differences; largest |tracegrad − finite difference| ${worst.toExponential(2)}`);
  if (bad.length) t.fail(`${bad.length} mismatches:\n${bad.slice(0, 8).join('\n')}`);
  else t.pass();
}

dataTest(`simple Jacobian: every entry on hand1_t26_c100 matches finite differences${needsData}`, (t) => {
  const data = loadData('simple_small/hand1_t26_c100.txt');
  checkJacobian(t, data, data.theta, null);
});

dataTest(`simple Jacobian at a second pose (test.txt's points) matches finite differences${needsData}`, (t) => {
  checkJacobian(t, loadData('test.txt'), randomPose(21), null);
});

dataTest(`complicated Jacobian: θ columns and a sample of u columns match finite differences${needsData}`, (t) => {
  const data = loadData('complicated_small/hand1_t26_c100.txt', true);
  checkJacobian(t, data, data.theta, data.us, { uPoints: [0, 1, 37, 64, 99] });
});

dataTest(`Jacobian at zero global rotation: columns 0–2 follow ADBench's identity branch (|a| < 1e-4)${needsData}`, (t) => {
  // Below |a| = 1e-4 ADBench uses R = I, whose derivative in a is 0; finite differences with steps under 1e-4 stay there.
  const data = loadData('test.txt');
  const theta = randomPose(5);
  theta.set([0, 0, 0]);
  const { nRows, jacobian } = handJacobianBuilder(tg, loadModel(), data).compute(theta);
  for (let k = 0; k < 3; k++) {
    const fd = fdColumn(0, (x) => {
      const copy = theta.slice();
      copy[k] = x;
      return residuals(data, copy, null);
    }, nRows, { h: 2 ** -16 });
    for (let row = 0; row < nRows; row++) {
      t.is(jacobian[k * nRows + row], 0);
      t.true(Math.abs(fd[row].value) <= 1e-12, `finite difference ${fd[row].value}`);
    }
  }
});

dataTest(`compiled and interpreted Jacobians agree bit for bit (test.txt)${needsData}`, (t) => {
  const data = loadData('test.txt');
  const theta = randomPose(3);
  const compiled = handJacobianBuilder(tg, loadModel(), data);
  const got = compiled.compute(theta).jacobian.slice();
  t.log(`tiers: ${JSON.stringify(compiled.tiers())}`);
  tg.jit.enabled = false;
  let want;
  try {
    want = handJacobianBuilder(tg, loadModel(), data).compute(theta).jacobian;
  } finally {
    tg.jit.enabled = true;
  }
  const k = [...got].findIndex((v, j) => !Object.is(v, want[j]));
  t.is(k, -1, k < 0 ? '' : `entry ${k}: ${got[k]} vs ${want[k]}`);
});
