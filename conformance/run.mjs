#!/usr/bin/env node
// Runs the OCI runtime-tools validation test programs against a runtime and compares the
// results with conformance/expected.json. Plain Node ESM, no dependencies. See README.md.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..');

const USAGE = `usage: node conformance/run.mjs [options] [test ...]

Runs each OCI runtime-tools validation test program (all of them, or the ones named) against a
runtime, one at a time, and compares the results with conformance/expected.json.

options:
  --runtime PATH     runtime to test (default: $RUNTIME, else the repo's bin/tsrun)
  --json FILE        also write the results as JSON to FILE
  --timeout SEC      per-test timeout in seconds (default: $TSRUN_CONFORMANCE_TIMEOUT or 120)
  --expected FILE    expectations file (default: conformance/expected.json)
  --keep             keep each test's temp dir (containers are still deleted, mounts unmounted)
  --verbose, -v      print the TAP output and stderr of every test that does not pass
  --list             print the test names found in $TSRUN_CONFORMANCE_BIN and exit
  --help, -h         this text

environment:
  TSRUN_CONFORMANCE_BIN        directory of the built test programs (required)
  RUNTIME                      runtime to test, when --runtime is not given
  TSRUN_CONFORMANCE_ROOTFS     the rootfs tarball (default: rootfs-<arch>.tar.gz in the bin
                               directory, else in TSRUN_CONFORMANCE_SRC)
  TSRUN_CONFORMANCE_RUNTIMETEST  the static runtimetest program (default: runtimetest in the bin
                               directory, else in TSRUN_CONFORMANCE_SRC)
  TSRUN_CONFORMANCE_SRC        a runtime-tools source tree, searched for the two files above
  TSRUN_CONFORMANCE_TMP        where per-test temp dirs are made (default: the OS temp dir)
  TSRUN_CONFORMANCE_TIMEOUT    per-test timeout in seconds

exit status: 0 no regressions, 1 at least one regression, 2 usage or setup error.`;

class SetupError extends Error {}

// ---------------------------------------------------------------------------------------------
// arguments and setup

function parseArgs(argv) {
  const opts = { runtime: undefined, json: undefined, timeout: undefined, expected: undefined, keep: false, verbose: false, list: false, tests: [] };
  const need = (i, flag) => {
    if (i + 1 >= argv.length) throw new SetupError(`${flag} needs a value`);
    return argv[i + 1];
  };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let inline;
    if (a.startsWith('--') && a.includes('=')) {
      inline = a.slice(a.indexOf('=') + 1);
      a = a.slice(0, a.indexOf('='));
    }
    const value = (flag) => {
      if (inline !== undefined) return inline;
      const v = need(i, flag);
      i++;
      return v;
    };
    switch (a) {
      case '--runtime': opts.runtime = value(a); break;
      case '--json': opts.json = value(a); break;
      case '--timeout': opts.timeout = value(a); break;
      case '--expected': opts.expected = value(a); break;
      case '--keep': opts.keep = true; break;
      case '--verbose': case '-v': opts.verbose = true; break;
      case '--list': opts.list = true; break;
      case '--help': case '-h': process.stdout.write(USAGE + '\n'); process.exit(0); break;
      case '--': opts.tests.push(...argv.slice(i + 1)); i = argv.length; break;
      default:
        if (a.startsWith('-')) throw new SetupError(`unknown option ${a}`);
        opts.tests.push(a);
    }
  }
  return opts;
}

