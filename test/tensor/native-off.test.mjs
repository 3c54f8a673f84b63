// With the native addon switched off (TRACEGRAD_NATIVE=off, as on a machine that cannot build it), the tensor tests and the tensor examples pass on the JS kernels alone.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('TRACEGRAD_NATIVE=off: loadNative says so, setBackend(\'native\') refuses with the reason, the JS backend stays', (t) => {
  const probe = `const tg = require('./dist/index.js'); const { loadNative } = require('./dist/tensor/native.js');
    let refused = '';
    try { tg.setBackend('native'); } catch (e) { refused = e.message; }
    process.stdout.write(JSON.stringify({ reason: loadNative(), refused, backend: tg.getBackend() }));`;
  const out = spawnSync(process.execPath, ['-e', probe], { cwd: root, env: { ...process.env, TRACEGRAD_NATIVE: 'off', TRACEGRAD_BACKEND: '' }, encoding: 'utf8' });
  const r = JSON.parse(out.stdout);
  t.regex(r.reason, /switched off \(TRACEGRAD_NATIVE=off\)/);
  t.regex(r.refused, /not available.*switched off/);
  t.is(r.backend, 'js');
});

test('TRACEGRAD_NATIVE=off: the tensor tests and the tensor examples\' tests pass without the addon', (t) => {
  const ava = fileURLToPath(new URL('../../node_modules/ava/entrypoints/cli.mjs', import.meta.url));
  // the tensor tests (native ones skip, saying why) and the examples built on tensors
  const files = ['test/tensor/*.test.mjs', '!test/tensor/native-off.test.mjs', 'test/examples/mlp-classifier.test.mjs', 'test/examples/attention.test.mjs'];
  const out = spawnSync(process.execPath, [ava, ...files], {
    cwd: root, env: { ...process.env, TRACEGRAD_NATIVE: 'off', TRACEGRAD_BACKEND: '' }, encoding: 'utf8', timeout: 300_000,
  });
  const text = `${out.stdout}\n${out.stderr}`;
  const passed = Number(/(\d+) tests? passed/.exec(text)?.[1] ?? 0);
  t.is(out.status, 0, text.slice(-3000));
  t.true(passed >= 50, `only ${passed} tests ran:\n${text.slice(-2000)}`);
  t.regex(text, /skipped: .*switched off/, 'the native tests say why they skip');
  t.log(`${passed} tests passed with the addon switched off`);
});
