// The colour example: ΔE00 gradients with respect to RGB structs against Richardson finite differences (hue-branch kinks detected and skipped), and the gamut-mapping descent against a brute-force grid search.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gradient, isTraced } from '../../dist/index.js';
import { assertClose, numericGradient } from '../helpers/reference.mjs';
import * as plain from '../../examples/ciede2000.mjs';
import { mulberry32 } from '../../examples/lib/random.mjs';
import {
  main, colourDifference, distanceTo, labToSrgb, clip, descend, gridSearch, reading, SPOT_COLOURS,
} from '../../examples/colour.mjs';

const CHANNELS = ['r', 'g', 'b'];
const inGamut = ({ r, g, b }) => [r, g, b].every((v) => v >= 0 && v <= 1);

/**
 * Whether f(colour) has a kink or a jump within ±h of `colour` along any channel: the one-sided slopes over h and
 * over h/2 should agree to first order in h where f is smooth; CIEDE2000's hue branches (|Δh'| = 180°, where the mean
 * hue jumps by 180°) break that.
 */
function kinked(f, colour, h = 1e-4) {
  return CHANNELS.some((c) => {
    const at = (v) => f({ ...colour, [c]: v });
    const slopes = [h, h / 2].map((s) => [(at(colour[c] + s) - at(colour[c])) / s, (at(colour[c]) - at(colour[c] - s)) / s]);
    const [[forward, backward], [forwardHalf, backwardHalf]] = slopes;
    // smooth: forward − backward ≈ f''·h, so halving h halves it; a kink keeps it, a jump doubles it
    return Math.abs(forward - backward) > 1e-3 && Math.abs(forwardHalf - backwardHalf) > 0.6 * Math.abs(forward - backward);
  });
}

test('the example loads ciede2000.mjs through the module loader: traced, with the same values as the plain module', (t) => {
  t.true(isTraced(colourDifference));
  t.false(isTraced(plain.colourDifference));
  const a = { r: 0.2, g: 0.6, b: 0.3 }, b = { r: 0.7, g: 0.1, b: 0.5 };
  t.is(colourDifference(a, b), plain.colourDifference(a, b));
});

test('∂ΔE00/∂(r, g, b) of both colours matches Richardson finite differences at random pairs away from kinks', (t) => {
  const uniform = mulberry32(2000);
  // channels in [0.1, 0.9]: away from the sRGB curve's linear segment (below 0.04045) and the cube's faces
  const colour = () => ({ r: 0.1 + 0.8 * uniform(), g: 0.1 + 0.8 * uniform(), b: 0.1 + 0.8 * uniform() });
  let checked = 0;
  for (let k = 0; k < 12; k++) {
    const a = colour(), b = colour();
    if (kinked((x) => plain.colourDifference(x, b), a) || kinked((x) => plain.colourDifference(a, x), b)) continue;
    assertClose(t, gradient(colourDifference, a, b), numericGradient(plain.colourDifference, a, b), { rtol: 1e-6, atol: 1e-8, message: `pair ${k}` });
    checked++;
  }
  t.true(checked >= 10, `${checked} of 12 pairs were smooth`);
});

test('the kink detector finds CIEDE2000\'s hue-branch jump, and passes a smooth point beside it', (t) => {
  // a reddish colour against colours c(s) whose hue turns through the opposite side of the circle: somewhere |Δh'| = 180°
  const red = { r: 0.7, g: 0.35, b: 0.35 };
  const opposite = (s) => ({ r: 0.35, g: 0.5 + s, b: 0.5 - s });
  const f = (s) => plain.colourDifference(red, opposite(s));
  // the jump: the largest change of ΔE00 between neighbouring samples, narrowed down by bisection
  let lo = -0.15, hi = 0.15;
  const samples = Array.from({ length: 301 }, (_v, i) => lo + ((hi - lo) * i) / 300);
  const jumps = samples.slice(1).map((s, i) => Math.abs(f(s) - f(samples[i])));
  const at = jumps.indexOf(Math.max(...jumps));
  [lo, hi] = [samples[at], samples[at + 1]];
  t.true(Math.max(...jumps) > 0.01, 'ΔE00 jumps where the mean hue flips');
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2;
    if (Math.abs(f(mid) - f(lo)) > Math.abs(f(hi) - f(mid))) hi = mid;
    else lo = mid;
  }
  const nearJump = opposite((lo + hi) / 2);
  t.true(kinked((x) => plain.colourDifference(red, x), nearJump));
  t.false(kinked((x) => plain.colourDifference(red, x), opposite(lo - 0.05)), 'a little way off it is smooth');
  // AD differentiates the branch it is on: away from the jump it agrees with finite differences
  const smooth = opposite(lo - 0.05);
  assertClose(t, gradient(colourDifference, red, smooth)[1], numericGradient((x) => plain.colourDifference(red, x), smooth)[0], { rtol: 1e-6, atol: 1e-8 });
});

test('∂ΔE00(target, x)/∂x for out-of-gamut targets matches Richardson finite differences', (t) => {
  let checked = 0;
  for (const [name, target] of SPOT_COLOURS) {
    const start = clip(labToSrgb(target));
    // inside the cube near the clipped colour, so that both one-sided differences exist
    const x = { r: 0.05 + 0.9 * start.r, g: 0.05 + 0.9 * start.g, b: 0.05 + 0.9 * start.b };
    if (kinked((c) => plain.ciede2000(target, plain.srgbToLab(c)), x)) continue;
    assertClose(t, gradient(distanceTo, target, x)[1], numericGradient((c) => plain.ciede2000(target, plain.srgbToLab(c)), x)[0], { rtol: 1e-6, atol: 1e-8, message: name });
    checked++;
  }
  t.true(checked >= SPOT_COLOURS.size - 1, `${checked} of ${SPOT_COLOURS.size} points were smooth`);
});

