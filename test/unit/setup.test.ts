// The README's first command sets up everything the tests use: the same packages as CI installs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = join(import.meta.dirname, '..', '..');

function aptPackages(text: string, where: string): string[] {
  const packages = [...text.matchAll(/apt-get install ([^&\n>]*)/g)].flatMap((m) => m[1].trim().split(/\s+/).filter((w) => !w.startsWith('-')));
  if (!packages.length) throw new Error(`no apt-get install in ${where}`);
  return packages.sort();
}

test('the README installs every package .ci/run installs', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## Using it'));
  assert.equal(aptPackages(quickStart, 'the README quick start'), aptPackages(readFileSync(join(root, '.ci', 'run'), 'utf8'), '.ci/run'));
});

test.run();
