// A Neural Turing Machine-style memory (content addressing, erase/add writes, reads) with a small controller, trained on a copy task by tracegrad's gradient through the unrolled sequence. Run: node examples/ntm.mjs
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { traced, withGradient, adam, tierOf } from 'tracegrad';
import { progressBar } from './lib/progress.mjs';
import { writeLinePlot } from './lib/svg.mjs';
import { mulberry32 } from './lib/random.mjs';

export { mulberry32 } from './lib/random.mjs';

// The memory is N rows of M numbers (an array of arrays), changed in place. Heads address it by content, as in Graves,
// Wayne & Danihelka, "Neural Turing Machines" (2014), §3.3.1: a head emits a key k and a sharpness β > 0, and row i
// gets the weight
//   w_i = exp(β·cos(k, M_i)) / Σ_j exp(β·cos(k, M_j)).
// A read returns r = Σ_i w_i M_i; a write first erases, then adds (§3.2):
//   M_i[j] ← M_i[j]·(1 − w_i e_j) + w_i a_j,   e ∈ (0,1)^M the erase vector, a the add vector.
// The gradient of the loss flows back through every write into the rows as they were before it.

/** cos(u, v) = u·v / (|u| |v|); the tiny ε keeps a zero vector from dividing by zero. */
export const cosine = traced(function cosine(u, v) {
  let dot = 0, uu = 0, vv = 0;
  for (let j = 0; j < u.length; j++) {
    dot += u[j] * v[j];
    uu += u[j] * u[j];
    vv += v[j] * v[j];
  }
  return dot / Math.sqrt(uu * vv + 1e-12);
});

/** Content addressing: the softmax over rows of β·cos(key, row), shifted by its maximum so that exp cannot overflow. */
export const contentWeights = traced(function contentWeights(memory, key, beta) {
  const scores = memory.map((row) => beta * cosine(key, row));
  const top = Math.max(...scores);
  const exps = scores.map((s) => Math.exp(s - top));
  let total = 0;
  for (const e of exps) total += e;
  return exps.map((e) => e / total);
}, { cosine });

/** r = Σ_i w_i M_i. */
export const readMemory = traced(function readMemory(memory, weights) {
  const read = new Array(memory[0].length).fill(0);
  for (let i = 0; i < memory.length; i++)
    for (let j = 0; j < read.length; j++) read[j] += weights[i] * memory[i][j];
  return read;
});

/** Erase, then add, in place. */
export const writeMemory = traced(function writeMemory(memory, weights, erase, add) {
  for (let i = 0; i < memory.length; i++)
    for (let j = 0; j < memory[i].length; j++) memory[i][j] = memory[i][j] * (1 - weights[i] * erase[j]) + weights[i] * add[j];
});

const identity = traced((x) => x);
const tanh = traced((x) => Math.tanh(x));
const sigmoid = traced((x) => 1 / (1 + Math.exp(-x)));
// log(1 + eˣ) > 0, written so that a large |x| neither overflows nor loses the small tail
const softplus = traced((x) => (x > 0 ? x + Math.log(1 + Math.exp(-x)) : Math.log(1 + Math.exp(x))));

/** A dense layer { W: rows × inputs, b: rows } applied to x, then `activation` on each entry. */
const dense = traced(function dense(layer, x, activation) {
  return layer.W.map((row, r) => {
    let z = layer.b[r];
    for (let c = 0; c < x.length; c++) z += row[c] * x[c];
    return activation(z);
  });
});

/**
 * What each head emits, and how its raw outputs become parameters: keys are unbounded, β = softplus(·) > 0, the erase
 * vector is a sigmoid (the fraction of each entry to forget) and the add vector a tanh.
 */
export const HEAD_OUTPUTS = {
  read: { key: identity, beta: softplus },
  write: { key: identity, beta: softplus, erase: sigmoid, add: tanh },
};

/**
 * One step of the machine: the controller sees the input and emits each head's parameters; the write head writes, the
 * read head reads the updated memory, and the output (one probability per bit) is a sigmoid layer over the controller's
 * hidden state and what was read. `heads` maps a head's name to its state (the weighting it used, and for the read
 * head what it read), so a caller can watch where each head looks.
 */
