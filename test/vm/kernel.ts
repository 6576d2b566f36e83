// The guest kernel: the running Debian release's default kernel package (what linux-image-amd64
// depends on), downloaded with apt and unpacked once into a cache directory.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';

/**
 * Everything else runs from the initramfs without modules. loop gives the guest a block device, as
 * any host has one, for the io controller's per-device limits.
 */
const MODULES = ['kernel/drivers/block/loop.ko'];

export interface GuestKernel {
  image: string;
  /** the modules the guest loads, in order */
  modules: string[];
}

/** The name of the kernel package linux-image-amd64 stands for, e.g. linux-image-6.1.0-56-amd64. */
export function defaultKernelPackage(): string {
  const depends = execFileSync('apt-cache', ['depends', 'linux-image-amd64'], { encoding: 'utf8' });
  const name = /Depends:\s+(linux-image-\S+)/.exec(depends)?.[1];
  if (!name) throw new Error(`no kernel package behind linux-image-amd64 (apt-cache depends said: ${depends.trim() || 'nothing'}); run apt-get update`);
  return name;
}

/** The kernel image and modules, downloading and unpacking their package into cacheDir if needed. */
export function ensureKernel(cacheDir: string, pkg = process.env.TSRUN_VM_KERNEL_PACKAGE || defaultKernelPackage()): GuestKernel {
  const unpacked = join(cacheDir, pkg);
  const cached = kernelIn(unpacked);
  if (cached) return cached;
  mkdirSync(cacheDir, { recursive: true });
  const scratch = mkdtempSync(join(cacheDir, '.download-'));
  try {
    // apt warns that it downloads as root rather than as _apt; the download itself is fine.
    execFileSync('apt-get', ['download', '-qq', pkg], { cwd: scratch, stdio: ['ignore', 'ignore', 'pipe'] });
    const deb = readdirSync(scratch).find((f) => f.endsWith('.deb'));
    if (!deb) throw new Error(`apt-get download ${pkg} left no .deb in ${scratch}`);
    const tree = join(scratch, 'tree');
    execFileSync('dpkg-deb', ['-x', join(scratch, deb), tree]);
    // Keep boot/ and the few modules; kernels an older default left behind go.
    const kept = join(scratch, 'kept');
    mkdirSync(join(kept, 'modules'), { recursive: true });
    renameSync(join(tree, 'boot'), join(kept, 'boot'));
    const [version] = readdirSync(join(tree, 'lib/modules'));
    for (const module of MODULES) copyFileSync(join(tree, 'lib/modules', version, module), join(kept, 'modules', basename(module)));
    if (!kernelIn(kept)) throw new Error(`${deb} holds no boot/vmlinuz-*`);
    for (const old of readdirSync(cacheDir)) if (old.startsWith('linux-image-')) rmSync(join(cacheDir, old), { recursive: true, force: true });
    renameSync(kept, unpacked);
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`cannot get the guest kernel ${pkg}: ${stderr || (err as Error).message}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return kernelIn(unpacked)!;
}

function kernelIn(dir: string): GuestKernel | undefined {
  const boot = join(dir, 'boot');
  const image = existsSync(boot) && readdirSync(boot).find((f) => f.startsWith('vmlinuz-'));
  const modules = MODULES.map((m) => join(dir, 'modules', basename(m)));
  return image && modules.every((m) => existsSync(m)) ? { image: join(boot, image), modules } : undefined;
}
