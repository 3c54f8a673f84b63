// The compiled tier's code generator: a lowered function becomes a forward pass with stacks and a reverse pass, as `new Function` source.
import { unaryRules, binaryRules } from '../rules/scalar';
import { lower, mathBinary, UNDEFINED, type Program, type Stmt, type ArgKind } from './lower';
import { analyze, isCopy, copySource, type Facts } from './analyze';

export { Ineligible, type ArgKind } from './lower';

/**
 * Value and per-argument gradients (null where no recorded operation connects the argument to the output); null when
 * the call must be interpreted instead: the output is not a number (the interpreter reports it), or the forward pass
 * bailed out (an index out of range, a loop counter that is not an integer, an error thrown by the user's code).
 */
export type CompiledGradient = ((args: any[]) => { value: number; grad: any[] } | null) & {
  /** Number of parameters: the compiled code answers only calls with exactly that many arguments. */
  arity: number;
  /** Calls that bailed out to the interpreter so far, and why the last one did. */
  bails: number;
  lastBail?: unknown;
  /** The generated source, for introspection: the whole function, and its forward and reverse passes. */
  source: string;
  forward: string;
  reverse: string;
};

const arithmetic: Record<string, string> = { '+': 'add', '-': 'sub', '*': 'mul', '/': 'div', '%': 'mod', '**': 'pow' };
const inline: Record<string, (a: string, b: string) => string> = {
  add: (a, b) => `(${a} + ${b})`, sub: (a, b) => `(${a} - ${b})`, mul: (a, b) => `(${a} * ${b})`, div: (a, b) => `(${a} / ${b})`, mod: (a, b) => `(${a} % ${b})`,
};

/** One operation of an expression, in evaluation order: its value temp, operands, and the rule that computes it. */
interface OpNode {
  id: number;
  rule: string;
  unary: boolean;
  operands: Operand[];
  /** Math calls (and pow, atan2) are dear to recompute: the forward keeps their values on the stack. */
  kept: boolean;
}
type Operand = { kind: 'lit'; text: string } | { kind: 'var'; name: string } | { kind: 'op'; node: OpNode }
  | { kind: 'elem'; array: string; index: string; k: string };

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
export function compileGradient(source: string, kinds?: ArgKind[]): CompiledGradient {
  const p = lower(source, kinds);
  const facts = analyze(p);
  const g = new Generator(p, facts);
  const passes = g.block(p.body);
  const code = g.assemble(passes);
  const rules: [string, any][] = [
    ...Object.entries(unaryRules).map(([k, r]) => [`U_${k}`, r] as [string, any]),
    ...Object.entries(binaryRules).map(([k, r]) => [`B_${k}`, r] as [string, any]),
  ];
  const run = new Function(...rules.map((r) => r[0]), code)(...rules.map((r) => r[1]));
  const compiled: any = (args: any[]) => {
    try {
      return run(args);
    } catch (e) {
      compiled.bails++; // pure code (no user calls, no writes outside its own arrays): the interpreter redoes the call
      compiled.lastBail = e;
      return null;
    }
  };
  return Object.assign(compiled, { arity: p.params.length, bails: 0, source: code, forward: passes[0], reverse: passes[1] });
}

class Generator {
  private ops = 0;
  private temps = 0;
  constructor(private p: Program, private f: Facts) {}

  private isArray(n: string) {
    return this.p.paramArrays.has(n) || this.p.localArrays.has(n);
  }

  // ---- expressions -------------------------------------------------------------------------------------------------

