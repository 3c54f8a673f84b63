// Error messages that say what went wrong and what to do instead, plus stack inspection to name the user's function.

function callSites(): any[] {
  const saved = (Error as any).prepareStackTrace;
  const savedLimit = Error.stackTraceLimit;
  try {
    Error.stackTraceLimit = 30;
    (Error as any).prepareStackTrace = (_e: Error, cs: any[]) => cs;
    return (new Error().stack as any) ?? [];
  } finally {
    (Error as any).prepareStackTrace = saved;
    Error.stackTraceLimit = savedLimit;
  }
}

/** A frame's file; code made by traced() (eval with a sourceURL naming the user's file) reports that file. */
const fileOf = (f: any): string => f.getFileName?.() ?? f.getScriptNameOrSourceURL?.() ?? '';

const describeSite = (f: any) => ({
  name: f.getFunctionName?.() || f.getMethodName?.() || '<anonymous>',
  where: `${fileOf(f)}:${f.getLineNumber()}:${f.getColumnNumber()}`,
});

/** The first stack frame outside tracegrad itself: the user's code that triggered the error. */
export function userFrame(): { name: string; where: string } | null {
  for (const f of callSites()) {
    const file = fileOf(f);
    if (!file || isOwnFile(file) || file.startsWith('node:')) continue;
    return describeSite(f);
  }
  return null;
}

/**
 * Built-ins that take a tracked number as an index, count or size: they truncate it to an integer, which has
 * derivative 0, so giving them the primal loses nothing (`arr.slice(0, n)`, `s.repeat(n)`, `new Array(n)`).
 */
const integerArguments = new Set(['slice', 'at', 'splice', 'repeat', 'charAt', 'charCodeAt', 'codePointAt', 'substring',
  'substr', 'padStart', 'padEnd', 'subarray', 'fill', 'copyWithin', 'indexOf', 'lastIndexOf', 'includes', 'with',
  'toSpliced', 'flat', 'Array', 'from', 'setInt8', 'toFixed', 'toPrecision', 'toExponential', 'String', 'fromCharCode']);

/**
 * Numeric coercion of a tracked value (`Tracked[Symbol.toPrimitive]`): traced code never coerces, so this is untraced
 * code or a built-in doing arithmetic on it. An integer given to a built-in as an index or count is allowed; anything
 * else throws, naming the culprit.
 */
export function numericCoercion(value: number): number {
  const sites = callSites();
  const first = sites.findIndex((f) => {
    const file = fileOf(f);
    return !(file && isOwnFile(file));
  });
  const site = first >= 0 ? sites[first] : null;
  const native = site !== null && (!fileOf(site) || site.isNative?.());
  if (native) {
    const name: string = site.getFunctionName?.() ?? '';
    if (Number.isInteger(value) && integerArguments.has(name.replace(/^.*\./, ''))) return value;
    const caller = sites.slice(first + 1).find((f) => fileOf(f) && !isOwnFile(fileOf(f)));
    const type = site.getTypeName?.();
    const builtin = `${type && type !== 'Object' && !name.includes('.') ? `${type}.` : ''}${name || 'a built-in'}`;
    throw new TracegradError(
      `tracegrad: a tracked value reached the built-in \`${builtin}\`${caller ? ` (called from \`${describeSite(caller).name}\` at ${describeSite(caller).where})` : ''}, ` +
        `which converts it to a plain number, so its derivative would be lost. Do that step in traced code (e.g. a ` +
        `comparator or callback written inline), give the built-in ignore(x) if the value is meant to be a constant ` +
        `there, or give the function a rule with defineAdjoint(fn, rule).`,
    );
  }
  throw untracedArithmeticError();
}

const ownDir = __dirname.replace(/[\\/][^\\/]*$/, '');
function isOwnFile(file: string): boolean {
  const path = file.startsWith('file://') ? decodeURIComponent(new URL(file).pathname) : file;
  return path.startsWith(ownDir + '/dist/') || path.startsWith(ownDir + '/esm/') || path.startsWith(ownDir + '/lib/');
}

/**
 * The error tracegrad throws for misuse: each message says what to do instead (a non-scalar output points
 * to jacobian, untraced code names the function and the fixes).
 *
 * @example
 * ```js
 * import { gradient, jacobian, TracegradError } from 'tracegrad';
 * // a gradient needs a number: the error says to use jacobian for an array output
 * gradient((x) => [x, 2 * x], 1); // throws TracegradError /jacobian/
 * jacobian((x) => [x, 2 * x], 1); // → [[1, 2]]
 * new TracegradError('message').name; // → 'TracegradError'
 * ```
 */
export class TracegradError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TracegradError';
  }
}

export function untracedArithmeticError(): TracegradError {
  const frame = userFrame();
  const fn = frame ? `function \`${frame.name}\` (${frame.where})` : 'a function that was not traced';
  return new TracegradError(
    `tracegrad: a tracked value reached arithmetic in ${fn}, which was not traced, so its derivative would be lost. ` +
      `Fixes: wrap the function with traced(fn, { ...its free variables }) and call the traced version; ` +
      `or give it a rule with defineAdjoint(fn, rule); or load the module through the loader ` +
      `(node --import tracegrad/register app.mjs, or require('tracegrad/register')). ` +
      `If the value is meant to be a constant there, pass ignore(x) instead.`,
  );
}

export function staleTrackedError(): TracegradError {
  return new TracegradError(
    'tracegrad: a tracked value from a gradient call that is not active here was used (it escaped its call, ' +
      'or was captured by a closure given to checkpoint/defineAdjoint). Pass such values as explicit arguments, ' +
      'or use ignore(x) to treat it as a constant.',
  );
}
