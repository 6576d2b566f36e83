// Run by seccomp-kernel.test.ts in a child process: installs the compiled filter of the profile
// named by argv[2] on this thread (no_new_privs, so no root is needed), makes a few system calls
// through libc's syscall(3), and prints what the kernel answered as JSON.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { hostArch } from '../../src/seccomp/arch.ts';
import { compileSeccomp } from '../../src/seccomp/compile.ts';
import { parseSeccomp } from '../../src/seccomp/profile.ts';
import { SYSCALL_TABLES } from '../../src/seccomp/syscalls.generated.ts';

const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
const libc = koffi.load('libc.so.6');
koffi.struct('sock_fprog', { len: 'uint16', filter: 'void *' });
const prctl = libc.func('int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)');
const syscall = libc.func('long syscall(long number, ...)');

const T = SYSCALL_TABLES[hostArch()];
const compiled = compileSeccomp(parseSeccomp(JSON.parse(readFileSync(process.argv[2], 'utf8'))), { nativeArch: hostArch() });
const PR_SET_NO_NEW_PRIVS = 38;
if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) !== 0) throw new Error(`prctl: errno ${koffi.errno()}`);
const SECCOMP_SET_MODE_FILTER = 1;
const loaded = syscall(T.seccomp, 'uint', SECCOMP_SET_MODE_FILTER, 'uint', 0, 'sock_fprog *', { len: compiled.instructions, filter: compiled.program });
if (loaded !== 0) throw new Error(`seccomp(2) refused the program: errno ${koffi.errno()}`);

const call = (nr: number, ...args: number[]) => {
  koffi.errno(0);
  const ret = Number(syscall(nr, ...args.flatMap((a) => ['ulong', a])));
  return ret === -1 ? { errno: koffi.errno() } : { ret };
};
const results = {
  getpid: call(T.getpid),
  mount: call(T.mount, 0, 0, 0, 0, 0),
  beyond: call(1000),
  personalityQuery: call(T.personality, 0xffffffff),
  personalityOther: call(T.personality, 5),
};
process.stdout.write(JSON.stringify({ instructions: compiled.instructions, pid: process.pid, results }) + '\n');
