// Fuzzing in-process: mutated config.json files (test/fuzz/mutate.ts) go through everything
// `tsrun create` does before it touches the system: loadBundle (read, parse, validateConfig,
// checkSupported, root.path), the cgroup path, buildPlan with faked host facts (as in
// plan.test.ts) and the plan's encoding for the init. Each case must be accepted or refused with a
// TsrunError whose message names, line by line, a field that is in the config (test/fuzz/messages.ts).
//
// TSRUN_FUZZ_SEED=N replays a run (the seed is printed); TSRUN_FUZZ_CASES=N changes the count.
//
// Checked to fail without the protections (seed 5, 2000 cases): with validateConfig returning at
// once, the plan builders threw TypeErrors ("The \"path\" argument must be of type string") from
// case 0 on; without validate.ts's NUL rule, NUL bytes reached the plan encoder, whose "a NUL byte
// in ..." names no field; without quote()'s length cap, problem lines of 5000+ characters. The
// "found:" tests below each fail with their fix undone.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TsrunError } from '../../src/errors.ts';
import type { Placement } from '../../src/cgroups/resources.ts';
import { resolveCgroupPath } from '../../src/cgroups/manager.ts';
import { buildPlan } from '../../src/plan/build.ts';
import { loadBundle } from '../../src/runtime/create.ts';
import { defaultConfig } from '../../src/spec/default-config.ts';
import { quote } from '../../src/spec/quote.ts';
import type { Spec } from '../../src/spec/types.ts';
import { configProblems } from '../../src/spec/validate.ts';
import { planTokens } from '../../src/shim/encode.ts';
import { parseJson } from '../../src/spec/load.ts';
import { CONFIG_CODES, hygieneProblems, rejectionProblems } from '../fuzz/messages.ts';
import { caseSeed, mutate, rng } from '../fuzz/mutate.ts';
import { caseCount, runSeed, seedConfigs } from '../fuzz/seeds.ts';

const CASES = caseCount(20_000);
const SEED = runSeed();

const HYBRID: Placement[] = [
  { dir: '/sys/fs/cgroup/cpu,cpuacct/tsrun/c1', version: 1, controllers: ['cpu', 'cpuacct'] },
  { dir: '/sys/fs/cgroup/memory/tsrun/c1', version: 1, controllers: ['memory'] },
  { dir: '/sys/fs/cgroup/devices/tsrun/c1', version: 1, controllers: ['devices'] },
  { dir: '/sys/fs/cgroup/unified/tsrun/c1', version: 2, controllers: ['hugetlb'] },
];
const HIERARCHY = { name: 'memory', version: 1 as const, mountPoint: '/sys/fs/cgroup/memory', mountRoot: '/', current: '/user.slice' };

/** The fake host of plan.test.ts: paths with "/missing" are missing, "hosts"-like names are files. */
function kindOf(path: string): 'dir' | 'file' | 'missing' {
  if (path.includes('/missing')) return 'missing';
  return /\/(hosts|hostname|resolv\.conf|kcore)$/.test(path) ? 'file' : 'dir';
}

interface Outcome {
  accepted: boolean;
  code?: string;
  problems: string[];
}

/** One case through the pipeline of `tsrun create`, up to the bytes sent to the init. */
function runCase(bundle: string, text: string, r: ReturnType<typeof rng>): Outcome {
  writeFileSync(join(bundle, 'config.json'), text);
  let config: unknown;
  try {
    const loaded = loadBundle(bundle);
    config = loaded.config;
    resolveCgroupPath(loaded.config.linux?.cgroupsPath, 'c1', HIERARCHY);
    const terminal = loaded.config.process?.terminal === true;
    const plan = buildPlan(loaded.config, {
      bundle: loaded.bundle,
      rootfs: loaded.rootfs,
      startFifo: '/run/tsrun/c1/start.fifo',
      startedFifo: '/run/tsrun/c1/started.fifo',
      consoleSocket: terminal ? '/run/console.sock' : undefined,
      noPivot: r.chance(0.1),
      preserveFds: 0,
      listenFds: r.chance(0.1) ? 2 : 0,
      cgroups: { placements: HYBRID },
      host: { capLastCap: 40, hostUid: r.chance(0.1) ? 1000 : 0, hostGid: 0, kindOf },
    });
    planTokens(plan);
    return { accepted: true, problems: [] };
  } catch (err) {
    if (!(err instanceof TsrunError)) return { accepted: false, problems: [`threw ${(err as Error)?.stack ?? String(err)}`] };
    if (config === undefined) config = tryParse(text);
    const problems = rejectionProblems(err.message, config);
    if (!CONFIG_CODES.has(err.code)) problems.push(`code ${err.code}`);
    if (err.hint) problems.push(...hygieneProblems(err.hint).map((p) => `hint: ${p}`));
    return { accepted: false, code: err.code, problems: problems.map((p) => `${err.code} ${p}\n      message: ${err.message.slice(0, 600)}`) };
  }
}

