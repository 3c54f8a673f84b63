// Whole-module instrumentation for the loader: every function of a user module becomes traced, closures included.
import { instrument } from './instrument';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

const runtimeFile = resolve(__dirname, '..', 'runtime.js');
const ownRoot = resolve(__dirname, '..', '..');

/** User modules only: not node_modules, not tracegrad itself, not Node's built-ins. */
export function shouldInstrument(urlOrPath: string): boolean {
  let path = urlOrPath;
  if (urlOrPath.startsWith('file:')) path = fileURLToPath(urlOrPath);
  else if (/^[a-z]+:/i.test(urlOrPath)) return false;
  if (/[\\/]node_modules[\\/]/.test(path)) return false;
  if (!/\.(m|c)?js$/.test(path)) return false;
  const rel = path.startsWith(ownRoot) ? path.slice(ownRoot.length) : null;
  return !(rel !== null && /^[\\/](dist|esm)[\\/]/.test(rel));
}

/**
 * Instrument a module's source. The runtime import goes on the first code line without a newline, so every line
 * keeps its number and stack traces point at the user's lines; a source map gives exact columns.
 */
export function instrumentModule(source: string, urlOrPath: string, kind: 'module' | 'commonjs'): string {
  const out = instrument(source, {
    sourceType: kind === 'module' ? 'module' : 'script', commonjs: kind === 'commonjs', rt: '__tg', markFunctions: true,
    filename: urlOrPath,
  });
  const prelude = kind === 'module'
    ? `import { runtime as __tg } from ${JSON.stringify(pathToFileURL(runtimeFile).href)};`
    : `const __tg = require(${JSON.stringify(runtimeFile)}).runtime;`;
  let code = out.code;
  if (code.startsWith('#!')) {
    const nl = code.indexOf('\n');
    code = nl < 0 ? code : code.slice(0, nl + 1) + prelude + code.slice(nl + 1);
  } else code = prelude + code;
  const map = Buffer.from(JSON.stringify(out.map)).toString('base64');
  return `${code}\n//# sourceMappingURL=data:application/json;base64,${map}\n`;
}