function isExecutableFile(p) {
  try {
    const st = fs.statSync(p);
    if (!st.isFile()) return false;
    fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

// Like Go's exec.LookPath: a name without a slash is looked up in PATH. Returns an absolute path.
function resolveRuntime(spec) {
  if (spec.includes('/')) {
    const abs = path.resolve(spec);
    if (!isExecutableFile(abs)) throw new SetupError(`runtime ${abs} is not an executable file`);
    return abs;
  }
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (!dir) continue;
    const p = path.resolve(dir, spec);
    if (isExecutableFile(p)) return p;
  }
  throw new SetupError(`runtime ${JSON.stringify(spec)} not found in PATH`);
}

function goArch() {
  const map = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return map[process.arch] ?? process.arch;
}

function findSupportFile(envName, fileName, binDir) {
  const fromEnv = process.env[envName];
  if (fromEnv) {
    const p = path.resolve(fromEnv);
    if (!fs.existsSync(p)) throw new SetupError(`${envName}=${fromEnv}: no such file`);
    return p;
  }
  const candidates = [path.join(binDir, fileName)];
  if (process.env.TSRUN_CONFORMANCE_SRC) candidates.push(path.join(path.resolve(process.env.TSRUN_CONFORMANCE_SRC), fileName));
  for (const c of candidates) if (fs.existsSync(c)) return c;
  throw new SetupError(`${fileName} not found (looked in ${candidates.join(', ')}); set ${envName} or TSRUN_CONFORMANCE_SRC (see conformance/README.md)`);
}

function setup(opts) {
  const binEnv = process.env.TSRUN_CONFORMANCE_BIN;
  if (!binEnv) throw new SetupError('TSRUN_CONFORMANCE_BIN is not set: point it at the directory of built runtime-tools validation programs (see conformance/README.md)');
  const binDir = path.resolve(binEnv);
  if (!fs.existsSync(binDir) || !fs.statSync(binDir).isDirectory()) throw new SetupError(`TSRUN_CONFORMANCE_BIN=${binEnv}: not a directory`);

  const arch = goArch();
  const rootfs = findSupportFile('TSRUN_CONFORMANCE_ROOTFS', `rootfs-${arch}.tar.gz`, binDir);
  const runtimetest = findSupportFile('TSRUN_CONFORMANCE_RUNTIMETEST', 'runtimetest', binDir);
  if (!isExecutableFile(runtimetest)) throw new SetupError(`${runtimetest} is not executable`);

  const support = new Set(['runtimetest', path.basename(rootfs)]);
  const available = fs.readdirSync(binDir)
    .filter((n) => !support.has(n) && !n.startsWith('.') && isExecutableFile(path.join(binDir, n)))
    .sort();
  if (available.length === 0) throw new SetupError(`no test programs in ${binDir}`);

  let tests = available;
  if (opts.tests.length > 0) {
    const unknown = opts.tests.filter((t) => !available.includes(t));
    if (unknown.length) throw new SetupError(`no such test program in ${binDir}: ${unknown.join(', ')}`);
    tests = [...new Set(opts.tests)];
  }

  const runtimeSpec = opts.runtime ?? process.env.RUNTIME ?? path.join(repoRoot, 'bin', 'tsrun');
  const runtime = resolveRuntime(runtimeSpec);
  if (runtime === path.join(repoRoot, 'bin', 'tsrun') && !fs.existsSync(path.join(repoRoot, 'dist', 'tsrun.js'))) {
    throw new SetupError('dist/tsrun.js is missing: run `npm run build` first');
  }

  const timeoutSec = Number(opts.timeout ?? process.env.TSRUN_CONFORMANCE_TIMEOUT ?? 120);
  if (!Number.isFinite(timeoutSec) || timeoutSec <= 0) throw new SetupError(`bad timeout ${opts.timeout ?? process.env.TSRUN_CONFORMANCE_TIMEOUT}`);

  const expectedFile = path.resolve(opts.expected ?? path.join(here, 'expected.json'));
  let expected = {};
  if (fs.existsSync(expectedFile)) {
    try {
      expected = JSON.parse(fs.readFileSync(expectedFile, 'utf8'));
    } catch (e) {
      throw new SetupError(`${expectedFile}: ${e.message}`);
    }
  } else if (opts.expected) {
    throw new SetupError(`${expectedFile}: no such file`);
  }

  const tmpBase = path.resolve(process.env.TSRUN_CONFORMANCE_TMP || os.tmpdir());
  return { binDir, rootfs, runtimetest, tests, available, runtime, timeoutMs: timeoutSec * 1000, expectedFile, expected, tmpBase };
}

// ---------------------------------------------------------------------------------------------
// TAP

// Parses the TAP 13 that the test programs print (github.com/mndrix/tap-go): assertion lines,
// a plan, and YAML blocks (JSON inside) between "  ---" and "  ...". A YAML block that directly
// follows an assertion belongs to it; one that does not (the lifecycle tests print their overall
// error that way, with no assertion at all) is a free diagnostic, and one with an "error" key
// makes the test fail. An assertion's description may run over several lines ("Refer to: ..."),
// so a block belongs to the latest assertion that has no block yet.
export function parseTap(text) {
  const r = { ok: 0, notOk: 0, skip: 0, todo: 0, plan: null, assertions: [], failures: [], freeErrors: [] };
  const lines = text.split('\n');
  let pending = null; // the latest assertion, while it has no YAML block
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (/^\s+---\s*$/.test(line)) {
      const body = [];
      let j = i + 1;
      for (; j < lines.length && !/^\s+\.\.\.\s*$/.test(lines[j]); j++) body.push(lines[j]);
      i = j;
      const raw = body.join('\n');
      let data = null;
      try { data = JSON.parse(raw); } catch { /* not JSON: keep raw */ }
      if (pending) {
        pending.diagnostic = data ?? raw;
      } else {
        let err = null;
        if (data && typeof data === 'object' && 'error' in data) err = String(data.error);
        else if (!data) { const m = /^\s*"?error"?\s*:\s*(.*)$/m.exec(raw); if (m) err = m[1]; }
        if (err !== null) r.freeErrors.push({ error: err, diagnostic: data ?? raw });
      }
      pending = null;
      continue;
    }
    let m = /^(not ok|ok)\b\s*(\d+)?\s*(?:-\s*)?(.*)$/.exec(line);
    if (m) {
      const passed = m[1] === 'ok';
      let desc = m[3];
      let directive = null;
      const d = /\s*#\s*(SKIP|TODO)\b\s*(.*)$/i.exec(desc);
      if (d) { directive = d[1].toUpperCase(); desc = (desc.slice(0, d.index) || d[2]).trim(); }
      const a = { n: m[2] ? Number(m[2]) : r.assertions.length + 1, passed, directive, description: desc };
      r.assertions.push(a);
      if (directive === 'SKIP') r.skip++;
      else if (directive === 'TODO') r.todo++;
      else if (passed) r.ok++;
      else { r.notOk++; r.failures.push(a); }
      pending = a;
      continue;
    }
    m = /^(\d+)\.\.(\d+)/.exec(line);
    if (m) { r.plan = { start: Number(m[1]), end: Number(m[2]) }; pending = null; continue; }
  }
  return r;
}