  /** Flatten an expression into operation nodes; `pre` collects, in evaluation order, the forward code of its parts. */
  private operand(e: any, nodes: OpNode[], pre: string[]): Operand {
    switch (e.type) {
      case 'Literal':
        return { kind: 'lit', text: `(${e.raw})` };
      case 'Identifier':
        return e === UNDEFINED ? { kind: 'lit', text: 'undefined' } : { kind: 'var', name: e.name };
      case 'MemberExpression': {
        if (!e.computed) return { kind: 'lit', text: `v_${e.object.name}.length` };
        const k = `k${this.temps++}`;
        const index = this.indexText(e.property);
        // an element outside the array (or at a fractional index) bails out: the interpreter handles it
        pre.push(`const ${k} = ${index}; if (${k} >>> 0 !== ${k} || ${k} >= v_${e.object.name}.length) throw BAIL;`);
        return { kind: 'elem', array: e.object.name, index, k };
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
        return this.push(nodes, pre, name, !mathBinary.has(name), args);
      }
    }
  }
  private push(nodes: OpNode[], pre: string[], rule: string, unary: boolean, operands: Operand[]): Operand {
    const node = { id: this.ops++, rule, unary, operands, kept: rule !== 'neg' && !(rule in { add: 1, sub: 1, mul: 1, div: 1, mod: 1 }) };
    nodes.push(node);
    pre.push(`const t${node.id} = ${this.opValue(node)};`);
    return { kind: 'op', node };
  }
  private indexText(e: any): string {
    if (e.type === 'Literal') return `(${e.raw})`;
    if (e.type === 'Identifier') return `v_${e.name}`;
    return `(${this.indexText(e.left)} ${e.operator} ${this.indexText(e.right)})`;
  }
  private valueText(o: Operand): string {
    return o.kind === 'lit' ? o.text : o.kind === 'var' ? `v_${o.name}` : o.kind === 'elem' ? `v_${o.array}[${o.k}]` : `t${o.node.id}`;
  }
  private opValue(n: OpNode): string {
    const [a, b] = n.operands.map((o) => this.valueText(o));
    if (n.unary) return n.rule === 'neg' ? `(-${a})` : `U_${n.rule}.f(${a})`;
    return inline[n.rule]?.(a, b) ?? `B_${n.rule}.f(${a}, ${b})`;
  }
  /** Whether an operand carries an adjoint (a path from an argument): otherwise the reverse pass skips it. */
  private active(o: Operand): boolean {
    if (o.kind === 'var') return this.f.adjoint.has(o.name);
    if (o.kind === 'elem') return this.f.adjoint.has(o.array);
    return o.kind === 'op' && o.node.operands.some((x) => this.active(x));
  }

  /** A test (if/while/for condition), as a forward-only boolean expression. */
  private test(e: any): string {
    if (e.type === 'LogicalExpression') return `(${this.test(e.left)} ${e.operator} ${this.test(e.right)})`;
    if (e.type === 'UnaryExpression' && e.operator === '!') return `(!${this.test(e.argument)})`;
    const pre: string[] = [];
    let text: string;
    if (e.type === 'BinaryExpression' && !(e.operator in arithmetic)) {
      const a = this.operand(e.left, [], pre), b = this.operand(e.right, [], pre);
      text = `${this.valueText(a)} ${e.operator} ${this.valueText(b)}`;
    } else text = `${this.valueText(this.operand(e, [], pre))} ? true : false`;
    return pre.length ? `((() => { ${pre.join(' ')} return ${text}; })())` : `(${text})`;
  }

  // ---- adjoint places ----------------------------------------------------------------------------------------------

  /** `A[s] += g * d`-style accumulation into an operand's adjoint, marking it reached. */
  private accumulate(o: Operand, add: string): string {
    if (o.kind === 'op') return `tb${o.node.id} += ${add};`;
    if (o.kind === 'var') return this.f.aliased.has(o.name) ? `{ const s = s_${o.name}; A[s] += ${add}; R[s] = 1; }` : `b_${o.name} += ${add}; r_${o.name} = true;`;
    if (o.kind !== 'elem') return '';
    const a = o.array, k = o.k;
    if (this.p.paramArrays.has(a)) return this.f.aliased.has(a) ? `A[o_${a} + ${k}] += ${add}; R[o_${a} + ${k}] = 1;` : `b_${a}[${k}] += ${add}; r_${a} = true;`;
    return this.f.aliased.has(a) ? `{ const s = s_${a}[${k}]; A[s] += ${add}; R[s] = 1; }` : `b_${a}[${k}] += ${add}; r_${a}[${k}] = 1;`;
  }
  /** The slot a copy of this operand shares (aliased names only; 0 is the slot of plain values, never swept). */
  private slotOf(o: Operand): string {
    if (o.kind === 'var') return this.f.aliased.has(o.name) ? `s_${o.name}` : '0';
    if (o.kind === 'elem' && this.f.aliased.has(o.array)) return this.p.paramArrays.has(o.array) ? `o_${o.array} + ${o.k}` : `s_${o.array}[${o.k}]`;
    return '0';
  }

  // ---- statements --------------------------------------------------------------------------------------------------

