// The gradient of the CIEDE2000 colour difference with respect to an RGB struct { r, g, b }, used to bring a palette of out-of-gamut colours into sRGB by projected gradient descent. Run: node examples/colour.mjs
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { traced, withGradient, gradient, tierOf } from 'tracegrad';
import { progressBar } from './lib/progress.mjs';
import { writeLinePlot } from './lib/svg.mjs';
import * as plain from './ciede2000.mjs';

// examples/ciede2000.mjs is plain JavaScript that knows nothing of tracegrad. Instead of wrapping each of its helpers
// in traced(), load it through tracegrad's module loader, which rewrites every function of the module (as
// `node --import tracegrad/register` does): registering the hook here affects the modules imported after it. The query
// string gives this copy a URL of its own, so it goes through the hook although the plain module, imported above for
// the brute-force search (which needs no gradients), is already loaded.
await import('tracegrad/register');
const { srgbToLab, ciede2000, colourDifference } = await import(new URL('./ciede2000.mjs?traced', import.meta.url).href);

export { srgbToLab, ciede2000, colourDifference };

// The problem. A palette is specified in CIELAB (as print and brand colours are), and some of its colours lie outside
// what an sRGB screen can show. For each, we want the sRGB colour x ∈ [0,1]³ closest to it in ΔE00: the in-gamut
// substitute. The usual quick answer converts to sRGB and clips each channel to [0, 1], which ignores how ΔE00 weighs
// lightness, chroma and hue. Here x starts at the clipped colour and walks downhill on ΔE00(target, x), using its
// gradient with respect to x = { r, g, b }: projected gradient descent, each step a fixed distance in RGB against the
// gradient, without the components that push against a face of the cube x is on, the step halved whenever ΔE00
// would not go down. At the end, the gradient says what stops it: channels strictly inside (0, 1) have derivative
// ≈ 0, and each channel at 0 or 1 has a derivative pushing outwards, the direction in which the target lies beyond
// the gamut. A brute-force search over a grid of the whole cube checks the answer.
//
// (The other use one might try, snapping a colour to the nearest entry of an in-gamut palette by descending on a soft
// minimum of its ΔE00 to the entries, does not reproduce the brute-force answer reliably: the walk follows the RGB
// gradient, whose size varies a lot across colour space (ΔE00 weighs lightness, chroma and hue differently in each
// region, and jumps where the mean hue flips), so a path can cross into a neighbouring entry's region; about one
// random colour in ten, far from every entry, ends on the second-nearest entry.)

/**
 * CIELAB (D65) to sRGB, the inverse of srgbToLab up to the rounding of the published matrices. Channels of colours
 * outside the gamut fall outside [0, 1] (below 0 the linear segment is continued).
 */
export function labToSrgb({ L, a, b }) {
  const delta = 6 / 29;
  const expand = (f) => (f > delta ? f ** 3 : 3 * delta ** 2 * (f - 4 / 29));
  const fy = (L + 16) / 116;
  const x = 0.95047 * expand(fy + a / 500), y = expand(fy), z = 1.08883 * expand(fy - b / 200);
  const compand = (c) => (c <= 0.0031308 ? 12.92 * c : 1.055 * c ** (1 / 2.4) - 0.055);
  return {
    r: compand(3.2404542 * x - 1.5371385 * y - 0.4985314 * z),
    g: compand(-0.969266 * x + 1.8760108 * y + 0.041556 * z),
    b: compand(0.0556434 * x - 0.2040259 * y + 1.0572252 * z),
  };
}

/** A palette of vivid colours in CIELAB, every one outside the sRGB gamut (labToSrgb gives a channel outside [0, 1]). */
export const SPOT_COLOURS = new Map([
  ['laser green', { L: 85, a: -110, b: 85 }],
  ['turquoise', { L: 70, a: -70, b: -10 }],
  ['sky cyan', { L: 80, a: -60, b: -35 }],
  ['ultramarine', { L: 25, a: 60, b: -110 }],
  ['signal red', { L: 50, a: 90, b: 75 }],
  ['fluorescent pink', { L: 60, a: 95, b: -10 }],
  ['magenta', { L: 55, a: 100, b: -60 }],
  ['cadmium yellow', { L: 90, a: -5, b: 110 }],
  ['vivid orange', { L: 65, a: 60, b: 90 }],
]);

