// The compiled tier's code generator: a lowered function becomes a forward pass with stacks and a reverse pass, as `new Function` source.
import { binaryRules } from '../rules/scalar';
import { lower, mathBinary, mathNary, numericConstant, Ineligible, UNDEFINED, flattenArgs, regroupGradients, type Program, type Stmt, type ArgKind } from './lower';
import { resolver, checkScope, type Outside } from './scopes';
import { analyze, isCopy, copySource, assignedIn, namesIn, readsOf, counterStep, type Facts } from './analyze';
import { PRELUDE, RULES } from './prelude';
import { recomputation, type Recompute } from './recompute';
import { reachAnalysis, type ReachFacts } from './reach';
import { inlinePartial, partialReadsOperand } from './symbolic';
import { removeDeadStores } from './deadstores';
import { unaliasElementCopies } from './unalias';
import { fusionPlan, counterOffset, type FusionPlan } from './fusedloop';

export { Ineligible, type ArgKind } from './lower';
export { PRELUDE, RULES } from './prelude';
export { resolver, checkScope } from './scopes';

/**
 * A compiled gradient, called with the arguments and, optionally, buffers to write array arguments' gradients into
 * (parallel to the arguments; see gradientInto). It returns the value and per-argument gradients (null where no
 * recorded operation connects the argument to the output), or null when the call must be interpreted instead: the
 * output is not a number (the interpreter reports it), or the forward pass bailed out (an index out of range, a loop
 * counter that is not an integer, an error thrown by the user's code).
 */
export type CompiledGradient = ((args: any[], into?: any[]) => { value: number; grad: any[] } | null) & {
  /** Number of parameters: the compiled code answers only calls with exactly that many arguments. */
  arity: number;
  /** Calls that bailed out to the interpreter so far; onBail (if set) hears why each one did. */
  bails: number;
  /** Set when an inlined function was replaced since compiling: the tier compiles again. */
  stale?: boolean;
  onBail?: (why: unknown) => void;
  /** The generated source, for introspection: the whole function, and its forward and reverse passes. */
  source: string;
  forward: string;
  reverse: string;
};

// the stacks, inline: S holds values (old values, kept Math results), C counts (branches, trips) and slots
const POP = 'S[--sp]';
const POPC = 'C[--cp]';
/**
 * Reach without flags, for elements and slots: the interpreter's adjoints start at +0 and only ever add, so they are
 * never -0 once something reached them (x + y is -0 only if both are). Unreached ones are stored as -0 here, each
 * addition is `a + (x + 0)`: the bits of `(a + x) + 0`, which turns a -0 sum into the +0 the interpreter has and
 * changes nothing else (a sum is -0 only when both terms are), with one addition on the chain through `a` instead of
 * two (a loop adding into one element waits on that chain: GMM's triangular loop). So "reached" is "not -0".
 */
const UNREACHED = (x: string) => `(${x} === 0 && 1 / ${x} < 0)`;

/**
 * Code generation switches. `fuseLastLoop`: a program's last loop may run each iteration's reverse right after its
 * forward (fusedloop.ts; the same bits, one pass); `TRACEGRAD_JIT_FUSE=0` turns it off (for comparisons). Read when a
 * function is compiled.
 */
export const codegen = {
  fuseLastLoop: process.env.TRACEGRAD_JIT_FUSE !== '0',
  /** Run a new compiled gradient's start alone before its first call (warmPrologue); TRACEGRAD_JIT_WARM=0: not. */
  warmStart: process.env.TRACEGRAD_JIT_WARM !== '0',
};

/** The largest generated function compiled (statements, counted as semicolons). */
const MAX_STATEMENTS = 1500;

const arithmetic: Record<string, string> = { '+': 'add', '-': 'sub', '*': 'mul', '/': 'div', '%': 'mod', '**': 'pow' };
const inline: Record<string, (a: string, b: string) => string> = {
  add: (a, b) => `(${a} + ${b})`, sub: (a, b) => `(${a} - ${b})`, mul: (a, b) => `(${a} * ${b})`, div: (a, b) => `(${a} / ${b})`, mod: (a, b) => `(${a} % ${b})`,
};

/** One operation of an expression, in evaluation order: its value temp, operands, and the rule that computes it. */
export interface OpNode {
  id: number;
  rule: string;
  unary: boolean;
  operands: Operand[];
  /** Math calls (and pow, atan2) are dear to recompute: the forward keeps their values on the stack. */
  kept: boolean;
}
export type Operand = { kind: 'lit'; text: string } | { kind: 'var'; name: string } | { kind: 'op'; node: OpNode }
  | { kind: 'elem'; array: string; index: string; k: string; at: any; register?: string; before?: string };

/**
 * Compile a function in the subset (see lower.ts) into a gradient function whose values and gradients are
 * bit-identical to the tape interpreter's.
 *
 * Forward: the user's statements, each assignment first pushing what the reverse pass needs (the old value of a
 * variable or element it reads, kept Math values), each branch its outcome, each loop its trip count. Reverse: the
 * statements backwards, popping; an assignment restores its target, recomputes intermediate values, and sends the
 * target's adjoint through the right-hand side with the same rule derivatives, in the reverse of the order the
 * interpreter recorded them, so the floating-point sums match. A copy (`v = w`, `v = a[i]`, `w[i] = v`) makes one
 * tape node answer to two names in the interpreter; names connected by copies therefore keep their adjoints in
 * per-value slots (`A[s]`, a fresh slot per computed value, a copy shares its source's slot), so every use of the
 * node adds into one place in the interpreter's order.
 */
export function compileGradient(source: string, kinds?: ArgKind[], outside?: Outside, self?: string): CompiledGradient {
  checkScope(outside);
  return compileProgram(removeDeadStores(unaliasElementCopies(lower(source, kinds, resolver(outside, self)))));
}

/** compileGradient from a lowered program; `constants` are parameters held constant (their gradients are null). */
export function compileProgram(p: Program, constants?: Set<string>): CompiledGradient {
  const facts = analyze(p, constants);
  const g = new Generator(p, facts);
  const passes = g.program(p.body);
  const code = g.assemble(passes);
  passes[0] = passes[0].replaceAll(`${WARM_EXIT}\n`, '').replaceAll(WARM_EXIT, ''); // for inspect: the user's program only
  // the JIT issue asks for generated functions of about 1,000 statements at most, which V8 optimises well (the GMM
  // objective's ~1,040 are, checked with %GetOptimizationStatus); larger ones stay interpreted (splitting them into
  // several functions is future work)
  const statements = code.split(';').length - 1;
  if (statements > MAX_STATEMENTS) throw new Ineligible(`its compiled code would have ${statements} statements (at most ${MAX_STATEMENTS})`);
  const run = instantiate(code, g.holders, p.calleeGuards.map((c) => c.fn));
  // object arguments: their fields in, a gradient object out (null when no field got one, as interpreted)
  const flattened = p.groups.some((g) => typeof g !== 'number');
  // V8 allocates a function's feedback vector once it has run 8× its bytecode's size (--interrupt-budget-factor-
  // for-feedback-allocation), a warm-up call running the start: so 8× (whole ÷ start) calls, measured in source text
  // here, times 3 because declarations make fewer bytecodes per character than the body (BA: 36 were too few)
  // (none without loops: nothing is compiled on the stack there, and V8 optimises the function again after a deopt)
  const warmups = !containsLoop(p.body) ? 0 : Math.min(MAX_WARMUPS, Math.ceil((24 * code.length) / Math.max(1, code.indexOf(WARM_EXIT))) + 2);
  const compiled: any = (args: any[], into?: any[]) => {
    try {
      const flatArgs = flattened ? flattenArgs(p.groups, args) : args;
      const flatInto = flattened && into !== undefined ? flattenArgs(p.groups, into) : into;
      if (compiled.calls++ === 0 && codegen.warmStart) warmPrologue(run, flatArgs, flatInto, warmups);
      const r = run(flatArgs, flatInto);
      if (r?.stale === true) {
        compiled.stale = true;
        return null;
      }
      if (r !== null && flattened) r.grad = regroupGradients(p.groups, r.grad);
      return r;
    } catch (e) {
      compiled.bails++; // pure code (no user calls, no writes outside its own arrays): the interpreter redoes the call
      compiled.onBail?.(e);
      return null;
    }
  };
  return Object.assign(compiled, { arity: p.groups.length, bails: 0, calls: 0, source: code, forward: passes[0], reverse: passes[1] });
}

/**
 * The generated code's function, given the captured holders, the inlined callees and the rule objects. Code that does
 * not parse is a generator bug, which must cost speed, not the call: Ineligible, so the interpreter answers and
 * tierOf says why.
 */
export function instantiate(code: string, holders: object[], callees: Function[]): Function {
  try {
    return new Function('H', 'F', ...RULES.map((r) => r[0]), code)(holders, callees, ...RULES.map((r) => r[1]));
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    throw new Ineligible(`the compiler generated code that does not parse (a tracegrad bug: please report it with the function): ${e.message}`);
  }
}

/**
 * Runs a fresh compiled gradient's start (its declarations and the forward pass up to its first loop) `times` times
 * before its first real call, returning there (WARM_EXIT). Why: V8 gives a function its feedback vector (the types
 * its optimising compiler specialises on) only after the function has run about 8× its bytecode's size, so a first
 * call's straight-line start runs unrecorded. When that first call is long (loops, which V8 compiles on the stack
 * while they run), V8 then compiles the whole function from that feedback, the start deoptimises it on a later
 * call, and the loops' code compiled on the stack (which deoptimises at each loop's exit, every call) keeps the
 * function in V8's baseline tier for good. Measured on the BA Jacobian (Node 20): 1.8× the time per call, in 2 runs
 * of 6 without a pause after the first call and in every run with a 1.5 s pause after it. The start is cheap (no
 * loops): its calls cost microseconds, once per compiled variant. It is pure, like the rest (locals, its own arrays).
 */
