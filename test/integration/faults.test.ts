// Fault injection: tsrun is SIGKILLed at random points of create, start, delete and run, and at
// chosen system calls (through strace, when it is installed). After every kill, `tsrun list` must
// parse and show only valid entries, `tsrun delete --force ID` must succeed, and then nothing of
// the container may be left: no state, no lock, no cgroup, no mount, no process. The same id must
// then be usable again.
//
// The random delays come from a seeded PRNG; the seed is printed (TSRUN_FAULT_SEED=N replays it).
//
// How we checked that these tests fail without the protections they guard (each removed, the
// file run again; the system call trials caught each, the random ones are too coarse to be sure to):
// - create recording the cgroups it is about to make before making them (create.ts
//   pendingCgroups): without it, the kill at "mkdir:when=4" (among the cgroup mkdirs) left
//   /sys/fs/cgroup/cpu/tsrun/ID behind.
// - delete --force finding the init of a create killed before its last write: by the container's
//   cgroup (delete.ts killEverything) or by the pid create records before it releases the init
//   (create.ts onCreateRuntime). Each covers the other for tsrun's own cgroups; without both, the
//   kill at the last "rename" left a waiting init, and delete --force failed with EBUSY on its cgroup.
// - delete --force of a state directory without state.json (delete.ts): without it, the kill at
//   the first "rename" (the first record) left the state directory behind.
// The lock is a flock(2), which the kernel releases with its holder: the check that it is no
// longer held after each kill guards that choice (it was not removed to try).
import { closeSync, existsSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { inSandbox, TSRUN, tsrunEnv, type Sandbox } from './helpers.ts';
import { checkedList, leftovers } from './leftovers.ts';

const SEED = Number(process.env.TSRUN_FAULT_SEED) || Date.now() % 0x7fffffff;
console.log(`faults: seed ${SEED} (TSRUN_FAULT_SEED=${SEED} replays these delays)`);

/** mulberry32: a small seeded PRNG, enough to spread kills over a verb's run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(SEED);

type Verb = 'create' | 'start' | 'delete' | 'run';
// Kills that land before the verb has finished, per verb: 100 in all, so that CI injects at least
// 100 faults even without strace. A kill that comes too late still checks the verb's success.
const LANDED: Record<Verb, number> = { create: 30, start: 25, delete: 25, run: 20 };

/** What each trial did, for the summary at the end. */
const outcomes: { verb: Verb; kind: 'timer' | 'syscall'; killed: boolean; seen: string }[] = [];

const hasStrace = spawnSync('strace', ['-V'], { stdio: 'ignore' }).status === 0;

interface Container {
  id: string;
  bundle: string;
  /** the file that gets the container's stdout and stderr (a leftover init would hold it open) */
  output: string;
}

/** Starts `tsrun ARGS` (optionally under `wrapper`) with its stdout and stderr on `output`. */
function spawnTsrun(sb: Sandbox, args: string[], output: string, wrapper: string[] = []): ChildProcess {
  const fd = openSync(output, 'a');
  try {
    const command = [...wrapper, TSRUN, '--root', sb.root, ...args];
    return spawn(command[0], command.slice(1), { env: tsrunEnv(), stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

function verbArgs(verb: Verb, c: Container): string[] {
  if (verb === 'create' || verb === 'run') return [verb, '--bundle', c.bundle, c.id];
  return verb === 'delete' ? ['delete', '--force', c.id] : ['start', c.id];
}

/** Brings the container to where `verb` starts from: absent for create and run, created for start, running for delete. */
function prepare(sb: Sandbox, verb: Verb, c: Container): void {
  if (verb === 'create' || verb === 'run') return;
  sb.tsrun(['create', '--bundle', c.bundle, c.id], { stdoutFile: c.output }).ok();
  if (verb === 'delete') sb.tsrun(['start', c.id]).ok();
}

/** How long `verb` takes here when nothing kills it (the median of three runs). */
async function measure(sb: Sandbox, verb: Verb, c: Container): Promise<number> {
  const durations: number[] = [];
  for (let i = 0; i < 3; i++) {
    prepare(sb, verb, c);
    const started = Date.now();
    const { code } = await exitOf(spawnTsrun(sb, verbArgs(verb, c), c.output));
    durations.push(Date.now() - started);
    assert.is(code, 0, `${verb} without a fault`);
    sb.tsrun(['delete', '--force', c.id]).ok();
  }
  return durations.sort((a, b) => a - b)[1];
}

/**
 * After a kill: list must be sane, delete --force must succeed and leave nothing, and the id must
 * be usable again. Returns what list said about the container.
 */
async function checkRecovery(sb: Sandbox, c: Container, label: string): Promise<string> {
  const seen = checkedList(sb).find((e) => e.id === c.id)?.status ?? 'absent';
  const deleted = sb.tsrun(['delete', '--force', c.id]);
  assert.is(deleted.status, 0, `${label}: delete --force (list said ${seen}): ${deleted.stderr}`);
  assert.equal(await leftovers(sb, c.id, [c.output, c.bundle]), [], `${label}: leftovers after delete --force (list said ${seen})`);
  if (existsSync(sb.root)) assert.equal(readdirSync(sb.root), [], `${label}: stray files in the state root`);
  return seen;
}

/** The id is not spoiled: a full create of it works and is deleted cleanly. */
async function checkReusable(sb: Sandbox, c: Container, label: string): Promise<void> {
  sb.tsrun(['create', '--bundle', c.bundle, c.id], { stdoutFile: c.output }).ok();
  assert.is(sb.state(c.id).status, 'created', `${label}: create of the same id after recovery`);
  sb.tsrun(['delete', '--force', c.id]).ok();
  assert.equal(await leftovers(sb, c.id, [c.output, c.bundle]), [], `${label}: leftovers after the re-create`);
}

/** Runs `verb` and kills it as `kill` says, then checks the recovery; true if the kill landed. */
async function trial(sb: Sandbox, verb: Verb, c: Container, label: string, kill: { afterMs: number } | { wrapper: string[] }): Promise<boolean> {
  prepare(sb, verb, c);
  const child = spawnTsrun(sb, verbArgs(verb, c), c.output, 'wrapper' in kill ? kill.wrapper : []);
  const timer = 'afterMs' in kill ? setTimeout(() => child.kill('SIGKILL'), kill.afterMs) : undefined;
  const { code, signal } = await exitOf(child);
  clearTimeout(timer);
  // Under strace, the killed tsrun is strace's child: strace exits 128+9 for it.
  const killed = signal === 'SIGKILL' || ('wrapper' in kill && code === 137);
  if (!killed) assert.is(code, 0, `${label}: ${verb} finished before the kill and must have succeeded (${readFileSync(c.output, 'utf8').slice(-500)})`);
  const seen = await checkRecovery(sb, c, label);
  outcomes.push({ verb, kind: 'afterMs' in kill ? 'timer' : 'syscall', killed, seen });
  // A killed create that got as far as leaving something is the case that could spoil the id.
  if (verb === 'create' && seen !== 'absent') await checkReusable(sb, c, label);
  return killed;
}

function container(sb: Sandbox, verb: Verb): Container {
  // run waits for its container: give it one that ends by itself.
  const bundle = sb.bundle((config) => (config.process.args = verb === 'run' ? ['true'] : ['sleep', '600']));
  const id = sb.id(`fault-${verb}`);
  return { id, bundle, output: sb.file(`${id}.out`) };
}

for (const verb of ['create', 'start', 'delete', 'run'] as const) {
  test(`SIGKILL at ${LANDED[verb]} random points of ${verb}: delete --force cleans up completely`, () =>
    inSandbox(async (sb) => {
      const c = container(sb, verb);
      const duration = await measure(sb, verb, c);
      let landed = 0;
      for (let i = 0; landed < LANDED[verb]; i++) {
        assert.ok(i < 3 * LANDED[verb], `${verb} outran the kill in ${i - landed} of ${i} trials`);
        const afterMs = Math.round(random() * duration);
        if (await trial(sb, verb, c, `${verb} trial ${i} (killed after ${afterMs} of ~${duration} ms, seed ${SEED})`, { afterMs })) landed++;
      }
    }));
}

// The system calls that change what create, start and delete leave behind; clone3 (Node's
// threads) and the rest are left out.
const WATCHED = 'mkdir,rmdir,rename,unlink,kill,bind,clone';

/**
 * The kill points of `verb`: each watched system call it makes, as "name:when=N". Of a run of the
 * same call (one mkdir per cgroup hierarchy, say) the first, middle and last are kept.
 */
async function syscallPoints(sb: Sandbox, verb: Verb, c: Container): Promise<{ point: string; what: string }[]> {
  prepare(sb, verb, c);
  const trace = sb.file(`${verb}.trace`);
  const { code } = await exitOf(spawnTsrun(sb, verbArgs(verb, c), c.output, ['strace', '-qq', '-o', trace, '-e', `trace=${WATCHED}`]));
  assert.is(code, 0, `${verb} under strace`);
  sb.tsrun(['delete', '--force', c.id]).ok();
  const calls = readFileSync(trace, 'utf8')
    .split('\n')
    .map((line) => /^(\w+)\((.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ name: m[1], what: `${m[1]}(${m[2].slice(0, 70)}` }));
  const counts = new Map<string, number>();
  const numbered = calls.map((call) => ({ ...call, nth: (counts.set(call.name, (counts.get(call.name) ?? 0) + 1), counts.get(call.name)!) }));
  const kept: { point: string; what: string }[] = [];
  for (let i = 0; i < numbered.length; ) {
    let end = i;
    while (end + 1 < numbered.length && numbered[end + 1].name === numbered[i].name) end++;
    for (const k of new Set([i, Math.floor((i + end) / 2), end])) kept.push({ point: `${numbered[k].name}:when=${numbered[k].nth}`, what: numbered[k].what });
    i = end + 1;
  }
  return kept;
}

// Without strace these cannot run: reported as skipped (with the reason), never as passed.
if (!hasStrace) console.log('skipped: faults: strace is missing (apt-get install strace), so no kills at system calls');
for (const verb of ['create', 'start', 'delete'] as const) {
  (hasStrace ? test : test.skip)(`SIGKILL at each state-changing system call of ${verb}: delete --force cleans up completely`, () =>
    inSandbox(async (sb) => {
      const c = container(sb, verb);
      for (const { point, what } of await syscallPoints(sb, verb, c)) {
        const wrapper = ['strace', '-qq', '-o', '/dev/null', '-e', `trace=${WATCHED}`, '-e', `inject=${point.replace(':', ':signal=KILL:')}`];
        await trial(sb, verb, c, `${verb} killed at ${point}, ${what}`, { wrapper });
      }
    }));
}

test('summary', () => {
  const lines = (['create', 'start', 'delete', 'run'] as const).map((verb) => {
    const mine = outcomes.filter((o) => o.verb === verb);
    const seen = new Map<string, number>();
    for (const o of mine) if (o.killed) seen.set(o.seen, (seen.get(o.seen) ?? 0) + 1);
    const byTimer = mine.filter((o) => o.kind === 'timer');
    const bySyscall = mine.filter((o) => o.kind === 'syscall');
    return `  ${verb}: ${byTimer.filter((o) => o.killed).length}/${byTimer.length} random and ${bySyscall.filter((o) => o.killed).length}/${bySyscall.length} syscall kills landed; list then showed ${[...seen].map(([s, n]) => `${s} ${n}`).join(', ')}`;
  });
  const killed = outcomes.filter((o) => o.killed).length;
  console.log(`faults: ${outcomes.length} trials, ${killed} kills landed mid-verb, 0 leaks (seed ${SEED})\n${lines.join('\n')}`);
  assert.ok(outcomes.length >= 100, 'at least 100 trials');
});

test.run();
