// Interleaved A/B of one workload's gradient (Rosenbrock, evalpoly, the sum loop, GMM, BA, a norm) between two builds of tracegrad: for compiler changes too small for a single benchmark run to show on a noisy machine.
//
// Usage: node bench/ab.mjs <rootA> <rootB> <rosenbrock|evalpoly|sumloop|gmm2|gmm10|ba|norm> [processes per build = 6]
//   Each root is a checkout (or a copy) with dist/ built (e.g. `git worktree add ../old <commit>` and
//   `npx tsc -p tsconfig.json` there, with node_modules linked). The builds alternate process by process (A B, B A,
//   ...); each process warms the gradient up, times 9 rounds and prints its median round in ms; the parent prints
//   each build's median of those and B ÷ A. GMM and BA read ../shared/adbench (as bench/gmm.mjs and adbench.mjs do).
//   The gradients allocate their results (BA's Jacobian 8 MB a call: gradient, which older builds have too;
//   bench/adbench.mjs uses gradientInto), which glibc serves from fresh pages or from its heap from process to
//   process: the children run with harness.mjs's GLIBC_TUNABLES (STEADY_MALLOC) unless it is set already.
import { resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { abProcesses, median } from './lib/harness.mjs';

const WORKLOADS = ['rosenbrock', 'evalpoly', 'sumloop', 'gmm2', 'gmm10', 'ba', 'norm'];
const DATA = new URL('../../shared/adbench/', import.meta.url);

/** The gradient call of one workload with build `tg`, and how many calls a round makes. */
async function workload(tg, name) {
  if (['rosenbrock', 'evalpoly', 'sumloop'].includes(name)) {
    const W = (await import(`./workloads/${name}.mjs`)).default;
    const f = tg.traced(W.primal);
    const args = W.args(W.n);
    return { call: () => tg.gradient(f, ...args), perRound: 100 };
  }
  if (name === 'norm') {
    // an accumulation read only after its loop: ‖x‖·‖x‖² over 10⁶ entries, into a kept buffer where the build has gradientInto
    const f = tg.traced((x) => { let sq = 0; for (let i = 0; i < x.length; i++) sq += x[i] * x[i]; return Math.sqrt(sq) * sq; });
    const x = Float64Array.from({ length: 1e6 }, (_v, i) => Math.cos(i));
    const g = new Float64Array(x.length);
    return { call: tg.gradientInto ? () => tg.gradientInto([g], f, x) : () => tg.gradient(f, x), perRound: 4 };
  }
  if (name === 'ba') {
    const { loadBa, baJacobianBuilder } = await import('./adbench/ba.mjs');
    const ba = loadBa(new URL('ba/ba1_n49_m7776_p31843.txt', DATA));
    const builder = baJacobianBuilder(tg, ba, { preallocated: false }); // gradient: what every build has
    return { call: () => builder.jacobian(ba.cams, ba.points, ba.weights), perRound: 4 };
  }
  const { loadGmm, tracedGmm } = await import('./adbench/gmm.mjs');
  const g = loadGmm(new URL(name === 'gmm2' ? 'gmm/1k/gmm_d2_K5.txt' : 'gmm/1k/gmm_d10_K5.txt', DATA));
  const gmm = tracedGmm(tg.traced);
  const { d, k, n, x, gamma, m } = g;
  // ADBench's setting, as bench/gmm.mjs's "params only": the data closed over
  const f = tg.traced((alphas, means, icf) => gmm(d, k, n, alphas, means, icf, x, gamma, m), { gmm, d, k, n, x, gamma, m });
  return { call: () => tg.gradient(f, g.alphas, g.means, g.icf), perRound: name === 'gmm2' ? 20 : 4 };
}

if (process.argv[2] === '--child') {
  const tg = createRequire(import.meta.url)(resolve(process.argv[3], 'dist/index.js'));
  const { call, perRound } = await workload(tg, process.argv[4]);
  const end = performance.now() + 1500; // compiled code runs its first ~100 calls before V8 has optimised it
  while (performance.now() < end) call();
  const rounds = [];
  for (let r = 0; r < 9; r++) {
    const t = performance.now();
    for (let i = 0; i < perRound; i++) call();
    rounds.push((performance.now() - t) / perRound);
  }
  console.log(median(rounds));
} else {
  const [a, b] = process.argv.slice(2, 4).map((r) => resolve(r ?? ''));
  const name = process.argv[4];
  if (!process.argv[3] || !WORKLOADS.includes(name)) {
    console.error(`usage: node bench/ab.mjs <rootA> <rootB> <${WORKLOADS.join('|')}> [processes per build]`);
    process.exit(2);
  }
  abProcesses(fileURLToPath(import.meta.url), [a, b], [name], Number(process.argv[5] ?? 6));
}
