// ADBench D-LSTM (diagonal LSTM) objective: file loader and the loss in plain JS, in tracegrad's compiled-tier subset.
//
// Data files (ADBench format, MIT license: see LICENSE.ADBench.txt next to this file) are whitespace-separated numbers:
// `l c b` (layers, characters in the sequence, bits per character), then the main parameters (8·l·b: per layer the
// weights of the forget, input, output and change gates, b each, then their biases), the extra parameters (3·b: input
// weights, output weights, output biases), the initial state (2·l·b: per layer the hidden values, then the cell values)
// and the sequence (c·b, one character per row).

import { readFileSync } from 'node:fs';

/**
 * Reads an ADBench LSTM instance.
 * @param {string | URL} path
 * @returns {{l: number, c: number, b: number, mainParams: Float64Array, extraParams: Float64Array, state: Float64Array,
 *   sequence: Float64Array}}
 */
export function loadLstm(path) {
  const nums = readFileSync(path, 'utf8').trim().split(/\s+/).map(Number);
  const [l, c, b] = nums;
  if (![l, c, b].every((v) => Number.isInteger(v) && v > 0)) throw new Error(`${path}: bad header "${nums.slice(0, 3).join(' ')}"`);
  const sizes = { mainParams: 8 * l * b, extraParams: 3 * b, state: 2 * l * b, sequence: c * b };
  const expected = 3 + Object.values(sizes).reduce((s, v) => s + v, 0);
  if (nums.length !== expected || nums.some(Number.isNaN)) throw new Error(`${path}: expected ${expected} numbers, found ${nums.length}`);
  let at = 3;
  const take = (count) => Float64Array.from(nums.slice(at, (at += count)));
  return { l, c, b, mainParams: take(sizes.mainParams), extraParams: take(sizes.extraParams), state: take(sizes.state), sequence: take(sizes.sequence) };
}

/** The logistic function 1/(1 + e⁻ˣ). */
export function sigmoid(x) {
  return 1 / (1 + Math.exp(-x));
}

/**
 * The ADBench D-LSTM loss. For each step t < c − 1 the character sequence[t] goes through the input weights, then
 * through l layers, each updating its state elementwise (i = 0..b−1; w and β the layer's weights and biases, h and s
 * its hidden and cell values, x its input: the previous layer's new hidden values, or the weighted character):
 *   forget = σ(x·w_f + β_f), in = σ(h·w_i + β_i), out = σ(x·w_o + β_o), change = tanh(h·w_c + β_c),
 *   s ← s·forget + in·change,  h ← out·tanh(s);
 * the prediction ŷ = h_last·w_out + β_out is scored against the next character y = sequence[t+1] with ADBench's
 * "logsumexp" lse = log(Σ exp(ŷ) + 2) (no max shift, as ADBench):
 *   loss = −Σ_t Σ_i y_i (ŷ_i − lse) / ((c − 1)·b).
 * The state argument is copied, not updated (ADBench passes it by value). Plain loops over Float64Arrays.
 */
export function lstmObjective(l, c, b, mainParams, extraParams, state, sequence) {
  const hiddenAndCell = new Float64Array(2 * l * b);
  for (let i = 0; i < 2 * l * b; i++) hiddenAndCell[i] = state[i];
  const input = new Float64Array(b); // the current layer's input, then its output
  const prediction = new Float64Array(b);
  let total = 0;
  let count = 0;
  for (let t = 0; t < c - 1; t++) {
    for (let i = 0; i < b; i++) input[i] = sequence[t * b + i] * extraParams[i];
    for (let layer = 0; layer < l; layer++) {
      const weight = 8 * b * layer; // forget, in, out, change weights at weight + 0, b, 2b, 3b; their biases 4b further
      const bias = weight + 4 * b;
      const hidden = 2 * b * layer;
      const cell = hidden + b;
      for (let i = 0; i < b; i++) {
        const forget = sigmoid(input[i] * mainParams[weight + i] + mainParams[bias + i]);
        const inGate = sigmoid(hiddenAndCell[hidden + i] * mainParams[weight + b + i] + mainParams[bias + b + i]);
        const outGate = sigmoid(input[i] * mainParams[weight + 2 * b + i] + mainParams[bias + 2 * b + i]);
        const change = Math.tanh(hiddenAndCell[hidden + i] * mainParams[weight + 3 * b + i] + mainParams[bias + 3 * b + i]);
        hiddenAndCell[cell + i] = hiddenAndCell[cell + i] * forget + inGate * change;
        hiddenAndCell[hidden + i] = outGate * Math.tanh(hiddenAndCell[cell + i]);
      }
      for (let i = 0; i < b; i++) input[i] = hiddenAndCell[hidden + i];
    }
    let sumExp = 0;
    for (let i = 0; i < b; i++) {
      prediction[i] = input[i] * extraParams[b + i] + extraParams[2 * b + i];
      sumExp += Math.exp(prediction[i]);
    }
    const lse = Math.log(sumExp + 2);
    for (let i = 0; i < b; i++) total += sequence[(t + 1) * b + i] * (prediction[i] - lse);
    count += b;
  }
  return -total / count;
}

/**
 * lstmObjective traced for tracegrad, with sigmoid traced in its scope so the compiled tier inlines it, and the
 * parameters-only form ADBench measures: `(mainParams, extraParams) => loss`, the sizes, state and sequence closed over.
 * `tg` is tracegrad's module (traced).
 */
export function tracedLstm(tg, data) {
  const objective = tg.traced(lstmObjective, { sigmoid: tg.traced(sigmoid) });
  const { l, c, b, state, sequence } = data;
  const ofParams = tg.traced((mainParams, extraParams) => objective(l, c, b, mainParams, extraParams, state, sequence),
    { objective, l, c, b, state, sequence });
  return { objective, ofParams };
}
