// The compiled tier in forward mode: a lowered function becomes its own code plus a tangent beside every varied value (no stacks, no reverse pass).
import { inlinePartial } from './symbolic';
import { lower, Ineligible, UNDEFINED, flattenArgs, type ArgKind, type Stmt, type Group } from './lower';
import { analyze, isCopy, copySource } from './analyze';
import { Generator, ifText, whileText, instantiate, type OpNode, type Operand } from './compile';
import { PRELUDE } from './prelude';
import { resolver, checkScope, type Outside } from './scopes';

/** Value and tangent of a number output; null when the call must be interpreted (see CompiledGradient). */
export type CompiledTangent = ((args: any[], tangents: any[]) => { value: number; tangent: number } | null) & {
  arity: number;
  bails: number;
  stale?: boolean;
  onBail?: (why: unknown) => void;
  source: string;
};

/**
 * Compile f for jvp: bit-identical to the forward tape (lib/forward/tape.ts), which computes each tangent as
 * ∂y/∂a·ȧ (+ ∂y/∂b·ḃ) from the same rule partials, and leaves the tangent undefined (a structural zero) where no seeded
 * input reaches: here every varied variable and element carries a tangent and a flag saying it has one.
 */
export function compileTangent(source: string, kinds?: ArgKind[], outside?: Outside, self?: string): CompiledTangent {
  checkScope(outside);
  const p = lower(source, kinds, resolver(outside, self));
  const g = new TangentGenerator(p, analyze(p));
  const body = g.tangentBlock(p.body);
  const code = g.tangentAssemble(body);
  const run = instantiate(code, g.holders, p.calleeGuards.map((c) => c.fn));
  // an object argument's tangent must be an object of objects (or null) along its fields: anything else is the
  // interpreter's to report
  const tangentFits = (g: Group, t: any): boolean => typeof g === 'number' || t === null || t === undefined
    || (typeof t === 'object' && Object.getPrototypeOf(t) === Object.prototype && g.fields.every(([f, sub]) => tangentFits(sub, t[f])));
  const objectTangentsOk = (tangents: any[]) => p.groups.every((g, i) => tangentFits(g, tangents[i]));
  const compiled: any = (args: any[], tangents: any[]) => {
    if (!objectTangentsOk(tangents)) return null;
    try {
      const r = run(flattenArgs(p.groups, args), flattenArgs(p.groups, tangents));
      if (r?.stale === true) {
        compiled.stale = true;
        return null;
      }
      return r;
    } catch (e) {
      compiled.bails++;
      compiled.onBail?.(e);
      return null;
    }
  };
  return Object.assign(compiled, { arity: p.groups.length, bails: 0, source: code });
}

class TangentGenerator extends Generator {
  protected takesInto = false;
  /** Tangent and has-tangent text of an operand; null when it has none statically. */
  private tangentOf(o: Operand): [string, string] | null {
    if (o.kind === 'var') return this.f.varied.has(o.name) ? [`d_${o.name}`, `h_${o.name}`] : null;
    if (o.kind === 'elem') return this.f.varied.has(o.array) ? [`d_${o.array}[${o.k}]`, `h_${o.array}[${o.k}] === 1`] : null;
    if (o.kind === 'op') return o.node.operands.some((x) => this.tangentOf(x) !== null) ? [`dt${o.node.id}`, `ht${o.node.id}`] : null;
    return null;
  }

  /** The tangent of each operation, after its value, in evaluation order, as the forward tape sums it. */
  private nodeTangents(nodes: OpNode[]): string {
    let code = '';
    for (const n of nodes) {
      const own = this.tangentOf({ kind: 'op', node: n });
      if (own === null) continue;
      const [d, h] = own;
      const t = `t${n.id}`;
      const terms = n.operands.map((o, i) => {
        const to = this.tangentOf(o);
        if (to === null) return null;
        const vals = n.operands.map((x) => this.valueText(x));
        // the rule's partial inlined as arithmetic where it is a formula of the operands (symbolic.ts), else called
        const { pre, e: partial } = n.rule === 'max' || n.rule === 'min' ? { pre: '', e: `extremumPartial([${vals.join(', ')}], ${t}, ${i})` }
          : n.rule === 'hypot' ? { pre: '', e: `hypotPartial([${vals.join(', ')}], ${t}, ${i})` }
            : inlinePartial(n.rule, n.unary, i as 0 | 1, vals, t, () => `dp${this.partialTemps++}`);
        return { to, pre, partial };
      }).filter((x): x is { to: [string, string]; pre: string; partial: string } => x !== null);
      // Σ partialₖ·tangentₖ over the operands that have one, left to right (O.add(O.mul(...), O.mul(...)) on numbers)
      code += ` let ${d} = 0, ${h} = false;`;
      terms.forEach(({ to: [td, th], pre, partial }) => {
        code += ` if (${th}) { ${pre} ${d} = ${h} ? ${d} + (${partial}) * ${td} : (${partial}) * ${td}; ${h} = true; }`;
      });
    }
    return code;
  }

