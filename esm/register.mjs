// `node --import tracegrad/register app.mjs`: instrument every user module (ES modules here, CommonJS through its hook).
import { register, createRequire } from 'node:module';

createRequire(import.meta.url)('../dist/rewrite/register-cjs.js');
register('./hooks.mjs', import.meta.url);
