// The pure parts of the cgroup drivers: runc's v1 → v2 conversions, unified key validation, and
// the device rules → BPF program translation (run here in a small interpreter of the few
// instructions it uses, against a reference "last matching rule wins" evaluation).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { blkioWeightToIoWeight, cpuMax, hugepageSize, parseMemorySize, sharesToWeight, swapToV2, unifiedProblems } from '../../src/cgroups/convert.ts';
import { deviceProgram, deviceRules, encodeProgram, v1DeviceRule } from '../../src/cgroups/devices.ts';
import type { LinuxDeviceCgroup } from '../../src/spec/types.ts';

test('cpu shares → weight: runc and crun values', () => {
  assert.is(sharesToWeight(0), 0);
  assert.is(sharesToWeight(2), 1);
  assert.is(sharesToWeight(1024), 39);
  assert.is(sharesToWeight(262144), 10000);
  assert.is(sharesToWeight(512n), 20);
});

test('blkio weight → io weight', () => {
  assert.is(blkioWeightToIoWeight(0), 0);
  assert.is(blkioWeightToIoWeight(10), 1);
  assert.is(blkioWeightToIoWeight(500), 4950);
  assert.is(blkioWeightToIoWeight(1000), 10000);
});

test('swap: v1 memory+swap → v2 swap alone (runc conversion)', () => {
  const M = 100n << 20n;
  assert.is(swapToV2(M, M), 0n, 'memory+swap = memory: no swap');
  assert.is(swapToV2(2n * M, M), M);
  assert.is(swapToV2(-1n, M), -1n);
  assert.is(swapToV2(0n, M), 0n, 'unset stays unset');
  assert.is(swapToV2(0n, -1n), -1n, 'memory unlimited: swap unlimited too');
  assert.throws(() => swapToV2(M, -1n), /needs a memory limit/);
  assert.throws(() => swapToV2(M / 2n, M), />= the memory limit/);
});

test('cpu.max', () => {
  assert.is(cpuMax(50000n, 100000n), '50000 100000');
  assert.is(cpuMax(-1n, 100000n), 'max 100000');
  assert.is(cpuMax(undefined, 0n), 'max 100000');
  assert.is(cpuMax(20000n, undefined), '20000 100000');
});

test('hugepage sizes as the kernel names them', () => {
  assert.is(hugepageSize('2MB'), '2MB');
  assert.is(hugepageSize('1GB'), '1GB');
  assert.is(hugepageSize('64KB'), '64KB');
  assert.throws(() => hugepageSize('2 pages'), /page size/);
});

test('memory sizes on the command line', () => {
  assert.is(parseMemorySize('memory', '1048576'), 1048576n);
  assert.is(parseMemorySize('memory', '100m'), 100n << 20n);
  assert.is(parseMemorySize('memory', '2G'), 2n << 30n);
  assert.is(parseMemorySize('memory', '-1'), -1n);
  assert.throws(() => parseMemorySize('memory', 'lots'), /--memory/);
});

test('unified: only plain file names of enabled controllers', () => {
  const controllers = ['cpu', 'memory', 'pids'];
  assert.equal(unifiedProblems({ 'memory.high': '1G', 'pids.max': '10', 'cpu.weight': '100', 'cgroup.max.depth': '3' }, controllers), []);
  const bad = unifiedProblems(
    { '../memory.max': '1', 'memory/../../x': '1', 'io.max': '8:0 rbps=1', 'cgroup.procs': '1', 'cgroup.subtree_control': '+cpu', memory: '1', '': '1' },
    controllers,
  );
  assert.is(bad.length, 7);
  assert.ok(bad.some((p) => p.includes('io controller is not enabled')));
  assert.ok(bad.every((p) => p.startsWith('linux.resources.unified[')));
});

test('v1 device rules', () => {
  assert.is(v1DeviceRule({ allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }), 'c 1:3 rwm');
  assert.is(v1DeviceRule({ allow: false }), 'a *:* rwm');
  assert.is(v1DeviceRule({ allow: true, type: 'b', major: 8, minor: -1, access: 'r' }), 'b 8:* r');
});

// ---- the BPF program ---------------------------------------------------------------------

interface Access {
  type: 'c' | 'b';
  major: number;
  minor: number;
  access: 'r' | 'w' | 'm' | 'rw' | 'rwm';
}

