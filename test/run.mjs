// Runs the test files (each a standalone uvu script) one after another, unit before integration,
// and ends with one summary line: "N passed, N failed, N skipped".
// usage: node test/run.mjs [unit|integration|FILE...]
//
// A file's output is shown when it fails, except two kinds of lines, shown at once: "progress: ..."
// (a long file saying how far it got) and "skipped: <reason>" (why a test could not run here;
// the test itself is a test.skip, counted as skipped).
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const FILE_TIMEOUT_MS = 15 * 60_000;
// Files with a longer budget: the guest's own deadline (test/vm/guest.ts, 30 min) fits inside it.
const LONG_FILES = new Map([['test/integration/cgroup-v2-vm.test.ts', 35 * 60_000]]);
const suites = { unit: 'test/unit', integration: 'test/integration' };

const args = process.argv.slice(2);
const files = [];
for (const arg of args.length ? args : Object.keys(suites)) {
  if (suites[arg]) {
    const dir = join(root, suites[arg]);
    files.push(...readdirSync(dir).filter((f) => f.endsWith('.test.ts')).sort().map((f) => join(dir, f)));
  } else files.push(join(process.cwd(), arg));
}

const isRoot = process.getuid?.() === 0;
let passed = 0, failed = 0, skipped = 0;
const failures = [];
for (const file of files) {
  const name = relative(root, file);
  if (name.startsWith('test/integration') && !isRoot) {
    console.log(`- ${name}: skipped (integration tests run real containers and need root)`);
    skipped++;
    continue;
  }
  const started = Date.now();
  const result = await runFile(file, LONG_FILES.get(name) ?? FILE_TIMEOUT_MS);
  passed += result.passed;
  failed += result.failed;
  skipped += result.skipped;
  const ok = result.code === 0 && result.failed === 0;
  if (!ok) failures.push(name);
  const skips = result.skipped ? `, ${result.skipped} skipped` : '';
  console.log(`${ok ? '✓' : '✗'} ${name}: ${result.passed} passed, ${result.failed} failed${skips} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  if (!ok) process.stdout.write(result.output.replace(/^/gm, '    '));
}
if (failures.length) console.log(`\nfailed files:\n${failures.map((f) => `  ${f}`).join('\n')}`);
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exitCode = failures.length ? 1 : 0;

function runFile(file, timeoutMs) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let pending = '';
    const take = (d) => {
      output += d;
      pending += d;
      const lines = pending.split('\n');
      pending = lines.pop();
      for (const line of lines) if (/^(progress|skipped): /.test(line)) console.log(`    ${line}`);
    };
    child.stdout.setEncoding('utf8').on('data', take);
    child.stderr.setEncoding('utf8').on('data', take);
    const timer = setTimeout(() => {
      output += `\ntimed out after ${timeoutMs / 1000} s\n`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const count = (label) => Number(new RegExp(`${label}:\\s+(\\d+)`).exec(output)?.[1] ?? 0);
      const total = count('Total');
      const ok = count('Passed');
      const skip = count('Skipped');
      // A file that crashed before uvu's summary counts as one failure. (uvu's Total leaves out
      // the skipped tests.)
      const bad = total === 0 && code !== 0 ? 1 : total - ok;
      resolve({ code, passed: ok, failed: bad, skipped: skip, output });
    });
  });
}
