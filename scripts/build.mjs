// Builds everything `npm install` must produce: the schema validators (ajv standalone code), the
// C init and shim, the single-file CLI bundle, and the default bundle's rootfs.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const step = (what, fn) => {
  const t = Date.now();
  fn();
  console.log(`build: ${what} (${Date.now() - t} ms)`);
};
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });

step('validators', () => run(process.execPath, ['scripts/build-validators.mjs']));
step('native init and shim', () => run('make', ['-s', '-C', 'native-shim']));
step('cli bundle', () => {
  esbuild.buildSync({
    entryPoints: [join(root, 'src/cli/bin.ts')],
    outfile: join(root, 'dist/tsrun.js'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['koffi'],
    sourcemap: 'linked',
    logLevel: 'warning',
  });
});
if (existsSync('/bin/busybox')) step('default bundle', () => run(process.execPath, ['bundles/build.mjs']));
else console.log('build: default bundle skipped: /bin/busybox is missing (apt-get install busybox-static)');
