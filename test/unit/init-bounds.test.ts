// The init built with AddressSanitizer and UndefinedBehaviorSanitizer, sent plans whose values are
// longer than its buffers: it must refuse or fail the step, never write past a buffer. No root
// needed: the plan creates no namespace, and the sysctl step only fails to open a missing file.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Plan } from '../../src/plan/types.ts';
import { encodePlan } from '../../src/shim/encode.ts';
import { waitForExit } from '../../src/shim/index.ts';

const shim = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'native-shim');
const scratch = mkdtempSync(join(tmpdir(), 'tsrun-init-bounds-'));
const init = join(scratch, 'tsrun-init');
const built = spawnSync('cc', ['-O1', '-g', '-std=gnu11', '-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-fno-omit-frame-pointer',
  '-o', init, 'init.c', 'fs.c', 'process.c'], { cwd: shim, encoding: 'utf8' });
const sanitized = built.status === 0 ? test : test.skip;
if (built.status !== 0) console.log(`init-bounds: no sanitizer build here (${(built.stderr || String(built.error)).trim().split('\n')[0]}): skipped`);

/** Runs the init on `plan`; returns its lines on the sync socket and its stderr, once it has exited. */
async function runInit(plan: Plan): Promise<{ lines: string[]; stderr: string }> {
  const child = spawn(init, ['stage0', '3'], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    env: { ASAN_OPTIONS: 'detect_leaks=0', UBSAN_OPTIONS: 'print_stacktrace=1' },
  });
  const sync = child.stdio[3] as Duplex;
  let said = '', stderr = '';
  sync.setEncoding('utf8').on('data', (chunk: string) => (said += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  sync.write(encodePlan(plan));
  // the init (a child of this process, CLONE_PARENT) holds both until it exits
  await Promise.all([new Promise((r) => sync.on('close', r)), new Promise((r) => child.stderr!.on('close', r))]);
  const lines = said.split('\n').filter(Boolean);
  const initPid = Number(/^init (\d+)$/m.exec(said)?.[1]);
  if (initPid > 0) await waitForExit(initPid);
  return { lines, stderr };
}

const sysctlPlan = (key: string): Plan => ({ host: [], clone: { op: 'clone', flags: 0 }, container: [{ op: 'sysctl', key, value: '1' }] });

// Checked with the sysctl step of before the fix (a 512-byte path, the dots of the whole key
// rewritten): AddressSanitizer reported a stack-buffer-overflow on the first key and the test failed.
sanitized('sysctl: a long key builds its whole /proc/sys path or is refused, never past the buffer', async () => {
  const cases: [string, number][] = [
    [`net.${'a.'.repeat(400)}b`, 2], // 815 bytes of path: ENOENT, the whole path opened
    [`net.${'a.'.repeat(400)}`, 22], // the finding: an empty last component, EINVAL
    [`net.${'a.'.repeat(2100)}a`, 36], // beyond PATH_MAX (validation refuses it first): ENAMETOOLONG
  ];
  for (const [key, errno] of cases) {
    const { lines, stderr } = await runInit(sysctlPlan(key));
    assert.not.match(stderr, /AddressSanitizer|runtime error/, stderr.slice(0, 2000));
    const error = lines.find((l) => l.startsWith('error '));
    assert.ok(error, `no error line: ${lines.join(' | ')} ${stderr.slice(0, 500)}`);
    assert.is(error!.split(' ').slice(0, 4).join(' '), `error container 0 ${errno}`, error!.slice(0, 200));
    if (errno === 2) assert.ok(error!.endsWith('/a/b'), 'the whole path, not cut');
  }
});

test.after(() => rmSync(scratch, { recursive: true, force: true }));

test.run();
