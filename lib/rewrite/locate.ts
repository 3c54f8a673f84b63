// Where a function's source text sits in its file, so traced code can keep the user's file and line in stack traces.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Session } from 'node:inspector';

const fileText = new Map<string, string | null>();

function readSource(url: string): string | null {
  if (!fileText.has(url)) {
    try {
      fileText.set(url, readFileSync(url.startsWith('file:') ? fileURLToPath(url) : url, 'utf8'));
    } catch {
      fileText.set(url, null);
    }
  }
  return fileText.get(url)!;
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

function copiesOf(text: string, src: string): number[] {
  const copies: number[] = [];
  for (let at = text.indexOf(src); at >= 0; at = text.indexOf(src, at + 1)) copies.push(at);
  return copies;
}

/**
 * Of several identical copies of a function's text, prefer those introduced by its name (`const name =`,
 * `function name`), then the last one that starts at or before the line that called traced().
 */
function pickCopy(text: string, src: string, name: string, callLine: number): number {
  const copies = copiesOf(text, src);
  if (copies.length <= 1) return copies.length === 1 ? copies[0] : -1;
  const named = name === '' ? [] : copies.filter((at) => new RegExp(`\\b${name.replace(/\$/g, '\\$')}\\b`).test(text.slice(Math.max(0, at - 80), at + 40)));
  const pool = named.length > 0 ? named : copies;
  const before = pool.filter((at) => lineOf(text, at) <= callLine);
  return before.length > 0 ? before[before.length - 1] : pool[0];
}

export interface Location {
  url: string;
  line: number;
  column: number;
}

function at(url: string, text: string, offset: number): Location {
  return { url, line: lineOf(text, offset), column: offset - text.lastIndexOf('\n', offset - 1) };
}

/**
 * Find fn's source: first in the files on the current stack (usually the one calling traced()), else where V8 says
 * the function was defined (through the inspector; for functions imported from other modules).
 */
export function locate(fn: Function, src: string): Location | null {
  return fromStack(src, fn.name) ?? fromInspector(fn, src);
}

function fromStack(src: string, name: string): Location | null {
  const saved = (Error as any).prepareStackTrace;
  let frames: any[] = [];
  try {
    (Error as any).prepareStackTrace = (_e: Error, cs: any[]) => cs;
    frames = (new Error().stack as any) ?? [];
  } finally {
    (Error as any).prepareStackTrace = saved;
  }
  const seen = new Set<string>();
  for (const f of frames) {
    const url: string | null = f.getFileName?.() ?? null;
    if (!url || seen.has(url) || url.startsWith('node:') || url === __filename || f.isEval?.()) continue;
    seen.add(url);
    const text = readSource(url);
    if (text === null) continue;
    const best = pickCopy(text, src, name, f.getLineNumber?.() ?? Infinity);
    if (best >= 0) return at(url, text, best);
  }
  return null;
}

/**
 * One in-process inspector session for the whole process, its debugger enabled once: enabling replays a
 * scriptParsed event for every script compiled so far, so enabling per lookup made each traced() call slower than the
 * last (quadratic over many `new Function` sources). Scripts parsed later are reported as they come.
 */
let inspector: { post: (method: string, params?: object) => any; urls: Map<string, string> } | null = null;

function connect() {
  if (inspector !== null) return inspector;
  const session = new Session();
  session.connect();
  const urls = new Map<string, string>();
  session.on('Debugger.scriptParsed', (m: any) => {
    if (m.params.url) urls.set(m.params.scriptId, m.params.url);
  });
  const post = (method: string, params?: object): any => {
    let result: any, error: any;
    session.post(method, params, (e: any, r: any) => ((error = e), (result = r)));
    if (error) throw error;
    return result;
  };
  post('Debugger.enable');
  return (inspector = { post, urls });
}

/** V8's [[FunctionLocation]] of fn, read synchronously through the inspector session. */
function fromInspector(fn: Function, src: string): Location | null {
  const key = '__tracegradLocate';
  try {
    const { post, urls } = connect();
    (globalThis as any)[key] = fn;
    const { result } = post('Runtime.evaluate', { expression: `globalThis.${key}` });
    const props = post('Runtime.getProperties', { objectId: result.objectId, ownProperties: true });
    post('Runtime.releaseObject', { objectId: result.objectId });
    const where = props.internalProperties?.find((p: any) => p.name === '[[FunctionLocation]]')?.value?.value;
    if (!where) return null;
    const url = urls.get(where.scriptId); // scripts without a URL (eval, new Function) have no file to read
    const text = url ? readSource(url) : null;
    if (!url || text === null) return null;
    // the copy of the source that contains V8's position (it points into the function, not at its first character)
    const lines = text.split('\n');
    const offset = lines.slice(0, where.lineNumber).reduce((n, l) => n + l.length + 1, 0) + where.columnNumber;
    const copy = copiesOf(text, src).find((c) => c <= offset && offset <= c + src.length);
    return copy === undefined ? null : at(url, text, copy);
  } catch {
    return null;
  } finally {
    delete (globalThis as any)[key];
  }
}
