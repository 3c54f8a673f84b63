// Source instrumentation: operators, tests, element access, calls and Math become runtime calls that accept tracked values.
import { Parser } from 'acorn';
import MagicString from 'magic-string';
import { analyzeScopes, type ScopeFacts } from './scope';

export interface InstrumentOptions {
  sourceType: 'script' | 'module';
  /** Identifier of the runtime object in the generated code. */
  rt: string;
  /** Function mode: free names resolved from the user's scope object are read and written as `${scopeObject}.name`. */
  scopeObject?: string;
  scopeNames?: Set<string>;
  /** Module mode: mark every function so traced() recognises it as already instrumented. */
  markFunctions?: boolean;
  /** A CommonJS module body (its top level is a function scope). */
  commonjs?: boolean;
  /** For source maps. */
  filename?: string;
  /** Text to insert after given positions of the source (computed from its AST; the loader registers functions so). */
  insertions?: (ast: any) => [number, string][];
}

export interface Instrumented {
  code: string;
  map: any;
  /** Free names the code references (function mode decides how to resolve them). */
  free: string[];
  /** The parsed program (acorn's AST of the source as given). */
  ast: any;
  /** The text of an insertion at position -1 (not placed: the caller puts it at the start, after its own prelude). */
  startText: string;
}

export const MARK = '/*__tg*/';

const arithmetic: Record<string, string> = {
  '+': 'add', '-': 'sub', '*': 'mul', '/': 'div', '%': 'mod', '**': 'pow',
  '<': 'lt', '>': 'gt', '<=': 'le', '>=': 'ge', '===': 'seq', '!==': 'sne', '==': 'eq', '!=': 'ne',
  '&': 'band', '|': 'bor', '^': 'bxor', '<<': 'shl', '>>': 'shr', '>>>': 'ushr',
};
const booleanOps = new Set(['<', '>', '<=', '>=', '===', '!==', '==', '!=', 'in', 'instanceof']);

interface Token { start: number; end: number }

/**
 * Edits are insertions and token replacements only, so every line of the output is the same line of the input:
 * stack traces of instrumented code point at the user's own lines even without a source map.
 */
