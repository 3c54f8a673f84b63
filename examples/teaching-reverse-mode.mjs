// Teaching version of reverse-mode automatic differentiation: the idea behind tracegrad, micrograd-style.
//
// Going forward, every operation returns a Value that remembers its inputs (its parents) and how
// the output changes with each input (its local derivative). That record is a graph. Going
// backward, we seed d(out)/d(out) = 1 and visit the graph in reverse topological order, so a node
// is processed only after everything that used it. At each node the chain rule gives
//     d(out)/d(parent) += d(out)/d(node) * d(node)/d(parent)
// The sum (+=) is there because a value used several times reaches the output along several paths.
// d(out)/d(node) is called the node's adjoint; here it lives in `grad`.

const lift = (x) => (x instanceof Value ? x : new Value(x));

export class Value {
  constructor(data, parents = [], op = '') {
    this.data = data; // the number computed going forward
    this.grad = 0; // the adjoint d(out)/d(this), filled in going backward
    this.parents = parents;
    this.op = op;
    this._backward = () => {}; // a leaf (input or constant) has no parents to pass its adjoint to
  }

  add(other) {
    other = lift(other);
    const out = new Value(this.data + other.data, [this, other], '+');
    // d(a+b)/da = 1, d(a+b)/db = 1
    out._backward = () => { this.grad += out.grad; other.grad += out.grad; };
    return out;
  }

  mul(other) {
    other = lift(other);
    const out = new Value(this.data * other.data, [this, other], '*');
    // d(ab)/da = b, d(ab)/db = a
    out._backward = () => { this.grad += other.data * out.grad; other.grad += this.data * out.grad; };
    return out;
  }

  pow(k) { // k is a plain number, not a Value
    const out = new Value(this.data ** k, [this], `^${k}`);
    // d(a^k)/da = k a^(k-1)
    out._backward = () => { this.grad += k * this.data ** (k - 1) * out.grad; };
    return out;
  }

  neg() { return this.mul(-1); } // -a = (-1)a, so d(-a)/da = -1
  sub(other) { return this.add(lift(other).neg()); } // a - b = a + (-b)
  div(other) { return this.mul(lift(other).pow(-1)); } // a/b = a b^-1, so d/db = -a/b^2

  exp() {
    const out = new Value(Math.exp(this.data), [this], 'exp');
    // d(e^a)/da = e^a
    out._backward = () => { this.grad += out.data * out.grad; };
    return out;
  }

  log() {
    const out = new Value(Math.log(this.data), [this], 'log');
    // d(ln a)/da = 1/a
    out._backward = () => { this.grad += out.grad / this.data; };
    return out;
  }

  sin() {
    const out = new Value(Math.sin(this.data), [this], 'sin');
    // d(sin a)/da = cos a
    out._backward = () => { this.grad += Math.cos(this.data) * out.grad; };
    return out;
  }

  cos() {
    const out = new Value(Math.cos(this.data), [this], 'cos');
    // d(cos a)/da = -sin a
    out._backward = () => { this.grad -= Math.sin(this.data) * out.grad; };
    return out;
  }

  tanh() {
    const out = new Value(Math.tanh(this.data), [this], 'tanh');
    // d(tanh a)/da = 1 - tanh(a)^2
    out._backward = () => { this.grad += (1 - out.data ** 2) * out.grad; };
    return out;
  }

  backward() {
    // Topological order: every node comes after all of its parents.
    const order = [];
    const seen = new Set();
    const visit = (v) => {
      if (seen.has(v)) return;
      seen.add(v);
      for (const p of v.parents) visit(p);
      order.push(v);
    };
    visit(this);
    this.grad = 1; // d(out)/d(out) = 1
    // Reversed, each node's adjoint is complete (all its uses are done) before it is passed on.
    for (let i = order.length - 1; i >= 0; i--) order[i]._backward();
  }
}

// Gradient of a scalar function f at the numbers xs: [d f/d x1, d f/d x2, ...].
export function grad(f, ...xs) {
  const inputs = xs.map((x) => new Value(x));
  const out = lift(f(...inputs)); // a constant result has zero gradient
  out.backward();
  return inputs.map((v) => v.grad);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // Ordinary control flow just runs going forward; only the operations it performs are recorded.
  function pow(x, n) {
    let r = new Value(1);
    let i = 0;
    while (i < n) { r = r.mul(x); i++; }
    return r;
  }
  console.log('d/dx pow(x, 3) at 5 =', grad((x) => pow(x, 3), 5)[0]); // 3 * 5^2 = 75
  console.log('grad of a*b at (2, 3) =', grad((a, b) => a.mul(b), 2, 3)); // [b, a] = [3, 2]
}
