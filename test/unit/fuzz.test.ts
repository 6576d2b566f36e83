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
// in ..." names no field; without quote()'s length cap, problem lines of 5000+ characters. What
// it found is tested in validate.test.ts and plan.test.ts ("found by the fuzzer"), each test
// failing with its fix undone.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TsrunError } from '../../src/errors.ts';
import { resolveCgroupPath } from '../../src/cgroups/manager.ts';
import { buildPlan } from '../../src/plan/build.ts';
import { loadBundle } from '../../src/runtime/create.ts';
import { planTokens } from '../../src/shim/encode.ts';
import { parseJson } from '../../src/spec/load.ts';
import { CONFIG_CODES, hygieneProblems, rejectionProblems } from '../fuzz/messages.ts';
import { caseSeed, mutate, rng } from '../fuzz/mutate.ts';
import { caseCount, runSeed, seedConfigs } from '../fuzz/seeds.ts';
import { planContext } from './fake-host.ts';

const CASES = caseCount(20_000);
const SEED = runSeed();

const HIERARCHY = { name: 'memory', version: 1 as const, mountPoint: '/sys/fs/cgroup/memory', mountRoot: '/', current: '/user.slice' };

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
    const plan = buildPlan(
      loaded.config,
      planContext({
        bundle: loaded.bundle,
        rootfs: loaded.rootfs,
        consoleSocket: terminal ? '/run/console.sock' : undefined,
        noPivot: r.chance(0.1),
        listenFds: r.chance(0.1) ? 2 : 0,
        host: { ...planContext().host, hostUid: r.chance(0.1) ? 1000 : 0 },
      }),
    );
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

test.run();