function warmPrologue(run: Function, args: any[], into: any[] | undefined, times: number): void {
  try {
    for (let k = 0; k < times; k++) run(args, into, true);
  } catch {
    // a start that bails out (an index out of range) bails out in the real call too, which the interpreter redoes
  }
}
const WARM_EXIT = 'if (prologueOnly === true) return null; // warm-up calls stop here (see warmPrologue)';
const MAX_WARMUPS = 2000;

export class Generator {
  protected ops = 0;
  protected temps = 0;
  /**
   * Pushes onto S and C. Inside a nest of counted loops the capacity is reserved at loop entries (see reservedLoop), and
   * inside another innermost loop checked once per iteration for all of them (`unchecked`), counting the pushes its
   * body can make.
   */
  private unchecked = false;
  private pushes = 0;
  private pushesC = 0;
  /** The reserving loops around the code being generated: their reservations' names, and the names their bodies assign. */
  private reserving: { need: string; needC: string; assigned: Set<string> }[] = [];
  /** Per loop of a reserved nest being generated: push counts at its start, its inner loops' pushes, its covered loops' totals. */
  private frames: { pushes: number; pushesC: number; inner: number; innerC: number; covered: string[]; coveredC: string[] }[] = [];
  private reservations = 0;
  private pushS(x: string): string {
    this.pushes++;
    return this.unchecked ? `S[sp++] = ${x};` : `if (sp === S.length) S = growS(sp + 1); S[sp++] = ${x};`;
  }
  private pushC(x: string): string {
    this.pushesC++;
    return this.unchecked ? `C[cp++] = ${x};` : `if (cp === C.length) C = growC(cp + 1); C[cp++] = ${x};`;
  }
  /** Accumulators of the loops being generated (accumulatorsOf): saved once around their loop, not at each step. */
  private accumulating = new Set<string>();
  /** Every name the program assigns (for reevaluable), computed once. */
  private assignedAnywhere: Set<string> | null = null;
  /** The loops around the statement being generated, outermost first. */
  private enclosing: (Stmt & { t: 'loop' })[] = [];
  /** Whether the next loop body generated starts with WARM_EXIT (the first loop of the forward pass, see program). */
  private warmExitPending = false;
  /** While generating a reverse pass: elements of saveAtUse arrays read there, by index temp (saved by the forward). */
  private saved: Map<string, { array: string; k: string; temp: string }> | null = null;
  /** Index temps of the current statement by array and index text: one check (and one slot lookup) per element. */
  protected indexTemps = new Map<string, string>();
  /** The objects captured values are read from (traced() scopes, globalThis), passed to the generated code as H. */
  holders: object[] = [];
  /** Whether element reads check their index (the forward pass does; a reverse recomputation reads what the forward read). */
  private checkReads = true;
  /** Variables the reverse pass gets back without the stack (see recompute.ts). */
  protected recompute: Recompute;
  /** Where a variable's reached flag is known statically in the reverse pass (see reach.ts). */
  private reach: ReachFacts;
  /** The statement being generated (its reach facts). */
  private current: Stmt | null = null;
  /** Counter of the temps inlined partial derivatives declare (dp0, dp1, ...). */
  protected partialTemps = 0;
  /** While generating a fused loop's body (fusedloop.ts): its counter, its plan, and its carry registers by array. */
  private fusing: { counter: string; plan: FusionPlan; carries: Map<string, string[]>; registers: Map<string, string> } | null = null;
  private carryRegisters = 0;
  /** Declarations the passes need at function level (a fused loop's entry values, read by its reverse text). */
  private functionDecls: string[] = [];
  /**
   * The loops whose bodies are being generated, innermost last: where element adjoints may live in registers
   * (promoted) and loop-invariant values are computed once (invariantInReverse, readBeforeLoop); the ids number those
   * registers (pe, ph, fh).
   */
  private loopFrames: LoopFrame[] = [];
  private registerIds = 0;
  /** Whether the text being generated is reverse text (propagate's): where loop-invariant parts are computed once. */
  private reverseText = false;
  /** Whether the operands being made are an assignment's right-hand side in forward text (see readBeforeLoop). */
  private forwardReads = false;
  constructor(protected p: Program, protected f: Facts) {
    this.recompute = recomputation(p, f);
    this.reach = reachAnalysis(p, f);
  }

  protected isArray(n: string) {
    return this.p.paramArrays.has(n) || this.p.localArrays.has(n);
  }

  // ---- expressions -------------------------------------------------------------------------------------------------

  /** Flatten an expression into operation nodes; `pre` collects, in evaluation order, the forward code of its parts. */
  protected operand(e: any, nodes: OpNode[], pre: string[]): Operand {
    switch (e.type) {
      case 'Literal':
        return { kind: 'lit', text: `(${e.raw})` };
      case 'Identifier':
        return e === UNDEFINED ? { kind: 'lit', text: 'undefined' } : { kind: 'var', name: e.name };
      case 'MemberExpression': {
        const constant = numericConstant(e);
        if (constant !== undefined && !this.isArray(e.object.name)) return { kind: 'lit', text: `(${String(constant)})` };
        if (!e.computed) return { kind: 'lit', text: `v_${e.object.name}.length` };
        const index = this.indexText(e.property);
        const [k, isNew] = this.indexTemp(e.object.name, index);
        const register = this.preloaded(e.object.name, e.property);
        if (register !== undefined) {
          if (isNew) pre.push(this.checkReads ? `const ${k} = ${index}; if (${register} === undefined) throw BAIL;` : `const ${k} = ${index};`);
          return { kind: 'elem', array: e.object.name, index, k, at: e.property, register };
        }
        const before = this.readBeforeLoop(e.object.name, e.property, index);
        if (before !== undefined) {
          if (isNew) pre.push(`const ${k} = ${index};`);
          return { kind: 'elem', array: e.object.name, index, k, at: e.property, before };
        }
        // an element outside the array (or at a fractional index) reads undefined and bails out: the interpreter
        // handles it (V8 drops the test after an in-bounds load of a Float64Array, which cannot give undefined)
        if (isNew) pre.push(this.checkReads ? `const ${k} = ${index}; if (v_${e.object.name}[${k}] === undefined) throw BAIL;` : `const ${k} = ${index};`);
        return { kind: 'elem', array: e.object.name, index, k, at: e.property };
      }
      case 'BinaryExpression': {
        const a = this.operand(e.left, nodes, pre), b = this.operand(e.right, nodes, pre);
        return this.push(nodes, pre, arithmetic[e.operator], false, [a, b]);
      }
      case 'UnaryExpression':
        return this.push(nodes, pre, 'neg', true, [this.operand(e.argument, nodes, pre)]);
      default: {
        const name = e.callee.property.name;
        const args = e.arguments.map((x: any) => this.operand(x, nodes, pre));
        return this.push(nodes, pre, name, !mathBinary.has(name) && !mathNary.has(name), args);
      }
    }
  }
  protected push(nodes: OpNode[], pre: string[], rule: string, unary: boolean, operands: Operand[]): Operand {
    const node = { id: this.ops++, rule, unary, operands, kept: rule !== 'neg' && !(rule in { add: 1, sub: 1, mul: 1, div: 1, mod: 1 }) };
    nodes.push(node);
    pre.push(`const t${node.id} = ${this.opValue(node)};`);
    return { kind: 'op', node };
  }
  protected indexTemp(array: string, index: string): [string, boolean] {
    const key = `${array}[${index}]`;
    const k = this.indexTemps.get(key);
    if (k !== undefined) return [k, false];
    const fresh = `k${this.temps++}`;
    this.indexTemps.set(key, fresh);
    return [fresh, true];
  }
  /** A loop counter whose value the reverse pass can set from the trip count: it carries no adjoint and is read as a value by no partial. */
  private recomputable(name: string): boolean {
    return !this.f.adjoint.has(name) && (!this.f.needed.has(name) || this.f.indexOnly.has(name));
  }
  protected indexText(e: any): string {
    if (e.type === 'Literal') return `(${e.raw})`;
    if (e.type === 'Identifier') return `v_${e.name}`;
    if (e.type === 'MemberExpression') return `v_${e.object.name}.length`;
    return `(${this.indexText(e.left)} ${e.operator} ${this.indexText(e.right)})`;
  }
  protected valueText(o: Operand): string {
    if (o.kind === 'elem' && this.saved !== null && this.f.saveAtUse.has(o.array)) {
      let u = this.saved.get(o.k);
      if (u === undefined) this.saved.set(o.k, (u = { array: o.array, k: o.k, temp: `u_${o.k}` }));
      return u.temp;
    }
    if (o.kind === 'elem' && o.register === undefined && this.reverseText) {
      const names = new Set<string>();
      namesIn(o.at, names);
      const once = this.invariantInReverse(`v_${o.array}[${this.indexText(o.at)}]`, names, o.array);
      if (once !== undefined) return once;
    }
    if (o.kind === 'elem' && o.before !== undefined && !this.reverseText) return o.before;
    return o.kind === 'lit' ? o.text : o.kind === 'var' ? `v_${o.name}` : o.kind === 'elem' ? o.register ?? `v_${o.array}[${o.k}]` : `t${o.node.id}`;
  }
  protected opValue(n: OpNode): string {
    if (mathNary.has(n.rule)) return `Math.${n.rule}(${n.operands.map((o) => this.valueText(o)).join(', ')})`;
    const [a, b] = n.operands.map((o) => this.valueText(o));
    if (n.unary) return n.rule === 'neg' ? `(-${a})` : `U_${n.rule}.f(${a})`;
    return inline[n.rule]?.(a, b) ?? `B_${n.rule}.f(${a}, ${b})`;
  }
  /** Whether an operand carries an adjoint (a path from an argument): otherwise the reverse pass skips it. */
  protected active(o: Operand): boolean {
    if (o.kind === 'var') return this.f.adjoint.has(o.name);
    if (o.kind === 'elem') return this.f.adjoint.has(o.array);
    return o.kind === 'op' && o.node.operands.some((x) => this.active(x));
  }

