// Runs the @example of every public function's TSDoc (lib/**/*.ts, and the JSDoc of tracegrad/fast-check) as a test, and fails naming the exports that have none.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { blocksOfTsdoc, runBlock } from './doctest.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);

/**
 * The exports of an entry file, through re-exports and aliases, by the TypeScript checker: [{ name, file, line,
 * typeOnly }], `line` being the 1-based line where the declaration starts (its TSDoc ends just above it).
 */
function exportsOf(entry, options = {}) {
  const program = ts.createProgram([entry], { noEmit: true, allowJs: true, checkJs: false, maxNodeModuleJsDepth: 0, noResolve: false, ...options });
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(entry));
  return checker.getExportsOfModule(module).map((symbol) => {
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    const declaration = target.declarations?.[0];
    const source = declaration?.getSourceFile();
    return {
      name: symbol.name,
      file: source ? relative(root, source.fileName) : null,
      line: source ? source.getLineAndCharacterOfPosition(declaration.getStart()).line + 1 : null,
      typeOnly: (target.flags & ts.SymbolFlags.Value) === 0,
    };
  });
}

const publicExports = [
  ...exportsOf(join(root, 'lib', 'index.ts')).map((e) => ({ ...e, entry: 'tracegrad' })),
  ...exportsOf(join(root, 'esm', 'fast-check.mjs')).map((e) => ({ ...e, entry: 'tracegrad/fast-check' })),
];

const blocksByFile = new Map();
function examplesOf(e) {
  if (e.file === null) return [];
  if (!blocksByFile.has(e.file)) blocksByFile.set(e.file, blocksOfTsdoc(readFileSync(join(root, e.file), 'utf8'), e.file));
  return blocksByFile.get(e.file).filter((b) => b.declarationLine === e.line);
}

// The names the packages really export at run time: every one must be documented with an example.
const runtimeNames = {
  tracegrad: Object.keys(require(join(root, 'dist', 'index.js'))).filter((k) => k !== '__esModule'),
  'tracegrad/fast-check': Object.keys(await import('tracegrad/fast-check')).filter((k) => k !== 'default'),
};

test('every exported value has a TSDoc @example with a ```js block', (t) => {
  const missing = [];
  for (const [entry, names] of Object.entries(runtimeNames))
    for (const name of names) {
      const e = publicExports.find((x) => x.entry === entry && x.name === name);
      if (e === undefined) missing.push(`${entry}: ${name} (exported at run time, not found in the sources' exports)`);
      else if (!examplesOf(e).some((b) => b.lang === 'js')) missing.push(`${entry}: ${name} (${e.file}:${e.line})`);
    }
  t.true(runtimeNames.tracegrad.length > 50 && runtimeNames['tracegrad/fast-check'].length > 3, 'the export lists were read');
  t.deepEqual(missing, [], `exports without an @example:\n  ${missing.join('\n  ')}`);
});

test('the source exports and the run-time exports name the same values', (t) => {
  for (const entry of Object.keys(runtimeNames)) {
    const declared = publicExports.filter((e) => e.entry === entry && !e.typeOnly).map((e) => e.name).sort();
    t.deepEqual([...runtimeNames[entry]].sort(), declared, entry);
  }
});

for (const e of publicExports) {
  if (e.typeOnly) continue;
  const blocks = examplesOf(e).filter((b) => b.lang === 'js');
  if (blocks.length === 0) continue; // reported by the test above
  // serial: examples change global switches (jit.enabled, fusion.enabled, the backend) and await WebGPU
  test.serial(`${e.entry === 'tracegrad' ? '' : `${e.entry}: `}${e.name} (${e.file}:${e.line})`, async (t) => {
    let checks = 0;
    for (const block of blocks) {
      const result = await runBlock(block);
      if (result.skipped) t.log(`${block.file}:${block.line}: norun`);
      checks += result.checks;
    }
    if (blocks.every((b) => b.norun)) t.pass();
    else t.true(checks > 0, `the examples of ${e.name} check nothing: add a \`// →\` result`);
  });
}