  block(ss: Stmt[]): [string, string] {
    const parts = ss.map((s) => this.statement(s));
    return [parts.map((x) => x[0]).filter(Boolean).join('\n'), parts.map((x) => x[1]).filter(Boolean).reverse().join('\n')];
  }

  private statement(s: Stmt): [string, string] {
    switch (s.t) {
      case 'assign':
        return this.assignment(s.target.name, s.target.index, s.rhs);
      case 'array':
        return this.array(s.name, s.size);
      case 'if': {
        const test = this.test(s.test);
        const [fa, ra] = this.block(s.then), [fb, rb] = this.block(s.else);
        if (!ra && !rb) return [`if (${test}) { ${fa} } else { ${fb} }`, ''];
        return [`if (${test}) { ${fa} pushC(1); } else { ${fb} pushC(0); }`, `if (popC() === 1) { ${ra} } else { ${rb} }`];
      }
      case 'loop': {
        const test = s.test === null ? 'true' : this.test(s.test);
        const [fb, rb] = this.block(s.body);
        if (!rb) return [`while (${test}) { ${fb} }`, ''];
        return [`{ let n = 0; while (${test}) { ${fb} n++; } pushC(n); }`, `{ let n = popC(); while (n-- > 0) { ${rb} } }`];
      }
    }
  }

  /** `const w = new Float64Array(n)`: a fresh array (and its adjoints) each time; the reverse pass gets the old ones back. */
  private array(name: string, size: any): [string, string] {
    const pre: string[] = [];
    const n = this.valueText(this.operand(size, [], pre));
    const parts = [`v_${name}`];
    const make = [`v_${name} = new Float64Array(len);`];
    if (this.f.adjoint.has(name)) {
      if (this.f.aliased.has(name)) (parts.push(`s_${name}`), make.push(`s_${name} = new Int32Array(len);`));
      else (parts.push(`b_${name}`, `r_${name}`), make.push(`b_${name} = new Float64Array(len); r_${name} = new Uint8Array(len);`));
    }
    const keep = this.f.adjoint.has(name) || this.f.needed.has(name);
    const fwd = `{ ${pre.join(' ')} const len = ${n}; ${keep ? parts.map((x) => `O.push(${x});`).join(' ') : ''} ${make.join(' ')} }`;
    return [fwd, keep ? [...parts].reverse().map((x) => `${x} = O.pop();`).join(' ') : ''];
  }

  /**
   * Forward and reverse text of `name = rhs` or `name[index] = rhs`. The reverse only sends the target's adjoint
   * through rhs when the new value is reached from the output, as the interpreter's sweep skips nodes the output
   * does not reach: a dead value with an infinite local derivative must not turn 0 × ∞ into NaN.
   */
  private assignment(name: string, index: any, rhs: any): [string, string] {
    const f = this.f;
    const adjoint = f.adjoint.has(name), aliased = f.aliased.has(name), needed = f.needed.has(name);
    const nodes: OpNode[] = [];
    const pre: string[] = [];
    const root = this.operand(rhs, nodes, pre);
    let place = `v_${name}`, slotPlace = `s_${name}`;
    let fwdIndex = '', revIndex = '', k = '';
    if (index !== null) {
      k = `k${this.temps++}`;
      fwdIndex = `const ${k} = ${this.indexText(index)}; if (${k} >>> 0 !== ${k} || ${k} >= v_${name}.length) throw BAIL;`;
      revIndex = `const ${k} = ${this.indexText(index)};`;
      place = `v_${name}[${k}]`;
      slotPlace = `s_${name}[${k}]`;
    }
    const copy = isCopy(rhs);
    const propagates = adjoint && !copy && root.kind === 'op' && this.active(root);
    const kept = propagates ? nodes.filter((n) => n.kept) : [];
    // loop counters read only in indices: `i = i ± c` is undone by `i ∓ c`, exact for int32 values (else bail out)
    const step = index === null && f.indexOnly.has(name) ? counterStep(name, rhs) : null;
    const saveValue = needed && step === null;
    const fresh = copy ? (f.adjoint.has(copySource(rhs)) ? this.slotOf(root) : '0') : root.kind === 'lit' ? '0' : 'slot()';
    const fwd = `{ ${pre.join(' ')} ${fwdIndex} ${kept.map((n) => `push(t${n.id});`).join(' ')} ${saveValue ? `push(${place});` : ''} ` +
      `${aliased ? `pushC(${slotPlace}); ${slotPlace} = ${fresh};` : ''} ${place} = ${this.valueText(root)};` +
      `${step !== null ? ` if ((v_${name} | 0) !== v_${name}) throw BAIL;` : ''} }`;
    if (!adjoint && !needed) return [fwd, ''];
    const restore = `${saveValue ? `${place} = pop();` : ''} ${step !== null ? `v_${name} -= ${step};` : ''} ${aliased ? `${slotPlace} = popC();` : ''}`;
    const adjointPlace = index === null ? `b_${name}` : `b_${name}[${k}]`;
    const reachPlace = index === null ? `r_${name}` : `r_${name}[${k}]`;
    if (!propagates) {
      // nothing to propagate: restore; a non-aliased adjoint starts again from 0 for the old value
      const reset = adjoint && !aliased ? `${reachPlace} = ${index === null ? 'false' : '0'}; ${adjointPlace} = 0;` : '';
      return [fwd, `{ ${revIndex} ${reset} ${restore} }`];
    }
    // read the new value's adjoint, restore the old value, then send the adjoint through rhs's operations, last first
    const take = aliased ? `const s = ${slotPlace}; const reached = R[s] === 1; const g = A[s];`
      : `const reached = ${reachPlace}${index === null ? '' : ' === 1'}; const g = ${adjointPlace}; ${reachPlace} = ${index === null ? 'false' : '0'}; ${adjointPlace} = 0;`;
    const restoredKept = [...kept].reverse().map((n) => `const t${n.id} = pop();`).join(' ');
    return [fwd, `{ ${revIndex} ${take} ${restore} ${restoredKept} if (reached) { ${this.propagate(root as Operand & { kind: 'op' }, nodes)} } }`];
  }

