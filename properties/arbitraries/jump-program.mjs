// fast-check arbitrary of loop nests with break, continue and early return (the compiled tier rewrites them into flags): `(x0, a0) => { ... return s; }` with a0 an array.
import fc from 'fast-check';

const JUMPS = ['break', 'continue', 'return s * x0', 'return Math.sin(s) + x0'];
const CONDS = ['a0[i] > x0', 's > 1', 'i === 2', 'Math.cos(s * x0) < 0', 'a0[i] * x0 < -0.5', 'j === 1', 's + j > 2'];
const UPDATES = ['s += a0[i] * x0', 's = Math.sin(s + a0[i])', 's *= 1 + 0.1 * x0', 's -= Math.tanh(a0[i] * s)', 's += x0 * j'];
export const jumpProgram = fc
  .record({
    init: fc.constantFrom('0', 'x0', '0.5 * x0'),
    outer: fc.array(fc.record({ kind: fc.constantFrom('update', 'jump', 'inner'), update: fc.constantFrom(...UPDATES.slice(0, 4)),
      cond: fc.constantFrom(...CONDS.filter((c) => !c.includes('j'))), jump: fc.constantFrom(...JUMPS),
      inner: fc.array(fc.record({ jump: fc.boolean(), cond: fc.constantFrom(...CONDS), update: fc.constantFrom(...UPDATES), which: fc.constantFrom('break', 'continue', 'return s') }), { minLength: 1, maxLength: 3 }) }),
    { minLength: 1, maxLength: 4 }),
    loop: fc.constantFrom('for', 'while'),
  })
  .map(({ init, outer, loop }) => {
    const body = outer.map((o) => {
      if (o.kind === 'update') return `${o.update};`;
      if (o.kind === 'jump') return `if (${o.cond}) ${o.jump};`;
      const inner = o.inner.map((s) => (s.jump ? `if (${s.cond}) ${s.which};` : `${s.update};`)).join(' ');
      return `for (let j = 0; j < 2; j++) { ${inner} }`;
    }).join('\n    ');
    const head = loop === 'for' ? 'for (let i = 0; i < a0.length; i++) {' : 'let i = 0;\n  while (i < a0.length) {\n    i++;';
    // in the while form i is incremented first, so reads use i - 1 through a local
    const fixed = loop === 'for' ? body : body.replaceAll('a0[i]', 'a0[i - 1]').replaceAll('i === 2', 'i === 3');
    return { source: `(x0, a0) => {\n  let s = ${init};\n  ${head}\n    ${fixed}\n  }\n  return s;\n}`, toString() { return this.source; } };
  });
