// Runs every ```js block of the guide (docs/*.md) as a doctest, one ava test per block named by its page and line; and checks that the guide's index links every page.
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { blocksOfMarkdown, runBlock } from './doctest.mjs';

const DOCS = new URL('../../docs/', import.meta.url);
const pages = readdirSync(fileURLToPath(DOCS)).filter((f) => f.endsWith('.md')).sort();

for (const page of pages) {
  const blocks = blocksOfMarkdown(readFileSync(fileURLToPath(new URL(page, DOCS)), 'utf8'), `docs/${page}`).filter((b) => !b.norun);
  for (const block of blocks)
    // serial: blocks share one process, and some switch global settings (the JIT, the backend)
    test.serial(`docs/${page}:${block.line} (${block.name ?? 'top'})`, async (t) => {
      const { checks } = await runBlock(block);
      t.true(checks > 0, 'a guide example should check what it shows (// →, // ≈ or // throws)');
    });
}

test('the guide has its index and the nine pages issue 7 names, each linked from the index', (t) => {
  const index = readFileSync(fileURLToPath(new URL('README.md', DOCS)), 'utf8');
  const topics = ['getting-started', 'tracing', 'loader-vs-traced', 'custom-adjoints', 'mutation-and-data-structures', 'nested-and-mixed-mode', 'jit-and-inspect', 'tensors-and-backends', 'gradcheck-and-cli'];
  for (const topic of topics) {
    t.true(pages.includes(`${topic}.md`), `docs/${topic}.md exists`);
    t.true(index.includes(`(${topic}.md)`), `docs/README.md links ${topic}.md`);
  }
});
