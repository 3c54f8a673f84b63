// ADBench GMM objective (Gaussian mixture log-likelihood with a Wishart prior): file loader and a plain-JS objective in tracegrad's compiled-tier subset.
//
// Data files (ADBench format, MIT license: see LICENSE.ADBench.txt next to this file) are plain whitespace-separated
// numbers: `d k n`, k alphas, k lines of means (d each), k lines of icf (d(d+1)/2 each), n points (d each), `gamma m`.
// ADBench's full-size files list all n points; its "replicated point" variant lists fewer lines than n and reuses them,
// which the loader handles by cycling through the points that are present (none of the files used here need it).

import { readFileSync } from 'node:fs';

/**
 * Reads an ADBench GMM instance.
 * @param {string | URL} path
 * @returns {{d: number, k: number, n: number, alphas: Float64Array, means: Float64Array, icf: Float64Array,
 *   x: Float64Array, gamma: number, m: number}}
 */
export function loadGmm(path) {
  const lines = readFileSync(path, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  const nums = (l) => l.split(/\s+/).map(Number);
  let at = 0;
  const [d, k, n] = nums(lines[at++]);
  if (![d, k, n].every((v) => Number.isInteger(v) && v > 0)) throw new Error(`${path}: bad header "${lines[0]}"`);
  const icfSize = (d * (d + 1)) / 2;
  // Reads `count` lines of `width` numbers each into one row-major Float64Array.
  const block = (count, width, what) => {
    const out = new Float64Array(count * width);
    for (let r = 0; r < count; r++) {
      const row = nums(lines[at++] ?? '');
      if (row.length !== width || row.some(Number.isNaN)) {
        throw new Error(`${path}: ${what} row ${r} has ${row.length} numbers, expected ${width}`);
      }
      out.set(row, r * width);
    }
    return out;
  };
  const alphas = block(k, 1, 'alpha');
  const means = block(k, d, 'mean');
  const icf = block(k, icfSize, 'icf');
  // The points run up to the last line, which holds `gamma m`.
  const pointLines = lines.length - 1 - at;
  if (pointLines < 1 || pointLines > n) throw new Error(`${path}: ${pointLines} point lines for n = ${n}`);
  const listed = block(pointLines, d, 'point');
  const x = new Float64Array(n * d);
  for (let i = 0; i < n; i++) x.set(listed.subarray((i % pointLines) * d, (i % pointLines + 1) * d), i * d);
  const tail = nums(lines[at]);
  if (tail.length !== 2 || tail.some(Number.isNaN)) throw new Error(`${path}: last line "${lines[at]}" is not "gamma m"`);
  const [gamma, m] = tail;
  return { d, k, n, alphas, means, icf, x, gamma, m };
}

/**
 * The ADBench GMM objective
 *   err = −n·d/2·log(2π) + Σᵢ LSE_k(α_k + Σq_k − ½‖Q_k(xᵢ−μ_k)‖²) − n·LSE(α)
 *         + Σ_k[½γ²(‖exp(q_k)‖² + ‖l_k‖²) − m·Σq_k] − k·C,
 *   C = n′d(log γ − ½ log 2) − logΓ_d(n′/2),  n′ = d + m + 1,
 *   logΓ_d(a) = d(d−1)/4·log π + Σ_{j=1..d} lgamma(a + (1−j)/2),
 * with Q_k = diag(exp q_k) + L_k built from icf (d log-diagonal entries, then the strictly lower part column by column),
 * and π = 3.14159265359 as in ADBench. Written as a single C-like function (no calls but Math.*, writes only into
 * local Float64Arrays, no break/continue/?:) so that tracegrad's compiled tier can take it.
 */
export function gmmObjective(d, k, n, alphas, means, icf, x, gamma, m) {
  const icfSize = d * (d + 1) / 2;
  const sumQs = new Float64Array(k); // Σ_j q_k[j] per component (log det Q_k)
  const Qdiags = new Float64Array(k * d); // exp(q_k): the diagonal of Q_k, computed once per component as ADBench does
  const xc = new Float64Array(d); // x_i − μ_k
  const Qxc = new Float64Array(d); // Q_k (x_i − μ_k)
  const mainTerm = new Float64Array(k); // α_k + Σq_k − ½‖Q_k(x_i − μ_k)‖² for the current point
  const PI = 3.14159265359;

  for (let ik = 0; ik < k; ik++) {
    let s = 0;
    for (let id = 0; id < d; id++) {
      s += icf[ik * icfSize + id];
      Qdiags[ik * d + id] = Math.exp(icf[ik * icfSize + id]);
    }
    sumQs[ik] = s;
  }

  let slse = 0;
  for (let ix = 0; ix < n; ix++) {
    for (let ik = 0; ik < k; ik++) {
      for (let id = 0; id < d; id++) xc[id] = x[ix * d + id] - means[ik * d + id];
      // Q·v with Q lower triangular: the diagonal exp(q) times v, then column i of L (rows j > i) times v[i].
      for (let id = 0; id < d; id++) Qxc[id] = Qdiags[ik * d + id] * xc[id];
      let lidx = d;
      for (let i = 0; i < d; i++) {
        for (let j = i + 1; j < d; j++) {
          Qxc[j] += icf[ik * icfSize + lidx] * xc[i];
          lidx += 1;
        }
      }
      let sq = 0;
      for (let id = 0; id < d; id++) sq += Qxc[id] * Qxc[id];
      mainTerm[ik] = alphas[ik] + sumQs[ik] - 0.5 * sq;
    }
    // log-sum-exp over components, shifted by the maximum
    let mx = mainTerm[0];
    for (let ik = 1; ik < k; ik++) {
      if (mainTerm[ik] > mx) mx = mainTerm[ik];
    }
    let se = 0;
    for (let ik = 0; ik < k; ik++) se += Math.exp(mainTerm[ik] - mx);
    slse += Math.log(se) + mx;
  }

  // log-sum-exp of the alphas
  let amx = alphas[0];
  for (let ik = 1; ik < k; ik++) {
    if (alphas[ik] > amx) amx = alphas[ik];
  }
  let ase = 0;
  for (let ik = 0; ik < k; ik++) ase += Math.exp(alphas[ik] - amx);
  const lseAlphas = Math.log(ase) + amx;

  // Wishart prior: ½γ²(‖exp(q_k)‖² + ‖l_k‖²) − m·Σq_k, summed over components
  let prior = 0;
  for (let ik = 0; ik < k; ik++) {
    let frob = 0;
    for (let id = 0; id < d; id++) {
      const e = Math.exp(icf[ik * icfSize + id]);
      frob += e * e;
    }
    for (let il = d; il < icfSize; il++) {
      const l = icf[ik * icfSize + il];
      frob += l * l;
    }
    prior += 0.5 * gamma * gamma * frob - m * sumQs[ik];
  }

  // Normalising constant C = n′d(log γ − ½ log 2) − logΓ_d(n′/2), logΓ_d(a) = d(d−1)/4·log π + Σ_j lgamma(a + (1 − j)/2)
  const nPrime = d + m + 1;
  const half = 0.5 * nPrime;
  let lmg = 0.25 * d * (d - 1) * Math.log(PI);
  for (let j = 1; j <= d; j++) lmg += lgamma(half + 0.5 * (1 - j));
  const C = nPrime * d * (Math.log(gamma) - 0.5 * Math.log(2)) - lmg;

  return -n * d * 0.5 * Math.log(2 * PI) + slse - n * lseAlphas + prior - k * C;
}

/**
 * The GMM objective and its gradient with respect to alphas, means and icf, written by hand (the benchmark's
 * hand-written reference, as ADBench's "Manual" C++ is): per point, the forward sweep over components keeps
 * x − μ_k and Q_k(x − μ_k), then the backward sweep sends the log-sum-exp's weights w_k = exp(main_k − lse) through
 *   ∂main_k/∂α_k = 1,  ∂main_k/∂q_kj = 1 (Σq) − (Qxc)_j·exp(q_kj)·xc_j (the diagonal),
 *   ∂main_k/∂L_k[j,i] = −(Qxc)_j·xc_i,  ∂main_k/∂μ_k = Q_kᵀ Q_k (x − μ_k);
 * then −n·LSE(α) gives −n·softmax(α), and the prior γ²·exp(2q) − m on the diagonal and γ²·l below it.
 * @returns {{value: number, grad: [Float64Array, Float64Array, Float64Array]}} ∂err/∂alphas, ∂err/∂means, ∂err/∂icf
 */
export function gmmGradient(d, k, n, alphas, means, icf, x, gamma, m) {
  const icfSize = d * (d + 1) / 2;
  const gAlphas = new Float64Array(k), gMeans = new Float64Array(k * d), gIcf = new Float64Array(k * icfSize);
  const sumQs = new Float64Array(k);
  const Qdiags = new Float64Array(k * d);
  const gQdiags = new Float64Array(k * d); // ∂/∂exp(q_kj), turned into ∂/∂q_kj at the end
  const xcs = new Float64Array(k * d); // x_i − μ_k, each component's, for the backward sweep
  const Qxcs = new Float64Array(k * d); // Q_k (x_i − μ_k)
  const mainTerm = new Float64Array(k);
  const gQxc = new Float64Array(d);
  const gxc = new Float64Array(d);
  const PI = 3.14159265359;

  for (let ik = 0; ik < k; ik++) {
    let s = 0;
    for (let id = 0; id < d; id++) {
      s += icf[ik * icfSize + id];
      Qdiags[ik * d + id] = Math.exp(icf[ik * icfSize + id]);
    }
    sumQs[ik] = s;
  }

  let slse = 0;
  for (let ix = 0; ix < n; ix++) {
    for (let ik = 0; ik < k; ik++) {
      const o = ik * d;
      for (let id = 0; id < d; id++) xcs[o + id] = x[ix * d + id] - means[o + id];
      for (let id = 0; id < d; id++) Qxcs[o + id] = Qdiags[o + id] * xcs[o + id];
      let lidx = ik * icfSize + d;
      for (let i = 0; i < d; i++) {
        const xi = xcs[o + i];
        for (let j = i + 1; j < d; j++) Qxcs[o + j] += icf[lidx++] * xi;
      }
      let sq = 0;
      for (let id = 0; id < d; id++) sq += Qxcs[o + id] * Qxcs[o + id];
      mainTerm[ik] = alphas[ik] + sumQs[ik] - 0.5 * sq;
    }
    let mx = mainTerm[0];
    for (let ik = 1; ik < k; ik++) if (mainTerm[ik] > mx) mx = mainTerm[ik];
    let se = 0;
    for (let ik = 0; ik < k; ik++) se += Math.exp(mainTerm[ik] - mx);
    slse += Math.log(se) + mx;

    // backward: ∂lse/∂main_k = w_k
    for (let ik = 0; ik < k; ik++) {
      const w = Math.exp(mainTerm[ik] - mx) / se;
      const o = ik * d;
      gAlphas[ik] += w;
      for (let id = 0; id < d; id++) gIcf[ik * icfSize + id] += w; // Σq
      for (let id = 0; id < d; id++) gQxc[id] = -w * Qxcs[o + id]; // −½‖Qxc‖²
      for (let id = 0; id < d; id++) {
        gQdiags[o + id] += gQxc[id] * xcs[o + id];
        gxc[id] = gQxc[id] * Qdiags[o + id];
      }
      let lidx = ik * icfSize + d;
      for (let i = 0; i < d; i++) {
        const xi = xcs[o + i];
        let gxi = gxc[i];
        for (let j = i + 1; j < d; j++) {
          gIcf[lidx] += gQxc[j] * xi;
          gxi += gQxc[j] * icf[lidx];
          lidx++;
        }
        gxc[i] = gxi;
      }
      for (let id = 0; id < d; id++) gMeans[o + id] -= gxc[id];
    }
  }
  for (let e = 0; e < k * d; e++) gIcf[Math.floor(e / d) * icfSize + (e % d)] += gQdiags[e] * Qdiags[e];

  let amx = alphas[0];
  for (let ik = 1; ik < k; ik++) if (alphas[ik] > amx) amx = alphas[ik];
  let ase = 0;
  for (let ik = 0; ik < k; ik++) ase += Math.exp(alphas[ik] - amx);
  const lseAlphas = Math.log(ase) + amx;
  for (let ik = 0; ik < k; ik++) gAlphas[ik] -= n * Math.exp(alphas[ik] - lseAlphas);

  let prior = 0;
  for (let ik = 0; ik < k; ik++) {
    let frob = 0;
    for (let id = 0; id < d; id++) {
      const e = Qdiags[ik * d + id];
      frob += e * e;
      gIcf[ik * icfSize + id] += gamma * gamma * e * e - m;
    }
    for (let il = d; il < icfSize; il++) {
      const l = icf[ik * icfSize + il];
      frob += l * l;
      gIcf[ik * icfSize + il] += gamma * gamma * l;
    }
    prior += 0.5 * gamma * gamma * frob - m * sumQs[ik];
  }

  const nPrime = d + m + 1;
  const half = 0.5 * nPrime;
  let lmg = 0.25 * d * (d - 1) * Math.log(PI);
  for (let j = 1; j <= d; j++) lmg += lgamma(half + 0.5 * (1 - j));
  const C = nPrime * d * (Math.log(gamma) - 0.5 * Math.log(2)) - lmg;
  const value = -n * d * 0.5 * Math.log(2 * PI) + slse - n * lseAlphas + prior - k * C;
  return { value, grad: [gAlphas, gMeans, gIcf] };
}

/**
 * lgamma(z) for z > 0 (C's lgamma, which ADBench calls): lgamma(z) = lgamma(z + s) − log Π_{t<s}(z + t) with
 * z + s ≥ 10 (one log of the product rounds less than a sum of logs), then Stirling's series
 * lgamma(w) = (w − ½)log w − w + ½log(2π) + Σ_r B_{2r}/(2r(2r−1) w^{2r−1}); at w ≥ 10 the terms up to r = 8 leave a
 * truncation error below B_18/(18·17·w^17) ≈ 3e-17. Rounding in the O(10)-sized terms that cancel leaves ~2e-15
 * absolute; the test checks it against known values. Plain JS in the compiled subset: traced, it is inlined.
 */
export function lgamma(z) {
  let prod = 1;
  while (z < 10) {
    prod *= z;
    z += 1;
  }
  const w2 = 1 / (z * z);
  // Stirling-series coefficients B_{2r}/(2r(2r−1)), r = 1..8, in Horner form in 1/z²
  const series = (1 / 12 + w2 * (-1 / 360 + w2 * (1 / 1260 + w2 * (-1 / 1680 + w2 * (1 / 1188
    + w2 * (-691 / 360360 + w2 * (1 / 156 + w2 * (-3617 / 122400)))))))) / z;
  // ½log(2π) with the true π: lgamma is not part of ADBench's literal-π convention
  return -Math.log(prod) + ((z - 0.5) * Math.log(z) - z + 0.91893853320467274178 + series);
}

/**
 * gmmObjective traced for tracegrad: its helper lgamma goes in the scope, traced too (so the compiled tier inlines
 * it). `traced` is tracegrad's traced().
 */
export function tracedGmm(traced) {
  return traced(gmmObjective, { lgamma: traced(lgamma) });
}
