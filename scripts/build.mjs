// Builds everything `npm install` must produce: the schema validators (ajv standalone code), the
// C init and shim, the single-file CLI bundle, and the default bundle's rootfs.
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
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
// The CLI and the library, with the code of each verb in chunks of its own: a verb loads (and
// Node compiles) only what it uses, and `state` never parses the schema validators.
step('cli and library bundles', () => {
  rmSync(join(root, 'dist'), { recursive: true, force: true });
  esbuild.buildSync({
    entryPoints: { tsrun: join(root, 'src/cli/bin.ts'), lib: join(root, 'src/lib.ts') },
    outdir: join(root, 'dist'),
    chunkNames: 'chunks/[name]-[hash]',
    splitting: true,
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
