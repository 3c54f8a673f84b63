// ADBench bundle adjustment (BA): file loader, the objective (reprojection and weight errors) in plain JS, and its sparse Jacobian by tracegrad.
//
// Data files (ADBench format, MIT license: see LICENSE.ADBench.txt next to this file) are whitespace-separated numbers:
// `n m p`, then one camera (11 numbers), one point (3), one weight and one feature (2). ADBench replicates them: all n
// cameras equal the listed one, likewise the m points, p weights and p features, and observation i sees camera i mod n
// and point i mod m. The loader builds exactly that, so the objective works on full-size arrays as ADBench's does.

import { readFileSync } from 'node:fs';

/** A camera: angle-axis rotation r (3), centre C (3), focal length f, principal point (u0, v0), radial distortion κ1, κ2. */
export const CAMERA_PARAMS = 11;
/** The parameters one reprojection residual reads, in the order of its Jacobian row: camera (11), point (3), weight. */
export const BLOCK_SIZE = CAMERA_PARAMS + 3 + 1;

/**
 * Reads an ADBench BA instance.
 * @param {string | URL} path
 * @returns {{n: number, m: number, p: number, cams: Float64Array, points: Float64Array, weights: Float64Array,
 *   obs: Int32Array, features: Float64Array}} obs holds (camera, point) index pairs, features (x, y) pairs.
 */
export function loadBa(path) {
  const nums = readFileSync(path, 'utf8').trim().split(/\s+/).map(Number);
  const [n, m, p] = nums;
  if (![n, m, p].every((v) => Number.isInteger(v) && v > 0)) throw new Error(`${path}: bad header "${nums.slice(0, 3).join(' ')}"`);
  const listed = 3 + CAMERA_PARAMS + 3 + 1 + 2;
  if (nums.length !== listed || nums.some(Number.isNaN)) {
    throw new Error(`${path}: expected ${listed} numbers (header, camera, point, weight, feature), found ${nums.length}`);
  }
  const camera = nums.slice(3, 3 + CAMERA_PARAMS);
  const point = nums.slice(3 + CAMERA_PARAMS, 3 + CAMERA_PARAMS + 3);
  const [weight, featureX, featureY] = nums.slice(3 + CAMERA_PARAMS + 3);
  const cams = new Float64Array(n * CAMERA_PARAMS);
  for (let i = 0; i < n; i++) cams.set(camera, i * CAMERA_PARAMS);
  const points = new Float64Array(m * 3);
  for (let i = 0; i < m; i++) points.set(point, i * 3);
  const weights = new Float64Array(p).fill(weight);
  const obs = new Int32Array(2 * p);
  const features = new Float64Array(2 * p);
  for (let i = 0; i < p; i++) {
    obs[2 * i] = i % n;
    obs[2 * i + 1] = i % m;
    features[2 * i] = featureX;
    features[2 * i + 1] = featureY;
  }
  return { n, m, p, cams, points, weights, obs, features };
}

/**
 * The ADBench BA objective: for each observation i (camera c, point X, weight w, feature x̂)
 *   reprojErr[2i..2i+1] = w·(project(c, X) − x̂),   wErr[i] = 1 − w²,
 * where project rotates X − C by the angle-axis vector r (Rodrigues: with θ = |r| and unit axis k = r/θ,
 * R·v = v cos θ + (k × v) sin θ + k (k·v)(1 − cos θ); at θ² = 0 the first-order form v + r × v, as ADBench does),
 * divides by the third coordinate, applies the radial distortion 1 + κ1 ρ² + κ2 ρ⁴ (ρ² the squared projected radius),
 * scales by f and adds (u0, v0). Plain loops over the arrays, as ADBench's C++ reference.
 */