function firstLines(text, n = 2) {
  return text.split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^failed to (create|start|delete) the container$/.test(l) && !/^WARNING:/.test(l))
    .slice(0, n)
    .join(' | ');
}

// pass: exit 0, no "not ok", no free error diagnostic (0 assertions is a pass: e.g.
// process_capabilities_fail prints nothing when the runtime rightly refuses the config).
// skip: exit 0 and every assertion is a SKIP. timeout: killed after the time limit.
function classify(tap, exitCode, signal, timedOut, stderr) {
  if (timedOut) return { result: 'timeout', kind: 'timeout', firstFailure: `killed after the timeout${stderr ? ': ' + firstLines(stderr) : ''}` };
  if (tap.notOk > 0) {
    const f = tap.failures[0];
    return { result: 'fail', kind: 'not-ok', firstFailure: `not ok ${f.n} - ${f.description}` };
  }
  if (exitCode !== 0) {
    const how = signal ? `signal ${signal}` : `exit ${exitCode}`;
    return { result: 'fail', kind: 'exit', firstFailure: `${how}: ${firstLines(stderr) || '(no stderr)'}` };
  }
  if (tap.freeErrors.length > 0) {
    return { result: 'fail', kind: 'error-diagnostic', firstFailure: `error: ${tap.freeErrors[0].error.split('\n')[0]}` };
  }
  if (tap.plan && tap.plan.end - tap.plan.start + 1 > 0 && tap.assertions.length !== tap.plan.end - tap.plan.start + 1) {
    return { result: 'fail', kind: 'plan', firstFailure: `plan ${tap.plan.start}..${tap.plan.end} but ${tap.assertions.length} assertions` };
  }
  if (tap.assertions.length > 0 && tap.skip === tap.assertions.length) {
    return { result: 'skip', kind: 'skip', firstFailure: tap.assertions[0].description };
  }
  return { result: 'pass', kind: 'pass', firstFailure: '' };
}

