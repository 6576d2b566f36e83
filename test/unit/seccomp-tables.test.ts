// The committed syscall tables are what scripts/gen-syscall-tables.mjs makes from the kernel
// headers (linux-libc-dev, linux-libc-dev-arm64-cross, linux-libc-dev-armhf-cross; .ci/run
// installs them), and hold the numbers the kernel ABI fixed long ago.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { SYSCALL_TABLES } from '../../src/seccomp/syscalls.generated.ts';
// @ts-expect-error: a plain .mjs script, no types
import { missingSources, OUTPUT, render } from '../../scripts/gen-syscall-tables.mjs';

const missing: string[] = missingSources();
// CI installs the headers: there, their absence is a failure, not a skip.
const withHeaders = missing.length === 0 || process.env.CI ? test : test.skip;
if (missing.length) console.log(`seccomp tables: regeneration skipped, missing headers: ${missing.join(', ')}`);

withHeaders('the generator reproduces src/seccomp/syscalls.generated.ts', () => {
  assert.fixture(render(), readFileSync(OUTPUT, 'utf8'));
});

test('numbers the ABI fixed', () => {
  const t = SYSCALL_TABLES;
  assert.is(t.x86_64.read, 0);
  assert.is(t.x86_64.clone3, 435);
  assert.is(t.x86.socketcall, 102);
  assert.is(t.x86.ipc, 117);
  assert.is(t.x86.socket, 359);
  assert.is(t.x32.read, 0x40000000);
  assert.is(t.x32.execve, 0x40000000 + 520); // x32's own entry point
  assert.is(t.aarch64.openat, 56);
  assert.is(t.aarch64.fstat, 80);
  assert.is(t.aarch64.open, undefined);
  assert.is(t.arm.set_tls, 0xf0005);
  assert.is(t.arm.personality, 136);
  for (const [arch, table] of Object.entries(t)) assert.ok(Object.keys(table).length > 280, `${arch} has ${Object.keys(table).length} calls`);
});

test.run();