  /** Reverse of one right-hand side: recompute what the partials read, then accumulate, last operation first. */
  private propagate(root: Operand & { kind: 'op' }, nodes: OpNode[]): string {
    const rootId = root.node.id;
    const needsValue = neededTemps(root.node);
    const recompute: string[] = [];
    const indexOf = (o: Operand) => {
      if (o.kind === 'elem') recompute.push(`const ${o.k} = ${o.index};`);
    };
    for (const n of nodes) {
      n.operands.forEach(indexOf);
      if (!n.kept && needsValue.has(n)) recompute.push(`const t${n.id} = ${this.opValue(n)};`);
    }
    // an arithmetic value no partial reads is not recomputed: its partners' partials get a placeholder
    const arg = (o: Operand) => (o.kind === 'op' && !o.node.kept && !needsValue.has(o.node) ? '0' : this.valueText(o));
    let back = '';
    const temps: string[] = [];
    for (const n of [...nodes].reverse()) {
      if (!this.active({ kind: 'op', node: n })) continue;
      const g = n.id === rootId ? 'g' : `tb${n.id}`;
      if (n.id !== rootId) temps.push(`tb${n.id} = 0`);
      const t = n.kept ? `t${n.id}` : '0'; // arithmetic partials do not read the result
      const [a, b] = n.operands;
      if (n.unary) back += this.accumulate(a, `${g} * U_${n.rule}.d(${arg(a)}, ${t})`);
      else {
        const args = `${arg(a)}, ${arg(b)}, ${t}`;
        if (this.active(a)) back += this.accumulate(a, `${g} * B_${n.rule}.da(${args})`);
        if (this.active(b)) back += this.accumulate(b, `${g} * B_${n.rule}.db(${args})`);
      }
    }
    return `${recompute.join(' ')} ${temps.length ? `let ${temps.join(', ')};` : ''} ${back}`;
  }

  // ---- the whole function ------------------------------------------------------------------------------------------

