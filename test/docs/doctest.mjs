// Doctest runner: finds ```js blocks in Markdown and in TSDoc @example tags, rewrites their `// →`, `// ≈` and `// throws` comments into checks, and runs each block as a fresh ES module.
//
// The format (shared by docs/*.md and the TSDoc of lib/):
//   - A ```js fenced block runs as an ES module; it may import 'tracegrad', 'tracegrad/fast-check', 'fast-check' and
//     node: modules. ```js norun is not run (fragments); ```ts, ```sh and other languages are never run.
//   - `<expression>; // → <expected>` checks that the value equals the expected JS expression: numbers within a
//     relative (near 0: absolute) tolerance of 1e-12, NaN equal to NaN, arrays, plain objects and Maps recursively,
//     a Tensor through .toArray(), typed arrays as arrays, a Complex as { re, im }.
//   - `// ≈ <expected>`: each number written in the expected value is checked only to the digits written:
//     |actual − expected| ≤ half a unit in its last digit (`// ≈ 0.8415` accepts 0.84147098).
//   - `// throws Name` / `// throws /regex/` (or both): the statement must throw an error whose name (or a
//     constructor's name in its prototype chain) is Name and whose message matches the regex.
//   - On a declaration (`const g = f(); // → 6`), the declared variable is checked.
// Checks are spliced into the block's own lines, so line numbers are kept and a failure names the doc's file:line.
import { parse, parseExpressionAt } from 'acorn';
import MagicString from 'magic-string';
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import { inspect } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
// Inside the package (so `import 'tracegrad'` resolves to the package itself); `.tracegrad-tmp/` is git-ignored.
const scratchDirectory = join(here, '.tracegrad-tmp');

