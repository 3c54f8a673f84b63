// Packaging: a consumer project depending on the checkout can import and require tracegrad after npm install.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

test('a file: dependency works through import and require, with type declarations', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tracegrad-consumer-'));
  try {
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true,
      dependencies: { tracegrad: `file:${root}` } }));
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline', '--ignore-scripts'], { cwd: dir, stdio: 'pipe' });
    writeFileSync(join(dir, 'esm.mjs'), "import { gradient } from 'tracegrad';\nconsole.log(JSON.stringify(gradient((a, b) => a * b, 2, 3)));\n");
    writeFileSync(join(dir, 'cjs.cjs'), "const { gradient } = require('tracegrad');\nconsole.log(JSON.stringify(gradient((x) => x ** 3, 2)));\n");
    writeFileSync(join(dir, 'app.mjs'), 'import { gradient } from "tracegrad";\nconst k = 3;\nconst f = (x) => k * x * x;\nconsole.log(JSON.stringify(gradient(f, 2)));\n');
    const node = (...args) => execFileSync(process.execPath, args, { cwd: dir, encoding: 'utf8' }).trim();
    t.is(node('esm.mjs'), '[3,2]');
    t.is(node('cjs.cjs'), '[12]'); // 3x² at 2
    t.is(node('--import', 'tracegrad/register', 'app.mjs'), '[12]'); // the closure over k works under the loader
    t.true(existsSync(join(dir, 'node_modules', 'tracegrad', 'dist', 'index.d.ts')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the ES module entry re-exports every CommonJS export (one runtime, same names)', async (t) => {
  const esm = await import('../esm/index.mjs');
  const { createRequire } = await import('node:module');
  const cjs = createRequire(import.meta.url)('../dist/index.js');
  t.deepEqual(Object.keys(esm).filter((k) => k !== 'default').sort(), Object.keys(cjs).sort());
  for (const k of Object.keys(cjs)) t.is(esm[k], cjs[k], k);
});
