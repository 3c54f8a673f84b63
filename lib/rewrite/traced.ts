// traced(fn, scope): re-create a function from its source, instrumented, with its free variables read from `scope`.
import { instrument, MARK } from './instrument';
import { locate } from './locate';
import { runtime } from '../runtime';
import { mathNamespace } from '../rules/math';
import { ORIGINAL } from '../rules/custom';
import { TRACED, markTraced } from '../ops';
import { scopedMath, scopes } from '../jit/scopes';
import { tracer } from '../rules/numbers';
import { TracegradError } from '../errors';

const autoTraced = new WeakMap<Function, Function>();
const nativeMath = new Map<Function, Function>(
  Object.getOwnPropertyNames(Math).filter((k) => typeof (Math as any)[k] === 'function').map((k) => [(Math as any)[k], mathNamespace[k]]),
);

/**
 * Already instrumented: made by traced(), or defined in a module the loader rewrote.
 *
 * @example
 * ```js
 * import { traced, isTraced } from 'tracegrad';
 * const square = (x) => x * x;
 * isTraced(square); // → false
 * isTraced(traced(square)); // → true
 * ```
 */
export function isTraced(fn: any): boolean {
  return fn[TRACED] === true || Function.prototype.toString.call(fn).includes(MARK);
}

/**
 * Returns a traced version of fn: its source is instrumented so that arithmetic, comparisons, Math.* and element
 * reads/writes accept tracked values. Free identifiers resolve from `scope` (read and written through it, so the
 * scope object sees assignments), then from globalThis; traced() throws naming any that resolve in neither.
 * In a module loaded through tracegrad/register, and for functions already traced, traced() is the identity.
 *
 * @example
 * ```js
 * import { traced, gradient } from 'tracegrad';
 * function pow(x, n) {
 *   let r = 1;
 *   for (let i = 0; i < n; i++) r *= x;
 *   return r;
 * }
 * const cube = traced((x) => pow(x, 3), { pow: traced(pow) }); // pow is a free variable: pass it in the scope
 * cube(2); // → 8
 * gradient(cube, 5); // → [75]
 * ```
 */
export function traced<F extends Function>(fn: F, scope?: Record<string, any>): F {
  if (typeof fn !== 'function') throw new TracegradError(`traced(fn, scope): fn must be a function, got ${typeof fn}.`);
  if (isTraced(fn)) return fn;
  const math = nativeMath.get(fn);
  if (math !== undefined) return math as any;
  const src = Function.prototype.toString.call(fn);
  if (/\{\s*\[native code\]\s*\}\s*$/.test(src))
    throw new TracegradError(
      fn.name.startsWith('bound ')
        ? `traced(): ${fn.name.length > 6 ? `\`${fn.name}\`` : 'this'} is a bound function, whose source is hidden; trace the function first, then bind the traced one.`
        : `traced(): ${fn.name || 'this function'} is native code, which cannot be rewritten; give it a rule with defineAdjoint(fn, rule).`,
    );
  if (scope !== undefined && (scope === null || typeof scope !== 'object'))
    throw new TracegradError('traced(fn, scope): scope must be an object mapping free variable names to values, e.g. { helper, table }.');

  const at = locate(fn, src);
  // methods and accessors (`m(x) { ... }`, `get r() { ... }`) only parse inside an object literal
  const asExpression = parses(src);
  const body = asExpression ? `(${src})` : `({${src}})`;
  const scopeNames = new Set(scope ? allKeys(scope) : []);
  const out = instrument(body, { sourceType: 'script', rt: '__tg', scopeObject: '__scope', scopeNames, markFunctions: true });
  const missing = out.free.filter((n) => !(scope !== undefined && n in scope) && !(n in globalThis));
  if (missing.length > 0)
    throw new TracegradError(
      `traced(${fn.name || 'fn'}): free variable${missing.length > 1 ? 's' : ''} ${missing.map((n) => `\`${n}\``).join(', ')} ` +
        `resolve${missing.length > 1 ? '' : 's'} neither in scope nor in globalThis. Pass ${missing.length > 1 ? 'them' : 'it'} in ` +
        `the scope: traced(${fn.name || 'fn'}, { ${missing.join(', ')} }), or load the module through tracegrad/register.`,
    );
  // pad so the instrumented source sits on the same line and column as the original in its file
  const pad = at ? '\n'.repeat(at.line - 1) + ' '.repeat(Math.max(0, at.column - (asExpression ? 2 : 3))) : '';
  // binding the result to a const named like fn lets V8 name anonymous functions in stack frames
  const name = /^[A-Za-z_$][\w$]*$/.test(fn.name) && !out.free.includes(fn.name) ? fn.name : '__traced';
  const code = `(function (__tg, __scope) { const ${name} = (${pad}${out.code}); return ${name}; })\n` +
    `//# sourceURL=${at ? at.url : `tracegrad:traced/${fn.name || 'anonymous'}`}`;
  const made = (0, eval)(code)(runtime, scope ?? {});
  const result = asExpression ? made : memberOf(made, src);
  markTraced(result);
  Object.defineProperty(result, ORIGINAL, { value: fn });
  if (scope !== undefined && 'Math' in scope) scopedMath.add(result);
  scopes.set(result, { scope: scope ?? {}, scopeNames });
  // a bound traced function is still traced (bind() itself makes a native function whose source is hidden)
  Object.defineProperty(result, 'bind', {
    value(this: Function, ...args: any[]) {
      return markTraced(Function.prototype.bind.apply(this, args as any));
    },
  });
  return result;
}

/** The function a method or accessor source defines, from the object literal it was compiled in. */
function memberOf(holder: any, src: string): Function {
  const d = Object.getOwnPropertyDescriptor(holder, memberName(src))!;
  const kind = /^\s*(?:static\s+)?(get|set)\s/.exec(src)?.[1];
  return kind === 'get' ? d.get! : kind === 'set' ? d.set! : d.value;
}

/** gradient(f) of an untraced f traces it once (it must be self-contained) and remembers the result. */
export function ensureTraced(f: any): any {
  if (typeof f !== 'function') throw new TracegradError(`tracegrad: expected a function to differentiate, got ${typeof f}.`);
  if (isTraced(f)) return f;
  let t = autoTraced.get(f);
  if (t === undefined) {
    try {
      t = traced(f) as Function;
    } catch (e) {
      if (e instanceof TracegradError && /free variable/.test(e.message))
        e.message = `tracegrad: the function to differentiate is not traced, so it was traced automatically, which needs ` +
          `it to be self-contained. ${e.message}`;
      throw e;
    }
    autoTraced.set(f, t);
  }
  return t;
}

function allKeys(o: any): string[] {
  const keys = new Set<string>();
  for (let p = o; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p)) for (const k of Object.getOwnPropertyNames(p)) keys.add(k);
  return [...keys];
}

function parses(src: string): boolean {
  try {
    new Function(`return (${src})`);
    return true;
  } catch {
    return false;
  }
}

function memberName(src: string): string {
  const m = /^\s*(?:static\s+)?(?:async\s+)?(?:get\s+|set\s+)?\*?\s*([\w$]+)/.exec(src);
  return m ? m[1] : '';
}

tracer.traced = (f, scope) => traced(f, scope);
tracer.isTraced = (f) => isTraced(f);