/** Error of a failed doc check: its message already names the doc's file:line. */
export class DoctestFailure extends Error {
  constructor(message) {
    super(message);
    this.name = 'DoctestFailure';
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Finding blocks
// ---------------------------------------------------------------------------------------------------------------

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)\s*(.*)$/;

/**
 * The fenced blocks of `lines` (already stripped of any comment decoration), each
 * { lang, attributes, norun, code, firstLine (0-based index of its first code line) }.
 */
function fencedBlocks(lines) {
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, lang, attributes] = open;
    const body = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const trimmed = lines[j].trim();
      if (trimmed.startsWith(fence[0].repeat(fence.length)) && /^(`+|~+)$/.test(trimmed)) break;
      // Fences indented (in a list item) have their content indented the same way.
      body.push(lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j].trimStart());
    }
    const words = attributes.trim().split(/\s+/).filter(Boolean);
    blocks.push({ lang: lang.toLowerCase(), attributes: words, norun: words.includes('norun'), code: body.join('\n'), firstLine: i + 1 });
    i = j;
  }
  return blocks;
}

/**
 * The ```js blocks of a Markdown text: [{ code, file, line, name, norun, lang }], `line` being the 1-based line of
 * the block's first code line and `name` the heading it is under (null before any heading).
 */
export function blocksOfMarkdown(text, file) {
  const lines = text.split(/\r?\n/);
  const headingAt = [];
  let heading = null;
  let inFence = null;
  lines.forEach((line, i) => {
    const fence = /^\s*(`{3,}|~{3,})/.exec(line);
    if (fence && inFence === null) inFence = fence[1];
    else if (fence && inFence !== null && line.trim().startsWith(inFence)) inFence = null;
    else if (inFence === null && /^#{1,6}\s/.test(line)) heading = line.replace(/^#+\s*/, '').trim();
    headingAt[i] = heading;
  });
  return fencedBlocks(lines)
    .filter((b) => b.lang === 'js')
    .map((b) => ({ code: b.code, file, line: b.firstLine + 1, name: headingAt[b.firstLine], norun: b.norun, lang: b.lang }));
}

const DECLARATION = /^\s*(?:export\s+)?(?:default\s+)?(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?(?:function\s*\*?|class|const|let|var|interface|type|enum|namespace)\s+([A-Za-z_$][\w$]*)/;
const MEMBER = /^\s*(?:(?:public|private|protected|static|readonly|override|async|get|set)\s+)*(#?[A-Za-z_$][\w$]*)\s*[(<:=?;!]/;

/**
 * The @example blocks of the TSDoc (or JSDoc) comments in a source text: [{ code, file, line, name, norun, lang,
 * declarationLine }]. Each @example holds a fenced block (```js, or ```js norun); `line` is the 1-based line of its
 * first code line in the file, `name` the name of the declaration the comment documents and `declarationLine` that
 * declaration's line. An @example without a fence is returned with lang null (it is not run).
 */
export function blocksOfTsdoc(text, file) {
  const blocks = [];
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') lineStarts.push(i + 1);
  const lineOf = (offset) => {
    let lo = 0, hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo; // 0-based
  };
  const fileLines = text.split('\n');
  for (const comment of text.matchAll(/\/\*\*(?!\/)[\s\S]*?\*\//g)) {
    if (!comment[0].includes('@example')) continue;
    const startLine = lineOf(comment.index);
    const endLine = lineOf(comment.index + comment[0].length - 1);
    // The comment's lines without `/**`, ` * ` and `*/`, one entry per file line.
    const lines = comment[0].split('\n').map((line, k) => {
      let l = line.replace(/\r$/, '');
      if (k === 0) l = l.replace(/^\s*\/\*\*\s?/, '');
      if (k === endLine - startLine) l = l.replace(/\s*\*\/\s*$/, '');
      return l.replace(/^\s*\* ?/, '');
    });
    // The declaration: the first non-blank line after the comment.
    let declarationLine = endLine + 1;
    while (declarationLine < fileLines.length && fileLines[declarationLine].trim() === '') declarationLine++;
    const declaration = fileLines[declarationLine] ?? '';
    const name = (DECLARATION.exec(declaration) ?? MEMBER.exec(declaration))?.[1] ?? null;
    // Split into tags: an @example runs until the next tag that starts a line outside a fence.
    let inFence = null;
    let example = null;
    const examples = [];
    lines.forEach((line, k) => {
      const fence = /^\s*(`{3,}|~{3,})/.exec(line);
      if (fence) inFence = inFence === null ? fence[1] : line.trim().startsWith(inFence) ? null : inFence;
      else if (inFence === null && /^\s*@\w/.test(line)) {
        example = /^\s*@example\b/.test(line) ? { lines: [line.replace(/^\s*@example\s*/, '')], first: k } : null;
        if (example) examples.push(example);
        return;
      }
      if (example) example.lines.push(line);
    });
    for (const ex of examples) {
      const fenced = fencedBlocks(ex.lines);
      const common = { file, name, declarationLine: declarationLine + 1 };
      if (fenced.length === 0) {
        const first = ex.lines.findIndex((l) => l.trim() !== '');
        if (first === -1) continue; // an empty @example
        const last = ex.lines.length - [...ex.lines].reverse().findIndex((l) => l.trim() !== '');
        blocks.push({ code: ex.lines.slice(first, last).join('\n'), line: startLine + ex.first + first + 1, norun: true, lang: null, ...common });
        continue;
      }
      for (const b of fenced) blocks.push({ code: b.code, line: startLine + ex.first + b.firstLine + 1, norun: b.norun, lang: b.lang, ...common });
    }
  }
  return blocks;
}

// ---------------------------------------------------------------------------------------------------------------
// Rewriting a block's check comments into calls of this module's check functions
// ---------------------------------------------------------------------------------------------------------------

const CHECK_COMMENT = /^\s*(→|≈|throws\b)(.*)$/;

/** Every node of an acorn AST, each with its parent chain available through the callback's second argument. */
function walk(node, visit, ancestors = []) {
  visit(node, ancestors);
  const next = [...ancestors, node];
  for (const key of Object.keys(node)) {
    if (key === 'loc') continue;
    const child = node[key];
    if (Array.isArray(child)) {
      for (const c of child) if (c && typeof c.type === 'string') walk(c, visit, next);
    } else if (child && typeof child.type === 'string') walk(child, visit, next);
  }
}

const isStatement = (node) => /Statement$|^VariableDeclaration$|^FunctionDeclaration$|^ClassDeclaration$/.test(node.type) && node.type !== 'BlockStatement';

/** The `throws` comment's matcher as source: { name, regex } from "Name", "/re/flags" or "Name /re/flags". */
function throwsMatcher(spec, where) {
  const m = /^\s*([A-Za-z_$][\w$]*)?\s*(\/.+\/[dgimsuyv]*)?\s*$/.exec(spec);
  if (!m || (!m[1] && !m[2])) throw new DoctestFailure(`${where}: a throws check is written \`// throws ErrorName\` or \`// throws /message regex/\`, not "throws${spec}"`);
  return `{ name: ${JSON.stringify(m[1] ?? null)}, regex: ${m[2] ?? 'null'} }`;
}

/**
 * The expected value of a `≈` check as source in which every number literal written in a literal structure (arrays,
 * object values, Map entries, unary minus) becomes `__doc.digits(value, 'raw text')`, so its tolerance follows the
 * digits written.
 */
function approximateExpected(expected) {
  const ast = parseExpected(expected);
  const edit = new MagicString(expected);
  const literalContext = (ancestors) =>
    ancestors.every((a) => a.type === 'ArrayExpression' || a.type === 'ObjectExpression' || a.type === 'Property' || (a.type === 'UnaryExpression' && (a.operator === '-' || a.operator === '+')) || (a.type === 'NewExpression' && a.callee.type === 'Identifier' && a.callee.name === 'Map'));
  walk(ast, (node, ancestors) => {
    if (node.type !== 'Literal' || typeof node.value !== 'number' || !literalContext(ancestors)) return;
    const parent = ancestors[ancestors.length - 1];
    if (parent?.type === 'Property' && parent.key === node) return; // a numeric key, not a value
    const signed = parent?.type === 'UnaryExpression' ? parent : null;
    const target = signed ?? node;
    const value = signed?.operator === '-' ? -node.value : node.value;
    edit.overwrite(target.start, target.end, `__doc.digits(${Object.is(value, -0) ? '-0' : value}, ${JSON.stringify(node.raw)})`);
  });
  return edit.toString();
}

/** The expected value's AST; text after the expression (prose, say) is an error rather than silently ignored. */
function parseExpected(expected) {
  const ast = parseExpressionAt(expected, 0, { ecmaVersion: 'latest' });
  if (ast.end !== expected.trimEnd().length) throw new SyntaxError(`unexpected text after the expected value: "${expected.slice(ast.end).trim()}"`);
  return ast;
}

/** Does the statement await (outside nested functions)? Then a throws check must be awaited. */
function awaits(statement) {
  let found = false;
  const visit = (node) => {
    if (found) return;
    if (node.type === 'AwaitExpression' || (node.type === 'ForOfStatement' && node.await)) found = true;
    if (/Function/.test(node.type) && node !== statement) return;
    for (const key of Object.keys(node)) {
      const child = node[key];
      if (Array.isArray(child)) child.forEach((c) => c && typeof c.type === 'string' && visit(c));
      else if (child && typeof child.type === 'string' && key !== 'loc') visit(child);
    }
  };
  visit(statement);
  return found;
}

let runCounter = 0;
const checksOfRun = new Map();

/**
 * The block's code as a module whose check comments call this module's `check`, `approx` and `throws`, on the same
 * lines as in the doc. Returns { code, checks } (checks: how many were found); throws a DoctestFailure for a
 * malformed check or a syntax error, naming the doc's file:line.
 */
export function rewriteBlock(block, run = 0) {
  const docLine = (line) => block.line + line - 1;
  const comments = [];
  let ast;
  try {
    ast = parse(block.code, { ecmaVersion: 'latest', sourceType: 'module', locations: true, onComment: comments });
  } catch (error) {
    const line = error.loc ? docLine(error.loc.line) : block.line;
    throw new DoctestFailure(`${block.file}:${line}: syntax error in the example: ${error.message}`);
  }
  const statements = [];
  walk(ast, (node) => isStatement(node) && statements.push(node));
  const edit = new MagicString(block.code);
  let checks = 0;
  for (const comment of comments) {
    if (comment.type !== 'Line') continue;
    const m = CHECK_COMMENT.exec(comment.value);
    if (!m) continue;
    const [, kind, rest] = m;
    const where = `${block.file}:${docLine(comment.loc.start.line)}`;
    // The statement the comment ends: same line, only blanks between them; the innermost if several end there.
    const candidates = statements.filter((s) => s.end <= comment.start && s.loc.end.line === comment.loc.start.line && block.code.slice(s.end, comment.start).trim() === '');
    const statement = candidates.sort((a, b) => b.start - a.start)[0];
    if (!statement) throw new DoctestFailure(`${where}: a \`// ${kind}\` check must end the line of the statement it checks`);
    const source = block.code.slice(statement.start, statement.end).replace(/;\s*$/, '');
    const meta = JSON.stringify({ where, source: source.length > 200 ? `${source.slice(0, 200)}…` : source, run });
    checks++;
    if (kind === 'throws') {
      const matcher = throwsMatcher(rest, where);
      const isAsync = awaits(statement);
      edit.prependRight(statement.start, isAsync ? 'await __doc.throwsAsync(async () => { ' : '__doc.throws(() => { ');
      edit.appendLeft(statement.end, ` }, ${matcher}, ${meta});`);
      continue;
    }
    const expectedSource = rest.trim();
    if (expectedSource === '') throw new DoctestFailure(`${where}: \`// ${kind}\` needs an expected value after it`);
    let expected;
    try {
      expected = kind === '≈' ? approximateExpected(expectedSource) : expectedSource;
      if (kind !== '≈') parseExpected(expectedSource);
    } catch (error) {
      throw new DoctestFailure(`${where}: cannot read the expected value "${expectedSource}": ${error.message}`);
    }
    const checker = kind === '≈' ? '__doc.approx' : '__doc.check';
    if (statement.type === 'ExpressionStatement') {
      edit.prependRight(statement.expression.start, `${checker}((`);
      edit.appendLeft(statement.expression.end, `), (${expected}), ${meta})`);
    } else if (statement.type === 'VariableDeclaration' && statement.declarations.length === 1 && statement.declarations[0].id.type === 'Identifier') {
      const name = statement.declarations[0].id.name;
      edit.appendLeft(statement.end, `${block.code[statement.end - 1] === ';' ? '' : ';'} ${checker}(${name}, (${expected}), ${meta});`);
    } else {
      throw new DoctestFailure(`${where}: \`// ${kind}\` checks an expression statement or a declaration of one variable, not a ${statement.type}`);
    }
  }
  // The import goes on line 1 (import declarations are hoisted), so every other line keeps its number.
  edit.prepend(`import * as __doc from ${JSON.stringify(import.meta.url)}; `);
  return { code: edit.toString(), checks };
}

// ---------------------------------------------------------------------------------------------------------------
// Checks (called by the rewritten blocks)
// ---------------------------------------------------------------------------------------------------------------

/** A number written in a `≈` expected value: equal to `value` within half a unit of its last written digit. */
class Digits {
  constructor(value, raw) {
    this.value = value;
    this.raw = raw;
    const text = raw.replace(/_/g, '').toLowerCase();
    if (/^0[xob]/.test(text)) this.tolerance = 0.5;
    else {
      const [mantissa, exponent = '0'] = text.split('e');
      const decimals = mantissa.includes('.') ? mantissa.length - mantissa.indexOf('.') - 1 : 0;
      this.tolerance = 0.5 * 10 ** (Number(exponent) - decimals);
    }
  }
  [inspect.custom]() {
    return `≈${this.raw}`;
  }
}

/** Called by rewritten `≈` checks. */
export function digits(value, raw) {
  return new Digits(value, raw);
}

const RELATIVE = 1e-12;

function numbersMatch(actual, expected) {
  if (Number.isNaN(expected)) return Number.isNaN(actual);
  if (actual === expected) return true;
  if (!Number.isFinite(expected) || !Number.isFinite(actual)) return false;
  return Math.abs(actual - expected) <= RELATIVE * Math.max(1, Math.abs(actual), Math.abs(expected));
}

/** Tensors as nested arrays, typed arrays as arrays, Complex numbers as { re, im }; anything else as it is. */
function normalize(value) {
  if (value === null || typeof value !== 'object') return value;
  if (typeof value.toArray === 'function' && Array.isArray(value.shape) && 'dtype' in value) return value.toArray();
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value);
  if (value.constructor?.name === 'Complex' && typeof value.re === 'number' && typeof value.im === 'number') return { re: value.re, im: value.im };
  return value;
}

const show = (value) => inspect(value instanceof Digits ? value : normalize(value), { depth: 8, breakLength: Infinity, maxArrayLength: 24, compact: true });

/** The first difference between actual and expected as { path, actual, expected }, or null when they match. */
function difference(actual, expected, path = '') {
  if (expected instanceof Digits) {
    const a = normalize(actual); // a rank-0 tensor is its number
    const ok = typeof a === 'number' && Math.abs(a - expected.value) <= expected.tolerance * (1 + 1e-9);
    return ok ? null : { path, actual, expected };
  }
  const a = normalize(actual);
  const e = normalize(expected);
  const differ = { path, actual, expected };
  if (typeof e === 'number') return typeof a === 'number' && numbersMatch(a, e) ? null : differ;
  if (Array.isArray(e)) {
    if (!Array.isArray(a)) return differ;
    if (a.length !== e.length) return { ...differ, note: `length ${a.length}, expected ${e.length}` };
    for (let i = 0; i < e.length; i++) {
      const d = difference(a[i], e[i], `${path}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  if (e instanceof Map) {
    if (!(a instanceof Map)) return differ;
    if (a.size !== e.size) return { ...differ, note: `size ${a.size}, expected ${e.size}` };
    for (const [key, value] of e) {
      if (!a.has(key)) return { ...differ, note: `key ${show(key)} missing` };
      const d = difference(a.get(key), value, `${path}.get(${show(key)})`);
      if (d) return d;
    }
    return null;
  }
  if (e instanceof Set) {
    if (!(a instanceof Set) || a.size !== e.size) return differ;
    for (const value of e) if (!a.has(value)) return { ...differ, note: `element ${show(value)} missing` };
    return null;
  }
  if (e !== null && typeof e === 'object' && !(e instanceof RegExp) && typeof e !== 'function') {
    if (a === null || typeof a !== 'object' || Array.isArray(a) || a instanceof Map) return differ;
    const actualKeys = Object.keys(a).sort();
    const expectedKeys = Object.keys(e).sort();
    if (actualKeys.join('\0') !== expectedKeys.join('\0')) return { ...differ, note: `keys ${show(actualKeys)}, expected ${show(expectedKeys)}` };
    for (const key of expectedKeys) {
      const d = difference(a[key], e[key], `${path}.${key}`);
      if (d) return d;
    }
    return null;
  }
  return Object.is(a, e) || a === e ? null : differ;
}

function report(meta, actual, expected, d) {
  const at = d.path ? `\n  at value${d.path}: actual ${show(d.actual)}, expected ${show(d.expected)}` : '';
  const note = d.note ? ` (${d.note})` : '';
  return `${meta.where}: ${meta.source}\n  expected: ${show(expected)}\n  actual:   ${show(actual)}${at}${note}`;
}

function count(meta) {
  checksOfRun.set(meta.run, (checksOfRun.get(meta.run) ?? 0) + 1);
}

/** `// →`: actual equals expected (see the file's first comment for what "equals" means). */
export function check(actual, expected, meta) {
  count(meta);
  const d = difference(actual, expected);
  if (d) throw new DoctestFailure(report(meta, actual, expected, d));
}

/** `// ≈`: as check, with numbers written in the expected value compared to their written digits. */
export const approx = check;

function matchesError(error, matcher) {
  const names = [];
  if (error && typeof error === 'object') {
    if (typeof error.name === 'string') names.push(error.name);
    for (let p = Object.getPrototypeOf(error); p; p = Object.getPrototypeOf(p)) if (p.constructor?.name) names.push(p.constructor.name);
  }
  const nameOk = matcher.name === null || names.includes(matcher.name);
  const regexOk = matcher.regex === null || matcher.regex.test(String(error?.message ?? error));
  return nameOk && regexOk;
}

const wanted = (matcher) => [matcher.name, matcher.regex && String(matcher.regex)].filter(Boolean).join(' ');

function throwsResult(error, threw, matcher, meta) {
  count(meta);
  if (!threw) throw new DoctestFailure(`${meta.where}: ${meta.source}\n  expected it to throw ${wanted(matcher)}, but it did not throw`);
  if (!matchesError(error, matcher)) throw new DoctestFailure(`${meta.where}: ${meta.source}\n  expected it to throw ${wanted(matcher)}\n  it threw:  ${error?.name}: ${error?.message ?? error}`);
}

/** `// throws`: the statement throws an error matching { name, regex }. */
export function throws(statement, matcher, meta) {
  try {
    statement();
  } catch (error) {
    return throwsResult(error, true, matcher, meta);
  }
  throwsResult(undefined, false, matcher, meta);
}

/** `// throws` on a statement that awaits. */
export async function throwsAsync(statement, matcher, meta) {
  try {
    await statement();
  } catch (error) {
    return throwsResult(error, true, matcher, meta);
  }
  throwsResult(undefined, false, matcher, meta);
}

// ---------------------------------------------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------------------------------------------

/** The doc line of the first frame of the block's module in an error's stack, or null. */
function lineInStack(error, url, block) {
  const stack = typeof error?.stack === 'string' ? error.stack : '';
  const escaped = url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`${escaped}:(\\d+):(\\d+)`).exec(stack);
  return m ? block.line + Number(m[1]) - 1 : null;
}

/**
 * Run one block as a fresh ES module. Resolves to { checks, skipped } (checks: how many checks ran; skipped: a
 * norun block or a language other than js); rejects with an Error whose message names the doc's file:line and, for a
 * failed check, the expected and actual values.
 */
export async function runBlock(block) {
  if (block.norun || block.lang !== 'js') return { checks: 0, skipped: true };
  const run = ++runCounter;
  const { code } = rewriteBlock(block, run);
  mkdirSync(scratchDirectory, { recursive: true });
  const base = String(block.name ?? 'block').replace(/[^\w-]/g, '_').slice(0, 40);
  const path = join(scratchDirectory, `${base}-${process.pid}-${run}.mjs`);
  const url = pathToFileURL(path).href;
  writeFileSync(path, code);
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = Math.max(stackTraceLimit, 200);
  try {
    await import(url);
    return { checks: checksOfRun.get(run) ?? 0, skipped: false };
  } catch (error) {
    if (error instanceof DoctestFailure) throw error;
    const line = lineInStack(error, url, block);
    const where = line === null ? `${block.file}:${block.line} (the block starting here)` : `${block.file}:${line}`;
    const failure = new DoctestFailure(`${where}: the example threw ${error?.name ?? 'a value'}: ${error?.message ?? String(error)}`);
    failure.cause = error;
    throw failure;
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
    checksOfRun.delete(run);
    rmSync(path, { force: true }); // the (git-ignored) directory stays: other processes may be writing into it
  }
}
