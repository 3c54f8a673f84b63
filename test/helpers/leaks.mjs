// Test helper: find tracked values that leaked into user-visible values after a call (they must all be plain again).

/** Paths of leaves in v that are not plain numbers / strings / booleans / null (a tracked value leaked). */
export function leakedLeaves(v, path = '', seen = new Set()) {
  if (v === null || v === undefined || typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number') return [];
  if (typeof v === 'function') return [];
  if (typeof v !== 'object') return [`${path}: ${typeof v}`];
  if (seen.has(v)) return [];
  seen.add(v);
  if (ArrayBuffer.isView(v)) return [];
  if (v instanceof Map) return [...v].flatMap(([k, x]) => leakedLeaves(x, `${path}.get(${String(k)})`, seen));
  if (Array.isArray(v)) return v.flatMap((x, i) => leakedLeaves(x, `${path}[${i}]`, seen));
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null && v.constructor?.name === 'Tracked') return [`${path}: Tracked`];
  return Object.keys(v).flatMap((k) => leakedLeaves(v[k], `${path}.${k}`, seen));
}

/** ava assertion: no tracked value inside v. */
export const assertNoLeak = (t, v, what = 'value') => t.deepEqual(leakedLeaves(v), [], `tracked values leaked into ${what}`);
