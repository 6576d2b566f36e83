// A small classic-BPF assembler for seccomp filters: instructions jump to labels, and the layout
// turns each conditional jump farther than 255 instructions (jt/jf are 8 bits) into a short jump
// to a BPF_JA trampoline placed right after it, whose 32-bit k reaches anywhere. All jumps go
// forward, as the kernel requires.

export const BPF = {
  LD_W_ABS: 0x20, // BPF_LD | BPF_W | BPF_ABS
  ALU_AND_K: 0x54, // BPF_ALU | BPF_AND | BPF_K
  JA: 0x05, // BPF_JMP | BPF_JA
  JEQ_K: 0x15,
  JGT_K: 0x25,
  JGE_K: 0x35,
  JSET_K: 0x45,
  RET_K: 0x06, // BPF_RET | BPF_K
} as const;

/** BPF_MAXINSNS: the kernel refuses longer programs. */
export const BPF_MAXINSNS = 4096;

export type Label = { readonly id: number };
export type JumpOp = 'jeq' | 'jgt' | 'jge' | 'jset';

type Insn =
  | { kind: 'ld'; k: number }
  | { kind: 'and'; k: number }
  | { kind: 'jump'; op: JumpOp; k: number; jt: Label; jf: Label }
  | { kind: 'ja'; to: Label }
  | { kind: 'ret'; k: number }
  | { kind: 'label'; label: Label };

const JUMP_CODES: Record<JumpOp, number> = { jeq: BPF.JEQ_K, jgt: BPF.JGT_K, jge: BPF.JGE_K, jset: BPF.JSET_K };

export interface SockFilter {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

export class Assembler {
  private insns: Insn[] = [];
  private labels = 0;

  label(): Label {
    return { id: this.labels++ };
  }
  place(label: Label): void {
    this.insns.push({ kind: 'label', label });
  }
  ld(offset: number): void {
    this.insns.push({ kind: 'ld', k: offset });
  }
  and(k: number): void {
    this.insns.push({ kind: 'and', k: k >>> 0 });
  }
  jump(op: JumpOp, k: number, jt: Label, jf: Label): void {
    this.insns.push({ kind: 'jump', op, k: k >>> 0, jt, jf });
  }
  ja(to: Label): void {
    this.insns.push({ kind: 'ja', to });
  }
  ret(k: number): void {
    this.insns.push({ kind: 'ret', k: k >>> 0 });
  }

  /** The program: labels resolved, long conditional jumps given trampolines. */
  assemble(): SockFilter[] {
    // trampolines[i]: does jump i need one for jt / jf
    const far = new Map<number, { t: boolean; f: boolean }>();
    for (;;) {
      const { pos, at } = this.layout(far);
      let changed = false;
      this.insns.forEach((insn, i) => {
        if (insn.kind !== 'jump') return;
        const need = far.get(i) ?? { t: false, f: false };
        if (!need.t && at(insn.jt) - (pos[i] + 1) > 255) (need.t = true), (changed = true);
        if (!need.f && at(insn.jf) - (pos[i] + 1) > 255) (need.f = true), (changed = true);
        far.set(i, need);
      });
      if (!changed) return this.encode(far, pos, at);
    }
  }

  private layout(far: Map<number, { t: boolean; f: boolean }>) {
    const pos: number[] = [];
    const labelPos = new Map<number, number>();
    let n = 0;
    this.insns.forEach((insn, i) => {
      pos[i] = n;
      if (insn.kind === 'label') labelPos.set(insn.label.id, n);
      else if (insn.kind === 'jump') n += 1 + (far.get(i)?.t ? 1 : 0) + (far.get(i)?.f ? 1 : 0);
      else n += 1;
    });
    const at = (label: Label) => {
      const p = labelPos.get(label.id);
      if (p === undefined) throw new Error(`seccomp assembler: label ${label.id} never placed`);
      return p;
    };
    return { pos, at, length: n };
  }

  private encode(far: Map<number, { t: boolean; f: boolean }>, pos: number[], at: (l: Label) => number): SockFilter[] {
    const out: SockFilter[] = [];
    const offset = (from: number, to: number) => {
      const d = to - (from + 1);
      if (d < 0) throw new Error('seccomp assembler: backward jump');
      return d;
    };
    this.insns.forEach((insn, i) => {
      const here = pos[i];
      switch (insn.kind) {
        case 'label':
          return;
        case 'ld':
          return void out.push({ code: BPF.LD_W_ABS, jt: 0, jf: 0, k: insn.k });
        case 'and':
          return void out.push({ code: BPF.ALU_AND_K, jt: 0, jf: 0, k: insn.k });
        case 'ret':
          return void out.push({ code: BPF.RET_K, jt: 0, jf: 0, k: insn.k });
        case 'ja':
          return void out.push({ code: BPF.JA, jt: 0, jf: 0, k: offset(here, at(insn.to)) });
        case 'jump': {
          const need = far.get(i) ?? { t: false, f: false };
          const tPos = need.t ? here + 1 : at(insn.jt);
          const fPos = need.f ? here + 1 + (need.t ? 1 : 0) : at(insn.jf);
          out.push({ code: JUMP_CODES[insn.op], jt: offset(here, tPos), jf: offset(here, fPos), k: insn.k });
          if (need.t) out.push({ code: BPF.JA, jt: 0, jf: 0, k: offset(here + 1, at(insn.jt)) });
          if (need.f) out.push({ code: BPF.JA, jt: 0, jf: 0, k: offset(fPos, at(insn.jf)) });
          return;
        }
      }
    });
    for (const f of out) if (f.jt > 255 || f.jf > 255) throw new Error('seccomp assembler: jump out of range');
    return out;
  }
}

/** struct sock_filter[] in host byte order (u16 code, u8 jt, u8 jf, u32 k), as seccomp(2) takes it. */
export function toBytes(program: SockFilter[]): Buffer {
  const buf = Buffer.alloc(program.length * 8);
  const le = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  program.forEach((f, i) => {
    if (le) buf.writeUInt16LE(f.code, i * 8);
    else buf.writeUInt16BE(f.code, i * 8);
    buf.writeUInt8(f.jt, i * 8 + 2);
    buf.writeUInt8(f.jf, i * 8 + 3);
    if (le) buf.writeUInt32LE(f.k >>> 0, i * 8 + 4);
    else buf.writeUInt32BE(f.k >>> 0, i * 8 + 4);
  });
  return buf;
}

/** The inverse of toBytes (for tests and dumps). */
export function fromBytes(buf: Buffer): SockFilter[] {
  const le = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  const out: SockFilter[] = [];
  for (let i = 0; i + 8 <= buf.length; i += 8)
    out.push({ code: le ? buf.readUInt16LE(i) : buf.readUInt16BE(i), jt: buf[i + 2], jf: buf[i + 3], k: le ? buf.readUInt32LE(i + 4) : buf.readUInt32BE(i + 4) });
  return out;
}
