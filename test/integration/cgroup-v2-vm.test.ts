// The cgroup tests on a pure cgroup v2 kernel: a Debian kernel booted by qemu (TCG) runs the files
// of test/vm/guest-tests.txt with the built project inside (see test/vm/guest.ts). This passes only
// if the guest ran every file and each did as expected.
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { guestTests, judge, runTestsInGuest } from '../vm/guest.ts';

const hasQemu = spawnSync('qemu-system-x86_64', ['--version']).status === 0;
// CI installs qemu (.ci/run); elsewhere its absence only skips this file.
const run = hasQemu || process.env.CI ? test : test.skip;
if (!hasQemu) console.log('qemu-system-x86_64 is missing (apt-get install qemu-system-x86)');

run('the guest-tests.txt files pass (or fail as marked) on a pure cgroup v2 kernel', async () => {
  const tests = guestTests();
  const result = await runTestsInGuest({ tests });
  const problems = judge(result, tests);
  const counts = result.summary ? `${result.summary.passed} passed, ${result.summary.failed} failed` : 'no summary';
  console.log(`pure cgroup v2 guest: ${tests.length} files, ${counts}, ${result.seconds.toFixed(0)} s`);
  for (const { file, expectFail } of tests) {
    if (expectFail && result.files.get(file)?.ok === false) console.log(`  known failure on pure v2: ${file} ("${expectFail}")`);
  }
  if (problems.length) {
    const shown = result.output ?? result.console.slice(-8000);
    assert.unreachable(`${problems.join('\n')}\n--- the guest ${result.output ? "test output" : "console's end"}:\n${shown}`);
  }
});

test.run();