// ---------------------------------------------------------------------------------------------
// cleanup helpers

function unescapeMount(s) {
  return s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
}

function readMountinfo() {
  const out = [];
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    if (!line) continue;
    const parts = line.split(' ');
    const sep = parts.indexOf('-');
    out.push({ root: unescapeMount(parts[3]), mountPoint: unescapeMount(parts[4]), fsType: parts[sep + 1] });
  }
  return out;
}

function isUnder(p, dir) {
  return p === dir || p.startsWith(dir.endsWith('/') ? dir : dir + '/');
}

function mountsUnder(dir) {
  return readMountinfo().map((m) => m.mountPoint).filter((p) => isUnder(p, dir));
}

// Unmounts everything mounted at or below dir (deepest first). Returns what is still mounted.
function unmountUnder(dir) {
  for (let round = 0; round < 5; round++) {
    const mounts = [...new Set(mountsUnder(dir))].sort((a, b) => b.length - a.length);
    if (mounts.length === 0) return [];
    for (const m of mounts) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
  }
  return mountsUnder(dir);
}

// The cgroups that the validation tests name (cgroups.AbsCgroupPath and RelCgroupPath in
// runtime-tools): "/cgrouptest" and the relative "testdir/cgrouptest/container", which a
// runtime may put below the root or below its own cgroup. The harness only ever rmdirs such a
// directory when it did not exist before the test (rmdir fails on a cgroup with tasks or children).
function cgroupCandidates() {
  const own = new Map(); // controller -> path
  try {
    for (const line of fs.readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
      const m = /^\d+:([^:]*):(.*)$/.exec(line);
      if (!m) continue;
      const names = m[1] === '' ? ['<unified>'] : m[1].split(',');
      for (const n of names) own.set(n.replace(/^name=/, ''), m[2]);
    }
  } catch { /* no cgroups */ }
  const rel = ['cgrouptest', 'testdir', 'testdir/cgrouptest', 'testdir/cgrouptest/container'];
  const out = new Map(); // path -> name relative to its base, for the report
  for (const m of readMountinfo()) {
    if (m.fsType !== 'cgroup' && m.fsType !== 'cgroup2') continue;
    const bases = [m.mountPoint];
    const key = m.fsType === 'cgroup2' ? '<unified>' : path.basename(m.mountPoint).split(',')[0];
    let mine = own.get(key);
    if (mine === undefined && m.fsType === 'cgroup') {
      for (const [k, v] of own) if (path.basename(m.mountPoint).split(',').includes(k)) mine = v;
    }
    if (mine !== undefined && isUnder(mine, m.root)) {
      const sub = path.relative(m.root, mine);
      if (sub) bases.push(path.join(m.mountPoint, sub));
    }
    for (const b of bases) for (const r of rel) out.set(path.join(b, r), r);
  }
  return out;
}

function existingDirs(candidates) {
  return new Set([...candidates.keys()].filter((p) => { try { return fs.statSync(p).isDirectory(); } catch { return false; } }));
}

function removeNewCgroups(candidates, before) {
  const notes = [];
  const removed = new Map(); // relative name -> count of hierarchies
  const created = [...candidates.keys()].filter((p) => !before.has(p) && fs.existsSync(p)).sort((a, b) => b.length - a.length);
  for (const p of created) {
    try {
      fs.rmdirSync(p);
      const r = candidates.get(p);
      removed.set(r, (removed.get(r) ?? 0) + 1);
    } catch (e) {
      notes.push(`leftover cgroup ${p} (${e.code ?? e.message})`);
    }
  }
  if (removed.size) {
    notes.unshift(`removed leftover cgroups: ${[...removed].map(([r, n]) => `${r} (${n}x)`).join(', ')}`);
  }
  return notes;
}

function runQuiet(cmd, args, timeoutMs = 30000) {
  return spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL', env: childEnv() });
}

// Containers known to the runtime: [{id, bundle}] or null when `list --format json` is not supported.
function listContainers(runtime) {
  const r = runQuiet(runtime, ['list', '--format', 'json']);
  if (r.status !== 0) return null;
  try {
    const data = JSON.parse(r.stdout.trim() || 'null');
    if (data === null) return [];
    if (!Array.isArray(data)) return null;
    return data.map((c) => ({ id: String(c.id), bundle: String(c.bundle ?? '') }));
  } catch {
    return null;
  }
}