test('labToSrgb inverts srgbToLab; every spot colour is outside the sRGB gamut', (t) => {
  const uniform = mulberry32(9);
  for (let k = 0; k < 20; k++) {
    const c = { r: uniform(), g: uniform(), b: uniform() };
    // the two published matrices are inverses to about 7 digits
    assertClose(t, labToSrgb(plain.srgbToLab(c)), c, { rtol: 0, atol: 1e-5 });
  }
  for (const [name, target] of SPOT_COLOURS) t.false(inGamut(labToSrgb(target)), name);
});

test('an in-gamut target: the descent finds the colour itself (ΔE00 → 0)', (t) => {
  const colour = { r: 0.3, g: 0.6, b: 0.8 };
  const run = descend(plain.srgbToLab(colour), { r: 0.5, g: 0.5, b: 0.5 }, { minStep: 1e-6 });
  t.true(run.deltaE < 0.01, `ΔE00 ${run.deltaE}`);
  assertClose(t, run.colour, colour, { rtol: 0, atol: 2e-3 });
});

/** Random vivid CIELAB colours outside the sRGB gamut. */
function randomOutOfGamut(uniform, count) {
  const targets = [];
  while (targets.length < count) {
    const hue = 2 * Math.PI * uniform(), chroma = 60 + 60 * uniform();
    const target = { L: 20 + 70 * uniform(), a: chroma * Math.cos(hue), b: chroma * Math.sin(hue) };
    if (!inGamut(labToSrgb(target))) targets.push(target);
  }
  return targets;
}

test('the descent from the clipped colour reaches the brute-force grid optimum for random out-of-gamut targets, and beats clipping', (t) => {
  const targets = [...SPOT_COLOURS.values(), ...randomOutOfGamut(mulberry32(31), 8)];
  for (const target of targets) {
    const start = clip(labToSrgb(target));
    const run = descend(target, start);
    const grid = gridSearch(target, { divisions: 24 });
    const label = `L ${target.L.toFixed(1)} a ${target.a.toFixed(1)} b ${target.b.toFixed(1)}`;
    // the grid's finest cells are 1/(24·256) wide: the descent may beat it a little, never lose to it
    t.true(run.deltaE <= grid.deltaE + 1e-4, `${label}: descent ${run.deltaE}, grid ${grid.deltaE}`);
    t.true(grid.deltaE <= run.deltaE + 1e-3, `${label}: grid ${grid.deltaE} close to descent ${run.deltaE}`);
    assertClose(t, run.colour, grid.colour, { rtol: 0, atol: 2e-3, message: label });
    t.true(inGamut(run.colour));
    t.true(run.deltaE <= plain.ciede2000(target, plain.srgbToLab(start)), `${label}: no worse than clipping`);
    // at the optimum: free channels have derivative ≈ 0, and a channel at a bound is pushed outwards
    for (const c of CHANNELS) {
      if (run.colour[c] > 0 && run.colour[c] < 1) t.true(Math.abs(run.gradient[c]) < 0.05, `${label}: ∂/∂${c} = ${run.gradient[c]} at ${run.colour[c]}`);
      else t.true(run.colour[c] === 0 ? run.gradient[c] >= 0 : run.gradient[c] <= 0, `${label}: ${c} at a bound, pushed outwards`);
    }
  }
});

test('reading: what the gradient says per channel', (t) => {
  t.deepEqual(reading({ r: 0, g: 1, b: 0.4 }, { r: 2, g: -3, b: 0.0001 }), [
    'red would fall (∂ΔE/∂r = 2.0) but is at 0',
    'green would rise (∂ΔE/∂g = -3.0) but is at 1',
    'blue settled at 0.400',
  ]);
  t.deepEqual(reading({ r: 0.5, g: 0.5, b: 0 }, { r: 1.5, g: -2, b: -1 }), ['lower red (∂ΔE/∂r = 1.5)', 'raise green (∂ΔE/∂g = -2.0)', 'raise blue (∂ΔE/∂b = -1.0)']);
});

test('main (quick): every colour matches its grid search and improves on clipping; the descent is plotted; quiet prints nothing', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tracegrad-colour-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'descent.svg'), lines = [];
  const result = main({ quick: true, out, log: (s) => lines.push(s), stream: { isTTY: false, write() {} } });
  t.is(result.results.length, 5);
  t.true(result.worstGap <= 1e-4, `worst gap ${result.worstGap}`);
  for (const r of result.results) t.true(r.deltaE < r.clippedDeltaE - 0.05, `${r.name}: ${r.clippedDeltaE} → ${r.deltaE}`);
  t.not(result.tier, 'compiled');
  t.true(lines.some((s) => s.includes(out)));
  const svg = readFileSync(out, 'utf8');
  t.is(svg.match(/points="([^"]*)"/)[1].trim().split(/\s+/).length, result.results[0].evaluations, 'one point per gradient evaluation');

  const quiet = [], writes = [];
  main({ quick: true, out: null, quiet: true, log: (s) => quiet.push(s), stream: { isTTY: true, write: (s) => writes.push(s) } });
  t.deepEqual(quiet, []);
  t.deepEqual(writes, []);
});
