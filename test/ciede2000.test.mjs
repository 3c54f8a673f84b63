// Tests of the plain-JS CIEDE2000 example against published reference data.
import test from 'ava';
import { ciede2000, colourDifference, srgbToLab } from '../examples/ciede2000.mjs';
import { assertClose } from './helpers/reference.mjs';

// Sharma, Wu & Dalal (2005), Table 1: all 34 pairs as [L1, a1, b1, L2, a2, b2, ΔE00].
const SHARMA_PAIRS = [
  [50.0, 2.6772, -79.7751, 50.0, 0.0, -82.7485, 2.0425],
  [50.0, 3.1571, -77.2803, 50.0, 0.0, -82.7485, 2.8615],
  [50.0, 2.8361, -74.02, 50.0, 0.0, -82.7485, 3.4412],
  [50.0, -1.3802, -84.2814, 50.0, 0.0, -82.7485, 1.0],
  [50.0, -1.1848, -84.8006, 50.0, 0.0, -82.7485, 1.0],
  [50.0, -0.9009, -85.5211, 50.0, 0.0, -82.7485, 1.0],
  [50.0, 0.0, 0.0, 50.0, -1.0, 2.0, 2.3669],
  [50.0, -1.0, 2.0, 50.0, 0.0, 0.0, 2.3669],
  [50.0, 2.49, -0.001, 50.0, -2.49, 0.0009, 7.1792],
  [50.0, 2.49, -0.001, 50.0, -2.49, 0.001, 7.1792],
  [50.0, 2.49, -0.001, 50.0, -2.49, 0.0011, 7.2195],
  [50.0, 2.49, -0.001, 50.0, -2.49, 0.0012, 7.2195],
  [50.0, -0.001, 2.49, 50.0, 0.0009, -2.49, 4.8045],
  [50.0, -0.001, 2.49, 50.0, 0.001, -2.49, 4.8045],
  [50.0, -0.001, 2.49, 50.0, 0.0011, -2.49, 4.7461],
  [50.0, 2.5, 0.0, 50.0, 0.0, -2.5, 4.3065],
  [50.0, 2.5, 0.0, 73.0, 25.0, -18.0, 27.1492],
  [50.0, 2.5, 0.0, 61.0, -5.0, 29.0, 22.8977],
  [50.0, 2.5, 0.0, 56.0, -27.0, -3.0, 31.903],
  [50.0, 2.5, 0.0, 58.0, 24.0, 15.0, 19.4535],
  [50.0, 2.5, 0.0, 50.0, 3.1736, 0.5854, 1.0],
  [50.0, 2.5, 0.0, 50.0, 3.2972, 0.0, 1.0],
  [50.0, 2.5, 0.0, 50.0, 1.8634, 0.5757, 1.0],
  [50.0, 2.5, 0.0, 50.0, 3.2592, 0.335, 1.0],
  [60.2574, -34.0099, 36.2677, 60.4626, -34.1751, 39.4387, 1.2644],
  [63.0109, -31.0961, -5.8663, 62.8187, -29.7946, -4.0864, 1.263],
  [61.2901, 3.7196, -5.3901, 61.4292, 2.248, -4.962, 1.8731],
  [35.0831, -44.1164, 3.7933, 35.0232, -40.0716, 1.5901, 1.8645],
  [22.7233, 20.0904, -46.694, 23.0331, 14.973, -42.5619, 2.0373],
  [36.4612, 47.858, 18.3852, 36.2715, 50.5065, 21.2231, 1.4146],
  [90.8027, -2.0831, 1.441, 91.1528, -1.6435, 0.0447, 1.4441],
  [90.9257, -0.5406, -0.9208, 88.6381, -0.8985, -0.7239, 1.5381],
  [6.7747, -0.2908, -2.4247, 5.8714, -0.0985, -2.2286, 0.6377],
  [2.0776, 0.0795, -1.135, 0.9033, -0.0636, -0.5514, 0.9082],
];

SHARMA_PAIRS.forEach(([L1, a1, b1, L2, a2, b2, expected], index) => {
  test(`ciede2000 matches Sharma et al. pair ${index + 1}`, (t) => {
    const lab1 = { L: L1, a: a1, b: b1 };
    const lab2 = { L: L2, a: a2, b: b2 };
    // The published values are rounded to 4 decimals.
    assertClose(t, ciede2000(lab1, lab2), expected, { rtol: 0, atol: 5e-5 });
    // ΔE00 is symmetric in its arguments.
    assertClose(t, ciede2000(lab2, lab1), expected, { rtol: 0, atol: 5e-5 });
  });
});

test('ciede2000 of a colour with itself is zero', (t) => {
  t.is(ciede2000({ L: 40, a: 12, b: -7 }, { L: 40, a: 12, b: -7 }), 0);
});

test('srgbToLab maps pure red to its published CIELAB coordinates', (t) => {
  assertClose(t, srgbToLab({ r: 1, g: 0, b: 0 }), { L: 53.2408, a: 80.0925, b: 67.2032 }, { rtol: 0, atol: 1e-3 });
});

test('srgbToLab maps white to L = 100, a = b = 0 and black to the origin', (t) => {
  assertClose(t, srgbToLab({ r: 1, g: 1, b: 1 }), { L: 100, a: 0, b: 0 }, { rtol: 0, atol: 1e-3 });
  assertClose(t, srgbToLab({ r: 0, g: 0, b: 0 }), { L: 0, a: 0, b: 0 }, { rtol: 0, atol: 1e-12 });
});

test('srgbToLab of a mid grey is neutral with the expected lightness', (t) => {
  // 0.5 companded -> 0.2140 linear; L = 116 * cbrt(0.2140) - 16 ≈ 53.3890.
  assertClose(t, srgbToLab({ r: 0.5, g: 0.5, b: 0.5 }), { L: 53.3890, a: 0, b: 0 }, { rtol: 0, atol: 1e-3 });
});

test('colourDifference composes srgbToLab and ciede2000', (t) => {
  const red = { r: 1, g: 0, b: 0 };
  const orange = { r: 1, g: 0.5, b: 0 };
  t.is(colourDifference(red, orange), ciede2000(srgbToLab(red), srgbToLab(orange)));
  t.true(colourDifference(red, orange) > 0);
  t.is(colourDifference(red, red), 0);
});