/** Runs the program the way the kernel would for one access: 1 allows, 0 denies. */
function run(program: Buffer, a: Access): number {
  const bits = [...a.access].reduce((m, c) => m | ({ m: 1, r: 2, w: 4 } as Record<string, number>)[c], 0);
  const ctx = [(bits << 16) | (a.type === 'c' ? 2 : 1), a.major, a.minor];
  const r = new Array<number>(11).fill(0);
  for (let pc = 0, steps = 0; steps < 10_000; steps++) {
    const code = program[pc * 8];
    const dst = program[pc * 8 + 1] & 0xf;
    const src = program[pc * 8 + 1] >> 4;
    const off = program.readInt16LE(pc * 8 + 2);
    const imm = program.readInt32LE(pc * 8 + 4);
    pc++;
    if (code !== 0x55 && code !== 0x5d && code !== 0x61) assert.is(off, 0, 'only jumps and loads have an offset (the verifier refuses the rest)');
    switch (code) {
      case 0x61: assert.is(src, 1); r[dst] = ctx[off / 4]; break;
      case 0x54: r[dst] = (r[dst] & imm) >>> 0; break;
      case 0x74: r[dst] = r[dst] >>> imm; break;
      case 0xbc: r[dst] = r[src]; break;
      case 0xb7: r[dst] = imm; break;
      case 0x55: if (r[dst] !== imm) pc += off; break;
      case 0x5d: if (r[dst] !== r[src]) pc += off; break;
      case 0x95: return r[0];
      default: throw new Error(`unknown instruction ${code.toString(16)} at ${pc - 1}`);
    }
    assert.ok(pc >= 0 && pc * 8 < program.length, 'jumps stay inside the program');
  }
  throw new Error('the program does not end');
}

function reference(rules: LinuxDeviceCgroup[], a: Access): number {
  let verdict = 0;
  for (const rule of rules) {
    const any = (n: unknown) => n === undefined || Number(n) === -1;
    const matches =
      (rule.type === undefined || rule.type === 'a' || rule.type === a.type) &&
      (any(rule.major) || Number(rule.major) === a.major) &&
      (any(rule.minor) || Number(rule.minor) === a.minor) &&
      [...a.access].every((c) => (rule.access || 'rwm').includes(c));
    if (matches) verdict = rule.allow ? 1 : 0;
  }
  return verdict;
}

const samples: Access[] = [];
for (const type of ['c', 'b'] as const)
  for (const [major, minor] of [[1, 3], [1, 5], [5, 1], [136, 4], [8, 0], [8, 1], [10, 200], [254, 0]])
    for (const access of ['r', 'w', 'm', 'rw', 'rwm'] as const) samples.push({ type, major, minor, access });

const ruleSets: Record<string, LinuxDeviceCgroup[]> = {
  'runc default (deny all, then defaults)': deviceRules([{ allow: false, access: 'rwm' }]),
  'deny all, then allow block 8:* read only': deviceRules([{ allow: false, access: 'rwm' }, { allow: true, type: 'b', major: 8, access: 'r' }]),
  'allow all, then deny c 1:5 and b 8:1 write': [{ allow: true }, { allow: false, type: 'c', major: 1, minor: 5 }, { allow: false, type: 'b', major: 8, minor: 1, access: 'w' }],
  'no rules at all: only the defaults': deviceRules([]),
  'a later deny overrides a default': [...deviceRules([{ allow: false }]), { allow: false, type: 'c', major: 1, minor: 3, access: 'w' }],
  'rules with -1 wildcards and m only': [{ allow: true, type: 'c', major: -1, minor: -1, access: 'm' }, { allow: true, type: 'c', major: 10, minor: -1, access: 'rw' }],
};

for (const [name, rules] of Object.entries(ruleSets)) {
  test(`device program agrees with last-match-wins: ${name}`, () => {
    const program = encodeProgram(deviceProgram(rules));
    for (const a of samples) assert.is(run(program, a), reference(rules, a), `${a.type} ${a.major}:${a.minor} ${a.access}`);
  });
}

test('device program: nothing after a rule that matches everything (the verifier refuses dead code)', () => {
  const program = deviceProgram([{ allow: true, type: 'c', major: 1, minor: 3 }, { allow: false }]);
  // prologue (6), then the unconditional deny (2): the earlier rule can never decide
  assert.is(program.length, 8);
  assert.equal(program.slice(-2).map((i) => i.code), [0xb7, 0x95]);
});

test.run();