  tangentBlock(ss: Stmt[]): string {
    return ss.map((s) => this.tangentStatement(s)).join('\n');
  }

  private tangentStatement(s: Stmt): string {
    this.indexTemps.clear();
    switch (s.t) {
      case 'assign':
        return this.tangentAssignment(s.target.name, s.target.index, s.rhs);
      case 'array': {
        const pre: string[] = [];
        const n = this.valueText(this.operand(s.size, [], pre));
        const tangent = this.f.varied.has(s.name) ? ` d_${s.name} = new Float64Array(len); h_${s.name} = new Uint8Array(len);` : '';
        return `{ ${pre.join(' ')} const len = ${n}; v_${s.name} = new Float64Array(len);${tangent} }`;
      }
      case 'if': {
        const test = this.testParts(s.test);
        return ifText(test, this.tangentBlock(s.then), this.tangentBlock(s.else));
      }
      case 'loop': {
        const test = s.test === null ? null : this.testParts(s.test);
        return whileText(test, this.tangentBlock(s.body));
      }
    }
  }

  private tangentAssignment(name: string, index: any, rhs: any): string {
    const nodes: OpNode[] = [];
    const pre: string[] = [];
    const root = rhs === UNDEFINED ? ({ kind: 'lit', text: 'undefined' } as Operand) : this.operand(rhs, nodes, pre);
    let place = `v_${name}`, d = `d_${name}`, h = `h_${name}`, check = '';
    if (index !== null) {
      const [k, isNew] = this.indexTemp(name, this.indexText(index));
      if (isNew) check = `const ${k} = ${this.indexText(index)}; if (${k} >>> 0 !== ${k} || ${k} >= v_${name}.length) throw BAIL;`;
      place = `v_${name}[${k}]`;
      d = `d_${name}[${k}]`;
      h = `h_${name}[${k}]`;
    }
    const varied = this.f.varied.has(name);
    let tangent = '';
    if (varied) {
      // a copy carries its source's tangent (one node under two names in the interpreter); a constant has none
      const src = isCopy(rhs) && this.f.varied.has(copySource(rhs)) ? this.tangentOf(root) : root.kind === 'op' ? this.tangentOf(root) : null;
      const flag = (x: string) => (index === null ? x : `(${x}) ? 1 : 0`);
      tangent = src === null ? `${h} = ${index === null ? 'false' : '0'}; ${d} = 0;` : `${d} = ${src[0]}; ${h} = ${flag(src[1])};`;
    }
    return `{ ${pre.join(' ')} ${this.nodeTangents(nodes)} ${check} ${place} = ${this.valueText(root)}; ${tangent} }`;
  }

  tangentAssemble(body: string): string {
    const { p, f } = this;
    const decl: string[] = [];
    p.params.forEach((name, i) => {
      const varied = f.varied.has(name);
      if (p.paramArrays.has(name)) {
        decl.push(`const v_${name} = args[${i}];`);
        // seeds: a tangent entry that is 0 (or missing) seeds nothing, as ForwardTape.seed
        if (varied) decl.push(`const s_${name} = tangents[${i}], d_${name} = new Float64Array(v_${name}.length), h_${name} = new Uint8Array(v_${name}.length);` +
          ` if (s_${name} != null) { if (s_${name}.length !== v_${name}.length${p.kinds[i] === 'array' ? ` || !(Array.isArray(s_${name}) || ArrayBuffer.isView(s_${name}))` : ''}) throw BAIL; for (let j = 0; j < d_${name}.length; j++) { const t = s_${name}[j];` +
          ` if (t != null && t !== 0) { if (typeof t !== 'number') throw BAIL; d_${name}[j] = t; h_${name}[j] = 1; } } }`);
      } else {
        decl.push(`let v_${name} = args[${i}];`);
        if (varied) decl.push(`let d_${name} = tangents[${i}] ?? 0, h_${name} = d_${name} !== 0; if (typeof d_${name} !== 'number') throw BAIL;`);
      }
    });
    this.capturedDecls(decl);
    for (const name of p.scalars) {
      if (p.params.includes(name)) continue;
      decl.push(`let v_${name}${p.unassigned.has(name) ? '' : ' = 0'};${f.varied.has(name) ? ` let d_${name} = 0, h_${name} = false;` : ''}`);
    }
    for (const name of p.localArrays) decl.push(`let v_${name};${f.varied.has(name) ? ` let d_${name}, h_${name};` : ''}`);
    const out = p.out;
    const tangent = f.varied.has(out) ? `h_${out} ? d_${out} : 0` : '0';
    return `${PRELUDE}
return function compiledTangent(args, tangents) {
  ${decl.join('\n  ')}
  ${body}
  const value = v_${out};
  if (typeof value !== 'number') return null; // the interpreter reports or handles other outputs
  return { value, tangent: ${tangent} };
};`;
  }
}

export { Ineligible };
