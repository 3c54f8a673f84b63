// The NTM example: content addressing, reads and writes against hand-derived values, gradients through the unrolled memory against Richardson finite differences, and the copy task learnt at a test size.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gradient } from '../../dist/index.js';
import { assertClose, richardsonEstimate } from '../helpers/reference.mjs';
import {
  main, cosine, contentWeights, readMemory, writeMemory, copyInputs, copyLoss, makeController, makeMemory, randomSequences, mulberry32,
} from '../../examples/ntm.mjs';

/** Rows 2·e_i: orthogonal, so cos(key, row) is key_i / |key| by hand. */
const orthogonalMemory = (n) => Array.from({ length: n }, (_r, i) => Array.from({ length: n }, (_c, j) => (i === j ? 2 : 0)));

test('content addressing: a key equal to a row, sharpened by β, selects that row with the softmax weight e^β / (e^β + N − 1)', (t) => {
  const memory = orthogonalMemory(4), beta = 20;
  const w = contentWeights(memory, memory[2], beta);
  // cos = 1 with row 2, 0 with the others
  const others = 1 / (Math.exp(beta) + 3);
  assertClose(t, w, [others, others, Math.exp(beta) * others, others], { rtol: 1e-12, atol: 0 });
  t.true(w[2] > 0.9999999);
  // a key between rows 0 and 1 (cos = 1/√2 with both) splits its weight between them
  const beta2 = 3, between = contentWeights(memory, [1, 1, 0, 0], beta2);
  const e = Math.exp(beta2 / Math.SQRT2);
  assertClose(t, between, [e / (2 * e + 2), e / (2 * e + 2), 1 / (2 * e + 2), 1 / (2 * e + 2)], { rtol: 1e-12, atol: 0 });
  // cosine ignores scale; a zero row gives 0, not NaN
  assertClose(t, cosine([3, 4], [6, 8]), 1, { rtol: 1e-12 });
  t.is(cosine([1, 2], [0, 0]), 0);
});

test('reads are weighted sums of rows; a write erases then adds, row by row', (t) => {
  const memory = [[1, 2, 3], [4, 5, 6]];
  assertClose(t, readMemory(memory, [0.25, 0.75]), [0.25 * 1 + 0.75 * 4, 0.25 * 2 + 0.75 * 5, 0.25 * 3 + 0.75 * 6], { rtol: 1e-15 });
  // full weight on row 1 and erase 1 everywhere: row 1 becomes the add vector, row 0 is untouched
  writeMemory(memory, [0, 1], [1, 1, 1], [-1, 0.5, 9]);
  t.deepEqual(memory, [[1, 2, 3], [-1, 0.5, 9]]);
  // weight 0.5 on row 0, erase (1, 0, 0.5): M[0][j] · (1 − 0.5 e_j) + 0.5 a_j
  writeMemory(memory, [0.5, 0], [1, 0, 0.5], [2, 2, 2]);
  t.deepEqual(memory[0], [1 * 0.5 + 1, 2 + 1, 3 * 0.75 + 1]);
  t.deepEqual(memory[1], [-1, 0.5, 9]);
});

test('copy inputs: the items with flag 0, then blank bits with flag 1, each with a one-hot position', (t) => {
  t.deepEqual(copyInputs([[1, 0], [0, 1]], 3), [
    [1, 0, 0, 1, 0, 0],
    [0, 1, 0, 0, 1, 0],
    [0, 0, 1, 1, 0, 0],
    [0, 0, 1, 0, 1, 0],
  ]);
});

/** A small machine and batch for gradient checks: 3-bit items, sequences of 2–3, 4 rows of 5, hidden 4. */
function smallProblem() {
  const controller = makeController({ bits: 3, maxLength: 3, hidden: 4, width: 5, seed: 3, sharpness: 2 });
  const memory = makeMemory({ slots: 4, width: 5, seed: 4 });
  const batch = randomSequences(mulberry32(5), 2, { minLength: 2, maxLength: 3, bits: 3 });
  return { controller, memory, batch };
}

/** Richardson derivative of copyLoss as one number `at(problem)` is replaced by t. */
function numericPartial(problem, at) {
  const reference = at(problem).get();
  return richardsonEstimate((v) => {
    at(problem).set(v);
    const loss = copyLoss(problem.controller, problem.memory, problem.batch, 3);
    at(problem).set(reference);
    return loss;
  }, reference, { h: 2 ** -8 });
}

/** One number of a container, to read and to set. */
const entry = (holder, key) => ({ get: () => holder[key], set: (v) => (holder[key] = v) });