  /** A test (if/while/for condition), as a forward-only boolean expression. */
  protected test(e: any): string {
    const [pre, cond] = this.testParts(e);
    return pre ? `((() => { ${pre} return ${cond}; })())` : cond;
  }
  /**
   * A test as [statements to run first, boolean expression]. The statements (index checks, operation temps) of the
   * part that always runs are hoisted out; only the right of && / || (which JS may skip) keeps its own function.
   */
  protected testParts(e: any): [string, string] {
    if (e.type === 'Literal' && typeof e.value === 'boolean') return ['', `(${e.value})`];
    if (e.type === 'LogicalExpression') {
      const [pre, left] = this.testParts(e.left);
      return [pre, `(${left} ${e.operator} ${this.test(e.right)})`];
    }
    if (e.type === 'UnaryExpression' && e.operator === '!') {
      const [pre, arg] = this.testParts(e.argument);
      return [pre, `(!${arg})`];
    }
    const pre: string[] = [];
    this.indexTemps.clear(); // each comparison is its own scope
    let text: string;
    if (e.type === 'BinaryExpression' && !(e.operator in arithmetic)) {
      const a = this.operand(e.left, [], pre), b = this.operand(e.right, [], pre);
      text = `${this.valueText(a)} ${e.operator} ${this.valueText(b)}`;
    } else text = `${this.valueText(this.operand(e, [], pre))} ? true : false`;
    return [pre.join(' '), `(${text})`];
  }
  // ---- adjoint places ----------------------------------------------------------------------------------------------

  /** `A[s] += g * d`-style accumulation into an operand's adjoint, marking it reached. */
  private accumulate(o: Operand, add: string): string {
    // an operation's adjoint gets exactly one contribution (an expression is a tree), so it is that term, without the
    // interpreter's 0 + term: the two differ only in the sign of a zero, and the sign of a zero in an operation's
    // adjoint never shows: it only multiplies partials into terms that reach a variable, an element or a slot by an
    // addition to a sum that started at +0 (x + -0 and x + +0 are both x there), so every stored adjoint gets the
    // same bits. One addition less on each step of a chain (evalpoly's b_p: g → tb2 → b_p)
    if (o.kind === 'op') return `tb${o.node.id} = ${add};`;
    if (o.kind === 'var') return this.f.aliased.has(o.name) ? `{ const s = s_${o.name}; A[s] = A[s] + (${add} + 0); }` : `b_${o.name} += ${add}; r_${o.name} = true;`;
    if (o.kind !== 'elem') return '';
    const a = o.array, k = o.k;
    if (this.fusing?.plan.arrays.has(a)) return this.carriedAccumulate(o, add);
    if (this.f.aliased.has(a)) return this.p.paramArrays.has(a) ? `{ const s = o_${a} + ${k}; A[s] = A[s] + (${add} + 0); }` : `{ const s = s_${a}[${k}]; A[s] = A[s] + (${add} + 0); }`;
    const place = this.promoted(a, o.index) ?? `b_${a}[${k}]`;
    return this.p.paramArrays.has(a) ? `${place} += ${add}; r_${a} = true;` : `${place} = ${place} + (${add} + 0);`;
  }
  /**
   * An element adjoint `b_a[index]` that the innermost loop being generated adds into at an index its body does not
   * change: a placeholder, resolved when the loop is done (see promotionsOf) to a register loaded before the loop's
   * reverse and stored after it, or back to the element. Without it each iteration's addition waits for the last
   * one's store and load (GMM's triangular loop adds into xc[i]'s adjoint for every j). The additions are the same
   * ones in the same order, so the bits are too. Else undefined.
   */
  private promoted(array: string, index: string): string | undefined {
    const frame = this.loopFrames[this.loopFrames.length - 1];
    if (frame === undefined) return undefined;
    if (!frame.touched.has(array)) frame.touched.set(array, new Set());
    frame.touched.get(array)!.add(index);
    const names = index.match(/v_[\w$]+/g) ?? [];
    if (names.some((n) => frame.assigned.has(n.slice(2)))) return undefined;
    const key = `${array}[${index}]`;
    let site = frame.sites.get(key);
    if (site === undefined) frame.sites.set(key, (site = { id: this.registerIds++, array, index }));
    return `\u0000${site.id}\u0000`;
  }
  /**
   * The loop's promoted elements: an array is promoted when its adjoint is touched in this loop at one index only,
   * not inside an inner loop, and the loop neither writes nor creates the array. Returns the reverse body with the
   * placeholders resolved, and the text to run before the reverse loop (after `let n = <trips>`) and after it.
   */
  private promotionsOf(frame: LoopFrame, rb: string): [string, Promotion] {
    const pre: string[] = [], post: string[] = [];
    for (const { id, array, index } of frame.sites.values()) {
      const ok = !frame.assigned.has(array) && !frame.nested.has(array) && frame.touched.get(array)!.size === 1;
      rb = rb.split(`\u0000${id}\u0000`).join(ok ? `pe${id}` : `b_${array}[${index}]`);
      // A local array's adjoints are a Float64Array, which ignores a store outside it: the element is loaded and
      // stored back always (unchanged when the loop runs no trip), without tests (GMM's triangular product: 2.6 %),
      // unless the array is a var's, which a skipped branch may have left undefined (found by review). Others are
      // loaded and stored only when the loop runs and the index is one of the array's: the element may be read only
      // in a branch no iteration takes, at an index outside the array (an Array gradient must not grow an entry, nor
      // get a property '-2'); an index an iteration did read is in range, or the forward pass would have bailed out.
      if (ok && this.p.localArrays.has(array) && !this.p.varArrays.has(array)) {
        pre.push(`const pk${id} = ${index}; let pe${id} = b_${array}[pk${id}];`);
        post.push(`b_${array}[pk${id}] = pe${id};`);
      } else if (ok) {
        pre.push(`const pk${id} = ${index}, pv${id} = n > 0 && pk${id} >>> 0 === pk${id} && pk${id} < b_${array}.length; let pe${id} = pv${id} ? b_${array}[pk${id}] : 0;`);
        post.push(`if (pv${id}) b_${array}[pk${id}] = pe${id};`);
      }
    }
    for (const [text, { id, element }] of frame.hoisted) {
      rb = rb.split(`\u0001${id}\u0001`).join(`ph${id}`);
      // an element is read only when the loop runs: a branch no iteration takes may read it at an index outside the
      // array, which V8 answers (undefined) by deoptimising the load into its slow form, and a plain Array's hole
      // would be looked up on its prototype
      pre.push(`const ph${id} = ${element ? `n > 0 ? ${text} : 0` : text};`);
    }
    return [rb, { pre: pre.join(' '), post: post.join(' '), forward: '' }];
  }
  /**
   * In the reverse text of a loop's body (not a fused one's): `text`, which reads only `names`, as a register computed
   * once before the loop's reverse when the body assigns none of them (nor, for an element read, its array), else
   * undefined. V8 neither hoists such index products nor such loads past the stores into gradient arrays (which might
   * share their buffer): GMM's triangular loop computed ik·icfSize and loaded xc[i] at each of its steps, 6 % of the
   * whole gradient. The reverse pass sees such values as the forward did: a body that assigns neither the names nor
   * the array leaves them as they were for all of the loop's iterations, and the reverse of the statements after the
   * loop has put them back as they were then. Only while generating reverse text (`reverseText`).
   */
  private invariantInReverse(text: string, names: Iterable<string>, element: string | null): string | undefined {
    const frame = this.loopFrames[this.loopFrames.length - 1];
    if (!this.reverseText || frame === undefined || this.fusing !== null) return undefined;
    if (element !== null && frame.assigned.has(element)) return undefined;
    for (const n of names) if (frame.assigned.has(n)) return undefined;
    let h = frame.hoisted.get(text);
    if (h === undefined) frame.hoisted.set(text, (h = { id: this.registerIds++, element: element !== null }));
    return `\u0001${h.id}\u0001`;
  }
  /**
   * In the forward text of a counted loop's body (not a fused one's): an element that an assignment outside any if of
   * the body reads, at an index of names the body does not assign, from an array it does not assign, as a register
   * read once before the loop (if the loop runs: the first iteration reads it; undefined bails out there, as the read
   * would), else undefined. The body reads the same value at every iteration; V8 loads it again after each store
   * into an array (which might share its buffer): GMM's triangular product loaded xc[i] at each of its steps (3 %).
   * Only in forward text (`forwardReads`).
   */
  private readBeforeLoop(array: string, at: any, index: string): string | undefined {
    const frame = this.loopFrames[this.loopFrames.length - 1];
    if (!this.forwardReads || !this.checkReads || frame === undefined || frame.trips === null || frame.conditional > 0 || this.fusing !== null) return undefined;
    const names = new Set<string>();
    namesIn(at, names);
    if (frame.assigned.has(array) || [...names].some((n) => frame.assigned.has(n))) return undefined;
    const text = `v_${array}[${index}]`;
    let id = frame.before.get(text);
    if (id === undefined) frame.before.set(text, (id = this.registerIds++));
    return `\u0002${id}\u0002`;
  }
  /** An index as reverse text: its largest parts that are products or sums of loop-invariant names computed once (invariantInReverse). */
  private reverseIndexText(e: any): string {
    if (e.type !== 'BinaryExpression') return this.indexText(e);
    const names = new Set<string>();
    namesIn(e, names);
    if (names.size > 0) {
      const once = this.invariantInReverse(this.indexText(e), names, null);
      if (once !== undefined) return once;
    }
    return `(${this.reverseIndexText(e.left)} ${e.operator} ${this.reverseIndexText(e.right)})`;
  }
  /**
   * In a fused loop's body, an element of a parameter array that every iteration reads at the counter + c is loaded
   * once, at the iteration's start, into a register that its forward and reverse statements share (V8 loads it again
   * after each store into a gradient array, which might share its buffer); its reads still check it (undefined: out
   * of range, bail out). Else undefined.
   */
  private preloaded(array: string, index: any): string | undefined {
    if (this.fusing === null) return undefined;
    const c = counterOffset(index, this.fusing.counter);
    if (c === null || !this.fusing.plan.preload.get(array)?.has(c)) return undefined;
    const register = `fx_${array}_${c < 0 ? `m${-c}` : c}`;
    this.fusing.registers.set(register, `v_${array}[fi + (${c})]`);
    return register;
  }
  /**
   * In a fused loop's body: a term for an element at the counter + low goes into the element's register (fe_a, stored
   * after the iteration's reverse); one at + low + 1 into a carry register of its own, added to that
   * element in the next iteration, after that iteration's own terms (fusedloop.ts).
   */
  private carriedAccumulate(o: Operand & { kind: 'elem' }, add: string): string {
    const { counter, plan, carries } = this.fusing!;
    const { low } = plan.arrays.get(o.array)!;
    const c = counterOffset(o.at, counter);
    if (c === low) return `fe_${o.array} += ${add}; r_${o.array} = true;`;
    if (c !== low + 1) throw new Error(`internal: a fused loop reads ${o.array} at offset ${c} (planned ${low}, ${low + 1})`);
    const q = `fq${this.carryRegisters++}`;
    if (!carries.has(o.array)) carries.set(o.array, []);
    carries.get(o.array)!.push(q);
    return `${q} = ${add}; r_${o.array} = true;`;
  }
  /** The slot a copy of this operand shares (aliased names only; 0 is the slot of plain values, never swept). */
  private slotOf(o: Operand): string {
    if (o.kind === 'var') return this.f.aliased.has(o.name) ? `s_${o.name}` : '0';
    if (o.kind === 'elem' && this.f.aliased.has(o.array)) return this.p.paramArrays.has(o.array) ? `o_${o.array} + ${o.k}` : `s_${o.array}[${o.k}]`;
    return '0';
  }

