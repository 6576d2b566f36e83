// Runs test files inside a pure cgroup v2 guest: a Debian kernel booted by qemu under TCG (no KVM
// here) from an initramfs holding the built project. The guest prints its results on the serial
// console between markers (see init.sh); this reads them back.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildInitramfs, describe } from './initramfs.ts';
import { ensureKernel } from './kernel.ts';

export const REPO = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const CACHE = join(REPO, 'build', 'vm');
export const KERNEL_CACHE = join(CACHE, 'kernel');
const TESTS_LIST = join(REPO, 'test', 'vm', 'guest-tests.txt');
const DEFAULT_TIMEOUT_S = 30 * 60; // under test/run.mjs's 35 minutes for cgroup-v2-vm.test.ts

/** A line of guest-tests.txt: a test file, and the text of its failure if it is known to fail. */
export interface GuestTest {
  file: string;
  expectFail?: string;
}

/**
 * The files named in guest-tests.txt, relative to the repo; a '*' in a file name matches any text.
 * `FILE expect-fail "TEXT"` marks a file known to fail on pure v2, every failed test of it with
 * TEXT in its report.
 */
export function guestTests(list = readFileSync(TESTS_LIST, 'utf8')): GuestTest[] {
  const tests = new Map<string, GuestTest>();
  for (const line of list.split('\n').map((l) => l.replace(/^\s*#.*/, '').trim())) {
    if (!line) continue;
    const m = /^(\S+)(?:\s+expect-fail\s+"([^"]+)")?$/.exec(line);
    if (!m) throw new Error(`test/vm/guest-tests.txt: cannot read ${JSON.stringify(line)} (FILE or FILE expect-fail "TEXT")`);
    const [, pattern, expectFail] = m;
    // the first line naming a file counts: a glob after it does not drop its mark
    for (const file of expand(pattern)) if (!tests.has(file)) tests.set(file, expectFail ? { file, expectFail } : { file });
  }
  return [...tests.values()];
}

function expand(pattern: string): string[] {
  if (!pattern.includes('*')) return [pattern];
  const dir = posix.dirname(pattern);
  const name = new RegExp(`^${posix.basename(pattern).split('*').map(escapeRegExp).join('.*')}$`);
  return readdirSync(join(REPO, dir)).filter((f) => name.test(f)).sort().map((f) => posix.join(dir, f));
}

export interface GuestResult {
  /** everything the guest printed on its console */
  console: string;
  /** what test/run.mjs printed in the guest, if it got that far */
  output?: string;
  exitCode?: number;
  /** per file: whether test/run.mjs reported it passed, and what it printed of it */
  files: Map<string, { ok: boolean; output: string }>;
  summary?: { passed: number; failed: number; skipped: number };
  /** an init step that failed, or the deadline */
  fatal?: string;
  seconds: number;
}

/** Reads the markers of init.sh and test/run.mjs's lines out of the console text. */
export function parseConsole(text: string): Omit<GuestResult, 'seconds'> {
  const console = text.replace(/\r/g, '');
  const result: Omit<GuestResult, 'seconds'> = { console, files: new Map() };
  const fatal = /^@@tsrun-vm fatal: (.*)$/m.exec(console);
  if (fatal) result.fatal = fatal[1];
  const begin = console.indexOf('@@tsrun-vm begin\n');
  if (begin < 0) return result;
  const rest = console.slice(begin + '@@tsrun-vm begin\n'.length);
  const end = /^@@tsrun-vm end (\d+)$/m.exec(rest);
  result.output = end ? rest.slice(0, end.index) : rest;
  if (end) result.exitCode = Number(end[1]);
  // test/run.mjs prints a line per file, then a failed file's output indented by four spaces (and
  // so the line after that output too).
  let current: { ok: boolean; output: string } | undefined;
  for (const line of result.output.split('\n')) {
    const file = /^\s*([✓✗]) (\S+): \d+ passed, \d+ failed(?:, \d+ skipped)? \([\d.]+ s\)$/.exec(line);
    if (file) result.files.set(file[2], (current = { ok: file[1] === '✓', output: '' }));
    else if (current && (line.startsWith('    ') || line === '')) current.output += `${line.slice(4)}\n`;
    else current = undefined;
  }
  const summary = /^(\d+) passed, (\d+) failed, (\d+) skipped$/m.exec(result.output);
  if (summary) result.summary = { passed: Number(summary[1]), failed: Number(summary[2]), skipped: Number(summary[3]) };
  return result;
}

export interface GuestOptions {
  tests?: GuestTest[];
  timeoutMs?: number;
  memoryMiB?: number;
  cpus?: number;
  /** each console line as it comes (for progress) */
  onLine?: (line: string) => void;
}

export async function runTestsInGuest(options: GuestOptions = {}): Promise<GuestResult> {
  const started = Date.now();
  const tests = options.tests ?? guestTests();
  if (!tests.length) throw new Error('no test files for the guest'); // test/run.mjs would run them all
  const kernel = ensureKernel(KERNEL_CACHE);
  const scratch = join(CACHE, `run-${process.pid}`);
  removeStaleRuns();
  mkdirSync(scratch, { recursive: true });
  try {
    const initrd = join(scratch, 'initramfs.cpio');
    buildInitramfs({ repo: REPO, modules: kernel.modules, tests: tests.map((t) => t.file), output: initrd });
    options.onLine?.(`@@host kernel ${kernel.image}, initramfs ${describe(initrd)} built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const timeoutMs = options.timeoutMs ?? Number(process.env.TSRUN_VM_TIMEOUT_S || DEFAULT_TIMEOUT_S) * 1000;
    const { text, timedOut } = await boot(kernel.image, initrd, { ...options, timeoutMs });
    const result = parseConsole(text);
    if (timedOut) result.fatal = `did not power off within ${timeoutMs / 1000} s`;
    return { ...result, seconds: (Date.now() - started) / 1000 };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The scratch directories of runs whose process was killed before it could remove them. */
function removeStaleRuns(): void {
  if (!existsSync(CACHE)) return;
  for (const name of readdirSync(CACHE)) {
    const pid = /^run-(\d+)$/.exec(name)?.[1];
    if (pid && !existsSync(`/proc/${pid}`)) rmSync(join(CACHE, name), { recursive: true, force: true });
  }
}

function boot(kernel: string, initrd: string, options: GuestOptions & { timeoutMs: number }): Promise<{ text: string; timedOut: boolean }> {
  const args = [
    ...['-accel', 'tcg', '-cpu', 'max', '-smp', String(options.cpus ?? 2), '-m', String(options.memoryMiB ?? 3072)],
    // no default devices (their option ROMs may not be installed), only a serial console on stdio
    ...['-nodefaults', '-display', 'none', '-monitor', 'none', '-serial', 'stdio', '-no-reboot'],
    ...['-kernel', kernel, '-initrd', initrd],
    // cgroup_no_v1=all: no v1 hierarchy can be mounted, so the guest is pure cgroup v2
    ...['-append', 'console=ttyS0 quiet loglevel=1 panic=-1 cgroup_no_v1=all rdinit=/init'],
  ];
  return new Promise((resolve, reject) => {
    // setpriv --pdeathsig: qemu dies with this process even if it is killed before its deadline
    const qemu = spawn('setpriv', ['--pdeathsig', 'KILL', '--', 'qemu-system-x86_64', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    let pending = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      qemu.kill('SIGKILL');
    }, options.timeoutMs);
    const take = (s: string) => {
      text += s;
      if (!options.onLine) return;
      pending += s.replace(/\r/g, '');
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) options.onLine(line);
    };
    // decoded as a stream: a character may be split between two chunks
    qemu.stdout.setEncoding('utf8').on('data', take);
    qemu.stderr.setEncoding('utf8').on('data', take);
    qemu.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run setpriv (util-linux) to start qemu: ${err.message}`));
    });
    qemu.on('close', () => {
      clearTimeout(timer);
      if (pending && options.onLine) options.onLine(pending);
      resolve({ text, timedOut });
    });
  });
}

