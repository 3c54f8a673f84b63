// What the benchmark suites share: loading the built library (or a reason to skip its rows), warming a contender up, timing contenders in interleaved rounds, A/B runs of two builds in alternating processes, and medians.
import { existsSync } from 'node:fs';
import Benchmark from 'benchmark';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * tracegrad from ../esm/index.mjs when it has been built: `{ tg }`, or `{ skip }` with the reason its rows are
 * skipped (not built, a missing export among `required`, or an error while loading, which goes to stderr).
 */
export async function loadTracegrad(required = ['gradient', 'traced', 'jit', 'tierOf']) {
  const url = new URL('../../esm/index.mjs', import.meta.url);
  if (!existsSync(fileURLToPath(url))) return { skip: 'esm/index.mjs not built (run `npm run build` first)' };
  try {
    const m = await import(url.href);
    for (const name of required) if (m[name] === undefined) return { skip: `esm/index.mjs does not export ${name}` };
    return { tg: m };
  } catch (e) {
    console.error(e);
    return { skip: `esm/index.mjs failed to load: ${e.message}` };
  }
}

/**
 * Runs `fn` for `ms` milliseconds before it is timed: a compiled gradient is one large generated function whose first
 * calls run before V8 has optimised it (up to 30× slower), which would otherwise land in benchmark.js's first samples.
 */
export function warm(fn, ms = 1500) {
  const end = performance.now() + ms;
  while (performance.now() < end) fn();
}

/** The median of a list of numbers (the mean of the middle two for an even count). */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/**
 * Times `entries` ([name, fn] pairs) with benchmark.js in `rounds` alternating rounds (each entry warmed for `warmMs`
 * in the first round and `rewarmMs` in the others, then sampled for maxTime / rounds seconds a round) and pools each
 * entry's samples: the ratios between entries then
 * come from interleaved windows. On this shared machine speed drifts by up to 2× over seconds, and a contender timed
 * right after a heavily allocating one (the interpreter) runs in a different heap state; timed one after the other,
 * the same build's ratios moved by 1.6× between runs. `onRound(name, bench)` hears each round (for progress notes).
 * @returns {{ name: string, medianMs: number, meanMs: number, rmePercent: number, samples: number }[]} in the entries' order
 */
export function interleaved(entries, { rounds = 3, maxTime = 1.5, warmMs = 300, rewarmMs = 100, onRound } = {}) {
  const samples = entries.map(() => []);
  for (let round = 0; round < rounds; round++) {
    entries.forEach(([name, fn], k) => {
      warm(fn, round === 0 ? warmMs : rewarmMs);
      const b = new Benchmark(name, fn, { maxTime: maxTime / rounds });
      b.run({ async: false });
      if (b.error) throw b.error;
      samples[k].push(...b.stats.sample);
      onRound?.(name, b);
    });
  }
  return entries.map(([name], k) => {
    const xs = samples[k], n = xs.length;
    const mean = xs.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / Math.max(1, n - 1));
    // the margin of error of the mean at 95 % (normal approximation), in percent, as benchmark.js's rme
    return { name, medianMs: 1e3 * median(xs), meanMs: 1e3 * mean, rmePercent: (100 * 1.96 * sd) / Math.sqrt(n) / mean, samples: n };
  });
}

/**
 * The environment a benchmark child process runs in: the caller's, with glibc told to keep freed memory
 * (GLIBC_TUNABLES, unless the caller set it, even to ''). Without it glibc trims its heap when enough is free, and
 * gives mid-sized blocks back with mmap: an allocating gradient (80 KB for Rosenbrock's 10⁴ entries, 8 MB for BA's
 * Jacobian) then gets fresh pages, and page faults, in some processes and not in others. Measured on Rosenbrock's
 * gradient ÷ primal: 2.6–5.9 over six processes without it, 2.5–2.9 with it. It applies to every contender alike;
 * only the allocating ones ever noticed.
 */
export const STEADY_MALLOC = 'glibc.malloc.mmap_threshold=67108864:glibc.malloc.trim_threshold=268435456';
export const benchEnv = (env = {}) => ({ ...process.env, GLIBC_TUNABLES: process.env.GLIBC_TUNABLES ?? STEADY_MALLOC, ...env });

/**
 * An A/B of two builds: runs `node script --child <root> ...childArgs` for each root, alternating process by process
 * (A B, B A, ...) `count` times; each child prints one time in ms. Prints each build's median and B ÷ A. For changes
 * of a few percent, which one benchmark run on this drifting machine cannot separate from the drift.
 */
export function abProcesses(script, [a, b], childArgs, count = 6) {
  const times = { [a]: [], [b]: [] };
  for (let r = 0; r < count; r++)
    for (const root of r % 2 ? [b, a] : [a, b]) {
      const out = spawnSync(process.execPath, [script, '--child', root, ...childArgs], { encoding: 'utf8', env: benchEnv() });
      const ms = parseFloat(out.stdout);
      if (!(ms > 0)) throw new Error(`${root}: ${out.stderr || out.stdout}`);
      times[root].push(ms);
    }
  for (const root of [a, b]) console.log(`${root}: median ${median(times[root]).toFixed(3)} ms (${times[root].map((x) => x.toFixed(3)).join(' ')})`);
  console.log(`B ÷ A: ${(median(times[b]) / median(times[a])).toFixed(3)}`);
}
