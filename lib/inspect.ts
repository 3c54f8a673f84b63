// inspect(f, ...args), like Zygote's @code_adjoint: the recorded trace with source lines, its guards, and compiled code.
import { record } from './api';
import { Kind, opNames } from './trace/tape';
import { cleanUp, stripValue } from './trace/containers';
import { ensureTraced } from './rewrite/traced';
import { Ineligible } from './jit/compile';
import { tierOf, argKinds, compileFor } from './jit/tier';

export interface TraceEntry {
  /** Slot on the tape (the `%n` in the listing). */
  index: number;
  op: string;
  /** Slots this entry's derivative flows to. */
  parents: number[];
  /** Local partial derivatives, one per parent (empty for inputs, guards and custom rules). */
  partials: number[];
  /** The primal value; for a guard, the outcome of its test. */
  value: any;
  /** file:line:column of the user's code that made it. */
  where: string | null;
}

export interface Inspection {
  /** Every recorded entry, guards included, in recording order. */
  trace: TraceEntry[];
  /** The comparisons and truthiness tests on tracked values: what a compiled trace must re-check. */
  guards: TraceEntry[];
  /** Which tier gradients of f use now (see tierOf). */
  tier: string;
  /** The compiled tier's generated forward and reverse passes, or why f is not compiled. */
  compiled: { forward: string; reverse: string } | { ineligible: string };
  /** A readable listing of all of the above. */
  toString(): string;
}

/**
 * Record f at args once, keeping each entry's source location and value, and show the trace, its guards and the
 * code the compiled tier generates for f. Nothing is differentiated; the arguments are left as they were.
 *
 * @example
 * ```js
 * import { inspect } from 'tracegrad';
 * const listing = inspect((x) => (x > 0 ? x * x : -x), 3);
 * listing.trace.map((entry) => entry.op); // → ['input', 'guard:>', 'mul']
 * // the product's local partials: ∂(x·x)/∂ each factor = x = 3
 * listing.trace[2].partials; // → [3, 3]
 * listing.guards.map((guard) => guard.value); // → [true]
 * String(listing).startsWith('trace'); // → true
 * ```
 */
export function inspect(f: (...args: any[]) => any, ...args: any[]): Inspection {
  const fn = ensureTraced(f);
  const { out, tape } = record(fn, args, true);
  stripValue(out, tape);
  cleanUp(tape, args);
  const trace: TraceEntry[] = [];
  for (let i = 0; i < tape.n; i++) {
    const k = tape.kind[i];
    const note = tape.notes![i];
    const entry: TraceEntry = { index: i, op: opNames[tape.op[i]], parents: [], partials: [], value: note?.value, where: note?.where ?? null };
    if (k === Kind.Unary || k === Kind.Binary) {
      entry.parents = k === Kind.Unary ? [tape.a0[i]] : [tape.a0[i], tape.a1[i]];
      entry.partials = tape.ext[i] !== undefined ? tape.ext[i] : k === Kind.Unary ? [tape.d0[i]] : [tape.d0[i], tape.d1[i]];
    } else if (k === Kind.Nary) {
      entry.parents = [...tape.ext[i].parents];
      entry.partials = [...tape.ext[i].partials];
    } else if (k === Kind.Guard) entry.parents = tape.a0[i] >= 0 ? [tape.a0[i]] : [];
    else if (k === Kind.ExternOut) entry.parents = [tape.ext[i].node];
    else if (k === Kind.Pullback) entry.parents = tape.ext[i].parents.filter((p: number) => p >= 0);
    trace.push(entry);
  }
  const guards = trace.filter((e) => e.op.startsWith('guard'));
  let compiled: Inspection['compiled'];
  try {
    const kinds = argKinds(args);
    if (kinds === null) throw new Ineligible('an argument is not a number, a Float64Array or an array of numbers');
    const c = compileFor(fn, kinds);
    compiled = { forward: c.forward, reverse: c.reverse };
  } catch (e) {
    if (!(e instanceof Ineligible)) throw e;
    compiled = { ineligible: e.message };
  }
  const tier = tierOf(fn);
  tape.release();
  return { trace, guards, tier, compiled, toString: () => listing(trace, tier, compiled) };
}

function listing(trace: TraceEntry[], tier: string, compiled: Inspection['compiled']): string {
  const num = (x: any) => (typeof x === 'number' ? String(+x.toPrecision(6)) : String(x));
  const lines = ['trace (slot = op(parents) -> value   [local partials]   at source):'];
  for (const e of trace) {
    const args = e.parents.map((p) => `%${p}`).join(', ');
    const partials = e.partials.length ? `   [${e.partials.map(num).join(', ')}]` : '';
    lines.push(`  %${e.index} = ${e.op}(${args}) -> ${num(e.value)}${partials}${e.where ? `   at ${e.where}` : ''}`);
  }
  lines.push(`tier: ${tier}`);
  if ('ineligible' in compiled) lines.push(`compiled tier: not compiled (${compiled.ineligible})`);
  else lines.push('compiled forward pass:', compiled.forward, 'compiled reverse pass:', compiled.reverse);
  return lines.join('\n');
}
