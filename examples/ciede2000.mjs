// CIEDE2000 colour difference between sRGB colours, written as plain JavaScript (an example input for tracegrad).
//
// References:
//   IEC 61966-2-1 (sRGB transfer function and primaries, D65 white).
//   CIE 15:2004 (XYZ -> CIELAB).
//   G. Sharma, W. Wu, E. N. Dalal, "The CIEDE2000 color-difference formula: implementation notes,
//   supplementary test data, and mathematical observations", Color Res. Appl. 30(1), 2005.
//
// Every function is a plain declaration whose only free references are Math and the helper
// functions below; all constants live inside the functions that use them.

function degreesToRadians(degrees) {
  return (degrees * Math.PI) / 180;
}

function radiansToDegrees(radians) {
  return (radians * 180) / Math.PI;
}

// sRGB electro-optical transfer function: companded channel value in [0, 1] -> linear light.
function srgbToLinear(channel) {
  if (channel <= 0.04045) {
    return channel / 12.92;
  }
  return ((channel + 0.055) / 1.055) ** 2.4;
}

// CIELAB companding f(t): cube root above (6/29)^3, linear segment below.
function labCompand(t) {
  const delta = 6 / 29;
  if (t > delta ** 3) {
    return Math.cbrt(t);
  }
  return t / (3 * delta ** 2) + 4 / 29;
}

// Hue angle in degrees, in [0, 360); defined as 0 for the achromatic point a = b = 0.
function hueAngle(b, aPrime) {
  if (b === 0 && aPrime === 0) {
    return 0;
  }
  const h = radiansToDegrees(Math.atan2(b, aPrime));
  return h < 0 ? h + 360 : h;
}

/**
 * sRGB colour (channels in [0, 1]) to CIELAB under the D65 white point.
 * @param {{r: number, g: number, b: number}} rgb
 * @returns {{L: number, a: number, b: number}}
 */
export function srgbToLab({ r, g, b }) {
  const red = srgbToLinear(r);
  const green = srgbToLinear(g);
  const blue = srgbToLinear(b);

  // Linear sRGB -> CIE XYZ (D65), Y of white = 1.
  const x = 0.4124564 * red + 0.3575761 * green + 0.1804375 * blue;
  const y = 0.2126729 * red + 0.7151522 * green + 0.072175 * blue;
  const z = 0.0193339 * red + 0.119192 * green + 0.9503041 * blue;

  // Normalise by the D65 reference white (Xn, Yn, Zn) = (0.95047, 1, 1.08883) and compand.
  const fx = labCompand(x / 0.95047);
  const fy = labCompand(y);
  const fz = labCompand(z / 1.08883);

  return {
    L: 116 * fy - 16,
    a: 500 * (fx - fy),
    b: 200 * (fy - fz),
  };
}

/**
 * CIEDE2000 colour difference ΔE00 between two CIELAB colours (parametric factors kL = kC = kH = 1),
 * following the numbered steps of Sharma, Wu & Dalal (2005).
 * @param {{L: number, a: number, b: number}} lab1
 * @param {{L: number, a: number, b: number}} lab2
 * @returns {number}
 */
export function ciede2000(lab1, lab2) {
  const pow25To7 = 25 ** 7;

  // Step 1: chroma-dependent rescaling of the a axis, then C' and h'.
  const chroma1 = Math.sqrt(lab1.a ** 2 + lab1.b ** 2);
  const chroma2 = Math.sqrt(lab2.a ** 2 + lab2.b ** 2);
  const meanChroma = (chroma1 + chroma2) / 2;
  const g = 0.5 * (1 - Math.sqrt(meanChroma ** 7 / (meanChroma ** 7 + pow25To7)));
  const aPrime1 = (1 + g) * lab1.a;
  const aPrime2 = (1 + g) * lab2.a;
  const chromaPrime1 = Math.sqrt(aPrime1 ** 2 + lab1.b ** 2);
  const chromaPrime2 = Math.sqrt(aPrime2 ** 2 + lab2.b ** 2);
  const hue1 = hueAngle(lab1.b, aPrime1);
  const hue2 = hueAngle(lab2.b, aPrime2);

  // Step 2: differences ΔL', ΔC', Δh' (shortest way round the hue circle) and ΔH'.
  const deltaL = lab2.L - lab1.L;
  const deltaC = chromaPrime2 - chromaPrime1;
  const chromaProduct = chromaPrime1 * chromaPrime2;
  let deltaHue;
  if (chromaProduct === 0) {
    deltaHue = 0;
  } else if (Math.abs(hue2 - hue1) <= 180) {
    deltaHue = hue2 - hue1;
  } else if (hue2 - hue1 > 180) {
    deltaHue = hue2 - hue1 - 360;
  } else {
    deltaHue = hue2 - hue1 + 360;
  }
  const deltaH = 2 * Math.sqrt(chromaProduct) * Math.sin(degreesToRadians(deltaHue / 2));

  // Step 3: means L̄', C̄', h̄' (hue mean taken on the short arc) and the weighting functions.
  const meanL = (lab1.L + lab2.L) / 2;
  const meanChromaPrime = (chromaPrime1 + chromaPrime2) / 2;
  let meanHue;
  if (chromaProduct === 0) {
    meanHue = hue1 + hue2;
  } else if (Math.abs(hue1 - hue2) <= 180) {
    meanHue = (hue1 + hue2) / 2;
  } else {
    meanHue = hue1 + hue2 < 360 ? (hue1 + hue2 + 360) / 2 : (hue1 + hue2 - 360) / 2;
  }

  const t =
    1 -
    0.17 * Math.cos(degreesToRadians(meanHue - 30)) +
    0.24 * Math.cos(degreesToRadians(2 * meanHue)) +
    0.32 * Math.cos(degreesToRadians(3 * meanHue + 6)) -
    0.2 * Math.cos(degreesToRadians(4 * meanHue - 63));
  const deltaTheta = 30 * Math.exp(-(((meanHue - 275) / 25) ** 2));
  const rotationChroma = 2 * Math.sqrt(meanChromaPrime ** 7 / (meanChromaPrime ** 7 + pow25To7));
  const lightnessOffset = (meanL - 50) ** 2;
  const weightL = 1 + (0.015 * lightnessOffset) / Math.sqrt(20 + lightnessOffset);
  const weightC = 1 + 0.045 * meanChromaPrime;
  const weightH = 1 + 0.015 * meanChromaPrime * t;
  const rotation = -Math.sin(degreesToRadians(2 * deltaTheta)) * rotationChroma;

  // Step 4: weighted distance with the blue-region rotation term R_T.
  const termL = deltaL / weightL;
  const termC = deltaC / weightC;
  const termH = deltaH / weightH;
  return Math.sqrt(termL ** 2 + termC ** 2 + termH ** 2 + rotation * termC * termH);
}

/**
 * CIEDE2000 difference between two sRGB colours (channels in [0, 1]).
 * @param {{r: number, g: number, b: number}} rgb1
 * @param {{r: number, g: number, b: number}} rgb2
 * @returns {number}
 */
export function colourDifference(rgb1, rgb2) {
  return ciede2000(srgbToLab(rgb1), srgbToLab(rgb2));
}