export function baObjective(n, m, p, cams, points, weights, obs, features, reprojErr, wErr) {
  for (let i = 0; i < p; i++) {
    const c = obs[2 * i] * CAMERA_PARAMS;
    const q = obs[2 * i + 1] * 3;
    const r0 = cams[c], r1 = cams[c + 1], r2 = cams[c + 2];
    // X − C
    const x0 = points[q] - cams[c + 3], x1 = points[q + 1] - cams[c + 4], x2 = points[q + 2] - cams[c + 5];
    const thetaSq = r0 * r0 + r1 * r1 + r2 * r2;
    let y0, y1, y2;
    if (thetaSq !== 0) {
      const theta = Math.sqrt(thetaSq);
      const cosT = Math.cos(theta), sinT = Math.sin(theta);
      const thetaInverse = 1 / theta;
      const k0 = r0 * thetaInverse, k1 = r1 * thetaInverse, k2 = r2 * thetaInverse;
      const along = (k0 * x0 + k1 * x1 + k2 * x2) * (1 - cosT);
      y0 = x0 * cosT + (k1 * x2 - k2 * x1) * sinT + k0 * along;
      y1 = x1 * cosT + (k2 * x0 - k0 * x2) * sinT + k1 * along;
      y2 = x2 * cosT + (k0 * x1 - k1 * x0) * sinT + k2 * along;
    } else {
      y0 = x0 + (r1 * x2 - r2 * x1);
      y1 = x1 + (r2 * x0 - r0 * x2);
      y2 = x2 + (r0 * x1 - r1 * x0);
    }
    const u = y0 / y2, v = y1 / y2;
    const rhoSq = u * u + v * v;
    const distortion = 1 + cams[c + 9] * rhoSq + cams[c + 10] * rhoSq * rhoSq;
    const w = weights[i];
    reprojErr[2 * i] = w * (u * distortion * cams[c + 6] + cams[c + 7] - features[2 * i]);
    reprojErr[2 * i + 1] = w * (v * distortion * cams[c + 6] + cams[c + 8] - features[2 * i + 1]);
  }
  for (let i = 0; i < p; i++) wErr[i] = 1 - weights[i] * weights[i];
}

/**
 * The sum of all 3p residuals, each reading the parameters plus a perturbation of its own: reprojection residual
 * r = 2i + coordinate (observation i, coordinate 0: x, 1: y) adds deltas[15r .. 15r+14] to [its camera (11), its point
 * (3), its weight], weight residual i adds deltas[30p + i] to its weight. Since residual r reads no other perturbation,
 * the gradient of this sum with respect to the perturbations (at zero) is row r of the Jacobian, with the entries in the
 * order of ADBench's compressed sparse rows: the gradient with respect to `deltas` is the Jacobian's values array as it
 * stands. The arithmetic is baObjective's, written in tracegrad's compiled subset (loops, scalars, Math, if/else;
 * cams, points, weights, obs and features are read-only tables); a product with 1/θ and 1/z replaces the divisions
 * ADBench writes as k = r/θ and x/z, because each division's derivative costs more than a multiplication's. Each
 * observation's projection runs once per coordinate, as a reverse sweep per Jacobian row would.
 */
export function residualSum(p, deltas, cams, points, weights, obs, features) {
  let total = 0;
  for (let i = 0; i < p; i++) {
    const c = obs[2 * i] * 11;
    const q = obs[2 * i + 1] * 3;
    for (let coordinate = 0; coordinate < 2; coordinate++) {
      const d = (2 * i + coordinate) * 15;
      const r0 = cams[c] + deltas[d];
      const r1 = cams[c + 1] + deltas[d + 1];
      const r2 = cams[c + 2] + deltas[d + 2];
      const x0 = points[q] + deltas[d + 11] - (cams[c + 3] + deltas[d + 3]);
      const x1 = points[q + 1] + deltas[d + 12] - (cams[c + 4] + deltas[d + 4]);
      const x2 = points[q + 2] + deltas[d + 13] - (cams[c + 5] + deltas[d + 5]);
      const thetaSq = r0 * r0 + r1 * r1 + r2 * r2;
      let y0 = 0;
      let y1 = 0;
      let y2 = 0;
      if (thetaSq !== 0) {
        const theta = Math.sqrt(thetaSq);
        const cosT = Math.cos(theta);
        const sinT = Math.sin(theta);
        const thetaInverse = 1 / theta;
        const k0 = r0 * thetaInverse;
        const k1 = r1 * thetaInverse;
        const k2 = r2 * thetaInverse;
        const along = (k0 * x0 + k1 * x1 + k2 * x2) * (1 - cosT);
        y0 = x0 * cosT + (k1 * x2 - k2 * x1) * sinT + k0 * along;
        y1 = x1 * cosT + (k2 * x0 - k0 * x2) * sinT + k1 * along;
        y2 = x2 * cosT + (k0 * x1 - k1 * x0) * sinT + k2 * along;
      } else {
        y0 = x0 + (r1 * x2 - r2 * x1);
        y1 = x1 + (r2 * x0 - r0 * x2);
        y2 = x2 + (r0 * x1 - r1 * x0);
      }
      const zInverse = 1 / y2;
      const u = y0 * zInverse;
      const v = y1 * zInverse;
      const rhoSq = u * u + v * v;
      const distortion = 1 + (cams[c + 9] + deltas[d + 9]) * rhoSq + (cams[c + 10] + deltas[d + 10]) * rhoSq * rhoSq;
      const w = weights[i] + deltas[d + 14];
      const f = cams[c + 6] + deltas[d + 6];
      if (coordinate === 0) total += w * (u * distortion * f + (cams[c + 7] + deltas[d + 7]) - features[2 * i]);
      else total += w * (v * distortion * f + (cams[c + 8] + deltas[d + 8]) - features[2 * i + 1]);
    }
  }
  for (let i = 0; i < p; i++) {
    const w = weights[i] + deltas[30 * p + i];
    total += 1 - w * w;
  }
  return total;
}

