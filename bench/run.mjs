// tsrun side by side with runc and crun, in one run, on the same bundle: `run` of /bin/true, and a
// create+start+delete cycle; then the RSS of a created container's waiting init. Not a test: it
// only prints. NODE_EXTRA_CA_CERTS is unset for every runtime (it costs Node ~55 ms a start).
// usage: node bench/run.mjs [iterations]
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const iterations = Number(process.argv[2] ?? 20);
const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;

const work = mkdtempSync(join(tmpdir(), 'tsrun-bench-'));
const bundle = join(work, 'bundle');
cpSync(join(repo, 'bundles/default'), bundle, { recursive: true, verbatimSymlinks: true });
const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
config.process.args = ['/bin/true'];
// runc 1.1 and crun 1.8 know runtime-spec 1.0/1.1 only.
config.ociVersion = '1.0.2';
writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));

const which = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const crunHybrid = join(repo, '..', 'shared', 'tools', 'crun-hybrid');
const runtimes = [
  { name: 'tsrun', cmd: [join(repo, 'bin/tsrun')] },
  which('runc') && { name: 'runc', cmd: ['runc'] },
  which('crun') && existsSync(crunHybrid) && { name: 'crun', cmd: [crunHybrid] },
].filter(Boolean);

function call(rt, args, options = {}) {
  const [cmd, ...pre] = rt.cmd;
  const root = join(work, `root-${rt.name}`);
  // stdio goes to files of our own: a created container inherits it (a pipe would keep spawnSync
  // waiting), and crun chowns the stdio it is given to the container's user ('ignore' would hand
  // it the host's /dev/null).
  const errFile = join(work, 'stderr');
  const err = openSync(errFile, 'w');
  const io = openSync(join(work, 'stdio'), 'a+');
  const r = spawnSync(cmd, [...pre, '--root', root, ...args], { env, cwd: bundle, stdio: [io, options.stdout ?? io, err] });
  closeSync(err);
  closeSync(io);
  if (r.status !== 0 && !options.mayFail) throw new Error(`${rt.name} ${args.join(' ')}: exit ${r.status}: ${readFileSync(errFile, 'utf8')}`);
}

function time(fn) {
  const samples = [];
  for (let i = 0; i < iterations; i++) {
    const t = process.hrtime.bigint();
    fn(i);
    samples.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

const results = [];
for (const rt of runtimes) {
  const run = time((i) => call(rt, ['run', '--bundle', bundle, `bench-run-${i}`]));
  const cycle = time((i) => {
    const id = `bench-cycle-${i}`;
    call(rt, ['create', '--bundle', bundle, id]);
    call(rt, ['start', id]);
    // wait until it has exited, as a caller would before delete
    for (let s = 0; s < 1000; s++) {
      const r = spawnSync(rt.cmd[0], [...rt.cmd.slice(1), '--root', join(work, `root-${rt.name}`), 'state', id], { env, encoding: 'utf8' });
      if (r.status === 0 && JSON.parse(r.stdout).status === 'stopped') break;
    }
    call(rt, ['delete', id]);
  });
  const id = 'bench-rss';
  call(rt, ['create', '--bundle', bundle, '--pid-file', join(work, 'rss.pid'), id]);
  const pid = readFileSync(join(work, 'rss.pid'), 'utf8').trim();
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
  call(rt, ['delete', '--force', id], { mayFail: true });
  results.push({ name: rt.name, run, cycle, rss });
}
rmSync(work, { recursive: true, force: true });

const base = results.find((r) => r.name === 'runc') ?? results[0];
console.log(`median of ${iterations} iterations; ratios are against ${base.name}\n`);
console.log('runtime   run /bin/true           create+start+delete     RSS of waiting init');
for (const r of results) {
  const cell = (v, b) => `${v.toFixed(1).padStart(7)} ms (x${(v / b).toFixed(2)})`;
  console.log(`${r.name.padEnd(8)}  ${cell(r.run, base.run).padEnd(22)}  ${cell(r.cycle, base.cycle).padEnd(22)}  ${r.rss.toFixed(2)} MB`);
}
