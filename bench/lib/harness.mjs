// What the benchmark suites share: loading the built library (or a reason to skip its rows), warming a contender up, and medians.
import { existsSync } from 'node:fs';
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
