// Tests of the doctest runner itself: finding blocks in Markdown and TSDoc, the → ≈ and throws checks, norun, and failures that name the doc's line.
import test from 'ava';
import { readdirSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { blocksOfMarkdown, blocksOfTsdoc, runBlock, rewriteBlock } from './doctest.mjs';

const fence = '```';
/** A Markdown text with one js block per entry of `bodies` (each a list of lines), under a heading. */
const markdown = (...bodies) => ['# Doc', '', ...bodies.flatMap((b) => [`${fence}js`, ...b, fence, ''])].join('\n');
/** The one block of a Markdown text made of `lines`, its first code line at line 4 of 'doc.md'. */
const block = (...lines) => blocksOfMarkdown(markdown(lines), 'doc.md')[0];
/** The message a block's run rejects with. */
async function failure(t, b) {
  const error = await t.throwsAsync(() => runBlock(b));
  return error.message;
}

test('blocksOfMarkdown finds ```js blocks with their first line, heading and norun flag, and skips other languages', (t) => {
  const text = [
    '# Title', //                                   1
    'Text.', //                                     2
    `${fence}js`, //                                3
    'const a = 1;', //                              4
    fence, //                                       5
    '## Fragments', //                              6
    `${fence}js norun`, //                          7
    'a +', //                                       8
    fence, //                                       9
    `${fence}ts`, //                                10
    'const b: number = 2;', //                      11
    fence, //                                       12
    `${fence}sh`, //                                13
    'npm test', //                                  14
    fence, //                                       15
    '- a list item:', //                            16
    `  ${fence}js`, //                              17
    '  const c = 3;', //                            18
    '  c; // → 3', //                               19
    `  ${fence}`, //                                20
  ].join('\n');
  const blocks = blocksOfMarkdown(text, 'x.md');
  t.deepEqual(blocks.map((b) => [b.line, b.name, b.norun, b.code]), [
    [4, 'Title', false, 'const a = 1;'],
    [8, 'Fragments', true, 'a +'],
    [18, 'Fragments', false, 'const c = 3;\nc; // → 3'],
  ]);
  t.true(blocks.every((b) => b.file === 'x.md' && b.lang === 'js'));
});

test('blocksOfTsdoc finds @example blocks with their file line and the declaration they document', (t) => {
  const source = [
    '// a module', //                                          1
    '/**', //                                                  2
    ' * `double(x)`: twice x.', //                             3
    ' *', //                                                   4
    ' * @example', //                                          5
    ' * ```js', //                                             6
    ' * double(2); // → 4', //                                 7
    ' *   indented(); // kept indented', //                    8
    ' * ```', //                                               9
    ' * @param x a number', //                                 10
    ' */', //                                                  11
    'export function double(x: number): number {', //          12
    '  return 2 * x;', //                                      13
    '}', //                                                    14
    '/** No example. */', //                                   15
    'export const plain = 1;', //                              16
    '/**', //                                                  17
    ' * @example', //                                          18
    ' * ```js norun', //                                       19
    ' * fragment(', //                                         20
    ' * ```', //                                               21
    ' * @example', //                                          22
    ' * without a fence', //                                   23
    ' */', //                                                  24
    'export const less = comparison();', //                    25
    'class Box {', //                                          26
    '  /** @example', //                                       27
    '   * ```js', //                                           28
    '   * new Box().open(); // → true', //                     29
    '   * ```', //                                             30
    '   */', //                                                31
    '  open(): boolean { return true; }', //                   32
    '}', //                                                    33
  ].join('\n');
  const blocks = blocksOfTsdoc(source, 'lib/x.ts');
  t.deepEqual(blocks.map((b) => [b.name, b.line, b.declarationLine, b.lang, b.norun, b.code]), [
    ['double', 7, 12, 'js', false, 'double(2); // → 4\n  indented(); // kept indented'],
    ['less', 20, 25, 'js', true, 'fragment('],
    ['less', 23, 25, null, true, 'without a fence'],
    ['open', 29, 32, 'js', false, 'new Box().open(); // → true'],
  ]);
});

test('a passing block runs as a module importing tracegrad, tracegrad/fast-check and node: modules, and counts its checks', async (t) => {
  const b = block(
    "import { gradient } from 'tracegrad';",
    "import { domain } from 'tracegrad/fast-check';",
    "import { strict as assert } from 'node:assert';",
    'gradient((x) => x * x, 3); // → [6]',
    'const g = gradient((x, y) => x * y, 2, 5); // → [5, 2]',
    "domain('log').min; // → 0.01",
    'assert.equal(g[0], 5);',
  );
  t.deepEqual(await runBlock(b), { checks: 3, skipped: false });
});

test('a failing → check is reported with the doc file and line, the source, expected and actual', async (t) => {
  const b = block("import { gradient } from 'tracegrad';", 'gradient((x) => x * x, 3); // → [6]', 'gradient((x) => x * x, 3); // → [7]');
  const message = await failure(t, b);
  t.true(message.startsWith('doc.md:6: gradient((x) => x * x, 3)'), message);
  t.regex(message, /expected: \[ 7 \]/);
  t.regex(message, /actual: {3}\[ 6 \]/);
});

test('a failing check in a TSDoc example names the source file line', async (t) => {
  const source = ['/**', ' * @example', ' * ```js', ' * const a = 1;', ' * a + 1; // → 3', ' * ```', ' */', 'export const f = 1;'].join('\n');
  const [b] = blocksOfTsdoc(source, 'lib/f.ts');
  t.regex(await failure(t, b), /^lib\/f\.ts:5: a \+ 1\n/);
});

test('a declaration check compares the declared variable', async (t) => {
  t.deepEqual(await runBlock(block('const twice = [1, 2].map((v) => 2 * v); // → [2, 4]')), { checks: 1, skipped: false });
  t.regex(await failure(t, block('let n = 2 + 2; // → 5')), /^doc\.md:4: let n = 2 \+ 2\n {2}expected: 5\n {2}actual: {3}4/);
});

test('→ compares numbers to 1e-12 relative, NaN to NaN, arrays, objects, Maps, typed arrays, tensors and Complex numbers', async (t) => {
  const passing = block(
    "import { tensor, complex } from 'tracegrad';",
    '0.1 + 0.2; // → 0.3',
    '1e20 * (1 + 1e-15); // → 1e20',
    '1e-14; // → 0',
    'NaN; // → NaN',
    "({ a: [1, { b: 'x' }], c: null }); // → { a: [1, { b: 'x' }], c: null }",
    "new Map([['k', [1, 2]]]); // → new Map([['k', [1, 2]]])",
    'new Float64Array([1, 2]); // → [1, 2]',
    'tensor([[1, 2], [3, 4]]); // → [[1, 2], [3, 4]]',
    'tensor([1, 2]); // → tensor([1, 2])',
    'complex(1, -2); // → { re: 1, im: -2 }',
    'const expected = 6; // → 6',
    '3 * 2; // → expected',
    'undefined; // → undefined',
  );
  t.deepEqual(await runBlock(passing), { checks: 13, skipped: false });
  for (const [actual, expected, where] of [
    ['0.3', '0.3 + 1e-10', ''],
    ['NaN', '0', ''],
    ['[1, 2]', '[1, 2, 3]', 'length 2, expected 3'],
    ['({ a: 1, b: 2 })', '{ a: 1 }', 'keys'],
    ["new Map([['k', 1]])", "new Map([['k', 2]])", ".get('k')"],
    ['new Float32Array([0.1])', '[0.1]', '[0]'],
    ["'1'", '1', ''],
  ]) {
    const message = await failure(t, block(`${actual}; // → ${expected}`));
    t.true(message.startsWith('doc.md:4:') && message.includes(where), `${actual} vs ${expected}: ${message}`);
  }
  const message = await failure(t, block("import { tensor } from 'tracegrad';", 'tensor([[1, 2], [3, 4]]); // → [[1, 2], [3, 5]]'));
  t.regex(message, /at value\[1\]\[1\]: actual 4, expected 5/);
});

test('≈ checks each number to the digits written in the expected value', async (t) => {
  const passing = block(
    'Math.sin(1); // ≈ 0.8415', //                 0.84147098…: within 0.00005
    'Math.sin(1); // ≈ 0.841', //                  within 0.0005
    '[Math.sin(1), -Math.cos(1)]; // ≈ [0.84, -0.540]',
    '({ e: Math.E, tiny: 1.234e-7 }); // ≈ { e: 2.718, tiny: 1.23e-7 }',
    '41.6; // ≈ 42', //                            an integer: within 0.5
    'const pi = Math.PI; // ≈ 3.14159',
  );
  t.deepEqual(await runBlock(passing), { checks: 6, skipped: false });
  for (const [actual, expected] of [
    ['Math.sin(1)', '0.8414'], //                  off by 0.00007 > 0.00005
    ['Math.sin(1)', '0.84148'],
    ['[1.3, 2]', '[1.2, 2]'], //                    per element
    ['-0.54', '0.54'],
    ['1.3e-7', '1.23e-7'],
    ['42.6', '42'],
  ]) {
    const message = await failure(t, block(`${actual}; // ≈ ${expected}`));
    t.true(message.startsWith('doc.md:4:'), `${actual} ≈ ${expected}: ${message}`);
  }
});

test('throws expects an error by name, by message or both, also after an await', async (t) => {
  const passing = block(
    "import { gradient, TracegradError } from 'tracegrad';",
    'gradient((x) => [x, x], 1); // throws TracegradError',
    'gradient((x) => [x, x], 1); // throws /jacobian/',
    'gradient((x) => [x, x], 1); // throws TracegradError /jacobian/',
    "JSON.parse('{'); // throws SyntaxError",
    "JSON.parse('{'); // throws Error", //      a constructor in the prototype chain
    "await Promise.reject(new RangeError('late')); // throws RangeError /late/",
    'const ok = 1 + 1; // → 2',
  );
  t.deepEqual(await runBlock(passing), { checks: 7, skipped: false });
  t.regex(await failure(t, block('Math.sqrt(4); // throws TypeError')), /^doc\.md:4: Math\.sqrt\(4\)\n {2}expected it to throw TypeError, but it did not throw/);
  t.regex(await failure(t, block("JSON.parse('{'); // throws TypeError")), /^doc\.md:4: .*\n {2}expected it to throw TypeError\n {2}it threw: {2}SyntaxError/);
  t.regex(await failure(t, block("null.x; // throws /not here/")), /^doc\.md:4:.*\n {2}expected it to throw \/not here\//);
  t.regex(await failure(t, block('f(); // throws when f is broken')), /^doc\.md:4: a throws check is written/);
});

test('norun blocks and other languages are skipped', async (t) => {
  const [fragment] = blocksOfMarkdown(`${fence}js norun\nthis is not JavaScript (\n${fence}`, 'doc.md');
  t.true(fragment.norun);
  t.deepEqual(await runBlock(fragment), { checks: 0, skipped: true });
  t.deepEqual(await runBlock({ code: 'const x: number = 1;', file: 'doc.md', line: 1, name: null, lang: 'ts', norun: false }), { checks: 0, skipped: true });
});

test('an error thrown by the example, a syntax error and a stray check comment name the doc line', async (t) => {
  t.regex(await failure(t, block('const a = 1;', 'a.b.c; // no check here', 'a; // → 1')), /^doc\.md:5: the example threw TypeError: .*reading 'c'/);
  t.regex(await failure(t, block("import { gradient } from 'tracegrad';", 'const a = 1;', 'gradient((x) => [x, x], 1);')), /^doc\.md:6: the example threw TracegradError/);
  t.regex(await failure(t, block('const a = 1;', 'const b = ;')), /^doc\.md:5: syntax error in the example/);
  t.regex(await failure(t, block('const a = 1;', '// → 1')), /^doc\.md:5: a `\/\/ →` check must end the line of the statement it checks/);
  t.regex(await failure(t, block('if (true) {} // → 1')), /^doc\.md:4: `\/\/ →` checks an expression statement or a declaration/);
  t.regex(await failure(t, block('1; // → [1,')), /^doc\.md:4: cannot read the expected value/);
  t.regex(await failure(t, block('2; // → 2 (a note)')), /^doc\.md:4: cannot read the expected value "2 \(a note\)"/);
  t.regex(await failure(t, block('2; // → 2 is right')), /^doc\.md:4: cannot read the expected value "2 is right": unexpected text after the expected value: "is right"/);
  t.regex(await failure(t, block('2; // ≈ 2.0 roughly')), /^doc\.md:4: cannot read the expected value "2\.0 roughly"/);
});

test('a check spanning lines keeps the following line numbers, and blocks share nothing', async (t) => {
  const b = block('const sum = [1, 2, 3].reduce(', '  (s, v) => s + v,', '  0,', '); // → 6', 'sum + 1; // → 8');
  t.regex(await failure(t, b), /^doc\.md:8: sum \+ 1\n/);
  const [first, second] = blocksOfMarkdown(markdown(['const shared = 1;', 'shared; // → 1'], ['typeof shared; // → "undefined"']), 'doc.md');
  t.is((await runBlock(first)).checks, 1);
  t.is((await runBlock(second)).checks, 1);
});

// serial (ava runs serial tests first, alone), so no other test's module is in the scratch directory meanwhile
test.serial('rewriting keeps every line where it was and leaves no temporary module behind', async (t) => {
  const b = block('const a = 2;', 'a * 3; // → 6', 'a; // throws /never/');
  const { code, checks } = rewriteBlock(b);
  t.is(checks, 2);
  t.is(code.split('\n').length, b.code.split('\n').length);
  t.regex(code.split('\n')[1], /^__doc\.check\(\(a \* 3\), \(6\), .*\); \/\/ → 6$/);
  await runBlock(block('1; // → 1'));
  const scratch = join(dirname(fileURLToPath(import.meta.url)), '.tracegrad-tmp');
  const mine = existsSync(scratch) ? readdirSync(scratch).filter((f) => f.includes(`-${process.pid}-`)) : [];
  t.deepEqual(mine, []);
});