export const step = traced(function step(controller, memory, heads, input) {
  const hidden = dense(controller.hidden, input, tanh);
  const emitted = new Map();
  for (const [name, layers] of controller.heads) {
    const params = {};
    for (const [field, activation] of Object.entries(HEAD_OUTPUTS[name])) params[field] = dense(layers[field], hidden, activation);
    emitted.set(name, params);
  }
  const write = emitted.get('write');
  const writeWeights = contentWeights(memory, write.key, write.beta[0]);
  writeMemory(memory, writeWeights, write.erase, write.add);
  const read = emitted.get('read');
  const readWeights = contentWeights(memory, read.key, read.beta[0]);
  const readVector = readMemory(memory, readWeights);
  heads.set('write', { weights: writeWeights });
  heads.set('read', { weights: readWeights, vector: readVector });
  return dense(controller.output, [...hidden, ...readVector], sigmoid);
}, { dense, tanh, sigmoid, contentWeights, writeMemory, readMemory, HEAD_OUTPUTS });

/**
 * The copy task's inputs: first the items (the bits, recall flag 0), then as many recall steps (bits 0, flag 1).
 * Each step also carries a one-hot position within its phase: the controller is feed-forward and content addressing
 * cannot count, so the position is what lets it give each item its own row and find that row again. The bits
 * themselves reach the recall steps only through the memory.
 */
export const copyInputs = traced(function copyInputs(sequence, maxLength) {
  const inputs = [];
  for (const recall of [0, 1])
    sequence.forEach((bits, t) => {
      const position = new Array(maxLength).fill(0);
      position[t] = 1;
      inputs.push([...(recall ? bits.map(() => 0) : bits), recall, ...position]);
    });
  return inputs;
});

/**
 * A sequence through a fresh copy of the initial memory. Returns the outputs of the recall steps and `trail`, the
 * weightings of both heads at every step.
 */
export const runSequence = traced(function runSequence(controller, initialMemory, sequence, maxLength) {
  const memory = initialMemory.map((row) => [...row]);
  const heads = new Map();
  const outputs = [], trail = [];
  copyInputs(sequence, maxLength).forEach((input, t) => {
    const output = step(controller, memory, heads, input);
    if (t >= sequence.length) outputs.push(output);
    trail.push({ write: heads.get('write').weights, read: heads.get('read').weights });
  });
  return { outputs, trail };
}, { copyInputs, step });

/** Mean binary cross-entropy of the recalled bits against the items, over a batch of sequences. */
export const copyLoss = traced(function copyLoss(controller, initialMemory, batch, maxLength) {
  let total = 0, count = 0;
  for (const sequence of batch) {
    const { outputs } = runSequence(controller, initialMemory, sequence, maxLength);
    outputs.forEach((output, t) =>
      output.forEach((p, j) => {
        // kept away from 0 and 1, so that a confidently wrong bit costs a large but finite amount
        const q = Math.min(Math.max(p, 1e-7), 1 - 1e-7);
        total -= sequence[t][j] ? Math.log(q) : Math.log(1 - q);
        count++;
      }),
    );
  }
  return total / count;
}, { runSequence });

/** `count` random binary sequences, each of a random length in [minLength, maxLength], of `bits` bits per item. */
export function randomSequences(uniform, count, { minLength, maxLength, bits }) {
  return Array.from({ length: count }, () => {
    const length = minLength + Math.floor(uniform() * (maxLength - minLength + 1));
    return Array.from({ length }, () => Array.from({ length: bits }, () => (uniform() < 0.5 ? 1 : 0)));
  });
}

/** A layer of weights uniform in ±√(3/fan-in) (variance 1/fan-in), zero biases. */
function layer(uniform, rows, inputs) {
  const scale = Math.sqrt(3 / inputs);
  return { W: Array.from({ length: rows }, () => Array.from({ length: inputs }, () => scale * (2 * uniform() - 1))), b: new Array(rows).fill(0) };
}

