// `require('tracegrad/register')`: CommonJS modules loaded after it are instrumented as they are compiled.
import Module from 'node:module';
import { instrumentModule, shouldInstrument } from './module';

const proto = (Module as any).prototype;
const INSTALLED = Symbol.for('tracegrad.register.cjs');
if (!proto._compile[INSTALLED]) {
  const compile = proto._compile;
  const patched = function (this: any, content: string, filename: string) {
    const src = shouldInstrument(filename) && !filename.endsWith('.mjs') ? instrumentModule(content, filename, 'commonjs') : content;
    return compile.call(this, src, filename);
  };
  (patched as any)[INSTALLED] = true;
  proto._compile = patched;
}