  // ---- statements --------------------------------------------------------------------------------------------------

  /** The passes of a program's body: block's, with the last loop fused when it can be (fusedloop.ts). */
  program(body: Stmt[]): [string, string] {
    const plan = codegen.fuseLastLoop ? fusionPlan(this.p, this.f) : null;
    const head = plan === null ? body : body.slice(0, -1);
    // Where the warm-up calls (warmPrologue) return: in the first iteration of the first top-level statement with a
    // loop in it when that statement is the loop (its body starts with WARM_EXIT, see loopBody), and after it (no
    // trips); before it when it is an if (a loop there may not be the one that runs: the warm-up would run another
    // in full); at the end when there is none. Each warm-up call so runs no loop beyond one iteration's first test.
    const first = head.findIndex((s) => containsLoop([s]));
    const parts = head.map((s, j) => {
      this.warmExitPending = j === first && s.t === 'loop';
      return this.statement(s);
    });
    this.warmExitPending = first < 0;
    const [lf, lr] = plan === null ? ['', ''] : this.fusedLoop(body[body.length - 1] as Stmt & { t: 'loop' }, plan);
    this.warmExitPending = false;
    const forward = [...parts.map((x) => x[0]), lf];
    const exitAt = first < 0 ? forward.length : head[first].t === 'loop' ? first + 1 : first;
    forward.splice(exitAt, 0, WARM_EXIT);
    return [forward.filter(Boolean).join('\n'), [lr, ...parts.map((x) => x[1]).reverse()].filter(Boolean).join('\n')];
  }

  /**
   * A fused last loop (fusedloop.ts). Forward: the seed first; per iteration, the forward statements, a snapshot of
   * the values the body assigns, the reverse statements (the body's pushes are popped again within the iteration, so
   * one iteration's worth of stack is reserved), the element registers stored, the snapshot put back. Reverse: the
   * body's variables set back to their values at the loop's entry, for the reverse of the statements before it.
   */
  private fusedLoop(s: Stmt & { t: 'loop' }, plan: FusionPlan): [string, string] {
    const c = s.counter!;
    const warmExit = this.warmExitPending;
    this.warmExitPending = false;
    this.indexTemps.clear();
    const test = s.test === null ? null : this.testParts(s.test);
    this.indexTemps.clear();
    const from = this.indexText(c.from), trips = this.tripsText(c);
    const [ps, pc] = [this.pushes, this.pushesC];
    const fusing = { counter: c.name, plan, carries: new Map<string, string[]>(), registers: new Map<string, string>() };
    this.unchecked = true;
    this.fusing = fusing;
    let parts: [string, string][];
    try {
      parts = s.body.map((x) => this.statement(x));
    } finally {
      this.unchecked = false;
      this.fusing = null;
    }
    const ns = this.pushes - ps, nc = this.pushesC - pc;
    const forwardBody = parts.map((x) => x[0]).filter(Boolean).join('\n');
    const reverseBody = parts.map((x) => x[1]).filter(Boolean).reverse().join('\n');
    const registers = [...fusing.carries.values()].flat();
    // carried terms are added in the order the reverse statements send them: the order of their text
    const inOrder = (a: string) => (fusing.carries.get(a) ?? []).slice().sort((x, y) => reverseBody.indexOf(`${x} =`) - reverseBody.indexOf(`${y} =`));
    const arrays = [...plan.arrays];
    const element = (a: string, low: number, at: string) => `b_${a}[${at} + (${low})]`;
    const store = arrays.map(([a, { low }]) => `${inOrder(a).map((q) => `fe_${a} += fp${q.slice(2)};`).join(' ')} ${element(a, low, 'fi')} = fe_${a};`);
    const flush = arrays.filter(([a]) => inOrder(a).length > 0)
      .map(([a, { low }]) => `{ let e = ${element(a, low, `v_${c.name}`)}; ${inOrder(a).map((q) => `e += ${q};`).join(' ')} ${element(a, low, `v_${c.name}`)} = e; }`);
    for (const n of plan.assigned) this.functionDecls.push(`let fy_${n};`);
    const out = this.p.out;
    const iteration = [
      warmExit ? WARM_EXIT : '',
      `const fi = v_${c.name};`, [...fusing.registers].map(([r, e]) => `const ${r} = ${e};`).join(' '), forwardBody,
      plan.assigned.map((n) => `const fz_${n} = v_${n};`).join(' '),
      registers.map((q) => `const fp${q.slice(2)} = ${q}; ${q} = -0;`).join(' '),
      // the element is still +0 here: the gradient array is fresh, the loop is the first part of the reverse pass,
      // and no earlier iteration completed this element (the one before sent its term to the carry register)
      arrays.map(([a]) => `let fe_${a} = 0;`).join(' '),
      reverseBody, store.join(' '),
      plan.assigned.map((n) => `v_${n} = fz_${n};`).join(' '),
    ].filter(Boolean).join('\n');
    const forward = `{ ${plan.assigned.map((n) => `fy_${n} = v_${n};`).join(' ')} b_${out} = 1; r_${out} = true;
      ${ns ? `if (sp + ${ns} > S.length) S = growS(sp + ${ns});` : ''} ${nc ? `if (cp + ${nc} > C.length) C = growC(cp + ${nc});` : ''}
      ${registers.length ? `let ${registers.map((q) => `${q} = -0`).join(', ')};` : ''} const ft = ${trips};
      ${whileText(test, iteration)}
      ${this.countedCheck(c, from, 'ft', false)}
      ${flush.length ? `if (ft > 0) { ${flush.join(' ')} }` : ''} }`;
    return [forward, plan.assigned.map((n) => `v_${n} = fy_${n};`).join(' ')];
  }

  block(ss: Stmt[]): [string, string] {
    const parts = ss.map((s) => this.statement(s));
    return [parts.map((x) => x[0]).filter(Boolean).join('\n'), parts.map((x) => x[1]).filter(Boolean).reverse().join('\n')];
  }

  /**
   * A loop body's forward and reverse text. Variables recomputed per iteration (recompute.ts) get their values again at
   * the start of each reverse iteration, right after the reverse of the body's last statement (which restores the
   * counter they may read).
   */
  private loopBody(body: Stmt[], trips: string | null): [string, string, Promotion] {
    const frame: LoopFrame = { assigned: assignedIn(body), sites: new Map(), touched: new Map(), nested: new Set(), hoisted: new Map(),
      trips, before: new Map(), conditional: 0 };
    this.loopFrames.push(frame);
    const warmExit = this.warmExitPending;
    this.warmExitPending = false;
    let fwd: string, rb: string;
    try {
      [fwd, rb] = this.loopBodyText(body);
    } finally {
      this.loopFrames.pop();
    }
    if (warmExit) fwd = `${WARM_EXIT}\n${fwd}`;
    // what this loop touches, the loop around it must leave in memory
    const parent = this.loopFrames[this.loopFrames.length - 1];
    if (parent !== undefined) for (const a of [...frame.touched.keys(), ...frame.nested]) parent.nested.add(a);
    const [resolved, promotion] = this.promotionsOf(frame, rb);
    for (const [text, id] of frame.before) {
      fwd = fwd.split(`\u0002${id}\u0002`).join(`fh${id}`);
      promotion.forward += ` const fh${id} = ${trips} > 0 ? ${text} : 0; if (fh${id} === undefined) throw BAIL;`;
    }
    return [fwd, resolved, promotion];
  }
  private loopBodyText(body: Stmt[]): [string, string] {
    const again = body.filter((s): s is Stmt & { t: 'assign' } => s.t === 'assign' && this.recompute.get(s.target.name) === 'iteration');
    if (again.length === 0) return this.block(body);
    const parts = body.map((s) => this.statement(s));
    const values = again.map((s) => {
      this.indexTemps.clear();
      const pre: string[] = [];
      this.checkReads = false;
      const root = this.operand(s.rhs, [], pre);
      this.checkReads = true;
      return `{ ${pre.join(' ')} v_${s.target.name} = ${this.valueText(root)}; }`;
    });
    const reverse = parts.map((x) => x[1]).filter(Boolean).reverse();
    const lastReverse = parts[parts.length - 1][1];
    const rest = lastReverse ? reverse.slice(1) : reverse;
    return [parts.map((x) => x[0]).filter(Boolean).join('\n'), [lastReverse, ...values, ...rest].filter(Boolean).join('\n')];
  }