/** The config as tsrun parsed it, for the path checks (undefined when the JSON is broken). */
function tryParse(text: string): unknown {
  try {
    return parseJson(text);
  } catch {
    return undefined;
  }
}

test(`${CASES} mutated configs through load, validation, plan and encoding (seed ${SEED})`, () => {
  // /dev/shm when there is one: a config.json written per case costs a millisecond on disk.
  const scratch = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'tsrun-fuzz-'));
  const bundle = join(scratch, 'bundle');
  mkdirSync(join(bundle, 'rootfs'), { recursive: true });
  const seeds = seedConfigs();
  const counts = new Map<string, number>();
  const failures: string[] = [];
  const started = Date.now();
  try {
    for (let i = 0; i < CASES; i++) {
      const r = rng(caseSeed(SEED, i));
      const seed = r.pick(seeds);
      const { text, log } = mutate(seed.config, r);
      const outcome = runCase(bundle, text, r);
      const key = outcome.accepted ? 'accepted' : outcome.code!;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      if (outcome.problems.length && failures.length < 10) {
        failures.push(`case ${i} (TSRUN_FUZZ_SEED=${SEED}) from ${seed.name}: ${log.join('; ')}\n    ${outcome.problems.join('\n    ')}`);
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const summary = [...counts].map(([k, n]) => `${k} ${n}`).join(', ');
  console.log(`fuzz: ${CASES} cases in ${((Date.now() - started) / 1000).toFixed(1)} s, seed ${SEED}: ${summary}`);
  if (failures.length) assert.unreachable(`seed ${SEED}: bad outcomes (first ${failures.length}):\n${failures.join('\n')}`);
  // The mutator must reach both sides: a run that only produces broken JSON tests nothing.
  assert.ok((counts.get('accepted') ?? 0) > CASES / 50, `too few configs accepted: ${summary}`);
  assert.ok((counts.get('ERR_CONFIG_INVALID') ?? 0) > CASES / 4, `too few configs refused: ${summary}`);
});

// ---- what the fuzzer found, one test each ---------------------------------------------------

const base = (): Spec => defaultConfig({ rootless: false, cgroupNamespace: false });
const problemLines = (config: Spec) => configProblems(config).map((p) => `${p.path}: ${p.message}`);
const planCtx = () => ({
  bundle: '/b', rootfs: '/b/rootfs', startFifo: '/run/s', startedFifo: '/run/t', consoleSocket: '/run/console.sock', noPivot: false, preserveFds: 0, listenFds: 0,
  cgroups: { placements: HYBRID }, host: { capLastCap: 40, hostUid: 0, hostGid: 0, kindOf },
});

test('found: echoed values are quoted with invisible and direction-changing characters escaped', () => {
  const config = base();
  config.process!.capabilities!.bounding = ['CAP_KILL\u202egnp.exe', 'CAP_\u001b[31mRED', 'CAP_\ud800'];
  assert.equal(problemLines(config), [
    'process.capabilities.bounding[0]: unknown capability "CAP_KILL\\u202egnp.exe"',
    'process.capabilities.bounding[1]: unknown capability "CAP_\\u001b[31mRED"',
    'process.capabilities.bounding[2]: unknown capability "CAP_\\ud800"',
  ]);
  assert.is(quote('a\u2028b\u0085c"\\'), '"a\\u2028b\\u0085c\\"\\\\"');
  assert.is(quote('\u{1F600}'), '"\u{1F600}"', 'a whole surrogate pair is a character, not an escape');
});

test('found: a long value is cut short in the message', () => {
  const config = base();
  config.process!.rlimits = [{ type: `/${'a/'.repeat(3000)}`, soft: 1, hard: 1 }];
  const [line] = problemLines(config);
  assert.ok(line.length < 250, line);
  assert.match(line, /^process\.rlimits\[0\]\.type: must be an RLIMIT_\* name .*\.\.\. \(6001 characters\)\)$/);
});

