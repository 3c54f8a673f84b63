// Whether a large compiled gradient (the ADBench BA Jacobian) ends up in V8's optimised tier after a pause following its first call, with and without the warm-up of its start (warmPrologue in lib/jit/compile.ts).
//
// Usage: node bench/tiering.mjs [runs = 6] [pause ms = 1500]   (after `npm run build`; needs ../shared/adbench)
//   Each run is a child process (`node --allow-natives-syntax`): build the Jacobian, call it once, wait `pause` ms
//   (a busy wait, as other work would be), then time 10 calls and read V8's optimisation status of the generated
//   function. Runs alternate TRACEGRAD_JIT_WARM=0 (no warm-up) and the default. The status is V8's
//   %GetOptimizationStatus: "optimised" when its TurboFan bit is set, else "baseline" (V8's unoptimised tiers).
//   Speed is not asserted anywhere; this prints what it saw.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const DATA = new URL('../../shared/adbench/ba/ba1_n49_m7776_p31843.txt', import.meta.url);

if (process.argv[2] === '--child') {
  // the generated function, caught where tracegrad constructs it, so V8 can be asked about it
  const Native = Function;
  let generated = null;
  globalThis.Function = new Proxy(Native, {
    construct(_target, parts) {
      const made = new Native(...parts);
      if (!String(parts[parts.length - 1]).includes('function compiledGradient')) return made;
      return (...xs) => (generated = made(...xs));
    },
  });
  const tg = await import('../esm/index.mjs');
  const { loadBa, baJacobianBuilder } = await import('./adbench/ba.mjs');
  const ba = loadBa(DATA);
  const builder = baJacobianBuilder(tg, ba);
  const call = () => builder.jacobian(ba.cams, ba.points, ba.weights);
  call();
  const end = performance.now() + Number(process.argv[3]);
  while (performance.now() < end);
  const times = [];
  for (let k = 0; k < 10; k++) {
    const t0 = performance.now();
    call();
    times.push(performance.now() - t0);
  }
  const status = new Native('f', 'return %GetOptimizationStatus(f)')(generated);
  const last = times.slice(5).sort((a, b) => a - b)[2];
  console.log(JSON.stringify({ optimised: (status & 16) !== 0, status, medianOfLast5Ms: last }));
  process.exit(0);
}

if (!existsSync(fileURLToPath(DATA))) {
  console.log(`skipped: ${fileURLToPath(DATA)} not found (the ADBench data lives outside the repository)`);
  process.exit(0);
}
const runs = Number(process.argv[2] ?? 6), pause = Number(process.argv[3] ?? 1500);
const results = { '0': [], '1': [] };
for (let r = 0; r < 2 * runs; r++) {
  const warm = r % 2 ? '1' : '0';
  const out = spawnSync(process.execPath, ['--allow-natives-syntax', fileURLToPath(import.meta.url), '--child', String(pause)],
    { encoding: 'utf8', env: { ...process.env, TRACEGRAD_JIT_WARM: warm } });
  const line = out.stdout.trim().split('\n').pop();
  if (out.status !== 0 || !line?.startsWith('{')) throw new Error(`child failed: ${out.stderr}`);
  results[warm].push(JSON.parse(line));
}
console.log(`BA Jacobian, first call, a ${pause} ms pause, then 10 calls; ${runs} processes each, ${process.version}`);
for (const [warm, label] of [['0', 'without the warm-up (TRACEGRAD_JIT_WARM=0)'], ['1', 'with the warm-up (default)']]) {
  const rs = results[warm];
  const optimised = rs.filter((x) => x.optimised).length;
  console.log(`${label}: optimised in ${optimised} of ${rs.length}; ms per call (median of the last 5): ${rs.map((x) => x.medianOfLast5Ms.toFixed(1)).join(' ')}`);
}
