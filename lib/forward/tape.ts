// Forward mode: a tape that records nothing, carrying each tracked value's tangent instead (dual numbers, one slot each).
import { Tape, type ExternRecord } from '../trace/tape';
import { Tracked, primal } from '../trace/tracked';
import { Tensor } from '../tensor/tensor';
import { O } from '../rules/registry';
import { belowLevel } from '../trace/context';
import { TracegradError } from '../errors';

/**
 * The same interface as the reverse tape, so the one dispatch point (ops.ts), the rules and the containers serve both
 * modes: every op hands its tape the value, the parents and the local partials, and this tape answers at once with
 * the tangent ẏ = Σ ∂y/∂xₖ · ẋₖ. A tangent is undefined where no seeded input reaches (a structural zero, as the
 * reverse sweep skips nodes the output does not reach: 0·∞ stays out of it). Tangents and partials may be tracked by
 * outer levels: the sums then record there, which is what nesting (forward over reverse, forward over forward) needs.
 */
export class ForwardTape extends Tape {
  readonly forward = true;
  tan: any[] = [];

  /** Set the tangent of input slot i (zero, null and undefined seed nothing). */
  override seed(i: number, t: any): void {
    if (t === undefined || t === null || (typeof t === 'number' && t === 0)) return;
    this.tan[i] = t;
  }

  override input(v: any): Tracked {
    return new Tracked(v, this.n++, this);
  }

  override unary(y: any, a: number, da: any, _op: number): Tracked {
    const i = this.n++;
    const ta = this.tan[a];
    if (ta !== undefined) this.tan[i] = O.mul(da, ta);
    return new Tracked(y, i, this);
  }

  override binary(y: any, a: number, da: any, b: number, db: any, _op: number): Tracked {
    const i = this.n++;
    const ta = this.tan[a], tb = this.tan[b];
    if (ta !== undefined) this.tan[i] = tb !== undefined ? O.add(O.mul(da, ta), O.mul(db, tb)) : O.mul(da, ta);
    else if (tb !== undefined) this.tan[i] = O.mul(db, tb);
    return new Tracked(y, i, this);
  }

  override nary(y: any, parents: number[], partials: any[], _op: number): Tracked {
    const i = this.n++;
    let t: any;
    for (let k = 0; k < parents.length; k++) {
      const tk = this.tan[parents[k]];
      if (tk !== undefined) t = t === undefined ? O.mul(partials[k], tk) : O.add(t, O.mul(partials[k], tk));
    }
    if (t !== undefined) this.tan[i] = t;
    return new Tracked(y, i, this);
  }

  /** An array operation's output: its tangent from its jvp, given its parents' tangents (undefined where none). */
  override tensorOp(y: any, parents: number[], _back: (g: any) => any[], jvp: (tangents: any[]) => any, _op: number): Tracked {
    const i = this.n++;
    const tangents = parents.map((p) => (p >= 0 ? this.tan[p] : undefined));
    if (tangents.some((t) => t !== undefined)) {
      const t = jvp(tangents);
      if (t !== undefined) this.tan[i] = t;
    }
    return new Tracked(y, i, this);
  }

  /** A custom rule's output: its tangent is J·ẋ, with J's row from the rule's pullback (back(1)). */
  override extern(record: ExternRecord, y: any, _op: number): Tracked {
    if (primal(y) instanceof Tensor)
      throw new TracegradError(`tracegrad: forward mode (jvp) through the custom adjoint of ${record.name}, whose output is a Tensor, is not supported yet (its pullback gives one row of the Jacobian per call); use reverse mode, or write the function with tensor operations.`);
    const i = this.n++;
    const t = this.pushforward(record, 1);
    if (t !== undefined) this.tan[i] = t;
    return new Tracked(y, i, this);
  }

  private pending: ExternRecord | null = null;
  override externIndex(record: ExternRecord, _op: number): number {
    this.pending = record;
    return this.n++;
  }

  /** One leaf of a structured custom-rule output: its row of J comes from back(the one-hot cotangent of that leaf). */
  override externOut(y: any, _node: number, path: (string | number)[]): Tracked {
    const i = this.n++;
    const record = this.pending!;
    const t = this.pushforward(record, oneHot(record.dy, path));
    if (t !== undefined) this.tan[i] = t;
    return new Tracked(y, i, this);
  }

  /** ⟨back(dy), ẋ⟩ over the argument structure's leaves of this tape (one level down, as the reverse sweep runs back). */
  private pushforward(record: ExternRecord, dy: any): any {
    const cots = belowLevel(this.level, () => record.back(dy));
    if (!Array.isArray(cots))
      throw new TracegradError(`tracegrad: the adjoint of ${record.name} must return an array of cotangents from back(dy).`);
    let t: any;
    const walk = (arg: any, cot: any) => {
      if (cot === null || cot === undefined) return;
      if (arg instanceof Tracked) {
        if (arg.t !== this) return;
        const ta = this.tan[arg.i];
        if (ta !== undefined) t = t === undefined ? O.mul(cot, ta) : O.add(t, O.mul(cot, ta));
        return;
      }
      if (arg === null || typeof arg !== 'object') return;
      if (arg instanceof Map) for (const [k, v] of arg) walk(v, cot instanceof Map ? cot.get(k) : undefined);
      else for (const k of Object.keys(arg)) walk(arg[k], cot[k]);
    };
    record.args.forEach((a, k) => walk(a, cots[k]));
    return t;
  }

  override guard(): void {}
}

/** A copy of structure y with 1 at `path` and 0 at every other numeric leaf. */
function oneHot(y: any, path: (string | number)[]): any {
  const zero = (x: any): any => {
    if (typeof x === 'number' || x instanceof Tracked) return 0;
    if (Array.isArray(x) || ArrayBuffer.isView(x)) return Array.from(x as any, zero);
    if (x instanceof Map) return new Map([...x].map(([k, v]) => [k, zero(v)]));
    if (x !== null && typeof x === 'object') return Object.fromEntries(Object.keys(x).map((k) => [k, zero(x[k])]));
    return x;
  };
  const dy = zero(y);
  let c = dy;
  for (let k = 0; k < path.length - 1; k++) c = c instanceof Map ? c.get(path[k]) : c[path[k]];
  const last = path[path.length - 1];
  if (c instanceof Map) c.set(last, 1);
  else c[last] = 1;
  return dy;
}