test('found: NUL bytes are refused by validation, naming the field, not by the plan encoder', () => {
  const config = base();
  config.process!.args = ['sh', 'a\0b'];
  config.hooks = { poststop: [{ path: '/bin/true', env: ['A=\0'] }] };
  config.linux!.sysctl = { 'net.ipv4.ip_forward\0x': '1' };
  config.mounts![0].options = ['nosuid\0'];
  config.annotations = { 'org.example': 'opaque\0data' };
  assert.equal(problemLines(config), [
    'process.args[1]: must not contain a NUL byte',
    'mounts[0].options[0]: must not contain a NUL byte',
    'hooks.poststop[0].env[0]: must not contain a NUL byte',
    'linux.sysctl["net.ipv4.ip_forward\\u0000x"]: the key must not contain a NUL byte',
  ]);
});

test('found: a path longer than PATH_MAX is refused at its field, not echoed by the init', () => {
  const config = base();
  const long = `/${'a/'.repeat(3000)}`;
  config.linux!.readonlyPaths = ['/proc/sys', long];
  config.mounts![1].destination = long;
  config.hooks = { prestart: [{ path: long }] };
  assert.equal(problemLines(config), [
    'mounts[1].destination: is 6001 bytes long: a path must be shorter than 4096 bytes (PATH_MAX)',
    'linux.readonlyPaths[1]: is 6001 bytes long: a path must be shorter than 4096 bytes (PATH_MAX)',
    'hooks.prestart[0].path: is 6001 bytes long: a path must be shorter than 4096 bytes (PATH_MAX)',
  ]);
  config.linux!.readonlyPaths = [`/${'b'.repeat(4094)}`];
  assert.equal(problemLines({ ...config, mounts: [], hooks: {} }), []);
});

test('found: nothing more is said inside a field the schema refused', () => {
  const config = base();
  (config.mounts![0] as unknown as { options: unknown }).options = [[[['/nul\0byte']]]];
  assert.equal(problemLines(config), ['mounts[0].options[0]: must be a string']);
  // A NUL in data tsrun never reads is nobody's problem, and the path of deeply nested or long-named
  // unknown data would fill the screen.
  let deep: unknown = 'x\0y';
  for (let i = 0; i < 300; i++) deep = { ['k'.repeat(300)]: [deep] };
  const unknown = base() as Spec & { x: unknown };
  unknown.x = deep;
  (unknown.mounts![0] as unknown as Record<string, unknown>)['y'.repeat(300)] = 'a\0b';
  assert.equal(problemLines(unknown), []);
});

test('found: a wrong type is one problem, and a long list of allowed values is summed up', () => {
  const config = base();
  config.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', architectures: [null, 'SCMP_ARCH_NOPE'] };
  assert.equal(problemLines(config), [
    'linux.seccomp.architectures[0]: must be a string',
    'linux.seccomp.architectures[1]: must be one of SCMP_ARCH_X86, SCMP_ARCH_X86_64, SCMP_ARCH_X32, SCMP_ARCH_ARM, SCMP_ARCH_AARCH64, SCMP_ARCH_MIPS or 17 more of the same kind (got "SCMP_ARCH_NOPE")',
  ]);
});

test('found: the plan names a sysctl key and a clock as paths that lead to them', () => {
  const config = base();
  config.linux!.sysctl = { 'vm.swappiness': '1' };
  assert.throws(() => buildPlan(config, planCtx()), (e: Error) => e.message.startsWith('linux.sysctl["vm.swappiness"]: '));
  const timed = base();
  timed.linux!.namespaces!.push({ type: 'time' });
  timed.linux!.timeOffsets = { 'real.time': { secs: 1 } };
  assert.throws(() => buildPlan(timed, planCtx()), (e: Error) => e.message.startsWith('linux.timeOffsets["real.time"]: unknown clock'));
});

test('found: a namespace type that is a property of every object is not a namespace', () => {
  const config = base();
  config.linux!.namespaces = [{ type: 'toString' as 'pid' }];
  assert.throws(() => buildPlan(config, planCtx()), (e: unknown) => e instanceof TsrunError && e.code === 'ERR_CONFIG_INVALID' && e.message.includes('unknown namespace type "toString"'));
});

test.run();