  private statement(s: Stmt): [string, string] {
    if (s.t !== 'loop') return this.statementText(s);
    const saved = this.fusing === null ? this.accumulatorsOf(s).filter((n) => !this.accumulating.has(n)) : [];
    this.enclosing.push(s);
    for (const n of saved) this.accumulating.add(n);
    let fwd: string, rev: string;
    try {
      [fwd, rev] = this.statementText(s);
    } finally {
      this.enclosing.pop();
      for (const n of saved) this.accumulating.delete(n);
    }
    if (saved.length === 0 || !rev) return [fwd, rev];
    // an accumulator's value before the loop, saved once instead of at every step (see accumulatorsOf)
    return [`${saved.map((n) => this.pushS(`v_${n}`)).join(' ')}\n${fwd}`, `${rev}\n${[...saved].reverse().map((n) => `v_${n} = ${POP};`).join(' ')}`];
  }

  /**
   * Accumulators of a loop: needed variables (some partial reads them) that the loop changes only by `v = v + e` or
   * `v = v - e` (e not reading v) and reads nowhere else, its test and bounds included (a softmax's `se += exp(…)`
   * before `log(se)`, a norm's `sq += x * x` before `sqrt(sq)`). Why one save is exact: the partials of + and -
   * read no operand, so the reverse pass never reads such a variable's value inside the loop; after the loop's
   * reverse it must hold its value from before the loop, which the one save gives back, as the saves at every step
   * would have, step by step.
   */
  private accumulatorsOf(loop: Stmt & { t: 'loop' }): string[] {
    const f = this.f, p = this.p;
    const candidates = new Set<string>();
    const excluded = new Set<string>();
    const reads = (e: any) => {
      const r = new Set<string>();
      namesIn(e, r);
      return r;
    };
    const visit = (ss: Stmt[]): void => {
      for (const s of ss) {
        if (s.t === 'assign') {
          const name = s.target.name, rhs = s.rhs;
          const own = s.target.index === null && rhs.type === 'BinaryExpression' && (rhs.operator === '+' || rhs.operator === '-')
            && rhs.left.type === 'Identifier' && rhs.left.name === name && !reads(rhs.right).has(name);
          if (own) candidates.add(name);
          else excluded.add(name);
          const r = new Set<string>();
          readsOf(s, r);
          if (own) r.delete(name);
          for (const n of r) excluded.add(n);
        } else if (s.t === 'array') {
          excluded.add(s.name);
          for (const n of reads(s.size)) excluded.add(n);
        } else if (s.t === 'if') {
          for (const n of reads(s.test)) excluded.add(n);
          visit(s.then);
          visit(s.else);
        } else {
          if (s.test !== null) for (const n of reads(s.test)) excluded.add(n);
          if (s.counter) (excluded.add(s.counter.name), [s.counter.from, s.counter.to].forEach((e) => reads(e).forEach((n) => excluded.add(n))));
          visit(s.body);
        }
      }
    };
    if (loop.test !== null) for (const n of reads(loop.test)) excluded.add(n);
    if (loop.counter) (excluded.add(loop.counter.name), [loop.counter.from, loop.counter.to].forEach((e) => reads(e).forEach((n) => excluded.add(n))));
    visit(loop.body);
    return [...candidates].filter((n) => !excluded.has(n) && f.needed.has(n) && !f.aliased.has(n) && !this.recompute.has(n)
      && !f.indexOnly.has(n) && p.scalars.has(n));
  }

  /**
   * Whether the reverse pass can evaluate an if's test again instead of popping its outcome: a test with no
   * statements of its own (no element reads) that reads only names holding, where the reverse pass reaches the if,
   * the values they held when the forward pass tested them: parameters no statement assigns, captured numbers, the
   * counters of the counted loops around it (the reverse pass sets them per iteration) and values recomputed at the
   * start of each reverse iteration of a loop around it (recompute.ts: assigned once in that body, read only after),
   * none assigned in the if's branches. Not inside a fused loop (its iterations' reverse runs in between).
   */
  private reevaluable(s: Stmt & { t: 'if' }, pre: string): boolean {
    if (pre !== '' || this.fusing !== null) return false;
    const reads = new Set<string>();
    namesIn(s.test, reads);
    const inBranches = assignedIn([...s.then, ...s.else]);
    const assignedAnywhere = (this.assignedAnywhere ??= assignedIn(this.p.body));
    return [...reads].every((n) => !inBranches.has(n) && (
      (this.p.params.includes(n) && !this.p.paramArrays.has(n) && !assignedAnywhere.has(n)) || this.p.capturedScalars.has(n)
      || ((this.p.paramArrays.has(n) || this.p.capturedArrays.has(n)) && !assignedAnywhere.has(n)) // only .length: elements have statements
      || this.enclosing.some((loop) => loop.counter?.name === n)
      || (this.recompute.get(n) === 'iteration' && this.enclosing.some((loop) => loop.body.some((x) => x.t === 'assign' && x.target.name === n)))));
  }

  private statementText(s: Stmt): [string, string] {
    this.indexTemps.clear(); // index variables may change between statements
    this.current = s;
    switch (s.t) {
      case 'assign':
        // a counted loop's counter starts afresh there: its reverse pass sets the counter itself (see 'loop')
        if (s.counterInit && this.recomputable(s.target.name)) return [this.assignment(s.target.name, null, s.rhs, true)[0], ''];
        // a counted loop's step needs no int32 guard: the loop checks its trip count, and the counter is read only in
        // indices, where a fractional value bails out anyway
        return this.assignment(s.target.name, s.target.index, s.rhs, false, s.counterStep === true && this.recomputable(s.target.name));
      case 'array':
        return this.array(s.name, s.size);
      case 'if': {
        const test = this.testParts(s.test);
        this.indexTemps.clear();
        // what a branch reads, only some iterations read: not before the loop (readBeforeLoop)
        const frame = this.loopFrames[this.loopFrames.length - 1];
        if (frame !== undefined) frame.conditional++;
        let fa: string, ra: string, fb: string, rb: string;
        try {
          [[fa, ra], [fb, rb]] = [this.block(s.then), this.block(s.else)];
        } finally {
          if (frame !== undefined) frame.conditional--;
        }
        if (!ra && !rb) return [ifText(test, fa, fb), ''];
        if (this.reevaluable(s, test[0])) return [ifText(test, fa, fb), `if (${test[1]}) { ${ra} } else { ${rb} }`];
        return [ifText(test, `${fa} ${this.pushC('1')}`, `${fb} ${this.pushC('0')}`), `if (${POPC} === 1) { ${ra} } else { ${rb} }`];
      }
      case 'loop': {
        const test = s.test === null ? null : this.testParts(s.test);
        this.indexTemps.clear();
        const countedNest = (ss: Stmt[]): boolean => ss.every((x) => x.t === 'if' ? countedNest(x.then) && countedNest(x.else)
          : x.t !== 'loop' || (x.counter !== undefined && this.recomputable(x.counter.name) && countedNest(x.body)));
        if (this.reserving.length > 0 || (!this.unchecked && countedNest([s]))) return this.reservedLoop(s, test);
        const innermost = !this.unchecked && !containsLoop(s.body);
        const [ps, pc] = [this.pushes, this.pushesC];
        if (innermost) this.unchecked = true;
        const [body, rb, promotion] = this.loopBody(s.body, s.counter === undefined ? null : this.tripsText(s.counter));
        let fb = body, ns = 0, nc = 0;
        if (innermost) {
          this.unchecked = false;
          [ns, nc] = [this.pushes - ps, this.pushesC - pc];
          fb = `${ns ? `if (sp + ${ns} > S.length) S = growS(sp + ${ns});` : ''} ${nc ? `if (cp + ${nc} > C.length) C = growC(cp + ${nc});` : ''} ${body}`;
        }
        if (!rb) return [`${promotion.forward} ${whileText(test, fb)}`, ''];
        const c = s.counter;
        if (c !== undefined && this.recomputable(c.name)) {
          // counted: the trip count follows from the bounds (checked: countedCheck), and the counter's last value from
          // the trip count, so neither is saved
          const from = this.indexText(c.from), trips = this.tripsText(c);
          // the trip count is (last - first)·step: no count kept while looping
          return [`{ ${promotion.forward} ${whileText(test, fb)} ${this.countedCheck(c, from, trips)} }`,
            reverseLoop(trips, `v_${c.name} = ${from} ${c.step === 1 ? '+' : '-'} n;`, rb, promotion)];
        }
        return [`{ let n = 0; ${promotion.forward} ${whileText(test, `${fb} n++;`)} ${this.pushC('n')} }`, reverseLoop(POPC, '', rb, promotion)];
      }
    }
  }

