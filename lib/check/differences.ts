// Numerical derivatives for the checkers: central differences with Richardson extrapolation, and a kink test.

/**
 * ∂f/∂x by central differences D(h) = (f(x+h) − f(x−h))/((x+h) − (x−h)) with Richardson extrapolation (h halved, one
 * even power of h cancelled per column), stopping when rounding takes over; `error` is the tableau's own estimate.
 * `kink` when the one-sided slopes at a small step differ by more than smoothness allows (the derivative jumps at x:
 * abs at 0, a max tie, a branch flip).
 */
export function estimate(f: (x: number) => number, x: number, h0: number): { value: number; error: number; kink: boolean } {
  const central = (h: number) => {
    const up = x + h, down = x - h;
    return (f(up) - f(down)) / (up - down);
  };
  let prev = [central(h0)], value = prev[0], error = Infinity;
  for (let i = 1; i < 10; i++) {
    const row = [central(h0 / 2 ** i)];
    for (let j = 1; j <= i; j++) {
      row[j] = row[j - 1] + (row[j - 1] - prev[j - 1]) / (4 ** j - 1);
      const e = Math.max(Math.abs(row[j] - row[j - 1]), Math.abs(row[j] - prev[j - 1]));
      if (e <= error) (error = e), (value = row[j]);
    }
    if (Math.abs(row[i] - prev[i - 1]) >= 2 * error) break;
    prev = row;
  }
  // one-sided slopes at a small step: equal (to first order) where f is differentiable, apart at a kink
  const h = h0 / 64, y = f(x);
  const right = (f(x + h) - y) / h, left = (y - f(x - h)) / h;
  const kink = Math.abs(right - left) > 1e-3 * Math.max(1, Math.abs(right), Math.abs(left)) + 64 * h * Math.max(1, Math.abs(value));
  return { value, error, kink };
}