test('gradient of the copy loss through the unrolled memory matches Richardson finite differences, leaf by leaf', (t) => {
  const problem = smallProblem();
  const [gController, gMemory, gBatch] = gradient(copyLoss, problem.controller, problem.memory, problem.batch, 3);
  // the gradient has the controller's structure, Map included
  t.true(gController.heads instanceof Map);
  t.deepEqual([...gController.heads.keys()], ['read', 'write']);
  t.is(gMemory.length, 4);
  t.truthy(gBatch);

  const leaves = [
    ['hidden.W[1][2]', (p) => entry(p.controller.hidden.W[1], 2), (g) => g.hidden.W[1][2]],
    ['hidden.b[3]', (p) => entry(p.controller.hidden.b, 3), (g) => g.hidden.b[3]],
    ['write.erase.W[0][1]', (p) => entry(p.controller.heads.get('write').erase.W[0], 1), (g) => g.heads.get('write').erase.W[0][1]],
    ['write.add.W[4][3]', (p) => entry(p.controller.heads.get('write').add.W[4], 3), (g) => g.heads.get('write').add.W[4][3]],
    ['write.key.b[2]', (p) => entry(p.controller.heads.get('write').key.b, 2), (g) => g.heads.get('write').key.b[2]],
    ['write.beta.b[0]', (p) => entry(p.controller.heads.get('write').beta.b, 0), (g) => g.heads.get('write').beta.b[0]],
    ['read.key.W[3][0]', (p) => entry(p.controller.heads.get('read').key.W[3], 0), (g) => g.heads.get('read').key.W[3][0]],
    ['read.beta.W[0][2]', (p) => entry(p.controller.heads.get('read').beta.W[0], 2), (g) => g.heads.get('read').beta.W[0][2]],
    ['output.W[1][6]', (p) => entry(p.controller.output.W[1], 6), (g) => g.output.W[1][6]],
  ];
  for (const [name, at, pick] of leaves) {
    const { value, error } = numericPartial(problem, at);
    t.true(error < 1e-8, `${name}: finite differences settled (error ${error})`);
    assertClose(t, pick(gController), value, { rtol: 1e-6, atol: 1e-9, message: name });
  }
  // the starting memory: its gradient flows through every erase/add that overwrote it
  for (const [i, j] of [[0, 0], [2, 3], [3, 1]]) {
    const { value } = numericPartial(problem, (p) => entry(p.memory[i], j));
    assertClose(t, gMemory[i][j], value, { rtol: 1e-6, atol: 1e-9, message: `memory[${i}][${j}]` });
  }
});

/** Every number of a nested structure of arrays, objects and Maps, with a setter, in a fixed order. */
function numericLeaves(x, out = []) {
  const visit = (holder, key, value) => {
    if (typeof value === 'number') out.push({ get: () => (holder instanceof Map ? holder.get(key) : holder[key]), set: (v) => (holder instanceof Map ? holder.set(key, v) : (holder[key] = v)) });
    else if (value !== null && typeof value === 'object') numericLeaves(value, out);
  };
  if (x instanceof Map) for (const [k, v] of x) visit(x, k, v);
  else for (const k of Object.keys(x)) visit(x, k, x[k]);
  return out;
}

test('gradient along a random direction of all the controller weights matches the Richardson derivative of the loss', (t) => {
  const problem = smallProblem();
  const [gController] = gradient(copyLoss, problem.controller, problem.memory, problem.batch, 3);
  const params = numericLeaves(problem.controller), grads = numericLeaves(gController);
  t.is(params.length, grads.length);
  const uniform = mulberry32(17);
  const direction = params.map(() => 2 * uniform() - 1);
  const base = params.map((p) => p.get());
  const along = (s) => {
    params.forEach((p, k) => p.set(base[k] + s * direction[k]));
    const loss = copyLoss(problem.controller, problem.memory, problem.batch, 3);
    params.forEach((p, k) => p.set(base[k]));
    return loss;
  };
  const { value, error } = richardsonEstimate(along, 0, { h: 2 ** -8 });
  const directional = grads.reduce((s, g, k) => s + g.get() * direction[k], 0);
  t.true(error < 1e-8, `finite differences settled (error ${error})`);
  assertClose(t, directional, value, { rtol: 1e-6, atol: 1e-9 });
  // hidden 4×(3 bits + flag + 3 positions) + 4; read head key 5×4 + 5, β 4 + 1; write head also erase and add; output 3×(4 + 5) + 3
  t.is(params.length, 32 + 30 + 80 + 30, 'every weight of the controller was perturbed');
});

test('the quick copy run learns: loss below 5% of its start, held-out sequences copied almost without error, items recalled from the rows they were written to', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tracegrad-ntm-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'loss.svg'), lines = [];
  const result = main({ quick: true, out, log: (s) => lines.push(s), stream: { isTTY: false, write() {} } });
  t.is(result.losses.length, 150);
  // log 2 ≈ 0.693 per bit is chance for a sigmoid output
  t.true(result.initialLoss > 0.6, `initial loss ${result.initialLoss}`);
  t.true(result.finalLoss < 0.05 * result.initialLoss, `loss ${result.initialLoss} → ${result.finalLoss}`);
  t.true(result.heldOutBitErrorRateBefore > 0.3, `before training ${result.heldOutBitErrorRateBefore}`);
  t.true(result.heldOutBitErrorRate <= 0.02, `held-out bit error rate ${result.heldOutBitErrorRate}`);
  // the memory is what carries the bits: each recall step reads the row its item was written to, a different row per item
  const { write, read } = result.addressing, n = write.length / 2;
  t.deepEqual(read.slice(n), write.slice(0, n));
  t.is(new Set(write.slice(0, n)).size, n);
  // the controller holds a Map of nested arrays: outside the compiled tier's argument kinds
  t.not(result.tier, 'compiled');
  t.true(lines.some((s) => s.includes(out)));
  const svg = readFileSync(out, 'utf8');
  t.true(svg.startsWith('<?xml'));
  t.is(svg.match(/points="([^"]*)"/)[1].trim().split(/\s+/).length, 150, 'one point per step');
});

test('main rejects a memory too small for the sequences; quiet prints nothing', (t) => {
  t.throws(() => main({ quick: true, slots: 3, quiet: true, out: null }), { message: /rows cannot hold/ });
  t.throws(() => makeMemory({ slots: 8, width: 4, seed: 1 }), { message: /at least as many columns/ });
  const lines = [], writes = [];
  const result = main({ quick: true, steps: 2, heldOut: 2, out: null, quiet: true, log: (s) => lines.push(s), stream: { isTTY: true, write: (s) => writes.push(s) } });
  t.is(result.out, null);
  t.deepEqual(lines, []);
  t.deepEqual(writes, []);
});
