// A line plot as a standalone SVG document (axes, ticks, labels, one polyline), for the examples' loss curves; no dependencies.
import { writeFileSync } from 'node:fs';

/**
 * `linePlot(ys, { xs, width, height, title, xLabel, yLabel, logY, color })`: an SVG document (a string) plotting the
 * points (xs[i], ys[i]) joined by one `<polyline>` with one point per value. xs defaults to 1, 2, ..., n (epochs);
 * `logY` plots log10 of the values (for losses that fall by orders of magnitude), labelled with the values themselves.
 */
export function linePlot(ys, { xs, width = 640, height = 400, title = '', xLabel = '', yLabel = '', logY = false, color = '#1f6fb4' } = {}) {
  const n = ys.length;
  if (n === 0) throw new Error('linePlot: no values to plot.');
  xs = xs ?? Array.from(ys, (_y, i) => i + 1);
  if (xs.length !== n) throw new Error(`linePlot: ${xs.length} x values for ${n} y values.`);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(xs[i]) || !Number.isFinite(ys[i])) throw new Error(`linePlot: point ${i} is (${xs[i]}, ${ys[i]}), not finite.`);
    if (logY && !(ys[i] > 0)) throw new Error(`linePlot: logY needs positive values; value ${i} is ${ys[i]}.`);
  }
  const vs = logY ? Array.from(ys, Math.log10) : Array.from(ys);
  const { parts, px, py, f } = plotFrame({ xs, vs, width, height, title, xLabel, yLabel, logY });
  const points = vs.map((v, i) => `${f(px(xs[i]))},${f(py(v))}`).join(' ');
  parts.push(`<polyline fill="none" stroke="${escape(color)}" stroke-width="2" stroke-linejoin="round" points="${points}"/>`);
  parts.push('</svg>', '');
  return parts.join('\n');
}

/**
 * The parts of a plot both plots share: the SVG header, title, grid, tick labels, axis labels and frame around the
 * x range of `xs` and the y range of `vs` (padded, with a little room above and below so curves do not run along the
 * frame); with `logY`, vs are log10 values, ticked and labelled as the values themselves. Returns the document's parts
 * so far (the caller adds its curves and '</svg>'), the data-to-pixel maps px and py, and the number format f.
 */
export function plotFrame({ xs, vs, width, height, title, xLabel, yLabel, logY = false }) {
  const [x0, x1] = padded(Math.min(...xs), Math.max(...xs));
  const [lo, hi] = padded(Math.min(...vs), Math.max(...vs));
  const y0 = lo - 0.04 * (hi - lo), y1 = hi + 0.04 * (hi - lo);

  const margin = { left: 72, right: 24, top: title ? 40 : 20, bottom: xLabel ? 56 : 36 };
  const plotW = width - margin.left - margin.right, plotH = height - margin.top - margin.bottom;
  const px = (x) => margin.left + ((x - x0) / (x1 - x0)) * plotW;
  const py = (v) => margin.top + (1 - (v - y0) / (y1 - y0)) * plotH;
  const f = (v) => v.toFixed(2);
  const bottom = margin.top + plotH;

  const parts = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
  ];
  if (title) parts.push(`<text x="${f(width / 2)}" y="24" text-anchor="middle" font-size="15">${escape(title)}</text>`);
  parts.push('<g stroke="#dddddd" stroke-width="1">');
  const xTicks = niceTicks(x0, x1), yTicks = logY ? logTicks(y0, y1) : niceTicks(y0, y1);
  for (const t of xTicks) parts.push(`<line x1="${f(px(t))}" y1="${margin.top}" x2="${f(px(t))}" y2="${bottom}"/>`);
  for (const t of yTicks) parts.push(`<line x1="${margin.left}" y1="${f(py(t))}" x2="${margin.left + plotW}" y2="${f(py(t))}"/>`);
  parts.push('</g>', '<g fill="#333333">');
  for (const t of xTicks) parts.push(`<text x="${f(px(t))}" y="${bottom + 16}" text-anchor="middle">${label(t)}</text>`);
  for (const t of yTicks) parts.push(`<text x="${margin.left - 6}" y="${f(py(t) + 4)}" text-anchor="end">${label(logY ? 10 ** t : t)}</text>`);
  if (xLabel) parts.push(`<text x="${f(margin.left + plotW / 2)}" y="${height - 12}" text-anchor="middle">${escape(xLabel)}</text>`);
  if (yLabel) parts.push(`<text transform="translate(16 ${f(margin.top + plotH / 2)}) rotate(-90)" text-anchor="middle">${escape(yLabel + (logY ? ' (log scale)' : ''))}</text>`);
  parts.push('</g>');
  parts.push(`<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333333"/>`);
  return { parts, px, py, f, margin, plotW, plotH, bottom };
}

/** `writeLinePlot(path, ys, options)`: linePlot written to a file; returns the path. */
export function writeLinePlot(path, ys, options) {
  writeFileSync(path, linePlot(ys, options));
  return path;
}

/** A range that is not empty: a constant series gets a band around its value. */
export function padded(lo, hi) {
  if (hi > lo) return [lo, hi];
  const d = Math.abs(lo) > 0 ? Math.abs(lo) * 0.1 : 1;
  return [lo - d, hi + d];
}

/** Round tick positions inside [lo, hi]: multiples of 1, 2 or 5 times a power of ten, about `count` of them. */
export function niceTicks(lo, hi, count = 5) {
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  const ticks = [];
  for (let k = Math.ceil(lo / step); k * step <= hi + step * 1e-9; k++) ticks.push(k * step);
  return ticks;
}

/**
 * Ticks for a log axis, as log10 positions in [lo, hi]: the powers of ten when there are at least three, else also
 * 2 and 5 times them, else every digit; a range within one decade gets linear ticks of the values.
 */
function logTicks(lo, hi) {
  for (const digits of [[1], [1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]]) {
    const ticks = [];
    for (let k = Math.floor(lo); k <= Math.ceil(hi); k++)
      for (const d of digits) {
        const t = k + Math.log10(d);
        if (t >= lo - 1e-9 && t <= hi + 1e-9) ticks.push(t);
      }
    if (ticks.length >= 3) return ticks;
  }
  return niceTicks(10 ** lo, 10 ** hi).filter((v) => v > 0).map(Math.log10);
}

/** A tick value without floating-point noise (0.30000000000000004 → 0.3). */
export const label = (v) => String(Number(v.toPrecision(4)));

export const escape = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]);
