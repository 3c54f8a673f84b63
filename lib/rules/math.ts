// The Math namespace seen by traced code: every differentiable Math function overloaded, the rest on primals.
import { O, max, min, hypot, markTraced } from '../ops';
import { unaryRules } from './scalar';
import { primal } from '../trace/tracked';

/**
 * Math.* inside traced code. Functions with a rule (scalar.ts) differentiate; random is a constant; integer helpers
 * (imul, clz32) act on primals and give constants. Constants (PI, E, ...) are copied.
 */
export const mathNamespace: Record<string, any> = {};
for (const name of Object.getOwnPropertyNames(Math)) {
  const v = (Math as any)[name];
  if (typeof v !== 'function') mathNamespace[name] = v;
  else if (name in unaryRules || name === 'pow' || name === 'atan2') mathNamespace[name] = (O as any)[name];
  else if (name === 'random') mathNamespace[name] = markTraced(() => Math.random()); // looked up per call: stubs apply
  else mathNamespace[name] = markTraced((...xs: any[]) => v(...xs.map(primal)));
}
Object.assign(mathNamespace, { max, min, hypot });
