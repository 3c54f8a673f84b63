// Module-loader hooks: the source of each user ES module is instrumented before it is evaluated.
import { createRequire } from 'node:module';

const { instrumentModule, shouldInstrument } = createRequire(import.meta.url)('../dist/rewrite/module.js');

export async function load(url, context, nextLoad) {
  const result = await nextLoad(url, context);
  if (result.format !== 'module' || result.source == null || !shouldInstrument(url)) return result;
  return { ...result, source: instrumentModule(String(result.source), url, 'module') };
}
