// What traced() tells the compiled tier about a function's surroundings: its scope object, and whether it supplies Math.

/** Where a traced() function's free variables live: its scope object for the names it was given, globals otherwise. */
export interface Outside {
  scope: Record<string, any>;
  scopeNames: Set<string>;
}

/** traced() records here the functions whose scope supplies Math (the compiled code would use the global one). */
export const scopedMath = new WeakSet<Function>();
/** traced() records here each function's scope object and the names it resolves from it (the rest are globals). */
export const scopes = new WeakMap<Function, Outside>();
