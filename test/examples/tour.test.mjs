// `npm start`'s tour (examples/tour.mjs under the loader): every application runs at its fast settings and the plots it reports exist.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

test('the tour runs the talk\'s examples and six applications, and lists the plots it wrote', (t) => {
  const r = spawnSync(process.execPath, ['--import', 'tracegrad/register', 'examples/tour.mjs'], { cwd: root, encoding: 'utf8', timeout: 110_000 });
  t.is(r.status, 0, r.stderr);
  for (const name of ['mlp-classifier', 'attention', 'cartpole', 'pharmacokinetics', 'ntm', 'colour']) t.regex(r.stdout, new RegExp(`== .*\\(${name}\\.mjs, fast settings\\)`));
  t.regex(r.stdout, /derivative\(x => x \* derivative\(y => x \* y, 1\), 4\)\s+8\n/); // the talk's nesting example
  const plots = r.stdout.split('Plots written:\n')[1].split('\n\n')[0].trim().split('\n').map((l) => l.trim());
  t.is(plots.length, 6);
  for (const p of plots) t.true(p.endsWith('.svg') && existsSync(p), p);
});
