// Builds the bench-only OpenBLAS addon (needs `apt-get install libopenblas-dev`); bench/matmul.mjs runs it when the addon is missing. Never part of `npm install`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const headers = ['/usr/include/cblas.h', '/usr/include/x86_64-linux-gnu/cblas.h', '/usr/include/openblas/cblas.h'];
if (!headers.some(existsSync)) {
  console.error('bench/native-blas: no cblas.h (apt-get install libopenblas-dev); the OpenBLAS rows are skipped');
  process.exit(1);
}
const nodedir = [process.env.npm_config_nodedir, resolve(dirname(process.execPath), '..')]
  .find((p) => p && existsSync(join(p, 'include', 'node', 'node_api.h')));
const gyp = [process.env.npm_config_node_gyp, join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')]
  .find((p) => p && existsSync(p));
if (!nodedir || !gyp) {
  console.error('bench/native-blas: no local Node headers or node-gyp; the OpenBLAS rows are skipped');
  process.exit(1);
}
const r = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`], {
  cwd: here, encoding: 'utf8', env: { ...process.env, npm_config_nodedir: nodedir },
});
if (r.status !== 0) console.error(`bench/native-blas: node-gyp failed; the OpenBLAS rows are skipped\n${(r.stdout + r.stderr).split('\n').filter((l) => !l.startsWith('gyp info')).slice(-15).join('\n')}`);
process.exit(r.status === 0 ? 0 : 1);
