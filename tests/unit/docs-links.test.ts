/** The README and docs/: every relative link resolves, and the README stays the shortest path. */
import { deepStrictEqual, ok } from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';

const FILES = [
  'README.md',
  ...readdirSync('docs')
    .filter((name) => name.endsWith('.md'))
    .map((name) => join('docs', name)),
];

describe('documentation', () => {
  it('has no relative link to a file that is not there', () => {
    const broken: string[] = [];
    for (const file of FILES) {
      const text = readFileSync(file, 'utf8');
      for (const [, target = ''] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/i.test(target) || target.startsWith('#')) continue;
        const path = join(dirname(file), decodeURIComponent(target.split('#')[0] ?? ''));
        if (!existsSync(path)) broken.push(`${file}: ${target}`);
      }
    }
    deepStrictEqual(broken, []);
  });

  it('keeps the README to the shortest path: at most 200 lines, with the two commands', () => {
    const readme = readFileSync('README.md', 'utf8');
    const lines = readme.split('\n').length;
    ok(lines <= 200, `README.md has ${lines} lines`);
    ok(readme.includes('npm install') && readme.includes('npm start') && readme.includes('npm test'));
  });
});
