// The verbs that act on a container's cgroups: update, pause/resume, kill --all, events, delete;
// and where linux.cgroupsPath puts the cgroup. Runs on a hybrid or a pure cgroup v2 host.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MB, cgroupDir, cgroupFile, startContainer, versionOf } from './cgroups-host.ts';
import { inSandbox, waitFor } from './helpers.ts';

const memoryLimit = (pid: number) => cgroupFile(pid, 'memory', versionOf('memory') === 1 ? 'memory.limit_in_bytes' : 'memory.max');

test('update changes the limits of a running container; bad input changes nothing', () =>
  inSandbox(async (sb) => {
    const { id, pid } = startContainer(sb, (c) => (c.linux.resources = { memory: { limit: 100 * MB }, pids: { limit: 20 } }));
    sb.tsrun(['update', '--memory', '200m', '--pids-limit', '30', '--cpu-quota', '30000', '--cpu-period', '100000', id]).ok();
    assert.is(memoryLimit(pid), String(200 * MB));
    assert.is(cgroupFile(pid, 'pids', 'pids.max'), '30');
    assert.is(versionOf('cpu') === 1 ? cgroupFile(pid, 'cpu', 'cpu.cfs_quota_us') : cgroupFile(pid, 'cpu', 'cpu.max'), versionOf('cpu') === 1 ? '30000' : '30000 100000');

    const file = sb.file('resources.json');
    writeFileSync(file, JSON.stringify({ pids: { limit: -1 }, memory: { limit: 150 * MB } }));
    sb.tsrun(['update', '--resources', file, id]).ok();
    assert.is(cgroupFile(pid, 'pids', 'pids.max'), 'max');
    assert.is(memoryLimit(pid), String(150 * MB));
    sb.tsrun(['update', '-r', '-', id], { input: JSON.stringify({ pids: { limit: 7 } }) }).ok();
    assert.is(cgroupFile(pid, 'pids', 'pids.max'), '7');

    // below the current usage with checkBeforeUpdate: refused, the old limit stays
    const low = sb.tsrun(['update', '-r', '-', id], { input: JSON.stringify({ memory: { limit: 4096, checkBeforeUpdate: true } }) });
    assert.is(low.status, 1);
    assert.match(low.stderr, /below the current usage/);
    assert.is(memoryLimit(pid), String(150 * MB));

    for (const args of [['--memory', 'lots'], ['--pids-limit', '1.5'], ['--bogus', '1'], []]) {
      const bad = sb.tsrun(['update', ...args, id]);
      assert.is(bad.status, 2, `update ${args.join(' ')}: ${bad.stderr}`);
    }
    const invalid = sb.tsrun(['update', '-r', '-', id], { input: JSON.stringify({ pids: { limit: 'ten' } }) });
    assert.is(invalid.status, 2);
    assert.match(invalid.stderr, /pids\.limit/);
    assert.is(cgroupFile(pid, 'pids', 'pids.max'), '7');
    assert.is(sb.tsrun(['update', '--pids-limit', '5', sb.id('missing')]).status, 1, 'no such container');
    sb.tsrun(['update', '--memory', '-1', id]).ok();
    assert.ok(['max', '9223372036854771712'].includes(memoryLimit(pid)), '-1: unlimited');
    sb.tsrun(['delete', '--force', id]).ok();
  }));

test('pause freezes every process of the container and resume continues them', () =>
  inSandbox(async (sb) => {
    // a counter that a frozen container cannot advance, and a second process in its own session
    const { id, output } = startContainer(sb, () => {}, ['sh', '-c', 'setsid sh -c "while :; do echo tick; sleep 0.02; done" & exec sleep 300']);
    await waitFor(() => readFileSync(output, 'utf8').includes('tick'), 10_000, () => 'the counter to run');
    const pids: number[] = JSON.parse(sb.tsrun(['ps', '--format', 'json', id]).ok().stdout);
    assert.ok(pids.length >= 3, `init, setsid'd loop and its sleep: ${pids}`);
    sb.tsrun(['pause', id]).ok();
    assert.is(sb.state(id).status, 'paused');
    const frozenFile = versionOf('freezer') === 1 ? ['freezer', 'freezer.state', 'FROZEN'] : ['', 'cgroup.events', 'frozen 1'];
    const pid = sb.state(id).pid;
    assert.ok(cgroupFile(pid, frozenFile[0], frozenFile[1]).split('\n').includes(frozenFile[2]));
    const frozenAt = readFileSync(output, 'utf8').length;
    // the loop ticks every 20 ms: after a few events round trips (each well above that) it still has not moved
    for (let i = 0; i < 3; i++) JSON.parse(sb.tsrun(['events', '--stats', id]).ok().stdout);
    assert.is(readFileSync(output, 'utf8').length, frozenAt, 'no tick while paused');
    sb.tsrun(['resume', id]).ok();
    assert.is(sb.state(id).status, 'running');
    await waitFor(() => readFileSync(output, 'utf8').length > frozenAt, 10_000, () => 'the counter to continue');
    sb.tsrun(['delete', '--force', id]).ok();
  }));

