// The compiled program loaded into the running kernel: seccomp(2) accepts docker's default
// profile (its checker refuses a bad jump, load or length), and the calls then made get the
// verdicts the interpreter gives. No root: the child sets no_new_privs and filters only itself.
// Checked to fail with the assembler's trampolines off (8-bit jumps wrapped): both tests fail,
// docker's 505 instructions already jump farther than 255.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostArch } from '../../src/seccomp/arch.ts';
import { SYSCALL_TABLES } from '../../src/seccomp/syscalls.generated.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const EPERM = 1;
const ENOSYS = 38;
const supported = process.arch === 'x64' || process.arch === 'arm64';
if (!supported) console.log(`seccomp kernel test: skipped, no table for ${process.arch}`);

function load(profile: string) {
  const child = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./seccomp-kernel-child.ts', import.meta.url)), profile], { encoding: 'utf8', timeout: 60_000 });
  assert.is(child.status, 0, child.stderr);
  return JSON.parse(child.stdout.trim().split('\n').pop()!);
}

(supported ? test : test.skip)("the kernel loads docker's profile and answers as compiled", () => {
  const out = load(fileURLToPath(new URL('../fixtures/seccomp/docker.json', import.meta.url)));
  assert.equal(out.results.getpid, { ret: out.pid });
  assert.equal(out.results.mount, { errno: EPERM });
  assert.equal(out.results.beyond, { errno: ENOSYS }); // runc's stub: glibc falls back on ENOSYS
  assert.ok('ret' in out.results.personalityQuery, JSON.stringify(out.results.personalityQuery));
  assert.equal(out.results.personalityOther, { errno: EPERM });
});

(supported ? test : test.skip)('the kernel loads a program with long jumps (trampolines)', () => {
  const table = SYSCALL_TABLES[hostArch()];
  const names = Object.keys(table).filter((n) => !['getpid', 'personality', 'mount', 'write', 'exit_group'].includes(n)).slice(0, 250);
  const dir = mkdtempSync(join(tmpdir(), 'tsrun-seccomp-'));
  try {
    const file = join(dir, 'profile.json');
    writeFileSync(file, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [...names.map((name, i) => ({ names: [name], action: 'SCMP_ACT_LOG', args: [{ index: i % 6, value: 2 ** 40 + i, op: 'SCMP_CMP_GT' }] })), { names: ['mount'], action: 'SCMP_ACT_ERRNO' }] }));
    const out = load(file);
    assert.ok(out.instructions > 1000, `${out.instructions} instructions`);
    assert.equal(out.results.mount, { errno: EPERM });
    assert.equal(out.results.getpid, { ret: out.pid });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
