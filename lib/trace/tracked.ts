// Tracked values: a primal value bound to one slot of one tape; nesting puts a Tracked inside a Tracked.
import type { Tape } from './tape';
import { numericCoercion } from '../errors';

/**
 * A number being differentiated. `v` is the primal: a plain number, or (under nested AD) a Tracked of an outer, lower
 * level. `i` is the slot on tape `t`. The tape's level is the level tag that keeps perturbations of different
 * gradient calls apart.
 *
 * @example
 * ```js
 * import { Tracked, gradient, traced } from 'tracegrad';
 * // while a gradient is recorded, the function sees its number arguments as Tracked values
 * const seen = { tracked: null, primal: null };
 * gradient(traced((x) => {
 *   seen.tracked = x instanceof Tracked;
 *   seen.primal = x.v;
 *   return 2 * x;
 * }, { Tracked, seen }), 3); // → [2]
 * seen; // → { tracked: true, primal: 3 }
 * ```
 */
export class Tracked {
  constructor(
    public v: any,
    public i: number,
    public t: Tape,
  ) {}

  /** Strings are fine (printing, Map keys); numeric coercion means untraced code is doing arithmetic on us. */
  [Symbol.toPrimitive](hint: string): string | number {
    if (hint === 'string') return String(primal(this));
    return numericCoercion(primal(this));
  }
  toString(): string {
    return String(primal(this));
  }
  toJSON(): number {
    return primal(this);
  }
  // Number.prototype's formatting methods, for code that formats a tracked number
  toFixed(digits?: number): string {
    return primal(this).toFixed(digits);
  }
  toPrecision(precision?: number): string {
    return primal(this).toPrecision(precision);
  }
  toExponential(digits?: number): string {
    return primal(this).toExponential(digits);
  }
  toLocaleString(...args: any[]): string {
    return primal(this).toLocaleString(...args);
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Tracked(${primal(this)}, level ${this.t.level})`;
  }
}

/**
 * The plain number under every level of tracking.
 *
 * @example
 * ```js
 * import { primal, gradient, traced } from 'tracegrad';
 * const log = [];
 * gradient(traced((x) => { log.push(primal(x)); return x * x; }, { primal, log }), 3); // → [6]
 * log; // → [3]
 * primal(5); // → 5
 * ```
 */
export function primal(x: any): any {
  while (x instanceof Tracked) x = x.v;
  return x;
}

/** A value once the calls that tracked it have ended: layers of finished (inactive) tapes removed. */
export function settled(x: any): any {
  while (x instanceof Tracked && !x.t.active) x = x.v;
  return x;
}