function childEnv(extra = {}) {
  // Every config the suite generates carries a seccomp profile, which tsrun refuses unless the
  // operator accepts running without it (runc and crun do not read this variable).
  const env = { TSRUN_IGNORE_SECCOMP: '1', TSRUN_ALLOW_CHROOT_ONLY: '1', ...process.env, ...extra };
  // Costs a Node start about 55 ms on these machines, and is no concern of the tests.
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

function killGroup(pid, signal = 'SIGKILL') {
  try { process.kill(-pid, signal); return true; } catch { return false; }
}

// ---------------------------------------------------------------------------------------------
// running one test

function runOne(name, cfg, runDir, onSpawn) {
  return new Promise((resolve) => {
    const testDir = path.join(runDir, name);
    const tmpDir = path.join(testDir, 'tmp');
    // 0755 all the way down: a container with a user namespace (linux_uid_mappings,
    // linux_ns_nopath) must be able to reach its bundle below these dirs.
    fs.mkdirSync(tmpDir, { recursive: true, mode: 0o755 });
    fs.chmodSync(testDir, 0o755);
    fs.chmodSync(tmpDir, 0o755);
    // The programs read ./rootfs-<arch>.tar.gz and copy ./runtimetest into each bundle.
    fs.symlinkSync(cfg.rootfs, path.join(testDir, path.basename(cfg.rootfs)));
    // A copy, not a symlink: the tests copy it with github.com/mrunalp/fileutils, which
    // reproduces a symlink as a symlink, whose host path does not resolve inside the container.
    fs.copyFileSync(cfg.runtimetest, path.join(testDir, 'runtimetest'));
    fs.chmodSync(path.join(testDir, 'runtimetest'), 0o755);

    const cgCandidates = cgroupCandidates();
    const cgBefore = existingDirs(cgCandidates);
    const mountsBefore = new Set(readMountinfo().map((m) => m.mountPoint));

    const started = Date.now();
    const child = spawn(path.join(cfg.binDir, name), [], {
      cwd: testDir,
      detached: true, // own process group, so a timeout can kill it and everything it started
      stdio: ['ignore', 'pipe', 'pipe'],
      env: childEnv({ RUNTIME: cfg.runtime, TMPDIR: tmpDir }),
    });
    if (child.pid) onSpawn(child.pid);
    const out = [];
    const err = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, cfg.timeoutMs);

    let spawnError = null;
    child.on('error', (e) => { spawnError = e; });
    // A process outside the test's group (a container init in its own session, say) may still
    // hold the output pipes: give them a few seconds after the test exits, then stop reading.
    child.on('exit', () => {
      setTimeout(() => { child.stdout.destroy(); child.stderr.destroy(); }, 5000).unref();
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const durationMs = Date.now() - started;
      // Anything the test left running in its group (a runtime call, a hook) goes too.
      if (child.pid) killGroup(child.pid);
      const stdout = Buffer.concat(out).toString('utf8');
      let stderr = Buffer.concat(err).toString('utf8');
      if (spawnError) stderr += `\n${spawnError.message}`;

      const cleanup = cleanupTest(cfg, testDir, cgCandidates, cgBefore, mountsBefore);
      const tap = parseTap(stdout);
      const exitCode = spawnError ? -1 : code;
      const c = classify(tap, exitCode, signal, timedOut, stderr);
      resolve({
        name,
        result: c.result,
        kind: c.kind,
        firstFailure: c.firstFailure,
        ok: tap.ok,
        notOk: tap.notOk,
        skip: tap.skip,
        todo: tap.todo,
        plan: tap.plan ? `${tap.plan.start}..${tap.plan.end}` : null,
        exitCode: exitCode,
        signal: signal ?? null,
        timedOut,
        durationMs,
        failures: tap.failures.map((f) => `not ok ${f.n} - ${f.description}`),
        errors: tap.freeErrors.map((e) => e.error),
        cleanup,
        stdout,
        stderr,
      });
    });
  });
}