/** ΔE00 between a target in CIELAB and an sRGB colour: the function whose gradient with respect to `colour` we follow. */
export const distanceTo = traced(function distanceTo(target, colour) {
  return ciede2000(target, srgbToLab(colour));
}, { ciede2000, srgbToLab });

const clamp01 = (v) => Math.min(1, Math.max(0, v));
export const clip = ({ r, g, b }) => ({ r: clamp01(r), g: clamp01(g), b: clamp01(b) });
const CHANNELS = ['r', 'g', 'b'];

/**
 * Projected gradient descent on ΔE00(target, x) from `start`. Returns `{ colour, deltaE, gradient, evaluations,
 * path }`: where it stopped (the step fell below `minStep`), its ΔE00 and gradient there, how many gradients it took,
 * and ΔE00 after each.
 */
export function descend(target, start, { maxStep = 0.05, minStep = 1e-7, maxEvaluations = 500 } = {}) {
  let x = clip(start), step = maxStep;
  let { value, grad } = withGradient(distanceTo, target, x);
  const path = [value];
  while (step >= minStep && path.length < maxEvaluations) {
    const downhill = {};
    for (const c of CHANNELS) downhill[c] = (x[c] <= 0 && grad[1][c] > 0) || (x[c] >= 1 && grad[1][c] < 0) ? 0 : -grad[1][c];
    const norm = Math.hypot(downhill.r, downhill.g, downhill.b);
    if (!(norm > 0)) break; // a stationary point in the cube (or a non-finite gradient): nowhere downhill to go
    const next = clip({ r: x.r + (step * downhill.r) / norm, g: x.g + (step * downhill.g) / norm, b: x.b + (step * downhill.b) / norm });
    const tried = withGradient(distanceTo, target, next);
    if (tried.value < value) {
      [x, value, grad] = [next, tried.value, tried.grad];
      step = Math.min(1.25 * step, maxStep); // a halved step grows back while the walk keeps going downhill
    } else step /= 2;
    path.push(value);
  }
  return { colour: x, deltaE: value, gradient: grad[1], evaluations: path.length, path };
}

/**
 * Brute force, with the plain (untraced) module: ΔE00 at every point of a grid of `divisions`³ cells over the cube,
 * then `refinements` times a grid 16 times finer around the best point so far. Returns `{ colour, deltaE, evaluations }`.
 */
export function gridSearch(target, { divisions = 64, refinements = 2 } = {}) {
  let best = { colour: null, deltaE: Infinity }, evaluations = 0;
  const search = (centre, halfWidth, points) => {
    const axes = CHANNELS.map((c) => Array.from({ length: points }, (_v, i) => centre[c] - halfWidth + (2 * halfWidth * i) / (points - 1)).filter((v) => v >= 0 && v <= 1));
    for (const r of axes[0]) for (const g of axes[1]) for (const b of axes[2]) {
      const deltaE = plain.ciede2000(target, plain.srgbToLab({ r, g, b }));
      evaluations++;
      if (deltaE < best.deltaE) best = { colour: { r, g, b }, deltaE };
    }
  };
  search({ r: 0.5, g: 0.5, b: 0.5 }, 0.5, divisions + 1);
  for (let k = 0, cell = 1 / divisions; k < refinements; k++, cell /= 16) search(best.colour, cell, 33);
  return { ...best, evaluations };
}

/**
 * What the gradient at a colour says, per channel: a channel strictly inside (0, 1) can still move (its derivative
 * should be ≈ 0 at a minimum); one at a bound whose derivative pushes outwards is blocked by the gamut. `tolerance` is
 * the size of derivative (ΔE00 per unit of channel) counted as zero.
 */
export function reading(colour, grad, tolerance = 1e-3) {
  const names = { r: 'red', g: 'green', b: 'blue' };
  return CHANNELS.map((c) => {
    const blockedHigh = colour[c] >= 1 && grad[c] < -tolerance, blockedLow = colour[c] <= 0 && grad[c] > tolerance;
    if (blockedHigh) return `${names[c]} would rise (∂ΔE/∂${c} = ${grad[c].toFixed(1)}) but is at 1`;
    if (blockedLow) return `${names[c]} would fall (∂ΔE/∂${c} = ${grad[c].toFixed(1)}) but is at 0`;
    if (Math.abs(grad[c]) <= tolerance) return `${names[c]} settled at ${colour[c].toFixed(3)}`;
    return `${grad[c] > 0 ? 'lower' : 'raise'} ${names[c]} (∂ΔE/∂${c} = ${grad[c].toFixed(1)})`;
  });
}

