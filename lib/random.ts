// A seeded generator of uniform numbers, shared by randn and the checkers' random directions.

/** Uniform numbers in [0, 1) from a 32-bit seed (mulberry32), so that random tensors and directions repeat. */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