export function instrument(source: string, opts: InstrumentOptions): Instrumented {
  const tokens: Token[] = [];
  const ast: any = Parser.parse(source, {
    ecmaVersion: 'latest', sourceType: opts.sourceType, allowHashBang: true, ranges: true, allowReturnOutsideFunction: true,
    onToken: (t: any) => tokens.push({ start: t.start, end: t.end }),
  } as any);
  const facts = analyzeScopes(ast, opts.sourceType, opts.commonjs);
  const s = new MagicString(source);
  const rt = opts.rt;
  const free = new Set<string>();

  /** The first token at or after `from` whose text is `text`. */
  const tokenAt = (from: number, text: string): Token => {
    let lo = 0, hi = tokens.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (tokens[mid].start < from) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < tokens.length; i++) if (source.slice(tokens[i].start, tokens[i].end) === text) return tokens[i];
    throw new Error(`tracegrad rewrite: no '${text}' after offset ${from}`);
  };
  const text = (n: any) => s.slice(n.start, n.end);
  const replaceToken = (from: number, tok: string, by: string) => {
    const t = tokenAt(from, tok);
    s.overwrite(t.start, t.end, by);
  };
  const wrap = (n: any, before: string, after = ')') => {
    // a sequence `a, b` becomes one argument only inside parentheses of its own
    const seq = n.type === 'SequenceExpression';
    s.prependRight(n.start, seq ? `${before}(` : before);
    s.appendLeft(n.end, seq ? `)${after}` : after);
  };

  const isScopeName = (id: any) => facts.free.has(id) && opts.scopeNames?.has(id.name) === true;
  const scopeText = (name: string) => `${opts.scopeObject}.${name}`;
  const isMath = (n: any) => n.type === 'Identifier' && n.name === 'Math' && facts.free.has(n) && !isScopeName(n);

  /** Side-effect-free expressions that may be evaluated twice (identifiers, this, literals, dotted chains of them). */
  const pure = (n: any): boolean =>
    n.type === 'Identifier' || n.type === 'ThisExpression' || n.type === 'Literal' ||
    (n.type === 'MemberExpression' && !n.computed && !n.optional && n.object.type !== 'Super' && pure(n.object));
  const pureKey = (n: any) => n.type === 'Identifier' || n.type === 'Literal';

  /**
   * The text before and after the value in `target = value` for an identifier target. Scope names write through the
   * scope object; variables that outlive the call register a cleanup for the tracked values written to them.
   */
  const assignIdent = (id: any): [string, string] => {
    if (isScopeName(id)) return [`${scopeText(id.name)} = ${rt}.wf(${opts.scopeObject}, `, ')'];
    if (facts.capturedWrites.has(id)) return [`${id.name} = ${rt}.wv(`, `, () => ${id.name} = ${rt}.settled(${id.name}))`];
    return [`${id.name} = `, ''];
  };
  const identRead = (id: any) => (isScopeName(id) ? scopeText(id.name) : id.name);

  const valueUnused = (parent: any, key: string) =>
    parent.type === 'ExpressionStatement' || (parent.type === 'ForStatement' && key === 'update');

  /** A member target `o[k]` / `o.f` split into object text and key text (the key quoted for dotted access). */
  const memberParts = (m: any): [string, string] => [text(m.object), m.computed ? text(m.property) : JSON.stringify(m.property.name)];
  /** Turn `o[k] <rest>` / `o.f <rest>` into `rt.fn(o, k<rest>` by editing the tokens between the parts. */
  const memberCallForm = (m: any, fn: string) => {
    s.prependRight(m.start, `${rt}.${fn}(`);
    if (m.computed) {
      replaceToken(m.object.end, '[', ', ');
      replaceToken(m.property.end, ']', '');
    } else {
      s.overwrite(tokenAt(m.object.end, '.').start, m.property.end, `, ${JSON.stringify(m.property.name)}`);
    }
  };

  const isPrivate = (m: any) => m.type === 'MemberExpression' && m.property.type === 'PrivateIdentifier';
  /** `this.#p = value` pieces: private fields are invisible to the clean-up walk, so writes register a fix. */
  const assignPrivate = (m: any): [string, string] => {
    const target = text(m);
    return [`${target} = ${rt}.wv(`, `, () => ${target} = ${rt}.settled(${target}))`];
  };
  /** Before/after texts of an assignment to an identifier or to a pure member (logical assignments need both forms). */
  const assignAny = (t: any): [string, string] | null => {
    if (t.type === 'Identifier') return assignIdent(t);
    if (t.type !== 'MemberExpression' || t.optional || !pure(t.object) || (t.computed && !pureKey(t.property))) return null;
    if (isPrivate(t)) return assignPrivate(t);
    const [o, k] = memberParts(t);
    return [`${text(t)} = ${t.computed ? `${rt}.wr(${o}, ${k}, ` : `${rt}.wf(${o}, `}`, ')'];
  };

  const isTest = (parent: any, key: string) =>
    key === 'test' && ['IfStatement', 'WhileStatement', 'DoWhileStatement', 'ForStatement', 'ConditionalExpression'].includes(parent.type);
  const needsTruthy = (n: any) =>
    !((n.type === 'BinaryExpression' && booleanOps.has(n.operator)) || (n.type === 'UnaryExpression' && n.operator === '!') || n.type === 'Literal');

  const handle = (n: any, parent: any, key: string) => {
    switch (n.type) {
      case 'Identifier': {
        if (!facts.free.has(n)) break;
        free.add(n.name);
        const shorthand = parent.type === 'Property' && parent.shorthand && key === 'value';
        const replacement = isMath(n) ? `${rt}.M` : isScopeName(n) ? scopeText(n.name) : null;
        if (replacement === null) break;
        if (isScopeName(n) && (parent.type === 'AssignmentExpression' && key === 'left' || parent.type === 'UpdateExpression')) break;
        s.overwrite(n.start, n.end, shorthand ? `${n.name}: ${replacement}` : replacement);
        break;
      }
      case 'BinaryExpression': {
        const fn = arithmetic[n.operator];
        if (fn === undefined) break;
        s.prependRight(n.start, `${rt}.${fn}(`);
        replaceToken(n.left.end, n.operator, ',');
        s.appendLeft(n.end, ')');
        break;
      }
      case 'UnaryExpression': {
        const a = n.argument;
        const fn = { '-': 'neg', '+': 'pos', '~': 'bnot', typeof: 'typeOf' }[n.operator as string];
        if (n.operator === '!') wrap(a, `${rt}.truthy(`);
        else if (fn !== undefined && !(n.operator === 'typeof' && a.type === 'Identifier' && facts.free.has(a) && !isScopeName(a))) {
          // replace just the operator token: `-(a)` keeps its own parentheses
          s.overwrite(n.start, n.start + n.operator.length, `${rt}.${fn}(`);
          s.appendLeft(n.end, ')');
        }
        break;
      }
      case 'LogicalExpression': {
        // a && b  →  (rt.lhs(a) ? b : rt.last()): lhs stores a and returns its truthiness; nothing runs between
        // that store and the read of it, so nesting and re-entrancy are safe.
        if (n.operator === '??') break;
        s.prependRight(n.start, `(${rt}.lhs(`);
        if (n.operator === '&&') {
          replaceToken(n.left.end, '&&', ') ?');
          s.appendLeft(n.end, ` : ${rt}.last())`);
        } else {
          replaceToken(n.left.end, '||', `) ? ${rt}.last() :`);
          s.appendLeft(n.end, ')');
        }
        break;
      }
      case 'AssignmentExpression': {
        const t = n.left;
        const op = n.operator;
        const opToken = tokenAt(t.end, op);
        // a parenthesised target `(o.f) += v` is the same target: drop its parentheses
        if (n.start < t.start) s.remove(n.start, t.start), s.remove(t.end, opToken.start);
        if (op === '&&=' || op === '||=') {
          // a &&= b → (truthy(a) ? (a = b) : a); a ||= b → (truthy(a) ? a : (a = b)): a tracked 0 is falsy
          const pieces = assignAny(t);
          if (pieces === null) break;
          const read = t.type === 'Identifier' ? identRead(t) : text(t);
          const [pre, post] = pieces;
          s.overwrite(t.start, opToken.end, op === '&&=' ? `(${rt}.truthy(${read}) ? (${pre}` : `(${rt}.truthy(${read}) ? ${read} : (${pre}`);
          s.appendLeft(n.end, op === '&&=' ? `${post}) : ${read})` : `${post}))`);
          break;
        }
        if (isPrivate(t)) {
          if (!pure(t.object)) break;
          const fn = op === '=' ? null : arithmetic[op.slice(0, -1)];
          if (fn === undefined) break;
          const [pre, post] = assignPrivate(t);
          const read = text(t);
          s.overwrite(t.start, opToken.end, fn === null ? pre : `${pre}${rt}.${fn}(${read}, `);
          s.appendLeft(n.end, fn === null ? post : `)${post}`);
          break;
        }
        if (t.type === 'Identifier') {
          const fn = op === '=' ? null : arithmetic[op.slice(0, -1)];
          if (fn === undefined || (fn === null && !isScopeName(t) && !facts.capturedWrites.has(t))) break;
          const [pre, post] = assignIdent(t);
          // everything up to the operator is replaced; the right side keeps its own parentheses
          s.overwrite(t.start, opToken.end, fn === null ? pre : `${pre}${rt}.${fn}(${identRead(t)}, `);
          s.appendLeft(n.end, fn === null ? post : `)${post}`);
          break;
        }
        if (t.type === 'ArrayPattern' || t.type === 'ObjectPattern') {
          wrap(n.right, t.type === 'ArrayPattern' ? `${rt}.I(` : `${rt}.D(`);
          break;
        }
        if (t.type !== 'MemberExpression' || t.optional || isPrivate(t)) break;
        if (op === '=') {
          if (pure(t.object) && (!t.computed || pureKey(t.property))) {
            const [o, k] = memberParts(t);
            s.appendLeft(opToken.end, t.computed ? ` ${rt}.wr(${o}, ${k},` : ` ${rt}.wf(${o},`);
            s.appendLeft(n.end, ')');
          } else {
            memberCallForm(t, 'put');
            s.overwrite(opToken.start, opToken.end, ',');
            s.appendLeft(n.end, ')');
          }
          break;
        }
        const fn = arithmetic[op.slice(0, -1)];
        if (fn === undefined) break;
        // o[k] op= v → rt.upd(rt.ref(o, k), "op", v, 0): the old value is read before v is evaluated, as in JS
        memberCallForm(t, 'ref');
        s.prependRight(t.start, `${rt}.upd(`);
        s.overwrite(opToken.start, opToken.end, `), "${fn}",`);
        s.appendLeft(n.end, ', 0)');
        break;
      }
      case 'UpdateExpression': {
        const t = n.argument;
        const fn = n.operator === '++' ? 'inc' : 'dec';
        if (t.type === 'Identifier' || (isPrivate(t) && pure(t.object))) {
          const [pre, post] = t.type === 'Identifier' ? assignIdent(t) : assignPrivate(t);
          const read = t.type === 'Identifier' ? identRead(t) : text(t);
          const assign = `${pre}${rt}.${fn}(${read})${post}`;
          const out = n.prefix || valueUnused(parent, key) ? `(${assign})` : `${rt}.post(${read}, ${assign})`;
          s.overwrite(n.start, n.end, out);
        } else if (t.type === 'MemberExpression' && !t.optional && !isPrivate(t)) {
          // the operator and any parentheses around the target go; ++/-- convert as JS does (rt.inc, rt.dec)
          s.remove(n.start, t.start);
          s.remove(t.end, n.end);
          memberCallForm(t, 'ref');
          s.prependRight(t.start, `${rt}.upd(`);
          s.appendLeft(t.end, `), "${fn}", 0, ${n.prefix ? 0 : 1})`);
        }
        break;
      }
      case 'MemberExpression': {
        if (!n.computed || n.optional || n.object.type === 'Super' || patternTargets.has(n)) break;
        const role = (parent.type === 'AssignmentExpression' && key === 'left') || (parent.type === 'UpdateExpression') ||
          (parent.type === 'CallExpression' && key === 'callee') || (parent.type === 'UnaryExpression' && parent.operator === 'delete') ||
          ((parent.type === 'ForOfStatement' || parent.type === 'ForInStatement') && key === 'left') || parent.type === 'ChainExpression';
        if (role) break;
        if (pure(n.object) && pureKey(n.property)) {
          const o = text(n.object), k = text(n.property);
          s.overwrite(n.start, n.end, `(${rt}.st.shadowCount === 0 ? ${o}[${k}] : ${rt}.get(${o}, ${k}))`);
        } else {
          memberCallForm(n, 'get');
          s.appendLeft(n.end, ')');
        }
        break;
      }
      case 'CallExpression': {
        const c = n.callee;
        if (n.optional || c.type === 'Super') break;
        if (c.type === 'Identifier') {
          if (c.name === 'eval') break;
          wrap(c, `${rt}.C(`);
        } else if (c.type === 'MemberExpression' && !c.optional && c.object.type !== 'Super' && !isMath(c.object)) {
          const open = tokenAt(c.end, '(');
          const comma = n.arguments.length > 0 ? ', ' : '';
          if (pure(c.object)) {
            // o.m(a) → rt.C(o.m).call(o, a): o is evaluated twice, which is safe for a pure o
            const receiver = text(c.object);
            s.prependRight(c.start, `${rt}.C(`);
            s.overwrite(open.start, open.end, `).call(${receiver}${comma}`);
          } else if (!isPrivate(c)) {
            // f().m(a) → rt.mc(f(), "m", a): the receiver is evaluated once
            memberCallForm(c, 'mc');
            s.overwrite(open.start, open.end, comma);
          }
        }
        break;
      }
      case 'SpreadElement':
        if (parent.type === 'ArrayExpression' || parent.type === 'CallExpression' || parent.type === 'NewExpression') wrap(n.argument, `${rt}.I(`);
        break;
      case 'ForOfStatement':
        wrap(n.right, `${rt}.I(`);
        break;
      case 'SwitchStatement':
        wrap(n.discriminant, `${rt}.key(`);
        break;
      case 'SwitchCase':
        if (n.test !== null) wrap(n.test, `${rt}.key(`);
        break;
      case 'VariableDeclarator':
        // destructuring reads elements natively: typed arrays must show their tracked values
        if (n.id.type === 'ArrayPattern' && n.init !== null) wrap(n.init, `${rt}.I(`);
        if (n.id.type === 'ObjectPattern' && n.init !== null) wrap(n.init, `${rt}.D(`);
        break;
      case 'NewExpression':
        if (n.callee.type === 'Identifier') wrap(n.callee, `(${rt}.N(`, '))');
        break;
      case 'FunctionDeclaration':
      case 'FunctionExpression':
      case 'ArrowFunctionExpression':
        if (opts.markFunctions) {
          if (n.body.type === 'BlockStatement') s.appendLeft(n.body.start + 1, MARK);
          else s.prependRight(n.body.start, MARK);
        }
        break;
    }
    if (isTest(parent, key) && needsTruthy(n)) wrap(n, `${rt}.truthy(`);
  };

  // member expressions that destructuring writes to ([a[0], a[1]] = ..., ({ x: o[k] } = ...), [a[0] = 7] = ...):
  // targets, not reads (rewritten as reads they would not compile); they stay plain writes
  const patternTargets = new Set<any>();
  const markTargets = (p: any): void => {
    if (p === null || p === undefined) return;
    if (p.type === 'MemberExpression') patternTargets.add(p);
    else if (p.type === 'ArrayPattern') p.elements.forEach(markTargets);
    else if (p.type === 'ObjectPattern') p.properties.forEach((q: any) => markTargets(q.type === 'RestElement' ? q.argument : q.value));
    else if (p.type === 'AssignmentPattern') markTargets(p.left);
    else if (p.type === 'RestElement') markTargets(p.argument);
  };
  const findPatterns = (n: any): void => {
    if (n.type === 'ArrayPattern' || n.type === 'ObjectPattern') markTargets(n);
    for (const k of Object.keys(n)) {
      const v = n[k];
      if (Array.isArray(v)) for (const c of v) c !== null && typeof c === 'object' && typeof c.type === 'string' && findPatterns(c);
      else if (v !== null && typeof v === 'object' && typeof v.type === 'string') findPatterns(v);
    }
  };
  findPatterns(ast);

  const visit = (n: any, parent: any, key: string) => {
    for (const k of Object.keys(n)) {
      if (k === 'type' || k === 'start' || k === 'end' || k === 'loc' || k === 'range') continue;
      const v = n[k];
      if (Array.isArray(v)) {
        for (const c of v) if (c !== null && typeof c === 'object' && typeof c.type === 'string') visit(c, n, k);
      } else if (v !== null && typeof v === 'object' && typeof v.type === 'string') visit(v, n, k);
    }
    handle(n, parent, key);
  };
  visit(ast, { type: 'Root' }, 'root');
  let startText = '';
  for (const [at, text] of opts.insertions?.(ast) ?? []) {
    if (at < 0) startText += text;
    else s.appendLeft(at, text);
  }

  return {
    code: s.toString(),
    map: s.generateMap({ hires: true, source: opts.filename, includeContent: true }),
    free: [...free],
    ast,
    startText,
  };
}
