// Builds the optional SIMD addon with node-gyp where a C++ compiler, Python and local Node headers exist; otherwise says so in one line and exits 0.
// `npm install` runs it; it never fails the install (pass --strict to fail instead, --verbose to see the compiler).
// It never downloads: without local headers (npm's nodedir, or <prefix>/include/node beside this node) it skips.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = new Set(process.argv.slice(2));
const verbose = args.has('--verbose'), strict = args.has('--strict');
const require = createRequire(import.meta.url);

function skip(why) {
  console.log(`tracegrad: native addon not built (${why}); the JS backend is used.${verbose ? '' : ' Details: node native/build.mjs --verbose'}`);
  process.exit(strict ? 1 : 0);
}

function main() {
  const runs = (cmd, argv) => spawnSync(cmd, argv, { stdio: 'ignore' }).status === 0;

  if (process.env.TRACEGRAD_SKIP_NATIVE) skip('TRACEGRAD_SKIP_NATIVE is set');
  if (process.platform === 'win32') skip('the addon builds with GCC or Clang only');
  if (!runs(process.env.CXX || 'c++', ['--version'])) skip('no C++ compiler');
  if (!runs(process.env.PYTHON || 'python3', ['--version'])) skip('no python3 for node-gyp');

  // Node's headers: npm's nodedir setting, or the prefix this node runs from (/usr/bin/node → /usr/include/node)
  const hasHeaders = (prefix) => prefix && existsSync(join(prefix, 'include', 'node', 'node_api.h'));
  const nodedir = [process.env.npm_config_nodedir, resolve(dirname(process.execPath), '..')].find(hasHeaders);
  if (!nodedir) skip('no local Node headers (set npm\'s nodedir to a Node install that has include/node)');

  // node-gyp: the one npm hands to install scripts, a local one, or the one inside npm
  const gyp = [
    process.env.npm_config_node_gyp,
    (() => { try { return require.resolve('node-gyp/bin/node-gyp.js'); } catch { return undefined; } })(),
    process.env.npm_execpath && join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ].find((p) => p && existsSync(p));
  if (!gyp) skip('node-gyp not found');

  const built = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`, '--jobs=2'], {
    cwd: here, encoding: 'utf8', stdio: verbose ? 'inherit' : 'pipe',
    env: { ...process.env, npm_config_nodedir: nodedir },  // node-gyp lets npm's setting override --nodedir
  });
  if (built.status !== 0) {
    const lines = `${built.stderr ?? ''}${built.stdout ?? ''}`.split('\n')
      .filter((l) => /error|not found/i.test(l) && !/^gyp (info|ERR! (stack|System|command|cwd|node|not ok))/.test(l));
    skip(`node-gyp failed${lines.length ? `: ${lines[0].trim().slice(0, 160)}` : ''}`);
  }

  // load it once here, in a child (a forced TRACEGRAD_NATIVE_ISA the CPU lacks would make require throw)
  const addonPath = join(here, 'build', 'Release', 'tracegrad_native.node');
  const check = spawnSync(process.execPath, ['-e', `process.stdout.write(require(${JSON.stringify(addonPath)}).isas().join(', '))`], {
    encoding: 'utf8', env: { ...process.env, TRACEGRAD_NATIVE_ISA: '' },
  });
  if (check.status !== 0) skip(`built, but it does not load: ${(check.stderr || '').trim().split('\n')[0]}`);
  console.log(`tracegrad: native addon built (ISA paths on this CPU: ${check.stdout}).`);
}

try {
  main();
} catch (e) {
  skip(`unexpected: ${e?.message ?? e}`);  // a bug here must not fail an install either
}
