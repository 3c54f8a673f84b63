// "Which line broke my gradient": each recorded operation's local derivative against finite differences of that operation alone; the first one that disagrees, with its source line.
import { record } from '../api';
import { Kind, opNames } from '../trace/tape';
import { cleanUp, stripValue } from '../trace/containers';
import { unaryRules, binaryRules } from '../rules/scalar';
import { deepPrimal } from '../rules/custom';
import { Tensor, isTensor } from '../tensor/tensor';
import { estimate } from './differences';

export interface Fault {
  /** The operation: a rule name ('mul', 'sin') or 'adjoint of <name>' for a custom rule. */
  op: string;
  /** Source location of the call that recorded it (file:line:column), when known. */
  where: string | null;
  /** Which input's derivative disagrees (its index among the operation's arguments, or a path into them). */
  input: string;
  analytic: number;
  numeric: number;
}

/**
 * Record f at args with source locations, then check, in recording order, every scalar operation's partials (the rule
 * table's, at the recorded inputs) and every custom rule's pullback (⟨back(dy), e⟩ against the directional finite
 * difference of its forward, for a fixed dy and each numeric input leaf) by Richardson-extrapolated central
 * differences; kinks are skipped. Returns the first operation that disagrees, or null.
 */
export function localizeFault(f: Function, args: any[], rtol = 1e-5, atol = 1e-7): Fault | null {
  const { out, tape } = record(f, args, true);
  try {
    const value = (i: number) => tape.notes![i]?.value;
    for (let i = 0; i < tape.n; i++) {
      const k = tape.kind[i];
      const where = tape.notes![i]?.where ?? null;
      if (k === Kind.Unary || k === Kind.Binary) {
        const name = opNames[tape.op[i]];
        const inputs = k === Kind.Unary ? [value(tape.a0[i])] : [value(tape.a0[i]), value(tape.a1[i])];
        if (!inputs.every((v) => typeof v === 'number') || tape.ext[i] !== undefined) continue;
        const unary = (unaryRules as any)[name], binary = (binaryRules as any)[name];
        // a binary rule applied with one constant operand records a unary entry: its other operand is not on the tape
        if (k === Kind.Unary && unary === undefined) continue;
        const fOf = k === Kind.Unary ? (x: number[]) => unary.f(x[0]) : (x: number[]) => binary.f(x[0], x[1]);
        for (let j = 0; j < inputs.length; j++) {
          const analytic = j === 0 ? tape.d0[i] : tape.d1[i];
          const d = derivative((h) => fOf(inputs.map((v, m) => (m === j ? v + h : v))), Math.max(1, Math.abs(inputs[j])));
          if (d !== null && !close(analytic, d, rtol, atol)) return { op: name, where, input: `${j}`, analytic, numeric: d };
        }
      } else if (k === Kind.Extern) {
        const rec = tape.ext[i];
        if (rec.forward === undefined || rec.primals === undefined || rec.structured) continue;
        const fault = checkRule(rec, where, rtol, atol);
        if (fault !== null) return fault;
      }
    }
    return null;
  } finally {
    stripValue(out, tape);
    cleanUp(tape, args);
    tape.release();
  }
}

/** A custom rule at its recorded inputs: ⟨back(dy), eₗ⟩ against d/dh ⟨dy, forward(x + h·eₗ)⟩ for each input leaf l. */
function checkRule(rec: any, where: string | null, rtol: number, atol: number): Fault | null {
  const xs = rec.primals as any[];
  const y0 = rec.forward(...xs);
  const dy = isTensor(y0) ? new Tensor(Float64Array.from(y0.data, (_v, i) => 1 + 0.5 * Math.sin(i + 1)), y0.shape) : 1;
  const dot = (y: any) => {
    if (!isTensor(y)) return y * (dy as number);
    let s = 0;
    for (let i = 0; i < y.size; i++) s += y.data[i] * (dy as Tensor).data[i];
    return s;
  };
  const cots = rec.back(dy);
  for (const { path, get, set } of numericLeaves(xs)) {
    const analytic = readAt(cots, path);
    const x0 = get(xs);
    const d = derivative((h) => {
      const moved = deepPrimal(xs);
      set(moved, x0 + h);
      return dot(rec.forward(...moved));
    }, Math.max(1, Math.abs(x0)));
    if (d !== null && !close(analytic, d, rtol, atol)) return { op: `adjoint of ${rec.name}`, where, input: path, analytic, numeric: d };
  }
  return null;
}

const close = (a: number, n: number, rtol: number, atol: number) => Math.abs(a - n) <= atol + rtol * Math.abs(n);

/** d/dh g(h) at 0 by Richardson-extrapolated central differences, or null where g has a kink there or no finite estimate. */
function derivative(g: (h: number) => number, scale: number): number | null {
  const { value, kink } = estimate(g, 0, 2 ** -7 * scale);
  return kink || !Number.isFinite(value) ? null : value;
}

/** The numeric leaves of an argument list (numbers, array and object entries, tensor elements), with paths. */
function numericLeaves(xs: any[]): { path: string; get: (a: any[]) => number; set: (a: any[], v: number) => void }[] {
  const out: { path: string; get: (a: any[]) => number; set: (a: any[], v: number) => void }[] = [];
  const walk = (x: any, keys: (string | number)[]) => {
    const path = keys.map((k) => `[${JSON.stringify(k)}]`).join('');
    const at = (a: any[]) => keys.slice(0, -1).reduce((v: any, k) => v[k], a);
    if (typeof x === 'number') out.push({ path, get: (a) => at(a)[keys[keys.length - 1]], set: (a, v) => void (at(a)[keys[keys.length - 1]] = v) });
    else if (isTensor(x))
      for (let i = 0; i < x.size; i++) out.push({ path: `${path}.data[${i}]`, get: (a) => at(a)[keys[keys.length - 1]].data[i], set: (a, v) => void (at(a)[keys[keys.length - 1]].data[i] = v) });
    else if (x !== null && typeof x === 'object' && !(x instanceof Map)) for (const k of Object.keys(x)) walk(x[k], [...keys, Array.isArray(x) ? Number(k) : k]);
  };
  xs.forEach((x, i) => walk(x, [i]));
  return out;
}
/** The cotangent entry at a leaf's path (0 where back gave nothing). */
function readAt(cots: any[], path: string): number {
  const m = path.match(/^\[(\d+)\](.*)$/)!;
  let v: any = cots?.[Number(m[1])];
  for (const part of m[2].matchAll(/\[("(?:[^"\\]|\\.)*"|\d+)\]|\.data\[(\d+)\]/g)) {
    if (v === null || v === undefined) return 0;
    if (part[2] !== undefined) return isTensor(v) ? v.data[Number(part[2])] : 0;
    v = v[JSON.parse(part[1])];
  }
  return typeof v === 'number' ? v : 0;
}
