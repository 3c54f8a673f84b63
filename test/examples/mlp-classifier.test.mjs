// The spiral MLP classifier example: its data, its trained accuracy (recomputed with plain JS loops), its SVG loss curve, and the progress bar helper.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main, spirals } from '../../examples/mlp-classifier.mjs';
import { progressBar } from '../../examples/lib/progress.mjs';
import { linePlot } from '../../examples/lib/svg.mjs';

/** Accuracy of a chain of dense layers (tanh, last one linear) on points [2, n], by plain loops over W and b. */
function plainAccuracy(model, X, labels) {
  const n = labels.length;
  let right = 0;
  for (let j = 0; j < n; j++) {
    let h = [X.data[j], X.data[n + j]];
    model.layers.forEach((layer, l) => {
      const [rows, cols] = layer.W.shape;
      const next = [];
      for (let r = 0; r < rows; r++) {
        let z = layer.b.data[r];
        for (let c = 0; c < cols; c++) z += layer.W.data[r * cols + c] * h[c];
        next.push(l < model.layers.length - 1 ? Math.tanh(z) : z);
      }
      h = next;
    });
    if (h.indexOf(Math.max(...h)) === labels[j]) right++;
  }
  return right / n;
}

/** Tags of an XML document, checked to nest properly; returns the element names in document order. */
function wellFormedElements(t, xml) {
  const names = [], open = [];
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  t.false(/<(?!\/?[A-Za-z])/.test(body), 'every < starts a tag (text is escaped)');
  for (const [, close, name, , selfClosing] of body.matchAll(/<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g)) {
    if (close) t.is(open.pop(), name, `</${name}> closes the innermost open element`);
    else {
      names.push(name);
      if (!selfClosing) open.push(name);
    }
  }
  t.deepEqual(open, [], 'every element is closed');
  // nothing that looks like a tag was skipped by the pattern above (e.g. an unquoted attribute)
  t.is(body.match(/</g).length, body.match(/<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g).length);
  return names;
}

test('the spirals: each point lies on its arm (angle 4r + 2πc/K up to the noise)', (t) => {
  const classes = 3, perClass = 50, noise = 0.2;
  const { X, labels } = spirals({ classes, perClass, noise, seed: 7 });
  t.deepEqual(X.shape, [2, classes * perClass]);
  const n = labels.length;
  for (let k = 0; k < n; k++) {
    const c = labels[k], i = k % perClass, r = i / perClass;
    const x = X.data[k], y = X.data[n + k];
    t.true(Math.abs(Math.hypot(x, y) - r) < 1e-12);
    if (r === 0) continue;
    const off = Math.atan2(x, y) - (4 * r + (2 * Math.PI * c) / classes); // x = r sin θ, y = r cos θ
    const wrapped = off - 2 * Math.PI * Math.round(off / (2 * Math.PI));
    if (Math.abs(wrapped) > noise + 1e-9) return t.fail(`point ${k} is ${wrapped} rad off its arm`);
  }
  t.deepEqual([0, 1, 2].map((c) => labels.filter((l) => l === c).length), [perClass, perClass, perClass]);
});

