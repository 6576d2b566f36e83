// Runs the guest's test files by hand and shows its console as it goes:
//   node --import tsx test/vm/run.ts [FILE...]     (default: the files in test/vm/guest-tests.txt)
//   node --import tsx test/vm/run.ts --kernel      (only fetch the guest kernel, for CI's setup)
import { KERNEL_CACHE, guestTests, judge, runTestsInGuest } from './guest.ts';
import { ensureKernel } from './kernel.ts';

const args = process.argv.slice(2);
if (args[0] === '--kernel') {
  console.log(`guest kernel: ${ensureKernel(KERNEL_CACHE).image}`);
} else {
  const tests = args.length ? args.map((file) => ({ file })) : guestTests();
  const started = Date.now();
  const stamp = () => `[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s]`;
  const result = await runTestsInGuest({ tests, onLine: (line) => console.log(`${stamp()} ${line}`) });
  const problems = judge(result, tests);
  console.log(`@@host the guest run took ${result.seconds.toFixed(0)} s${problems.map((p) => `\n@@host ${p}`).join('')}`);
  process.exitCode = problems.length ? 1 : 0;
}