/**
 * The controller: a tanh hidden layer; per head, one layer per parameter it emits, kept in a Map from the head's name
 * to its layers; and a sigmoid output layer over [hidden, read vector]. Plain arrays of numbers throughout.
 * `sharpness` is the starting bias of each β layer: softplus(5) ≈ 5 starts the heads focused enough that the
 * gradient sees which row a key picked, where β ≈ 0.7 would spread every write over the whole memory.
 */
export function makeController({ bits, maxLength, hidden, width, seed, sharpness = 5 }) {
  const uniform = mulberry32(seed);
  const inputs = bits + 1 + maxLength;
  const sizes = { key: width, beta: 1, erase: width, add: width };
  const heads = new Map();
  for (const [name, fields] of Object.entries(HEAD_OUTPUTS)) {
    const layers = {};
    for (const field of Object.keys(fields)) layers[field] = layer(uniform, sizes[field], hidden);
    layers.beta.b[0] = sharpness;
    heads.set(name, layers);
  }
  return { hidden: layer(uniform, hidden, inputs), heads, output: layer(uniform, bits, hidden + width) };
}

/**
 * The memory's starting rows: row i is the unit vector e_i plus a little noise, so every row starts equally far from
 * every other. (With rows drawn at random, two items' keys often settle on the same nearby rows early in training
 * and one item overwrites the other: a local minimum the copy task then stays in.)
 */
export function makeMemory({ slots, width, seed }) {
  if (width < slots) throw new Error(`ntm: the memory needs at least as many columns as rows (got ${slots} rows of ${width}).`);
  const uniform = mulberry32(seed);
  return Array.from({ length: slots }, (_r, i) => Array.from({ length: width }, (_c, j) => (i === j ? 1 : 0) + 0.1 * (2 * uniform() - 1)));
}

/** The copy loss of a small controller on two fixed sequences, as a function of the controller alone: what `tracegrad check` checks. */
const CHECK_MEMORY = makeMemory({ slots: 4, width: 4, seed: 2 });
const CHECK_BATCH = randomSequences(mulberry32(3), 2, { minLength: 2, maxLength: 3, bits: 3 });
export const smallCopyLoss = traced(function smallCopyLoss(controller) {
  return copyLoss(controller, CHECK_MEMORY, CHECK_BATCH, 3);
}, { copyLoss, CHECK_MEMORY, CHECK_BATCH });

/** Example arguments of smallCopyLoss (`npx tracegrad check examples/ntm.mjs smallCopyLoss --args exampleArgs`). */
export const exampleArgs = () => [makeController({ bits: 3, maxLength: 3, hidden: 4, width: 4, seed: 1 })];

/** Fraction of recalled bits that are wrong when each output is read as 1 above 0.5. */
export function bitErrorRate(controller, initialMemory, sequences, maxLength) {
  let wrong = 0, total = 0;
  for (const sequence of sequences) {
    const { outputs } = runSequence(controller, initialMemory, sequence, maxLength);
    outputs.forEach((output, t) => output.forEach((p, j) => {
      if ((p > 0.5 ? 1 : 0) !== sequence[t][j]) wrong++;
      total++;
    }));
  }
  return wrong / total;
}

/** The row each head weighs most at each step of a sequence: where it wrote and read. */
export function addressing(controller, initialMemory, sequence, maxLength) {
  const argmax = (w) => w.indexOf(Math.max(...w));
  const { trail } = runSequence(controller, initialMemory, sequence, maxLength);
  return { write: trail.map((s) => argmax(s.write)), read: trail.map((s) => argmax(s.read)) };
}

/**
 * Train on fresh random sequences by Adam, then copy held-out sequences (drawn from their own seed). `quick` is the
 * test-sized setting. Returns `{ losses, initialLoss, finalLoss, heldOutBitErrorRate, heldOutBitErrorRateBefore,
 * addressing, tier, seconds, controller, memory, out }`: initialLoss and finalLoss are means over the first and last
 * 5% of the steps, addressing shows the rows used for one held-out sequence, and out is where the loss curve was
 * written (null with `out: null`).
 */