  /**
   * After a counted loop: bail out unless it ran its trip count, and, where its reverse pass sets its counter from
   * the trip count (from ± trips, then a step back per iteration: `rebuilt`), unless it started at an int32 other
   * than -0. From another start the steps back round differently from the steps forward (0.01 + 1 - 1 is not 0.01;
   * -0 comes back as +0), and values recomputed from the counter would differ (found by review). A literal start
   * costs nothing (V8 folds it). A fused loop puts its counter back from a snapshot after each iteration: not rebuilt.
   * None from a literal 0, which always runs its trip count: its counter takes the whole values 0, ±1, ±2, … exactly,
   * and the trip count is the number of them on the right side of the bound (for a bound to: to > 0 ? CEIL(to - 0) :
   * 0, and so on, where to - 0 and 0 - to are exact). A GMM point loop with d = 2 paid 2 % for these checks.
   */
  private countedCheck(c: NonNullable<(Stmt & { t: 'loop' })['counter']>, from: string, trips: string, rebuilt = true): string {
    if (c.from.type === 'Literal' && c.from.value === 0) return '';
    return `if ((v_${c.name} - ${from}) * ${c.step} !== ${trips}${rebuilt ? ` || ${notInt32(from)}` : ''}) throw BAIL;`;
  }
  /**
   * A counted loop's trip count as text (0 when the bounds cross), from its bounds as they are where the text runs.
   * A fractional bound counts whole steps (`i < 2.5` from 0: 3 trips, `i <= 2.5`: 3), as the loop runs them: a loop to
   * n / 2 with n odd stays compiled. The counter's last value, from + trips, is then checked after the forward loop
   * as for any bound, and its start (see countedCheck).
   */
  private tripsText(c: NonNullable<(Stmt & { t: 'loop' })['counter']>): string {
    const from = this.indexText(c.from), to = this.indexText(c.to);
    return c.cmp === '<' ? `(${to} > ${from} ? CEIL(${to} - ${from}) : 0)` : c.cmp === '<=' ? `(${to} >= ${from} ? FLOOR(${to} - ${from}) + 1 : 0)`
      : c.cmp === '>' ? `(${from} > ${to} ? CEIL(${from} - ${to}) : 0)` : `(${from} >= ${to} ? FLOOR(${from} - ${to}) + 1 : 0)`;
  }

  /**
   * A loop of a nest of counted loops, whose stack capacity is reserved at loop entries instead of checked at each
   * push: with a check inside a loop, V8 reloads S at every push (the check might replace it), which doubled a Horner
   * loop's forward pass and cost GMM 6 %. The outermost loop of the nest reserves trips × (pushes a trip), where a trip's
   * pushes include trips × pushes of each inner loop whose bounds its body does not assign ("covered"); an inner loop
   * whose bounds do change (GMM's triangular one, from i + 1) reserves for itself at its entry, plus every reservation
   * around it as headroom, so the outer counts stay valid after it. A counted loop runs its trip count unless it bails
   * out inside (its bounds are not assigned in its body; a loop with break, continue or return is not a counted one:
   * jumps.ts made it a while), and pushes in both branches of an if are both counted, so reservations are upper bounds.
   * Should one ever fall short, writes past the end of S are dropped but sp still counts them: each reservation and
   * the nest's end check sp against the capacity and bail out, so a shortfall costs speed, never a wrong gradient.
   */
  private reservedLoop(s: Stmt & { t: 'loop' }, test: [string, string] | null): [string, string] {
    const c = s.counter!;
    const from = this.indexText(c.from), trips = this.tripsText(c);
    const outermost = this.reserving.length === 0;
    const around = this.reserving[this.reserving.length - 1];
    const names = (e: any): string[] => (e.type === 'Identifier' ? [e.name] : e.type === 'MemberExpression' ? names(e.object) : e.type === 'BinaryExpression' ? [...names(e.left), ...names(e.right)] : []);
    const covered = !outermost && ![...names(c.from), ...names(c.to)].some((n) => around.assigned.has(n));
    const k = this.reservations++;
    if (!covered) this.reserving.push({ need: `rs${k}`, needC: `rc${k}`, assigned: assignedIn(s.body) });
    const frame = { pushes: this.pushes, pushesC: this.pushesC, inner: 0, innerC: 0, covered: [] as string[], coveredC: [] as string[] };
    this.frames.push(frame);
    const wasUnchecked = this.unchecked;
    this.unchecked = true;
    let body: string, rb: string, promotion: Promotion;
    try {
      [body, rb, promotion] = this.loopBody(s.body, trips);
    } finally {
      this.unchecked = wasUnchecked;
      this.frames.pop();
      if (!covered) this.reserving.pop();
    }
    const all = this.pushes - frame.pushes, allC = this.pushesC - frame.pushesC;
    const perTrip = [String(all - frame.inner), ...frame.covered].join(' + '), perTripC = [String(allC - frame.innerC), ...frame.coveredC].join(' + ');
    const parent = this.frames[this.frames.length - 1];
    if (parent !== undefined) {
      parent.inner += all;
      parent.innerC += allC;
      if (covered && all > 0) parent.covered.push(`${trips} * (${perTrip})`);
      if (covered && allC > 0) parent.coveredC.push(`${trips} * (${perTripC})`);
    }
    const counted = `${promotion.forward} ${whileText(test, body)} ${this.countedCheck(c, from, trips)}`;
    let forward = counted;
    if (!covered && (all > 0 || allC > 0)) {
      const slack = this.reserving.map((r) => ` + ${r.need}`).join(''), slackC = this.reserving.map((r) => ` + ${r.needC}`).join('');
      forward = `const rs${k} = ${trips} * (${perTrip}), rc${k} = ${trips} * (${perTripC}); if (rs${k} + rc${k} > ${MAX_RESERVED_PUSHES}) throw BAIL;
        if (sp > S.length || cp > C.length) throw BAIL;
        if (sp + rs${k}${slack} > S.length) S = growS(sp + rs${k}${slack}); if (cp + rc${k}${slackC} > C.length) C = growC(cp + rc${k}${slackC});
        ${counted}${outermost ? ' if (sp > S.length || cp > C.length) throw BAIL;' : ''}`;
    }
    if (!rb) return [`{ ${forward} }`, ''];
    return [`{ ${forward} }`, reverseLoop(trips, `v_${c.name} = ${from} ${c.step === 1 ? '+' : '-'} n;`, rb, promotion)];
  }

  /** `const w = new Float64Array(n)`: a fresh array (and its adjoints) each time; the reverse pass gets the old ones back. */
  private array(name: string, size: any): [string, string] {
    const pre: string[] = [];
    const n = this.valueText(this.operand(size, [], pre));
    const parts = [`v_${name}`];
    const make = [`v_${name} = new Float64Array(len);`];
    if (this.f.adjoint.has(name)) {
      if (this.f.aliased.has(name)) (parts.push(`s_${name}`), make.push(`s_${name} = new Int32Array(len);`));
      else (parts.push(`b_${name}`), make.push(`b_${name} = new Float64Array(len).fill(-0);`));
    }
    const keep = this.f.arrayObjects.has(name);
    const fwd = `{ ${pre.join(' ')} const len = ${n}; ${keep ? parts.map((x) => `O.push(${x});`).join(' ') : ''} ${make.join(' ')} }`;
    return [fwd, keep ? [...parts].reverse().map((x) => `${x} = O.pop();`).join(' ') : ''];
  }

