// Fuzzing the real binary: mutated bundles (test/fuzz/mutate.ts) go through `tsrun create`, a few at
// a time, each in a Sandbox of its own with a unique id. A refusal must exit 1 or 2 with one line
// per problem that names the field (test/fuzz/messages.ts); an accepted container is started,
// killed and deleted. Afterwards nothing may be left: no state, no cgroup, no mount under the
// sandbox, no process whose cwd or command line mentions the bundle.
//
// The mutations are kept off what would reach past the sandbox (cases that do are drawn again):
// the container always gets a new mount namespace of its own, joins no namespace that exists,
// keeps its private rootfs, its default cgroup, no runnable hook, and binds no host path.
//
// TSRUN_FUZZ_SEED=N replays a run (the seed is printed); TSRUN_FUZZ_CASES=N changes the count.
//
// Checked to fail without the protections (seed 9, 80 cases): with validateConfig returning at
// once, create failed with "internal error: TypeError [ERR_INVALID_ARG_TYPE] ..." and a stack trace
// (case 3 on); with undoCreate's store.remove commented out, the bundles that failed in the init
// left "state of fz-... left behind".
import { spawn } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseJson } from '../../src/spec/load.ts';
import { hygieneProblems, rejectionProblems } from '../fuzz/messages.ts';
import { caseSeed, mutate, rng, type Value } from '../fuzz/mutate.ts';
import { caseCount, runSeed, seedConfigs } from '../fuzz/seeds.ts';
import { DEFAULT_ROOTFS, isRoot, Sandbox, TSRUN, tsrunEnv } from './helpers.ts';

const CASES = caseCount(300);
const SEED = runSeed();
const PARALLEL = 3;
const NOT_SUPPORTED_HINT = ' (tsrun does not implement these fields: remove them from config.json)';

interface Run {
  status: number | null;
  stderr: string;
}

/** tsrun with the container's stdio in files: a created container keeps them open. */
function tsrun(sb: Sandbox, args: string[], name: string): Promise<Run> {
  const out = openSync(sb.file(`${name}.out`), 'a');
  const errPath = sb.file(`${name}.err`);
  const err = openSync(errPath, 'w');
  return new Promise((done) => {
    const child = spawn(TSRUN, ['--root', sb.root, ...args], { env: tsrunEnv(), stdio: ['ignore', out, err] });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      closeSync(out);
      closeSync(err);
      done({ status, stderr: readFileSync(errPath, 'utf8') });
    });
  });
}

// ---- bases and the guard that keeps a case inside its sandbox -----------------------------

/** The seeds, made runnable here: `true` as the program, no terminal, no seccomp, the default cgroup. */
function bases(rootfs: string): { name: string; config: { [key: string]: Value } }[] {
  return seedConfigs().map(({ name, config }) => {
    const c = structuredClone(config) as any;
    c.process = { ...c.process, args: ['true'], terminal: false };
    c.root = { ...c.root, path: rootfs };
    delete c.hooks;
    // podman's binds of its own files, which this host does not have
    c.mounts = (c.mounts ?? []).filter((m: any) => !(m.type === 'bind' || m.options?.includes('rbind')) || existsSync(m.source));
    if (c.linux) {
      delete c.linux.cgroupsPath;
      delete c.linux.seccomp;
    }
    return { name, config: c };
  });
}

const isObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const exists = (path: string) => {
  try {
    return existsSync(path);
  } catch {
    return false;
  }
};

/** Why this config could reach past the sandbox, or undefined when it cannot. */
function hazard(config: unknown, bundle: string, rootfs: string, sandbox: string): string | undefined {
  if (!isObject(config)) return undefined; // refused before anything is made
  const linux = isObject(config.linux) ? config.linux : {};
  const namespaces = list(linux.namespaces).filter(isObject);
  if (!namespaces.some((ns) => ns.type === 'mount' && ns.path === undefined)) return 'no mount namespace of its own';
  if (namespaces.some((ns) => typeof ns.path === 'string' && ns.path !== '' && exists(ns.path))) return 'joins a namespace path that exists';
  if ('cgroupsPath' in linux) return 'a cgroupsPath';
  const root = isObject(config.root) ? config.root.path : undefined;
  if (typeof root === 'string' && !root.includes('\0') && resolve(bundle, root) !== rootfs && exists(resolve(bundle, root))) return 'another rootfs';
  for (const stage of Object.values(isObject(config.hooks) ? config.hooks : {})) {
    for (const hook of list(stage).filter(isObject)) if (typeof hook.path === 'string' && exists(hook.path)) return 'a hook that exists';
  }
  for (const m of list(config.mounts).filter(isObject)) {
    const bind = m.type === 'bind' || list(m.options).some((o) => o === 'bind' || o === 'rbind');
    if (bind && typeof m.source === 'string' && !m.source.includes('\0')) {
      const source = resolve(bundle, m.source);
      if (exists(source) && !source.startsWith(`${sandbox}/`)) return 'binds a host path';
    }
  }
  return undefined;
}

// ---- what must be left: nothing ------------------------------------------------------------

/** Processes whose cwd is in the sandbox, whose command line mentions it or the id, or that sit in a cgroup of the id. */
function processLeaks(sandbox: string, id: string): string[] {
  const leaks: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const cgroups = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
      if (cwd.startsWith(sandbox) || cmdline.includes(sandbox) || cmdline.includes(id) || cgroups.includes(`/${id}\n`)) {
        leaks.push(`process ${pid} (${cmdline.slice(0, 80)})`);
      }
    } catch {
      // gone meanwhile, or a kernel thread
    }
  }
  return leaks;
}

