#!/usr/bin/env node
// The tracegrad command line: `tracegrad check <module> <export> [--like '<JSON args>'] [--samples N] [--seed S] [--json]` checks an existing module's function's gradient on random inputs.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const USAGE = `usage: tracegrad check <module> <export> [--like '<JSON array of example arguments>' | --args <export of example arguments>] [--samples N] [--seed S] [--domain real|positive|unit] [--json]
  (in --like, {"$tensor": [[1, 2], [3, 4]], "dtype": "float32"} stands for a tensor argument)

Loads <module> through tracegrad's loader (its code is traced as it is), draws --samples random argument lists shaped
like the --like example (default: one number per parameter), and checks the export's gradient against finite
differences, forward mode against reverse, and the compiled tier against the interpreter. Exits 1 when a check fails.`;

function parse(argv) {
  const [command, modulePath, exportName, ...rest] = argv;
  if (command !== 'check' || !modulePath || !exportName) return null;
  const o = { modulePath, exportName, like: null, args: null, samples: 50, seed: undefined, json: false, domain: 'real' };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '--json') o.json = true;
    else if (a === '--like') o.like = JSON.parse(rest[++i], (_k, v) => (v !== null && typeof v === 'object' && !Array.isArray(v) && '$tensor' in v ? { tensorExample: v } : v));
    else if (a === '--samples') o.samples = Number(rest[++i]);
    else if (a === '--seed') o.seed = Number(rest[++i]);
    else if (a === '--domain') o.domain = rest[++i];
    else if (a === '--args') o.args = rest[++i];
    else throw new Error(`unknown option ${a}`);
  }
  if (!Number.isInteger(o.samples) || o.samples < 1) throw new Error('--samples takes a positive integer');
  if (o.like !== null && !Array.isArray(o.like)) throw new Error('--like takes a JSON array: one example per argument');
  return o;
}

async function main() {
  let options;
  try {
    options = parse(process.argv.slice(2));
  } catch (e) {
    console.error(`tracegrad: ${e.message}\n\n${USAGE}`);
    return 2;
  }
  if (options === null) {
    console.error(USAGE);
    return 2;
  }
  await import('../esm/register.mjs'); // the user's module is rewritten as it loads: its functions are traced
  const { like, checkGradients, describe } = await import('../esm/fast-check.mjs');
  const mod = await import(pathToFileURL(resolve(options.modulePath)).href);
  const f = mod[options.exportName] ?? mod.default?.[options.exportName];
  if (typeof f !== 'function') {
    console.error(`tracegrad: ${options.modulePath} has no exported function ${options.exportName}`);
    return 2;
  }
  // {"$tensor": nested arrays, "dtype": "float32"?} in the JSON stands for a tensor argument
  const { tensor } = await import('../esm/index.mjs');
  const revive = (x) => (x !== null && typeof x === 'object' ? (x.tensorExample ? tensor(x.tensorExample.$tensor, { dtype: x.tensorExample.dtype }) : Array.isArray(x) ? x.map(revive) : Object.fromEntries(Object.entries(x).map(([k, v]) => [k, revive(v)]))) : x);
  // --args <export>: the module's own example arguments (a function returning them, or an array): models built with
  // withParams/dense/chain cannot be written as JSON; they are kept, and the other arguments drawn like them
  let examples;
  if (options.args !== null) {
    const given = mod[options.args];
    if (given === undefined) {
      console.error(`tracegrad: ${options.modulePath} has no export ${options.args} (for --args)`);
      return 2;
    }
    examples = typeof given === 'function' ? await given() : given;
  } else examples = options.like === null ? Array.from({ length: f.length || 1 }, () => 1) : revive(options.like);
  const arbitraries = examples.map((e) => like(e, { domain: options.domain }));
  const logs = [];
  const result = checkGradients(f, arbitraries, { numRuns: options.samples, seed: options.seed, log: (m) => logs.push(m) });
  const r = result.report;
  const rows = [
    ['gradient matches finite differences', r === null || r.failures.length === 0],
    ['forward mode agrees with reverse mode', r === null || !r.forward || r.forward.ok],
    ['compiled tier agrees with the interpreter', r === null || !r.compiled || r.compiled.ok],
  ];
  if (options.json) {
    console.log(JSON.stringify({ ok: result.ok, samples: result.numRuns, seed: result.seed, checks: Object.fromEntries(rows.map(([n, ok]) => [n, ok])),
      counterexample: result.counterexample, worst: r?.worst ?? null, fault: r?.fault ?? null }, null, 2));
  } else {
    console.log(`tracegrad check ${options.modulePath} ${options.exportName}: ${result.numRuns} sample${result.numRuns === 1 ? '' : 's'}, seed ${result.seed}`);
    for (const [name, ok] of rows) console.log(`  ${ok ? 'pass' : 'FAIL'}  ${name}`);
    if (!result.ok) {
      console.log(`\nshrunk input: ${JSON.stringify(result.counterexample)}`);
      console.log(describe(r).split('\n').map((l) => `  ${l}`).join('\n'));
    }
  }
  return result.ok ? 0 : 1;
}

process.exitCode = await main();