/** What keeps the guest's run from counting as a pass; empty when every file did as expected. */
export function judge(result: GuestResult, tests: GuestTest[]): string[] {
  const problems: string[] = [];
  if (result.fatal) problems.push(`guest: ${result.fatal}`);
  if (result.exitCode === undefined) problems.push('the guest did not finish test/run.mjs');
  for (const { file, expectFail } of tests) {
    const ran = result.files.get(file);
    if (!ran) problems.push(`${file} did not run in the guest`);
    else if (!expectFail && !ran.ok) problems.push(`${file} failed in the guest`);
    else if (expectFail && ran.ok) problems.push(`${file} passes on pure v2 now: remove its expect-fail mark from test/vm/guest-tests.txt`);
    else if (expectFail && !failures(ran.output).every((f) => f.includes(expectFail))) problems.push(`${file} failed in the guest, not only with the expected "${expectFail}"`);
  }
  return problems;
}

/** Each failed test's part of a uvu file's output (its FAIL line onwards), or the whole output if none. */
function failures(output: string): string[] {
  const parts = output.split(/^(?=\s*FAIL\s+")/m).filter((p) => /^\s*FAIL\s+"/.test(p));
  return parts.length ? parts.map((p) => p.split(/^\s*Total:/m)[0]) : [output];
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
