// `features`: what this tsrun implements, as runtime-spec's features.md structure. Callers such as
// containerd read it to decide what they may ask for, so it claims only what tsrun really does.
import { CAPABILITY_NAMES } from '../plan/capabilities.ts';
import { supportedMountOptions } from '../plan/mount-options.ts';
import { parseVerbArgs, type Verb } from './args.ts';

export function features() {
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: '1.3.0',
    hooks: ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'],
    mountOptions: supportedMountOptions(),
    linux: {
      namespaces: ['cgroup', 'ipc', 'mount', 'network', 'pid', 'time', 'user', 'uts'],
      capabilities: [...CAPABILITY_NAMES],
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false, rdma: true },
      seccomp: { enabled: false },
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: false } },
    },
    annotations: {},
  };
}

export const verb: Verb = {
  summary: 'print what this runtime implements (runtime-spec features JSON)',
  usage: 'tsrun features',
  run(args) {
    parseVerbArgs('features', args, {}, { min: 0, max: 0, names: '' });
    process.stdout.write(JSON.stringify(features(), null, 2) + '\n');
    return 0;
  },
};