export function main({
  quick = false,
  bits = quick ? 4 : 6,
  minLength = 3,
  maxLength = quick ? 4 : 5,
  slots = 8,
  width = 16,
  hidden = quick ? 16 : 24,
  steps = quick ? 150 : 600,
  batchSize = 8,
  heldOut = quick ? 20 : 100,
  lr = quick ? 0.02 : 0.01,
  sharpness = 5,
  seed = 1,
  out = join(tmpdir(), 'tracegrad-ntm-loss.svg'),
  quiet = false,
  log = console.log,
  stream = process.stderr,
} = {}) {
  const say = quiet ? () => {} : log;
  if (slots < maxLength) throw new Error(`ntm: ${slots} memory rows cannot hold ${maxLength} items.`);
  const started = performance.now();
  const shape = { minLength, maxLength, bits };
  const controller = makeController({ bits, maxLength, hidden, width, seed, sharpness });
  const memory = makeMemory({ slots, width, seed: seed + 1 });
  const trainUniform = mulberry32(seed + 2);
  const testSequences = randomSequences(mulberry32(seed + 3), heldOut, shape);
  const opt = adam({ lr });
  const heldOutBitErrorRateBefore = bitErrorRate(controller, memory, testSequences, maxLength);
  const bar = quiet ? null : progressBar(steps, { label: 'training ', stream });

  say(`copy task: ${bits}-bit items, sequences of ${minLength}–${maxLength}; memory ${slots}×${width}, controller hidden ${hidden}; Adam lr ${lr}, ${steps} steps of ${batchSize} sequences`);
  const losses = [];
  for (let s = 0; s < steps; s++) {
    const batch = randomSequences(trainUniform, batchSize, shape);
    // the gradient of the whole unrolled batch, memory writes included; grad[0] has the controller's structure:
    // { hidden: { W, b }, heads: Map { 'read' → { key, beta }, 'write' → { key, beta, erase, add } }, output: { W, b } }
    const { value, grad } = withGradient(copyLoss, controller, memory, batch, maxLength);
    opt.step(controller, grad[0]);
    losses.push(value);
    bar?.update(s + 1, `step ${s + 1}/${steps} loss ${value.toFixed(4)}`);
  }
  const window = Math.max(1, Math.round(steps / 20));
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const initialLoss = mean(losses.slice(0, window)), finalLoss = mean(losses.slice(-window));
  const heldOutBitErrorRate = bitErrorRate(controller, memory, testSequences, maxLength);
  const example = testSequences.reduce((longest, s) => (s.length > longest.length ? s : longest));
  const rows = addressing(controller, memory, example, maxLength);
  const seconds = (performance.now() - started) / 1000;
  bar?.finish(`loss ${finalLoss.toFixed(4)}`);
  say(`loss ${initialLoss.toFixed(4)} (first ${window} steps) → ${finalLoss.toFixed(4)} (last ${window}); held-out bit error rate ${(100 * heldOutBitErrorRateBefore).toFixed(1)}% before training → ${(100 * heldOutBitErrorRate).toFixed(1)}% after, on ${heldOut} sequences; ${seconds.toFixed(1)} s`);
  say(`a held-out sequence of ${example.length} items: written to rows [${rows.write.slice(0, example.length)}], recalled from rows [${rows.read.slice(example.length)}]`);
  // the controller is a Map of nested arrays, which the compiled tier does not take: copyLoss runs on the interpreter
  const tier = tierOf(copyLoss);
  say(`tier of copyLoss: ${tier}`);
  if (out !== null) {
    writeLinePlot(out, losses, { title: `NTM copy task (${bits}-bit items, ${minLength}–${maxLength} long)`, xLabel: 'step', yLabel: 'cross-entropy per bit', logY: true });
    say(`loss curve written to ${out}`);
  }
  return { losses, initialLoss, finalLoss, heldOutBitErrorRate, heldOutBitErrorRateBefore, addressing: rows, tier, seconds, controller, memory, out };
}

if (import.meta.url === `file://${process.argv[1]}`) main();