test('the classifier reaches 95% training accuracy on 3 spirals and writes its loss curve as SVG', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tracegrad-mlp-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'loss.svg');
  const epochs = 60, perClass = 40, seed = 1, lines = [];
  const result = main({ sizes: [2, 16, 16, 3], perClass, epochs, batchSize: 16, lr: 0.02, seed, out, log: (s) => lines.push(s), stream: { isTTY: false, write() {} } });

  // accuracy recomputed independently of the tensor code, on the same seeded data
  const { X, labels } = spirals({ classes: 3, perClass, seed });
  const acc = plainAccuracy(result.model, X, labels);
  t.is(result.accuracy, acc);
  t.true(acc >= 0.95, `training accuracy ${acc}`);
  t.is(result.losses.length, epochs);
  t.true(result.losses[epochs - 1] < 0.2 * result.losses[0], `loss ${result.losses[0]} → ${result.losses[epochs - 1]}`);
  t.true(lines.some((s) => s.includes(out)), 'it says where the curve was written');
  t.true(lines.some((s) => s.includes(`${(100 * acc).toFixed(1)}%`)), 'it reports the accuracy');

  const svg = readFileSync(out, 'utf8');
  t.true(svg.startsWith('<?xml'));
  const names = wellFormedElements(t, svg);
  t.is(names[0], 'svg');
  t.regex(svg, /<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  const [width, height] = [/<svg[^>]*\swidth="(\d+)"/, /<svg[^>]*\sheight="(\d+)"/].map((re) => Number(svg.match(re)[1]));
  const polylines = [...svg.matchAll(/<polyline[^>]*\spoints="([^"]*)"/g)];
  t.is(polylines.length, 1);
  const points = polylines[0][1].trim().split(/\s+/).map((p) => p.split(',').map(Number));
  t.is(points.length, epochs, 'one point per epoch');
  t.true(points.every(([x, y]) => x >= 0 && x <= width && y >= 0 && y <= height), 'inside the picture');
  // left to right in epoch order; on a log axis, y is an affine, decreasing function of log10(loss) (up to rounding to 0.01)
  t.true(points.every(([x], i) => i === 0 || x > points[i - 1][0]));
  const lg = result.losses.map(Math.log10);
  const hi = lg.indexOf(Math.max(...lg)), lo = lg.indexOf(Math.min(...lg));
  const slope = (points[lo][1] - points[hi][1]) / (lg[lo] - lg[hi]);
  t.true(slope < 0);
  t.true(points.every(([, y], i) => Math.abs(y - (points[hi][1] + slope * (lg[i] - lg[hi]))) < 0.02), 'y follows log10(loss)');
});

test('without an output path nothing is written, and quiet prints nothing', (t) => {
  const lines = [], writes = [];
  const result = main({ sizes: [2, 8, 3], perClass: 10, epochs: 2, out: null, quiet: true, log: (s) => lines.push(s), stream: { isTTY: true, write: (s) => writes.push(s) } });
  t.is(result.out, null);
  t.deepEqual(lines, []);
  t.deepEqual(writes, []);
  t.throws(() => main({ sizes: [3, 8, 3], epochs: 1, out: null, quiet: true }), { message: /start with 2/ });
});

test('progress bar: one final line when not a TTY; redraws with \\r on a TTY', (t) => {
  const plain = [];
  const bar = progressBar(10, { label: 'x ', width: 10, stream: { isTTY: false, write: (s) => plain.push(s) } });
  for (let i = 1; i <= 10; i++) bar.update(i, `step ${i}`);
  bar.finish('done');
  t.deepEqual(plain, ['x [##########] 100% done\n']);

  const tty = [];
  const live = progressBar(4, { width: 4, minIntervalMs: 0, stream: { isTTY: true, columns: 80, write: (s) => tty.push(s) } });
  live.update(1, 'a long message');
  live.update(2);
  live.finish();
  t.deepEqual(tty.slice(0, 2), ['\r[#...]  25% a long message', `\r[##..]  50%${' '.repeat(15)}`], 'a shorter line blanks out the rest of the longer one');
  t.is(tty.join('').split('\n').length, 2, 'one newline, at the end');
  t.true(tty.join('').endsWith('\n'));
});

test('linePlot: rejects what it cannot draw, escapes text', (t) => {
  t.throws(() => linePlot([]), { message: /no values/ });
  t.throws(() => linePlot([1, NaN]), { message: /not finite/ });
  t.throws(() => linePlot([1, 0], { logY: true }), { message: /positive/ });
  const svg = linePlot([3, 3, 3], { title: 'a < b & "c"' });
  t.true(svg.includes('a &lt; b &amp; &quot;c&quot;'));
  t.is(svg.match(/points="([^"]*)"/)[1].split(' ').length, 3);
});