function cleanupTest(cfg, testDir, cgCandidates, cgBefore, mountsBefore) {
  const notes = [];
  // 1. containers whose bundle lies in this test's dir (the tests make bundles under $TMPDIR)
  const listed = listContainers(cfg.runtime);
  if (listed === null) {
    if (!cfg.warnedList) { cfg.warnedList = true; notes.push('runtime has no usable `list --format json`: leftover containers cannot be found'); }
  } else {
    for (const c of listed) {
      // a create killed before it wrote state.json leaves an entry without a bundle
      if (!(isUnder(c.bundle, testDir) || c.bundle === '') || cfg.preexisting.has(c.id)) continue;
      runQuiet(cfg.runtime, ['kill', c.id, 'KILL']);
      const d = runQuiet(cfg.runtime, ['delete', '--force', c.id]);
      notes.push(`leftover container ${c.id}: ${d.status === 0 ? 'deleted' : 'delete --force failed: ' + firstLines(d.stderr || d.stdout || '', 1)}`);
    }
    const still = listContainers(cfg.runtime);
    for (const c of still ?? []) if (isUnder(c.bundle, testDir) && !cfg.preexisting.has(c.id)) notes.push(`container ${c.id} is still there`);
  }
  // 2. mounts below the test dir, in the harness's (host's) mount namespace
  const before = mountsUnder(testDir);
  if (before.length) notes.push(`unmounted ${before.length} leftover mount(s) below the test dir`);
  const still = unmountUnder(testDir);
  // 3. cgroups the test created and the runtime left behind
  const cgLeft = removeNewCgroups(cgCandidates, cgBefore);
  notes.push(...cgLeft);
  // Mounts that appeared elsewhere during the test are only reported (they may not be ours).
  for (const m of new Set(readMountinfo().map((x) => x.mountPoint))) {
    if (!mountsBefore.has(m) && !isUnder(m, testDir)) notes.push(`new mount outside the test dir (left alone): ${m}`);
  }
  // 4. the temp dir itself; never recurse into something still mounted
  if (still.length) {
    notes.push(`NOT removing ${testDir}: still mounted: ${still.join(', ')}`);
  } else if (!cfg.keep) {
    try { fs.rmSync(testDir, { recursive: true, force: true }); } catch (e) { notes.push(`could not remove ${testDir}: ${e.message}`); }
  }
  return notes;
}

// ---------------------------------------------------------------------------------------------
// output

function trunc(s, n) {
  s = String(s ?? '').replace(/\s+/g, ' ');
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}

