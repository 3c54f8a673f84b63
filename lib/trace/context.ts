// Which tapes are recording: a stack indexed by nesting level, plus the switches the rewritten code reads.
import { Tape } from './tape';

/** The runtime state that rewritten code reads on its fast paths (kept on one object so reads stay monomorphic). */
export const state = {
  /** Active tapes, innermost last. Level of a tape = its index + 1. */
  tapes: [] as Tape[],
  /** Number of typed arrays that have tracked shadows on any active tape (0 means element reads need no lookup). */
  shadowCount: 0,
  /** >0 while an ignore() thunk runs: tracked values read there count as constants. */
  ignoring: 0,
};

export function top(): Tape | null {
  const t = state.tapes;
  return t.length === 0 ? null : t[t.length - 1];
}

export function pushTape(): Tape {
  const tape = new Tape(state.tapes.length + 1);
  state.tapes.push(tape);
  return tape;
}

export function popTape(tape: Tape): void {
  const t = state.tapes;
  if (t[t.length - 1] !== tape) throw new Error('tracegrad internal error: tapes popped out of order');
  t.pop();
  tape.active = false;
  state.shadowCount -= tape.shadows.size;
}

/**
 * Run `body` one level down: the innermost `levels` tapes are suspended, as Zygote runs an adjoint's forward
 * pass at the level below the one being differentiated. Tracked values of suspended tapes are errors there.
 */
export function belowLevel<T>(level: number, body: () => T): T {
  const t = state.tapes;
  const suspended = t.splice(level - 1);
  let shadows = 0;
  for (const s of suspended) {
    s.active = false;
    shadows += s.shadows.size;
  }
  state.shadowCount -= shadows;
  try {
    return body();
  } finally {
    for (const s of suspended) s.active = true;
    t.push(...suspended);
    state.shadowCount += shadows;
  }
}
