// The cgroup tests on a pure cgroup v2 kernel: a Debian kernel booted by qemu (TCG) runs the files
// of test/vm/guest-tests.txt with the built project inside (see test/vm/guest.ts). This passes only
// if the guest ran every file and each did as expected.
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { guestTests, judge, parseConsole, runTestsInGuest, type GuestResult } from '../vm/guest.ts';

// The harness itself, on made-up consoles: cheap, and no qemu needed.
test('guest-tests.txt: files, globs, comments and expect-fail marks', () => {
  const list = '# a comment\ntest/vm/pure-v2.test.ts expect-fail "x"\n\ntest/vm/*.test.ts\nx/y.test.ts expect-fail "no devices"\n';
  assert.equal(guestTests(list), [{ file: 'test/vm/pure-v2.test.ts', expectFail: 'x' }, { file: 'x/y.test.ts', expectFail: 'no devices' }]);
  assert.throws(() => guestTests('x.test.ts expect-fail no-quotes'), /cannot read "x.test.ts expect-fail no-quotes"/);
});

const sampleConsole = [
  '[    0.000000] Linux version 6.1.0',
  '@@tsrun-vm kernel 6.1.0-56-amd64, 2 cpus, controllers: cpuset cpu io memory pids',
  '@@tsrun-vm begin',
  '✓ a.test.ts: 2 passed, 0 failed (1.0 s)',
  '✗ b.test.ts: 0 passed, 1 failed (2.0 s)',
  '    FAIL  "something"',
  '    no devices here',
  '    ',
  '    ✓ c.test.ts: 1 passed, 0 failed, 1 skipped (3.0 s)',
  '',
  'failed files:',
  '  b.test.ts',
  '',
  '3 passed, 1 failed, 0 skipped',
  '@@tsrun-vm end 1',
  '[   15.0] reboot: Power down',
].join('\r\n');

test('the console is read back: files, their output, the summary and the exit code', () => {
  const result = parseConsole(sampleConsole);
  assert.equal(result.files.get('a.test.ts'), { ok: true, output: '' });
  assert.is(result.files.get('c.test.ts')?.ok, true, 'a file line indented after a failed file');
  assert.is(result.files.get('b.test.ts')?.ok, false);
  assert.match(result.files.get('b.test.ts')!.output, /^FAIL {2}"something"\nno devices here\n/);
  assert.equal(result.summary, { passed: 3, failed: 1, skipped: 0 });
  assert.is(result.exitCode, 1);
  assert.is(result.fatal, undefined);
  assert.is(parseConsole('@@tsrun-vm fatal: mount cgroup2\r\n').fatal, 'mount cgroup2');
});

test('a run passes only if every file ran and did as expected', () => {
  const result: GuestResult = { ...parseConsole(sampleConsole), seconds: 1 };
  assert.equal(judge(result, [{ file: 'a.test.ts' }, { file: 'b.test.ts', expectFail: 'no devices' }]), []);
  assert.equal(judge(result, [{ file: 'b.test.ts' }]), ['b.test.ts failed in the guest']);
  assert.match(judge(result, [{ file: 'b.test.ts', expectFail: 'no memory' }])[0], /not only with the expected "no memory"/);
  assert.equal(judge(result, [{ file: 'b.test.ts', expectFail: 'something' }]), [], 'a failed test named in the mark');
  const twoFailures = parseConsole(sampleConsole.replace('    no devices here', '    no devices here\r\n    FAIL  "other"\r\n    boom'));
  assert.match(judge({ ...twoFailures, seconds: 1 }, [{ file: 'b.test.ts', expectFail: 'no devices' }])[0], /not only with the expected/);
  assert.match(judge(result, [{ file: 'a.test.ts', expectFail: 'x' }])[0], /passes on pure v2 now: remove its expect-fail mark/);
  assert.equal(judge(result, [{ file: 'd.test.ts' }]), ['d.test.ts did not run in the guest']);
  const cut: GuestResult = { ...parseConsole(sampleConsole.split('@@tsrun-vm end')[0]), fatal: 'did not power off within 1 s', seconds: 1 };
  assert.equal(judge(cut, [{ file: 'a.test.ts' }]), ['guest: did not power off within 1 s', 'the guest did not finish test/run.mjs']);
});

const hasQemu = spawnSync('qemu-system-x86_64', ['--version']).status === 0;
// CI installs qemu (.ci/run); elsewhere its absence only skips this file.
const run = hasQemu || process.env.CI ? test : test.skip;
if (!hasQemu) console.log('skipped: qemu-system-x86_64 is missing (apt-get install qemu-system-x86)');

/** The guest's progress as it comes (its files' result lines), shown by test/run.mjs at once. */
function progress(started: number) {
  return (line: string) => {
    const shown = /^\s*[✓✗] \S+: /.test(line) || /^@@(tsrun-vm|host) /.test(line);
    if (shown) console.log(`progress: ${((Date.now() - started) / 1000).toFixed(0)} s: ${line.trim()}`);
  };
}

run('the guest-tests.txt files pass (or fail as marked) on a pure cgroup v2 kernel', async () => {
  const tests = guestTests();
  const result = await runTestsInGuest({ tests, onLine: progress(Date.now()) });
  const problems = judge(result, tests);
  const counts = result.summary ? `${result.summary.passed} passed, ${result.summary.failed} failed` : 'no summary';
  console.log(`pure cgroup v2 guest: ${tests.length} files, ${counts}, ${result.seconds.toFixed(0)} s`);
  for (const { file, expectFail } of tests) {
    if (expectFail && result.files.get(file)?.ok === false) console.log(`  known failure on pure v2: ${file} ("${expectFail}")`);
  }
  if (problems.length) {
    // without uvu's summaries of the guest's files: test/run.mjs would count them as this file's
    const shown = (result.output ?? result.console.slice(-8000)).replace(/^\s*(Total|Passed|Skipped|Duration):.*\n/gm, '');
    console.log(`--- the guest's ${result.output ? 'test output' : "console's end"}:\n${shown}---`);
    assert.unreachable(problems.join('; '));
  }
});

test.run();