  /**
   * Forward and reverse text of `name = rhs` or `name[index] = rhs`. The reverse only sends the target's adjoint
   * through rhs when the new value is reached from the output, as the interpreter's sweep skips nodes the output
   * does not reach: a dead value with an infinite local derivative must not turn 0 × ∞ into NaN.
   */
  private assignment(name: string, index: any, rhs: any, forwardOnly = false, unguarded = false): [string, string] {
    const f = this.f;
    const adjoint = f.adjoint.has(name), aliased = f.aliased.has(name), needed = f.needed.has(name) && !forwardOnly;
    const nodes: OpNode[] = [];
    const pre: string[] = [];
    this.forwardReads = true;
    let root: Operand;
    try {
      root = this.operand(rhs, nodes, pre);
    } finally {
      this.forwardReads = false;
    }
    let place = `v_${name}`, slotPlace = `s_${name}`;
    let fwdIndex = '', revIndex = '', k = '';
    if (index !== null) {
      let isNew: boolean;
      [k, isNew] = this.indexTemp(name, this.indexText(index));
      if (isNew) fwdIndex = `const ${k} = ${this.indexText(index)}; if (${k} >>> 0 !== ${k} || ${k} >= v_${name}.length) throw BAIL;`;
      revIndex = this.asReverseText(() => `const ${k} = ${this.reverseIndexText(index)};`);
      place = `v_${name}[${k}]`;
      slotPlace = `s_${name}[${k}]`;
    }
    const copy = isCopy(rhs);
    const propagates = adjoint && !copy && root.kind === 'op' && this.active(root);
    // a recomputed variable's statement reads only values still in place in the reverse pass: its Math values are
    // computed again there instead of kept on the stack
    const recomputed = index === null && this.recompute.has(name);
    let kept = propagates && !recomputed ? nodes.filter((n) => n.kept) : [];
    // loop counters read only in indices: `i = i ± c` is undone by `i ∓ c`, exact for int32 values (else bail out)
    const step = index === null && f.indexOnly.has(name) ? counterStep(name, rhs) : null;
    const saveValue = needed && step === null && !recomputed && !this.accumulating.has(name);
    // a stepped index variable's old value goes on the int stack (an int32 other than -0, else bail out, as at its
    // steps): restored from a Float64Array it would be a double in V8, and so would every index the reverse pass makes
    // from it, each converted back with checks at every access
    const intSave = saveValue && index === null && f.steppedIndex.has(name);
    const fresh = copy ? (f.adjoint.has(copySource(rhs)) ? this.slotOf(root) : '0') : root.kind === 'lit' ? '0' : 'nA++';
    // `v = v + e` (or -): the interpreter's sweep moves the adjoint from the new node to the old one (times the
    // partial, 1): here both are one place, so it is rewritten in place (`b = g·1 + 0`) instead of reset and re-added;
    // a place not reached is unreached for the old value too
    const rootNode = root.kind === 'op' ? root.node : null;
    const first = rootNode?.operands[0];
    const inPlace = propagates && !aliased && (rootNode!.rule === 'add' || rootNode!.rule === 'sub') &&
      (index === null ? first!.kind === 'var' && first!.name === name : first!.kind === 'elem' && first!.array === name && first!.k === k);
    // the reverse pass first: it decides which elements the forward saves for it
    let back = '';
    this.saved = new Map();
    if (propagates)
      back = this.propagate(root as Operand & { kind: 'op' }, nodes, new Set(k ? [k] : []), inPlace ? { operand: first!, place: index === null ? `b_${name}` : `b_${name}[${k}]` } : undefined, recomputed);
    const saved = [...this.saved.values()];
    this.saved = null;
    // `v = Math.f(…)`: the reverse reads the kept result from v itself before restoring v's old value (v holds this
    // statement's value there, every later assignment of v having restored it), so only the old value is pushed
    const rootFromPlace = saveValue && index === null && !aliased && rootNode !== null && kept.includes(rootNode);
    if (rootFromPlace) kept = kept.filter((n) => n !== rootNode);
    const newSlot = fresh === 'nA++' ? 'if (nA === A.length) { growSlots(nA); A = AS; }' : '';
    // `i = i ± c` is undone exactly when i held an int32 other than -0 before it: checked on that value (the new one
    // may be whole when the old was not: 5e-301 + 1 is 1, which the reverse pass would take back to 0; found by review)
    const fwd = `{ ${pre.join(' ')} ${fwdIndex} ${kept.map((n) => this.pushS(`t${n.id}`)).join(' ')} ${saved.map((u) => this.pushS(`v_${u.array}[${u.k}]`)).join(' ')} ${intSave ? `if (${notInt32(place)}) throw BAIL; ${this.pushC(place)}` : saveValue ? this.pushS(place) : ''} ` +
      `${step !== null && !unguarded ? `if (${notInt32(`v_${name}`)}) throw BAIL;` : ''} ` +
      `${aliased ? `${this.pushC(slotPlace)} ${newSlot} ${slotPlace} = ${fresh};` : ''} ${place} = ${this.valueText(root)}; }`;
    if (!adjoint && !needed) return [fwd, ''];
    // popped in the reverse order of the pushes: an int-stack value went on C before the slot (found by review)
    const restore = `${saveValue && !intSave ? `${place} = ${POP};` : ''} ${step !== null ? `v_${name} -= ${step};` : ''} ${aliased ? `${slotPlace} = ${POPC};` : ''}` +
      `${intSave ? ` ${place} = ${POPC};` : ''}`;
    const adjointPlace = index === null ? `b_${name}` : `b_${name}[${k}]`;
    // reached: a flag for a variable; for an element, its adjoint is not -0 (see UNREACHED)
    const known = index === null && this.current !== null ? this.reach.get(this.current) : undefined;
    const reachedText = index === null ? (known === 'yes' ? 'true' : known === 'no' ? 'false' : `r_${name}`) : `!${UNREACHED('g')}`;
    const reset = index === null ? `r_${name} = false; b_${name} = 0;` : `b_${name}[${k}] = -0;`;
    if (!propagates) {
      // nothing to propagate: restore; a non-aliased adjoint starts again (unreached) for the old value
      if (!(adjoint && !aliased)) return [fwd, `{ ${revIndex} ${restore} }`];
      return [fwd, `{ ${revIndex} ${reset} ${restore} }`];
    }
    const restoredKept = [...saved].reverse().map((u) => `const ${u.temp} = ${POP};`).join(' ') + ' ' +
      [...kept].reverse().map((n) => `const t${n.id} = ${POP};`).join(' ');
    if (inPlace) {
      const take = `const g = ${adjointPlace}; const reached = ${reachedText};`;
      return [fwd, `{ ${revIndex} ${take} ${restore} ${restoredKept} if (reached) { ${back} } }`];
    }
    // read the new value's adjoint, restore the old value, then send the adjoint through rhs's operations, last first
    const take = aliased ? `const g = A[${slotPlace}]; const reached = !${UNREACHED('g')};`
      : `const g = ${adjointPlace}; const reached = ${reachedText}; ${reset} ${rootFromPlace ? `const t${rootNode!.id} = ${place};` : ''}`;
    return [fwd, `{ ${revIndex} ${take} ${restore} ${restoredKept} if (reached) { ${back} } }`];
  }

  /** Reverse of one right-hand side: recompute what the partials read, then accumulate, last operation first. */
  private propagate(root: Operand & { kind: 'op' }, nodes: OpNode[], declared: Set<string>, inPlace?: { operand: Operand; place: string }, recomputeKept = false): string {
    return this.asReverseText(() => this.propagateText(root, nodes, declared, inPlace, recomputeKept));
  }
  /** What `make` generates, as reverse text (see invariantInReverse). */
  private asReverseText(make: () => string): string {
    this.reverseText = true;
    try {
      return make();
    } finally {
      this.reverseText = false;
    }
  }
  private propagateText(root: Operand & { kind: 'op' }, nodes: OpNode[], declared: Set<string>, inPlace?: { operand: Operand; place: string }, recomputeKept = false): string {
    const rootId = root.node.id;
    const needsValue = neededTemps(root.node, recomputeKept);
    const recompute: string[] = [];
    const indexOf = (o: Operand) => {
      if (o.kind === 'elem' && !declared.has(o.k)) (declared.add(o.k), recompute.push(`const ${o.k} = ${this.reverseIndexText(o.at)};`));
    };
    for (const n of nodes) {
      n.operands.forEach(indexOf);
      if (n.kept ? recomputeKept : needsValue.has(n)) recompute.push(`const t${n.id} = ${this.opValue(n)};`);
    }
    // an arithmetic value no partial reads is not recomputed, and the partials of + - and negation read no operand
    // (they are constants), nor those of exp and the like (formulas of the result: partialReadsOperand): all get a
    // placeholder (an element read there would be saved or loaded for nothing)
    const constantPartials = (n: OpNode) => n.rule === 'add' || n.rule === 'sub' || n.rule === 'neg' || (n.unary && !partialReadsOperand(n.rule));
    const arg = (o: Operand, n: OpNode) =>
      constantPartials(n) || (o.kind === 'op' && !o.node.kept && !needsValue.has(o.node)) ? '0' : this.valueText(o);
    // a partial as inlined arithmetic where the rule's derivative is a formula of its operands (symbolic.ts: the
    // same operations on the same doubles as the interpreter's call), else a call of the rule; `pre` declares its temps
    const partial = (n: OpNode, operand: 0 | 1, t: string) =>
      inlinePartial(n.rule, n.unary, operand, n.operands.map((o) => arg(o, n)), t, () => `dp${this.partialTemps++}`);
    let back = '';
    const temps: string[] = [];
    for (const n of [...nodes].reverse()) {
      if (!this.active({ kind: 'op', node: n })) continue;
      const g = n.id === rootId ? 'g' : `tb${n.id}`;
      if (n.id !== rootId) temps.push(`tb${n.id} = 0`);
      const t = n.kept ? `t${n.id}` : '0'; // arithmetic partials do not read the result
      const [a, b] = n.operands;
      if (mathNary.has(n.rule)) {
        // the interpreter's n-ary node: partials from all operands' values (ties split), summed in operand order
        const vals = `[${n.operands.map((o) => this.valueText(o)).join(', ')}]`;
        n.operands.forEach((o, i) => {
          if (this.active(o)) back += this.accumulate(o, `${g} * ${n.rule === 'hypot' ? 'hypotPartial' : 'extremumPartial'}(${vals}, ${t}, ${i})`);
        });
      } else if (n.unary) {
        const d = partial(n, 0, t);
        back += d.pre + this.accumulate(a, `${g} * ${d.e}`);
      } else {
        // in place with a partial of exactly 1: g·1 + 0 is g itself (a reached adjoint is never -0), so nothing to do
        if (a === inPlace?.operand) {
          if (!unitPartial(n.rule)) {
            const d = partial(n, 0, t);
            back += `${d.pre} ${inPlace.place} = ${g} * ${d.e} + 0;`;
          }
        } else if (this.active(a)) {
          const d = partial(n, 0, t);
          back += d.pre + this.accumulate(a, `${g} * ${d.e}`);
        }
        if (this.active(b)) {
          const d = partial(n, 1, t);
          back += d.pre + this.accumulate(b, `${g} * ${d.e}`);
        }
      }
    }
    return `${recompute.join(' ')} ${temps.length ? `let ${temps.join(', ')};` : ''} ${back}`;
  }

  // ---- the whole function ------------------------------------------------------------------------------------------

  /** Declarations reading the captured values and checking the inlined functions, at the start of each call. */
  protected capturedDecls(decl: string[]): void {
    const p = this.p;
    // captured values are read afresh at each call (a changed flag is seen); an array that shares a buffer with an
    // argument would hold the argument's tracked elements in the interpreter: that call is interpreted
    // read as the traced code reads them: through accessors too, so a getter installed since compiling bails out
    const read = (holder: object, prop: string) => {
      let i = this.holders.indexOf(holder);
      if (i < 0) i = this.holders.push(holder) - 1;
      return `captured(H[${i}], ${JSON.stringify(prop)})`;
    };
    const from = (name: string) => read(p.captured.get(name)!.holder, p.captured.get(name)!.prop);
    // an inlined function replaced since (in the scope, or a global): the code is stale, the tier compiles it again
    p.calleeGuards.forEach((c, j) => decl.push(`if (${read(c.holder, c.prop)} !== F[${j}]) return STALE;`));
    for (const name of p.capturedScalars) decl.push(`const v_${name} = ${from(name)}; if (typeof v_${name} !== 'number') throw BAIL;`);
    for (const name of p.capturedArrays) {
      decl.push(`const v_${name} = ${from(name)}; if (!numberArray(v_${name})) throw BAIL;`);
      p.params.forEach((q, i) => p.kinds[i] === 'f64' && decl.push(`if (v_${name}.buffer === v_${q}.buffer) throw BAIL;`));
    }
    // a gradient buffer the code reads as a table would change under it: such a call is interpreted (and copied in)
    if (this.takesInto && p.capturedArrays.size > 0)
      p.params.forEach((q, i) => p.paramArrays.has(q) && decl.push(
        `if (D !== undefined && D[${i}] != null) { ${[...p.capturedArrays].map((c) => `if (sharesMemory(D[${i}], v_${c})) throw BAIL;`).join(' ')} }`));
  }