function table(rows, headers) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const fmt = (r) => r.map((c, i) => (i === r.length - 1 ? String(c) : String(c).padEnd(widths[i]))).join('  ').trimEnd();
  return [fmt(headers), fmt(widths.map((w) => '-'.repeat(w))), ...rows.map(fmt)].join('\n');
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const cfg = setup(opts);
  if (opts.list) {
    process.stdout.write(cfg.available.join('\n') + '\n');
    return 0;
  }
  cfg.keep = opts.keep;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    process.stderr.write('warning: not running as root; the validation tests need root\n');
  }
  const pre = listContainers(cfg.runtime);
  cfg.preexisting = new Set((pre ?? []).map((c) => c.id));

  const runDir = fs.mkdtempSync(path.join(cfg.tmpBase, 'tsrun-conformance-'));
  fs.chmodSync(runDir, 0o755);
  let interrupted = false;
  let current = null;
  const onSignal = (sig) => {
    interrupted = true;
    if (current) killGroup(current);
    process.stderr.write(`\n${sig}: stopping after cleanup of the current test\n`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  process.stdout.write(`runtime: ${cfg.runtime}\ntests:   ${cfg.binDir} (${cfg.tests.length} of ${cfg.available.length})\nrootfs:  ${cfg.rootfs}\ntimeout: ${cfg.timeoutMs / 1000} s per test\n\n`);

  const started = Date.now();
  const results = [];
  for (const name of cfg.tests) {
    if (interrupted) break;
    process.stderr.write(`running ${name} ... `);
    const r = await runOne(name, cfg, runDir, (pid) => { current = pid; });
    current = null;
    results.push(r);
    process.stderr.write(`${r.result} (${(r.durationMs / 1000).toFixed(1)} s)\n`);
    for (const n of r.cleanup) process.stderr.write(`  cleanup: ${n}\n`);
    if (opts.verbose && r.result !== 'pass') {
      process.stderr.write(`  --- stdout of ${name}\n${r.stdout.replace(/^/gm, '  | ')}\n  --- stderr of ${name}\n${r.stderr.replace(/^/gm, '  | ')}\n`);
    }
  }
  if (!opts.keep) {
    try { fs.rmdirSync(runDir); } catch { process.stderr.write(`note: ${runDir} was not empty and was kept\n`); }
  } else {
    process.stderr.write(`kept per-test dirs under ${runDir}\n`);
  }

  // table
  const rows = results.map((r) => [r.name, r.result, r.ok, r.notOk, r.skip, r.timedOut ? '-' : (r.signal ?? r.exitCode), (r.durationMs / 1000).toFixed(1), trunc(r.firstFailure, 110)]);
  process.stdout.write(table(rows, ['test', 'result', 'ok', 'not ok', 'skip', 'exit', 'secs', 'first failure']) + '\n\n');

  const count = (k) => results.filter((r) => r.result === k).length;
  const totals = {
    tests: results.length,
    pass: count('pass'),
    fail: count('fail'),
    skip: count('skip'),
    timeout: count('timeout'),
    ok: results.reduce((s, r) => s + r.ok, 0),
    notOk: results.reduce((s, r) => s + r.notOk, 0),
    durationMs: Date.now() - started,
  };
  process.stdout.write(`totals: ${totals.pass} pass, ${totals.fail} fail, ${totals.skip} skip, ${totals.timeout} timeout of ${totals.tests} tests; ${totals.ok} ok / ${totals.notOk} not ok assertions; ${(totals.durationMs / 1000).toFixed(0)} s\n`);

  // comparison with expected.json
  const regressions = [];
  const surprises = [];
  const unlisted = [];
  for (const r of results) {
    const e = cfg.expected[r.name];
    if (!e || (e.expect !== 'pass' && e.expect !== 'fail')) { unlisted.push(r.name); continue; }
    if (e.expect === 'pass' && r.result !== 'pass') regressions.push({ name: r.name, result: r.result, firstFailure: r.firstFailure });
    if (e.expect === 'fail' && r.result === 'pass') surprises.push({ name: r.name, reason: e.reason ?? '' });
  }
  process.stdout.write(`\nexpectations: ${path.relative(process.cwd(), cfg.expectedFile) || cfg.expectedFile}\n`);
  if (regressions.length) {
    process.stdout.write(`REGRESSIONS (expected pass, did not pass): ${regressions.length}\n`);
    for (const g of regressions) process.stdout.write(`  ${g.name}: ${g.result}${g.firstFailure ? ' - ' + trunc(g.firstFailure, 140) : ''}\n`);
  } else {
    process.stdout.write('no regressions\n');
  }
  if (surprises.length) {
    process.stdout.write(`surprises (expected fail, passed; update expected.json): ${surprises.length}\n`);
    for (const s of surprises) process.stdout.write(`  ${s.name}${s.reason ? ' (expected to fail: ' + s.reason + ')' : ''}\n`);
  }
  if (unlisted.length) process.stdout.write(`not in expected.json: ${unlisted.join(', ')}\n`);
  if (interrupted) process.stdout.write('interrupted: not every test ran\n');

  if (opts.json) {
    const doc = {
      runtime: cfg.runtime,
      bin: cfg.binDir,
      rootfs: cfg.rootfs,
      timeoutSec: cfg.timeoutMs / 1000,
      date: new Date(started).toISOString(),
      interrupted,
      totals,
      regressions,
      surprises,
      unlisted,
      results,
    };
    fs.writeFileSync(path.resolve(opts.json), JSON.stringify(doc, null, 2) + '\n');
    process.stdout.write(`results written to ${opts.json}\n`);
  }
  return regressions.length > 0 || interrupted ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    if (e instanceof SetupError) {
      process.stderr.write(`conformance: ${e.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`conformance: ${e.stack ?? e}\n`);
    process.exit(2);
  },
);
