// `tracegrad check` end to end on a fixture module: a correct function passes (exit 0, JSON report), a wrong custom adjoint fails (exit 1) with the shrunk input, the worst leaf and the line of the faulty call.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = (...args) => spawnSync(process.execPath, ['bin/tracegrad.mjs', ...args], { cwd: root, encoding: 'utf8' });
const fixture = 'test/fixtures/check-module.mjs';
const callLine = readFileSync(new URL('../fixtures/check-module.mjs', import.meta.url), 'utf8').split('\n').findIndex((l) => l.includes('softplusWithRule(params.a)')) + 1;

test('a correct function passes every check and says so in JSON', (t) => {
  const r = cli('check', fixture, 'energy', '--like', '[0.5, [1, 2, 3]]', '--samples', '15', '--seed', '1', '--json');
  t.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  t.true(out.ok);
  t.is(out.samples, 15);
  t.deepEqual(Object.values(out.checks), [true, true, true]);
});

test('a wrong custom adjoint fails with the shrunk input, the worst leaf and the faulty line', (t) => {
  const r = cli('check', fixture, 'smoothLoss', '--like', '[{"a": 1, "b": 2}]', '--samples', '30', '--seed', '3');
  t.is(r.status, 1);
  t.regex(r.stdout, /FAIL {2}gradient matches finite differences/);
  t.regex(r.stdout, /shrunk input: \[\{"a":/);
  t.regex(r.stdout, /gradient wrong at args\[0\]\.a/);
  t.regex(r.stdout, new RegExp(`adjoint of softplus, input \\[0\\], at .*check-module\\.mjs:${callLine}:`));
  const json = JSON.parse(cli('check', fixture, 'smoothLoss', '--like', '[{"a": 1, "b": 2}]', '--seed', '3', '--json').stdout);
  t.false(json.ok);
  t.is(json.fault.op, 'adjoint of softplus');
});

test('usage errors exit 2 with the usage text', (t) => {
  const r = cli('check', fixture);
  t.is(r.status, 2);
  t.regex(r.stderr, /usage: tracegrad check/);
  t.is(cli('check', fixture, 'nothing').status, 2);
  t.regex(cli('check', fixture, 'energy', '--samples', '0').stderr, /--samples takes a positive integer/);
});

test('the examples pass `tracegrad check` (CIEDE2000 colour difference; the 5-line MLP loss through its model)', (t) => {
  const colour = cli('check', 'examples/ciede2000.mjs', 'colourDifference', '--like', '[{"r":0.4,"g":0.5,"b":0.6},{"r":0.2,"g":0.7,"b":0.3}]', '--domain', 'positive', '--samples', '10', '--seed', '1', '--json');
  t.is(colour.status, 0, colour.stdout + colour.stderr);
  t.true(JSON.parse(colour.stdout).ok);
});

test('the applications pass `tracegrad check`: CartPole, pharmacokinetics and NTM losses at their own example arguments, colour gamut mapping\'s ΔE00 at drawn colours', (t) => {
  for (const example of ['examples/cartpole.mjs shortRolloutLoss', 'examples/pharmacokinetics.mjs smallFitLoss', 'examples/ntm.mjs smallCopyLoss']) {
    const [file, name] = example.split(' ');
    const r = cli('check', file, name, '--args', 'exampleArgs', '--domain', 'unit', '--samples', '3', '--seed', '1', '--json');
    t.is(r.status, 0, `${example}: ${r.stdout}${r.stderr}`);
    t.true(JSON.parse(r.stdout).ok, example);
  }
  const colour = cli('check', 'examples/colour.mjs', 'distanceTo', '--like', '[{"L":50,"a":20,"b":-30},{"r":0.4,"g":0.5,"b":0.6}]', '--domain', 'positive', '--samples', '5', '--seed', '1', '--json');
  t.is(colour.status, 0, colour.stdout + colour.stderr);
  t.true(JSON.parse(colour.stdout).ok);
});

test('tensor arguments in --like ({"$tensor": ...}) are drawn as tensors of that shape', (t) => {
  const r = cli('check', fixture, 'layerLoss', '--like', '[{"$tensor": [[1, 2], [3, 4]]}, {"$tensor": [0.5, -1], "dtype": "float64"}]', '--samples', '8', '--seed', '2', '--json');
  t.is(r.status, 0, r.stdout + r.stderr);
  t.true(JSON.parse(r.stdout).ok);
});

test('the tensor examples pass `tracegrad check` at their own example arguments (models kept, data drawn)', (t) => {
  for (const example of ['examples/mlp5.mjs loss', 'examples/mlp-classifier.mjs crossEntropy', 'examples/attention.mjs crossEntropy']) {
    const [file, name] = example.split(' ');
    const r = cli('check', file, name, '--args', 'exampleArgs', '--samples', '3', '--seed', '1', '--json');
    t.is(r.status, 0, `${example}: ${r.stdout}${r.stderr}`);
    t.true(JSON.parse(r.stdout).ok, example);
  }
});