  /** Whether the generated function takes gradient buffers (D, see gradientInto): the reverse generator's does. */
  protected takesInto = true;

  assemble([forward, reverse]: [string, string]): string {
    const { p, f } = this;
    const decl: string[] = [];
    const reserve: string[] = [];
    p.params.forEach((name, i) => {
      if (p.paramArrays.has(name)) {
        decl.push(`const v_${name} = args[${i}];`);
        if (!f.adjoint.has(name)) return;
        if (f.aliased.has(name)) reserve.push(`const o_${name} = nA; nA += v_${name}.length; if (nA >= A.length) { growSlots(nA); A = AS; }`);
        // a plain array's gradient is a plain array
        else {
          // the caller's buffer (gradientInto), zeroed once the captured tables are known not to share its memory
          const fresh = p.kinds[i] === 'array' ? `zerosArray(v_${name}.length)` : `freshF64(v_${name}.length)`;
          // (none in the warm-up calls, which return before the reverse pass: see warmPrologue)
          decl.push(`const b_${name} = prologueOnly === true ? null : D !== undefined && D[${i}] != null ? D[${i}] : ${fresh}; let r_${name} = false;`);
          reserve.unshift(`if (b_${name} !== null && b_${name} === D?.[${i}]) b_${name}.fill(0);`);
        }
      } else {
        decl.push(`let v_${name} = args[${i}];`);
        if (!f.adjoint.has(name)) return;
        if (f.aliased.has(name)) reserve.push(`const o_${name} = nA++; if (nA >= A.length) { growSlots(nA); A = AS; } let s_${name} = o_${name};`);
        else decl.push(`let b_${name} = 0, r_${name} = false;`);
      }
    });
    for (const name of p.scalars) {
      if (p.params.includes(name)) continue;
      // a number from the start (not undefined) lets V8 keep the variable an unboxed double
      decl.push(`let v_${name}${p.unassigned.has(name) ? '' : ' = 0'};`);
      if (f.adjoint.has(name)) decl.push(f.aliased.has(name) ? `let s_${name} = 0;` : `let b_${name} = 0, r_${name} = false;`);
    }
    this.capturedDecls(decl);
    decl.push(...this.functionDecls);
    for (const name of p.localArrays) {
      decl.push(`let v_${name};`);
      if (f.adjoint.has(name)) decl.push(f.aliased.has(name) ? `let s_${name};` : `let b_${name};`);
    }
    const out = p.out;
    const seed = !f.adjoint.has(out) ? '' : f.aliased.has(out) ? `A[s_${out}] = 1;` : `b_${out} = 1; r_${out} = true;`;
    const gradOf = (name: string, i: number) => {
      if (!f.adjoint.has(name)) return 'null';
      if (p.paramArrays.has(name))
        return f.aliased.has(name) ? `slotGradient(A, o_${name}, v_${name}.length, ${p.kinds[i] === 'array'}, D?.[${i}])`
          : `r_${name} ? b_${name} : null`;
      return f.aliased.has(name) ? `${UNREACHED(`A[o_${name}]`)} ? null : A[o_${name}]` : `r_${name} ? b_${name} : null`;
    };
    return `
${PRELUDE}
// stacks (kept between calls; the running call holds them in locals S, C): values, and counts and slots
let SS = new Float64Array(1024), CS = new Int32Array(256), O = [];
function growS(need) { const T = new Float64Array(Math.max(2 * SS.length, 2 * need)); T.set(SS); return (SS = T); }
function growC(need) { const T = new Int32Array(Math.max(2 * CS.length, 2 * need)); T.set(CS); return (CS = T); }
// adjoint slots of names connected by copies: A[s], -0 while unreached; slot 0 belongs to plain values, never swept
let AS = new Float64Array(256).fill(-0), used = 0;
function growSlots(n) { const B = new Float64Array(2 * n + 2).fill(-0); B.set(AS); AS = B; }
/** An argument's gradient from its slots (into the caller's buffer if given): null if none was reached, else unreached entries are 0. */
function slotGradient(A, o, n, asArray, into) {
  const g = into != null ? into : asArray ? new Array(n) : freshF64(n);
  let reached = false;
  for (let i = 0; i < n; i++) {
    const v = A[o + i];
    if (${UNREACHED('v')}) g[i] = 0;
    else (g[i] = v, reached = true);
  }
  return reached ? g : null;
}
return function compiledGradient(args, D, prologueOnly) {
  let S = SS, sp = 0, C = CS, cp = 0;
  ${f.arrayObjects.size > 0 ? 'O.length = 0;' : ''}
  ${f.aliased.size > 0 ? `if (prologueOnly !== true) { // the warm-up calls write no slot
    AS.fill(-0, 0, used);
    used = AS.length; // until this call returns normally (a bail-out leaves its slots to clear)
  }` : ''}
  let A = AS, nA = 1;
  ${decl.join('\n  ')}
  ${reserve.join('\n  ')}
  ${forward}
  const value = v_${out};
  if (typeof value !== 'number') return null; // the interpreter reports a non-number output
  ${(p.numbers ?? []).map((n) => `if (typeof v_${n} !== 'number') return null;`).join(' ')}
  ${seed}
  ${reverse}
  ${f.aliased.size > 0 ? 'used = nA;' : ''}
  return { value, grad: [${p.params.map(gradOf).join(', ')}] };
};`;
  }
}


/** A loop being generated: the names its body assigns, its candidate registers, the element adjoints it touches (by array, index texts), the arrays its inner loops touch, and what it computes once. */
interface LoopFrame {
  assigned: Set<string>;
  sites: Map<string, { id: number; array: string; index: string }>;
  touched: Map<string, Set<string>>;
  nested: Set<string>;
  /** Loop-invariant texts of its reverse (see invariantInReverse), by text: the register each gets, and whether it reads an element. */
  hoisted: Map<string, { id: number; element: boolean }>;
  /** Its trip count as text when it is a counted loop (see readBeforeLoop), else null. */
  trips: string | null;
  /** Elements its forward reads once before it (readBeforeLoop), by text: the register each gets. */
  before: Map<string, number>;
  /** How many ifs around the statement being generated are inside this loop's body. */
  conditional: number;
}
/** Text around a loop's reverse (registers loaded before it, after `let n = <trips>`, stored after it), and before its forward. */
interface Promotion { pre: string; post: string; forward: string }

/** A loop's reverse: `count` trips of rb, the counter set first, registers of promoted element adjoints around it. */
function reverseLoop(count: string, setCounter: string, rb: string, promotion: Promotion): string {
  return `{ let n = ${count}; ${promotion.pre} ${setCounter} while (n-- > 0) { ${rb} } ${promotion.post} }`;
}

/** Pushes above which a nest of counted loops bails out instead of reserving its stacks (2^26: 512 MB of S). */
const MAX_RESERVED_PUSHES = 1 << 26;


/** `if (test) { yes } else { no }` from a test's parts, its statements first (a block keeps their names local). */
export function ifText([pre, cond]: [string, string], yes: string, no: string): string {
  return pre ? `{ ${pre} if (${cond}) { ${yes} } else { ${no} } }` : `if (${cond}) { ${yes} } else { ${no} }`;
}
/**
 * `while (test) { body }` from a test's parts (null: forever). The test's statements run at the top of each
 * iteration, before a `break` (generated bodies have no break or continue of their own: jumps.ts turned them into
 * flags), so no closure is made per iteration.
 */
export function whileText(test: [string, string] | null, body: string): string {
  if (test === null) return `while (true) { ${body} }`;
  const [pre, cond] = test;
  return pre ? `while (true) { ${pre} if (!${cond}) break; ${body} }` : `while (${cond}) { ${body} }`;
}

/** Whether a binary rule's partial in its first operand is the constant 1 (+ and -). */
function unitPartial(rule: string): boolean {
  const da = (binaryRules as any)[rule].da;
  return da.length === 0 && da() === 1;
}

function containsLoop(ss: Stmt[]): boolean {
  return ss.some((s) => s.t === 'loop' || (s.t === 'if' && (containsLoop(s.then) || containsLoop(s.else))));
}

/** A test that `x` (text) is not an int32, or is -0: a counter from which steps of whole numbers are not undone exactly. */
const notInt32 = (x: string) => `(${x} | 0) !== ${x} || (${x} === 0 && 1 / ${x} < 0)`;

/**
 * Arithmetic values the reverse pass must recompute: those a partial derivative reads (an operand of a product,
 * quotient, remainder or Math call; through sums). The result of the root and of + and - is read by no partial.
 */
function neededTemps(root: OpNode, recomputeKept: boolean): Set<OpNode> {
  const needed = new Set<OpNode>();
  const visit = (n: OpNode, valueNeeded: boolean) => {
    if (valueNeeded) needed.add(n);
    const [a, b] = n.operands;
    const childNeeded = (o: Operand, other: Operand | undefined) => {
      // a kept value comes from the stack, but its partials read its operands, except exp's and the like (from the
      // stack, not computed again: see analyze.ts)
      if (n.kept) return recomputeKept || !n.unary || partialReadsOperand(n.rule);
      if (n.rule === 'add' || n.rule === 'sub' || n.rule === 'neg') return valueNeeded;
      if (n.rule === 'mul') return valueNeeded || other?.kind !== 'lit';
      return true;
    };
    if (a?.kind === 'op') visit(a.node, childNeeded(a, b));
    if (b?.kind === 'op') visit(b.node, childNeeded(b, a));
    for (const o of n.operands.slice(2)) if (o.kind === 'op') visit(o.node, true);
  };
  visit(root, false);
  return needed;
}