const hex = ({ r, g, b }) => `#${[r, g, b].map((v) => Math.round(255 * clamp01(v)).toString(16).padStart(2, '0')).join('')}`;

/**
 * Map each palette colour into sRGB by clipping, by descent and by brute force. `quick` is the test-sized setting
 * (fewer colours, a coarser grid). Returns `{ results, worstGap, tier, seconds, out }`: per colour its name, target,
 * the clipped colour and its ΔE00, the descent's colour, ΔE00, gradient, reading and evaluations, and the grid
 * search's colour and ΔE00; the largest ΔE00(descent) − ΔE00(grid); and where the first colour's descent was plotted
 * (null with `out: null`).
 */
export function main({
  quick = false,
  palette = quick ? new Map([...SPOT_COLOURS].filter((_entry, i) => i % 2 === 0)) : SPOT_COLOURS,
  divisions = quick ? 24 : 64,
  out = join(tmpdir(), 'tracegrad-colour-descent.svg'),
  quiet = false,
  log = console.log,
  stream = process.stderr,
} = {}) {
  const say = quiet ? () => {} : log;
  const started = performance.now();
  const first = [...palette][0];
  // the gradient itself: at the clipped colour, which way each channel should move to get closer to the target
  const [, atClipped] = gradient(distanceTo, first[1], clip(labToSrgb(first[1])));
  const clipped = clip(labToSrgb(first[1]));
  say(`${first[0]}: at its clipped colour ${hex(clipped)}, ∂ΔE00/∂(r, g, b) = (${CHANNELS.map((c) => atClipped[c].toFixed(1)).join(', ')}): ${reading(clipped, atClipped).join('; ')}`);

  const bar = quiet ? null : progressBar(palette.size, { label: 'mapping ', stream });
  const results = [...palette].map(([name, target], i) => {
    const start = clip(labToSrgb(target));
    const run = descend(target, start);
    const grid = gridSearch(target, { divisions });
    bar?.update(i + 1, name);
    return {
      name, target, clipped: start, clippedDeltaE: plain.ciede2000(target, plain.srgbToLab(start)),
      colour: run.colour, deltaE: run.deltaE, gradient: run.gradient, reading: reading(run.colour, run.gradient),
      evaluations: run.evaluations, path: run.path, grid,
    };
  });
  const seconds = (performance.now() - started) / 1000;
  bar?.finish(`${palette.size} colours`);
  for (const r of results) {
    say(`${r.name.padEnd(17)} clipped ${hex(r.clipped)} ΔE00 ${r.clippedDeltaE.toFixed(2).padStart(5)} → descent ${hex(r.colour)} ΔE00 ${r.deltaE.toFixed(3)} in ${r.evaluations} gradients; grid search ${r.grid.deltaE.toFixed(3)}`);
    say(`${''.padEnd(19)}${r.reading.join('; ')}`);
  }
  const worstGap = Math.max(...results.map((r) => r.deltaE - r.grid.deltaE));
  say(`descent minus grid search, worst: ${worstGap.toExponential(2)} ΔE00 (the grid has ${divisions}³ cells, refined twice 16-fold); ${seconds.toFixed(1)} s`);
  // interpreted: distanceTo hands its object argument on whole, to functions the module loader rewrote (not made by
  // traced(), so not inlined), which build objects: all outside the compiled tier's subset
  const tier = tierOf(distanceTo);
  say(`tier of distanceTo: ${tier}`);
  if (out !== null) {
    writeLinePlot(out, results[0].path, { title: `Projected gradient descent towards ${results[0].name}`, xLabel: 'gradient evaluation', yLabel: 'ΔE00 to the target' });
    say(`descent plotted in ${out}`);
  }
  return { results, worstGap, tier, seconds, out };
}

if (import.meta.url === `file://${process.argv[1]}`) main();
