// The guest kernel: the running Debian release's default kernel package (what linux-image-amd64
// depends on), downloaded with apt and unpacked once into a cache directory.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** The name of the kernel package linux-image-amd64 stands for, e.g. linux-image-6.1.0-56-amd64. */
export function defaultKernelPackage(): string {
  const depends = execFileSync('apt-cache', ['depends', 'linux-image-amd64'], { encoding: 'utf8' });
  const name = /Depends:\s+(linux-image-\S+)/.exec(depends)?.[1];
  if (!name) throw new Error(`no kernel package behind linux-image-amd64 (apt-cache depends said: ${depends.trim() || 'nothing'}); run apt-get update`);
  return name;
}

/** The path of the kernel image, downloading and unpacking its package into cacheDir if needed. */
export function ensureKernel(cacheDir: string, pkg = process.env.TSRUN_VM_KERNEL_PACKAGE || defaultKernelPackage()): string {
  const unpacked = join(cacheDir, pkg);
  const found = findVmlinuz(unpacked);
  if (found) return found;
  mkdirSync(cacheDir, { recursive: true });
  const scratch = mkdtempSync(join(cacheDir, '.download-'));
  try {
    // apt warns that it downloads as root rather than as _apt; the download itself is fine.
    execFileSync('apt-get', ['download', '-qq', pkg], { cwd: scratch, stdio: ['ignore', 'ignore', 'pipe'] });
    const deb = readdirSync(scratch).find((f) => f.endsWith('.deb'));
    if (!deb) throw new Error(`apt-get download ${pkg} left no .deb in ${scratch}`);
    const tree = join(scratch, 'tree');
    execFileSync('dpkg-deb', ['-x', join(scratch, deb), tree]);
    if (!findVmlinuz(tree)) throw new Error(`${deb} holds no boot/vmlinuz-*`);
    // Everything runs from the initramfs, so the guest needs no modules: keep only boot/. Kernels
    // that an older default left behind go.
    for (const old of readdirSync(cacheDir)) if (old.startsWith('linux-image-')) rmSync(join(cacheDir, old), { recursive: true, force: true });
    mkdirSync(unpacked);
    renameSync(join(tree, 'boot'), join(unpacked, 'boot'));
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`cannot get the guest kernel ${pkg}: ${stderr || (err as Error).message}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return findVmlinuz(unpacked)!;
}

function findVmlinuz(tree: string): string | undefined {
  const boot = join(tree, 'boot');
  if (!existsSync(boot)) return undefined;
  const image = readdirSync(boot).find((f) => f.startsWith('vmlinuz-'));
  return image && join(boot, image);
}
