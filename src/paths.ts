// Where tsrun's own files live. The CLI ships bundled as dist/tsrun.js and the sources run from
// src/ under tests, so both locate the package root by walking up to its package.json once.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`tsrun: cannot find package root above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return (root = dir);
}

/** build/native: the init binary (tsrun-init) and the shim library (libtsrun-shim.so). */
export function nativeDir(): string {
  return process.env.TSRUN_NATIVE_DIR ?? join(packageRoot(), 'build', 'native');
}