  assemble([forward, reverse]: [string, string]): string {
    const { p, f } = this;
    const decl: string[] = [];
    const reserve: string[] = [];
    p.params.forEach((name, i) => {
      if (p.paramArrays.has(name)) {
        decl.push(`const v_${name} = args[${i}];`);
        if (!f.adjoint.has(name)) return;
        if (f.aliased.has(name)) reserve.push(`const o_${name} = nA; reserve(v_${name}.length);`);
        else decl.push(`const b_${name} = new Float64Array(v_${name}.length); let r_${name} = false;`);
      } else {
        decl.push(`let v_${name} = args[${i}];`);
        if (!f.adjoint.has(name)) return;
        if (f.aliased.has(name)) reserve.push(`const o_${name} = nA; reserve(1); let s_${name} = o_${name};`);
        else decl.push(`let b_${name} = 0, r_${name} = false;`);
      }
    });
    for (const name of p.scalars) {
      if (p.params.includes(name)) continue;
      decl.push(`let v_${name};`);
      if (f.adjoint.has(name)) decl.push(f.aliased.has(name) ? `let s_${name} = 0;` : `let b_${name} = 0, r_${name} = false;`);
    }
    for (const name of p.localArrays) {
      decl.push(`let v_${name};`);
      if (f.adjoint.has(name)) decl.push(f.aliased.has(name) ? `let s_${name};` : `let b_${name}, r_${name};`);
    }
    const out = p.out;
    const seed = !f.adjoint.has(out) ? '' : f.aliased.has(out) ? `A[s_${out}] = 1; R[s_${out}] = 1;` : `b_${out} = 1; r_${out} = true;`;
    const gradOf = (name: string, i: number) => {
      if (!f.adjoint.has(name)) return 'null';
      const asArray = (x: string) => (p.kinds[i] === 'array' ? `Array.from(${x})` : x);
      if (p.paramArrays.has(name))
        return f.aliased.has(name) ? `anyReached(o_${name}, v_${name}.length) ? ${asArray(`A.slice(o_${name}, o_${name} + v_${name}.length)`)} : null`
          : `r_${name} ? ${asArray(`b_${name}`)} : null`;
      return f.aliased.has(name) ? `R[o_${name}] === 1 ? A[o_${name}] : null` : `r_${name} ? b_${name} : null`;
    };
    return `
const BAIL = new Error('bail out to the interpreter');
let S = new Float64Array(1024), sp = 0, C = new Int32Array(256), cp = 0, O = [];
function push(v) { if (sp === S.length) { const T = new Float64Array(2 * sp); T.set(S); S = T; } S[sp++] = v; }
function pop() { return S[--sp]; }
function pushC(v) { if (cp === C.length) { const T = new Int32Array(2 * cp); T.set(C); C = T; } C[cp++] = v; }
function popC() { return C[--cp]; }
// adjoint slots of names connected by copies: A[s] (R[s]: reached); slot 0 belongs to plain values and is never swept
let A = new Float64Array(256), R = new Uint8Array(256), nA = 1;
function reserve(n) {
  if (nA + n >= A.length) { const size = 2 * (nA + n), B = new Float64Array(size), Q = new Uint8Array(size); B.set(A); Q.set(R); A = B; R = Q; }
  nA += n;
}
function slot() { if (nA === A.length) reserve(0); return nA++; }
function anyReached(o, n) { for (let i = o; i < o + n; i++) if (R[i] === 1) return true; return false; }
return function compiledGradient(args) {
  sp = 0; cp = 0; O.length = 0; A.fill(0, 0, nA); R.fill(0, 0, nA); nA = 1;
  ${decl.join('\n  ')}
  ${reserve.join('\n  ')}
  ${forward}
  const value = v_${out};
  if (typeof value !== 'number') return null; // the interpreter reports a non-number output
  ${seed}
  ${reverse}
  return { value, grad: [${p.params.map(gradOf).join(', ')}] };
};`;
  }
}


/** `i = i + c` or `i = i - c` with an integer literal c: the step the reverse pass undoes, else null. */
function counterStep(name: string, rhs: any): string | null {
  if (rhs.type !== 'BinaryExpression' || (rhs.operator !== '+' && rhs.operator !== '-')) return null;
  if (rhs.left.type !== 'Identifier' || rhs.left.name !== name) return null;
  const c = rhs.right;
  if (c.type !== 'Literal' || !Number.isInteger(c.value) || Math.abs(c.value) > 1024) return null;
  return rhs.operator === '+' ? `(${c.raw})` : `(-${c.raw})`;
}

/**
 * Arithmetic values the reverse pass must recompute: those a partial derivative reads (an operand of a product,
 * quotient, remainder or Math call; through sums). The result of the root and of + and - is read by no partial.
 */
function neededTemps(root: OpNode): Set<OpNode> {
  const needed = new Set<OpNode>();
  const visit = (n: OpNode, valueNeeded: boolean) => {
    if (valueNeeded) needed.add(n);
    const [a, b] = n.operands;
    const childNeeded = (o: Operand, other: Operand | undefined) => {
      if (n.kept) return true; // a kept value comes from the stack, but its partials read its operands
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
