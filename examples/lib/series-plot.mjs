// Several series in one SVG plot (lines, or dots for measurements) with a legend, for the examples that compare curves; no dependencies.
import { writeFileSync } from 'node:fs';
import { plotFrame, escape } from './svg.mjs';

const PALETTE = ['#1f6fb4', '#d9541e', '#2e9e44', '#8c4fb8', '#b8860b'];

/**
 * `seriesPlot(series, { width, height, title, xLabel, yLabel, legend })`: an SVG document (a string) drawing each
 * series `{ xs, ys, label, color?, dots? }` on shared axes: a `<polyline>` through its points, or one `<circle>` per
 * point when `dots` is true (data points). Labelled series get a legend entry in a box at the right of the plot area,
 * placed by `legend`: 'top' (default), 'middle' or 'bottom'.
 */
export function seriesPlot(series, { width = 640, height = 400, title = '', xLabel = '', yLabel = '', legend = 'top' } = {}) {
  if (series.length === 0) throw new Error('seriesPlot: no series to plot.');
  if (!['top', 'middle', 'bottom'].includes(legend)) throw new Error(`seriesPlot: legend is 'top', 'middle' or 'bottom', not ${legend}.`);
  const all = { xs: [], ys: [] };
  series.forEach(({ xs, ys }, k) => {
    if (ys.length === 0) throw new Error(`seriesPlot: series ${k} has no values.`);
    if (xs.length !== ys.length) throw new Error(`seriesPlot: series ${k} has ${xs.length} x values for ${ys.length} y values.`);
    for (let i = 0; i < ys.length; i++) {
      if (!Number.isFinite(xs[i]) || !Number.isFinite(ys[i])) throw new Error(`seriesPlot: point ${i} of series ${k} is (${xs[i]}, ${ys[i]}), not finite.`);
      all.xs.push(xs[i]);
      all.ys.push(ys[i]);
    }
  });
  const { parts, px, py, f, margin, plotW, plotH, bottom } = plotFrame({ xs: all.xs, vs: all.ys, width, height, title, xLabel, yLabel });

  series.forEach((s, k) => {
    const { xs, ys, dots = false, color = PALETTE[k % PALETTE.length] } = s;
    const c = escape(color);
    if (dots) for (let i = 0; i < ys.length; i++) parts.push(`<circle cx="${f(px(xs[i]))}" cy="${f(py(ys[i]))}" r="3" fill="${c}"/>`);
    else parts.push(`<polyline fill="none" stroke="${c}" stroke-width="2" stroke-linejoin="round" points="${ys.map((y, i) => `${f(px(xs[i]))},${f(py(y))}`).join(' ')}"/>`);
  });
  // one legend row per labelled series, on a white box over the curves
  const labelled = series.map((s, k) => ({ ...s, color: s.color ?? PALETTE[k % PALETTE.length] })).filter((s) => s.label);
  if (labelled.length > 0) {
    const boxW = 40 + 7 * Math.max(...labelled.map((s) => String(s.label).length)); // about 7 px per character at 12 px
    const boxH = 8 + 18 * labelled.length;
    const boxX = margin.left + plotW - boxW - 8, boxY = { top: margin.top + 8, middle: margin.top + (plotH - boxH) / 2, bottom: bottom - boxH - 8 }[legend];
    parts.push(`<rect x="${boxX}" y="${boxY}" width="${boxW}" height="${boxH}" fill="#ffffff" fill-opacity="0.85" stroke="#bbbbbb"/>`);
    labelled.forEach(({ label: text, color, dots = false }, row) => {
      const y = boxY + 18 + 18 * row, x = boxX + 8;
      parts.push(dots ? `<circle cx="${x + 10}" cy="${y - 4}" r="3" fill="${escape(color)}"/>` : `<line x1="${x}" y1="${y - 4}" x2="${x + 20}" y2="${y - 4}" stroke="${escape(color)}" stroke-width="2"/>`);
      parts.push(`<text x="${x + 26}" y="${y}" fill="#333333">${escape(text)}</text>`);
    });
  }
  parts.push('</svg>', '');
  return parts.join('\n');
}

/** `writeSeriesPlot(path, series, options)`: seriesPlot written to a file; returns the path. */
export function writeSeriesPlot(path, series, options) {
  writeFileSync(path, seriesPlot(series, options));
  return path;
}
