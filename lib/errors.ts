// Error messages that say what went wrong and what to do instead, plus stack inspection to name the user's function.

/** The first stack frame outside tracegrad itself: the user's code that triggered the error. */
export function userFrame(): { name: string; where: string } | null {
  const saved = (Error as any).prepareStackTrace;
  const savedLimit = Error.stackTraceLimit;
  let frames: any[] = [];
  try {
    Error.stackTraceLimit = 30;
    (Error as any).prepareStackTrace = (_e: Error, cs: any[]) => cs;
    frames = (new Error().stack as any) ?? [];
  } finally {
    (Error as any).prepareStackTrace = saved;
    Error.stackTraceLimit = savedLimit;
  }
  for (const f of frames) {
    const file: string = f.getFileName?.() ?? '';
    if (!file || isOwnFile(file) || file.startsWith('node:')) continue;
    const name = f.getFunctionName?.() || f.getMethodName?.() || '<anonymous>';
    return { name, where: `${file}:${f.getLineNumber()}:${f.getColumnNumber()}` };
  }
  return null;
}

const ownDir = __dirname.replace(/[\\/][^\\/]*$/, '');
function isOwnFile(file: string): boolean {
  const path = file.startsWith('file://') ? decodeURIComponent(new URL(file).pathname) : file;
  return path.startsWith(ownDir + '/dist/') || path.startsWith(ownDir + '/esm/') || path.startsWith(ownDir + '/lib/');
}

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
