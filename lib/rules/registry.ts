// Rule shapes and the overloaded-operation table `O` that derivative formulas are written in (so they nest).

/** A number or a tracked number of any level. */
export type Num = any;

export interface UnaryRule {
  /** Plain-number implementation. */
  f: (x: number) => number;
  /** dy/dx, written with overloaded ops `O` so it can be differentiated again. y is the output. */
  d: (x: Num, y: Num) => Num;
}

export interface BinaryRule {
  f: (a: number, b: number) => number;
  /** ∂y/∂a and ∂y/∂b; each is only called when that operand is being differentiated. */
  da: (a: Num, b: Num, y: Num) => Num;
  db: (a: Num, b: Num, y: Num) => Num;
}

export type UnaryOp =
  | 'neg' | 'pos' | 'abs' | 'sign' | 'floor' | 'ceil' | 'round' | 'trunc' | 'fround'
  | 'exp' | 'expm1' | 'log' | 'log1p' | 'log2' | 'log10' | 'sqrt' | 'cbrt'
  | 'sin' | 'cos' | 'tan' | 'asin' | 'acos' | 'atan'
  | 'sinh' | 'cosh' | 'tanh' | 'asinh' | 'acosh' | 'atanh';
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'mod' | 'pow' | 'atan2';

/** Overloaded scalar operations, filled in by ops.ts from the rule tables. */
export const O = {} as { [K in UnaryOp]: (x: Num) => Num } & { [K in BinaryOp]: (a: Num, b: Num) => Num } & {
  lt: (a: Num, b: Num) => boolean;
  gt: (a: Num, b: Num) => boolean;
  max: (...xs: Num[]) => Num;
  min: (...xs: Num[]) => Num;
  hypot: (...xs: Num[]) => Num;
};

/** Bumped whenever a custom rule is defined or removed, so caches keyed on rules can tell they are stale. */
export let ruleVersion = 0;
export function bumpRuleVersion(): void {
  ruleVersion++;
}

/**
 * Where the one dispatch point (ops.ts) hands over operations on arrays: lib/tensor installs these. They return
 * NOT_TENSOR when no operand is a tensor (so the scalar path goes on).
 */
export const NOT_TENSOR = Symbol('not a tensor operation');
export const tensorHooks = {
  unary: (_name: string, _x: any): any => NOT_TENSOR,
  binary: (_name: string, _a: any, _b: any): any => NOT_TENSOR,
  nary: (_name: string, _xs: any[]): any => NOT_TENSOR,
};
