// A classic-BPF interpreter for seccomp programs, as the kernel runs them (net/core/filter.c's
// checks that matter here: every jump forward and inside the program, loads aligned and inside
// struct seccomp_data, the program ending in a return), for the unit tests and the fuzzer.
import { fromBytes, type SockFilter } from '../../src/seccomp/bpf.ts';

export interface SeccompData {
  nr: number;
  arch: number;
  instructionPointer?: bigint;
  /** six 64-bit arguments */
  args: bigint[];
}

export interface Run {
  ret: number;
  /** instructions executed */
  steps: number;
}

const SECCOMP_DATA_SIZE = 64;

/** The kernel's static checks (seccomp_check_filter and bpf_check_classic, in what we emit). */
export function checkProgram(program: SockFilter[]): void {
  if (program.length === 0 || program.length > 4096) throw new Error(`bad length ${program.length}`);
  program.forEach((f, pc) => {
    switch (f.code) {
      case 0x20: // ld [k]
        if (f.k % 4 !== 0 || f.k >= SECCOMP_DATA_SIZE) throw new Error(`pc ${pc}: bad load offset ${f.k}`);
        break;
      case 0x54: // and #k
      case 0x06: // ret #k
        break;
      case 0x05: // ja
        if (pc + 1 + f.k >= program.length) throw new Error(`pc ${pc}: ja out of the program`);
        break;
      case 0x15:
      case 0x25:
      case 0x35:
      case 0x45:
        if (pc + 1 + f.jt >= program.length || pc + 1 + f.jf >= program.length) throw new Error(`pc ${pc}: jump out of the program`);
        break;
      default:
        throw new Error(`pc ${pc}: opcode 0x${f.code.toString(16)} not expected`);
    }
  });
  const last = program[program.length - 1];
  if (last.code !== 0x06 && last.code !== 0x05) throw new Error('the program does not end in a return');
}

function word(data: SeccompData, offset: number): number {
  if (offset === 0) return data.nr >>> 0;
  if (offset === 4) return data.arch >>> 0;
  const value = offset < 16 ? (data.instructionPointer ?? 0n) : data.args[(offset - 16) >> 3] ?? 0n;
  const high = (offset & 4) !== 0;
  return Number((high ? value >> 32n : value) & 0xffffffffn);
}

export function run(program: SockFilter[] | Buffer, data: SeccompData): Run {
  const insns = Buffer.isBuffer(program) ? fromBytes(program) : program;
  let a = 0;
  let pc = 0;
  let steps = 0;
  for (;;) {
    const f = insns[pc];
    if (!f) throw new Error(`pc ${pc} outside the program`);
    steps++;
    switch (f.code) {
      case 0x20:
        a = word(data, f.k);
        pc++;
        break;
      case 0x54:
        a = (a & f.k) >>> 0;
        pc++;
        break;
      case 0x06:
        return { ret: f.k >>> 0, steps };
      case 0x05:
        pc += 1 + f.k;
        break;
      case 0x15:
        pc += 1 + (a === f.k >>> 0 ? f.jt : f.jf);
        break;
      case 0x25:
        pc += 1 + (a > f.k >>> 0 ? f.jt : f.jf);
        break;
      case 0x35:
        pc += 1 + (a >= f.k >>> 0 ? f.jt : f.jf);
        break;
      case 0x45:
        pc += 1 + ((a & f.k) !== 0 ? f.jt : f.jf);
        break;
      default:
        throw new Error(`opcode 0x${f.code.toString(16)} at ${pc}`);
    }
  }
}