/**
 * The sparsity pattern of the Jacobian in compressed sparse rows, as ADBench's BASparseMat lays it out: rows 2i, 2i+1
 * (observation i's reprojection error) hold 15 entries each, in the columns of its camera (11·cam + 0..10), its point
 * (11n + 3·pt + 0..2) and its weight (11n + 3m + i); rows 2p + i (weight errors) one entry, column 11n + 3m + i.
 * @returns {{nrows: number, ncols: number, rows: Int32Array, cols: Int32Array}}
 */
export function baJacobianPattern(n, m, p, obs) {
  const nrows = 3 * p;
  const ncols = CAMERA_PARAMS * n + 3 * m + p;
  const rows = new Int32Array(nrows + 1);
  const cols = new Int32Array(2 * BLOCK_SIZE * p + p);
  let at = 0;
  for (let i = 0; i < p; i++) {
    for (let coordinate = 0; coordinate < 2; coordinate++) {
      for (let j = 0; j < CAMERA_PARAMS; j++) cols[at++] = CAMERA_PARAMS * obs[2 * i] + j;
      for (let j = 0; j < 3; j++) cols[at++] = CAMERA_PARAMS * n + 3 * obs[2 * i + 1] + j;
      cols[at++] = CAMERA_PARAMS * n + 3 * m + i;
      rows[2 * i + coordinate + 1] = at;
    }
  }
  for (let i = 0; i < p; i++) {
    cols[at++] = CAMERA_PARAMS * n + 3 * m + i;
    rows[2 * p + i + 1] = at;
  }
  return { nrows, ncols, rows, cols };
}

/**
 * Builds the tracegrad Jacobian of an instance's residuals (the data, features and index pairs, fixed; cameras, points
 * and weights, the variables). `tg` is tracegrad's module (traced, gradient, tierOf). The traced function closes over
 * the instance and differentiates only the zero perturbations (see residualSum, which the compiled tier inlines); the
 * current cameras, points and weights are set in its scope before each call (tables are read afresh every call).
 *
 * Why one gradient of a sum of perturbed residuals rather than `jacobian` or one pullback per observation: tracegrad
 * compiles `gradient` of a number-valued function, not pullback or jacobian (those run on the tape interpreter), and
 * one compiled call per observation spends more in the call itself (~0.5 µs) than the ~30 ns its arithmetic takes.
 * Giving each residual its own perturbation makes the rows separable (a reverse sweep over a sum yields each
 * perturbation's own partials), so one compiled reverse sweep yields the whole Jacobian, and already in the layout of
 * its compressed sparse rows. The price: the projection runs twice per observation (once per residual), as two
 * sweeps would.
 *
 * With `preallocated` (the default) the values go into one array kept between calls (gradientInto), as ADBench's
 * harnesses fill a Jacobian they allocated once: the returned `vals` is that array, overwritten by the next call.
 * Without it each call allocates its own (gradient); on this machine the fresh 8 MB array's page faults cost more
 * than the objective itself.
 *
 * @returns {{pattern: ReturnType<typeof baJacobianPattern>, tiers: () => Record<string, string>,
 *   jacobian: (cams: Float64Array, points: Float64Array, weights: Float64Array) =>
 *     {nrows: number, ncols: number, rows: Int32Array, cols: Int32Array, vals: Float64Array}}}
 */
export function baJacobianBuilder(tg, ba, { preallocated = true } = {}) {
  const { n, m, p, obs, features } = ba;
  const sum = tg.traced(residualSum);
  const scope = { sum, p, obs, features, cams: ba.cams, points: ba.points, weights: ba.weights };
  const ofDeltas = tg.traced((deltas) => sum(p, deltas, cams, points, weights, obs, features), scope);
  const pattern = baJacobianPattern(n, m, p, obs);
  const deltas = new Float64Array(pattern.cols.length); // zeros: the Jacobian at the parameters themselves
  const values = preallocated ? new Float64Array(pattern.cols.length) : null;
  const jacobian = (cams, points, weights) => {
    Object.assign(scope, { cams, points, weights });
    const [vals] = values !== null ? tg.gradientInto([values], ofDeltas, deltas) : tg.gradient(ofDeltas, deltas);
    return { ...pattern, vals };
  };
  const tiers = () => ({ residuals: tg.tierOf(ofDeltas) });
  return { pattern, jacobian, tiers };
}
