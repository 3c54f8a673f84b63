// Cold first gradient call of the scalar chain at 1k, 10k and 100k iterations: compiled tier (compile included) vs interpreter.
//
// Usage: node bench/cold.mjs. Each row is the median of 7 fresh functions (new source text each, so nothing is cached),
// timed on their first gradient call only. The compiled tier's time includes parsing, code generation and new Function.
import { gradient, traced, jit } from '../esm/index.mjs';

const COPIES = 7;
let sink = 0;
let serial = 0;
function firstCallMs(n, compiled) {
  const times = [];
  for (let k = 0; k < COPIES; k++) {
    // a distinct source per copy: V8 and tracegrad cache nothing between them
    const src = `return function chain${serial++}(x) { for (let i = 0; i < ${n}; i++) x = Math.sin(x) * x + 0.5; return x; }`;
    const f = traced(new Function(src)());
    jit.enabled = compiled;
    const t0 = process.hrtime.bigint();
    sink += gradient(f, 0.3)[0];
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    jit.enabled = true;
  }
  return times.sort((a, b) => a - b)[COPIES >> 1];
}

firstCallMs(1000, true); // warm the compiler and the interpreter themselves once
firstCallMs(1000, false);
const rows = [1000, 10000, 100000].map((n) => ({ n, compiled: firstCallMs(n, true), interpreted: firstCallMs(n, false) }));
console.log('iterations   compiled first call (ms)   interpreted first call (ms)');
for (const r of rows) console.log(`${String(r.n).padStart(10)}   ${r.compiled.toFixed(2).padStart(24)}   ${r.interpreted.toFixed(2).padStart(27)}`);
console.log(`growth 1k→100k: compiled ${(rows[2].compiled / rows[0].compiled).toFixed(1)}×, interpreted ${(rows[2].interpreted / rows[0].interpreted).toFixed(1)}× (100× would be linear)`);
if (!Number.isFinite(sink)) console.log('');