function mountLeaks(sandbox: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((line) => line.includes(sandbox))
    .map((line) => `mount ${line.split(' ')[4]}`);
}

// ---- one case ------------------------------------------------------------------------------

interface CaseResult {
  outcome: 'created' | 'refused' | 'skipped';
  problems: string[];
}

/** The error lines of a refused create, as the message they carry. */
function errorMessage(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l !== '' && !l.startsWith('tsrun: warning:'));
  let message = lines.join('\n').replace(/^tsrun: /, '');
  if (message.endsWith(NOT_SUPPORTED_HINT)) message = message.slice(0, -NOT_SUPPORTED_HINT.length);
  return message;
}

async function runCase(index: number, baseList: ReturnType<typeof bases>, worker: { rootfs: string; dir: string }): Promise<CaseResult> {
  const r = rng(caseSeed(SEED, index));
  const base = r.pick(baseList);
  const sb = new Sandbox();
  const problems: string[] = [];
  let outcome: CaseResult['outcome'] = 'refused';
  let what = '';
  try {
    const bundle = join(sb.dir, 'bundle');
    mkdirSync(bundle);
    // Fewer mutations than in-process: more containers get far enough to be made and torn down.
    const { text, log } = mutate(base.config, r, 2);
    what = `from ${base.name}: ${log.join('; ')}`.slice(0, 400);
    let parsed: unknown;
    try {
      parsed = parseJson(text);
    } catch {
      parsed = undefined;
    }
    const why = hazard(parsed, bundle, worker.rootfs, sb.dir);
    if (why) return { outcome: 'skipped', problems: [] };
    writeFileSync(join(bundle, 'config.json'), text);
    const id = sb.id('fz');
    const created = await tsrun(sb, ['create', '--bundle', bundle, id], 'create');
    if (created.status === 0) {
      outcome = 'created';
      const started = await tsrun(sb, ['start', id], 'start');
      if (started.status !== 0) problems.push(...hygieneProblems(errorMessage(started.stderr)).map((p) => `start: ${p}`));
      // kill may find it stopped already (`true` is quick); delete --force waits for it to be gone.
      await tsrun(sb, ['kill', id, 'KILL'], 'kill');
      const deleted = await tsrun(sb, ['delete', '--force', id], 'delete');
      if (deleted.status !== 0) problems.push(`delete exited ${deleted.status}: ${deleted.stderr.trim()}`);
    } else {
      if (created.status !== 1 && created.status !== 2) problems.push(`create exited ${created.status}`);
      const message = errorMessage(created.stderr);
      const bad = rejectionOrRuntimeProblems(message, parsed, created.status);
      if (bad.length) problems.push(...bad, `(create exited ${created.status}: ${message.slice(0, 300)})`);
    }
    problems.push(...mountLeaks(sb.dir), ...processLeaks(sb.dir, id));
  } finally {
    // A mount left under the sandbox must never be walked by the recursive removal below.
    if (mountLeaks(sb.dir).length === 0) problems.push(...sb.cleanup());
    else problems.push('the sandbox is kept because a mount is left in it');
  }
  if (problems.length) problems.push(`(mutations ${what})`);
  return { outcome, problems };
}

/**
 * A refusal for the config names its fields; a failure of the host or the init (exit 1: a mount,
 * a device, an rlimit the kernel refused) names the step and the object instead, on one line.
 */
function rejectionOrRuntimeProblems(message: string, config: unknown, status: number | null): string[] {
  if (status === 2 || /^(invalid config|not supported|\S*config\.json:)/.test(message)) return rejectionProblems(message, config);
  const problems = hygieneProblems(message);
  if (message.includes('\n')) problems.push('a failure of several lines');
  return problems;
}

test(`${CASES} mutated bundles through the real tsrun create (seed ${SEED})`, async () => {
  if (!isRoot) return;
  const workDir = new Sandbox();
  const rootfs = join(workDir.dir, 'rootfs');
  // One private rootfs for every case: mount points a case makes in it stay out of the repository.
  cpSync(DEFAULT_ROOTFS, rootfs, { recursive: true, verbatimSymlinks: true });
  const baseList = bases(rootfs);
  const counts = { created: 0, refused: 0, skipped: 0 };
  const failures: string[] = [];
  const started = Date.now();
  let next = 0;
  let done = 0;
  let running = 0;
  const worker = async () => {
    // Skipped cases do not count: CASES cases reach tsrun.
    while (done + running < CASES && next < CASES * 20) {
      const index = next++;
      running++;
      const result = await runCase(index, baseList, { rootfs, dir: workDir.dir });
      running--;
      counts[result.outcome]++;
      if (result.outcome !== 'skipped') done++;
      if (result.problems.length && failures.length < 10) failures.push(`case ${index} (TSRUN_FUZZ_SEED=${SEED}):\n    ${result.problems.join('\n    ')}`);
    }
  };
  try {
    await Promise.all(Array.from({ length: PARALLEL }, worker));
  } finally {
    workDir.cleanup();
  }
  console.log(`fuzz create: ${done} cases in ${((Date.now() - started) / 1000).toFixed(1)} s, seed ${SEED}: created ${counts.created}, refused ${counts.refused} (${counts.skipped} drawn again as unsafe)`);
  if (failures.length) assert.unreachable(`seed ${SEED}:\n${failures.join('\n')}`);
  assert.ok(done >= CASES, `only ${done} cases ran`);
  assert.ok(counts.created > 0, 'no mutated bundle was created: the run tested refusals only');
});

test.run();