test('kill --all reaches processes that left the init process group; delete removes the cgroup', () =>
  inSandbox(async (sb) => {
    const { id, pid } = startContainer(sb, () => {}, ['sh', '-c', 'setsid sleep 301 & sleep 302 & wait']);
    await waitFor(() => JSON.parse(sb.tsrun(['ps', '--format', 'json', id]).ok().stdout).length >= 3, 10_000, () => 'the sleeps');
    const pids: number[] = JSON.parse(sb.tsrun(['ps', '--format', 'json', id]).ok().stdout);
    const dir = cgroupDir(pid, 'pids');
    sb.tsrun(['kill', '--all', id, 'KILL']).ok();
    await waitFor(() => pids.every((p) => !existsSync(`/proc/${p}`) || readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]?.startsWith('Z')), 10_000, () => 'every process to die');
    await sb.waitForStatus(id, 'stopped');
    sb.tsrun(['delete', id]).ok();
    assert.not.ok(existsSync(dir), 'the cgroup is gone');
  }));

test('cgroupsPath: relative to tsrun\'s own cgroup, or absolute', () =>
  inSandbox(async (sb) => {
    const name = `tsrun-test-${sb.id('rel')}`;
    const own = cgroupDir(process.pid, 'pids');
    // cgroup v2 enables no controller below a cgroup that holds processes (tsrun's own), unless it is the root
    const limited = versionOf('pids') === 1 || own === cgroupDir(1, 'pids');
    const { id, pid } = startContainer(sb, (c) => {
      c.linux.cgroupsPath = name;
      if (limited) c.linux.resources = { pids: { limit: 9 } };
    });
    assert.is(cgroupDir(pid, 'pids'), join(own, name), 'below the cgroup tsrun runs in');
    if (limited) assert.is(cgroupFile(pid, 'pids', 'pids.max'), '9');
    sb.tsrun(['delete', '--force', id]).ok();
    assert.not.ok(existsSync(join(own, name)));

    const absolute = `/tsrun-test-abs/${sb.id('abs')}`;
    const second = startContainer(sb, (c) => (c.linux.cgroupsPath = absolute));
    assert.ok(cgroupDir(second.pid, 'pids').endsWith(absolute));
    const parent = cgroupDir(second.pid, 'pids').slice(0, -absolute.length) + '/tsrun-test-abs';
    sb.tsrun(['delete', '--force', second.id]).ok();
    assert.not.ok(existsSync(parent), 'the parent tsrun made is removed with its last container');
  }));

test('events streams stats at the interval and ends when the container stops', () =>
  inSandbox(async (sb) => {
    const { id } = startContainer(sb, () => {}, ['sleep', '300']);
    const { spawn } = await import('node:child_process');
    const { TSRUN, tsrunEnv } = await import('./helpers.ts');
    const events = spawn(TSRUN, ['--root', sb.root, 'events', '--interval', '100ms', id], { env: tsrunEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    events.stdout.on('data', (d) => (out += d));
    await waitFor(() => out.split('\n').length > 2, 60_000, () => `two stats events (have ${JSON.stringify(out)})`);
    sb.tsrun(['kill', id, 'KILL']).ok();
    await waitFor(() => events.exitCode !== null, 60_000, () => 'events to end once the container stopped');
    assert.is(events.exitCode, 0);
    const lines = out.trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(lines.length >= 2, `several stats events: ${lines.length}`);
    assert.ok(lines.every((e) => e.type === 'stats' && e.id === id && e.data.pids && e.data.memory && e.data.cpu));
    assert.is(sb.tsrun(['events', '--interval', 'soon', id]).status, 2);
    sb.tsrun(['delete', id]).ok();
  }));

test.run();
