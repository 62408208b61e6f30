"""x86 speed on a mixed real-mode workload with no exits (assembled by hand; listing below).

        mov  sp,0F000h
        xor  ax,ax
        mov  ds,ax
        mov  es,ax
        mov  ss,ax
outer:  mov  di,2000h
        mov  cx,64
fill:   mov  ax,cx           ; arithmetic + stores
        add  ax,ax
        xor  ax,55h
        mov  [di],al
        inc  di
        loop fill
        mov  si,2000h        ; block copy
        mov  di,3000h
        mov  cx,32
        cld
        rep  movsw
        mov  si,3000h        ; checksum with a call per byte
        mov  cx,64
        xor  dx,dx
sum:    lodsb
        call addd
        test al,1
        jz   even
        ror  al,1
even:   loop sum
        jmp  outer
addd:   add  dl,al
        adc  dh,0
        ret
"""
from __future__ import annotations

import time

import numpy as np

from emu import abi
from emu.core import flat_memory

from . import X86

PROGRAM = bytes([
    0xBC, 0x00, 0xF0,                    # mov sp,F000h
    0x31, 0xC0,                          # xor ax,ax
    0x8E, 0xD8,                          # mov ds,ax
    0x8E, 0xC0,                          # mov es,ax
    0x8E, 0xD0,                          # mov ss,ax
    0xBF, 0x00, 0x20,                    # outer: mov di,2000h
    0xB9, 0x40, 0x00,                    # mov cx,64
    0x89, 0xC8,                          # fill: mov ax,cx
    0x01, 0xC0,                          # add ax,ax
    0x35, 0x55, 0x00,                    # xor ax,55h
    0x88, 0x05,                          # mov [di],al
    0x47,                                # inc di
    0xE2, 0xF4,                          # loop fill
    0xBE, 0x00, 0x20,                    # mov si,2000h
    0xBF, 0x00, 0x30,                    # mov di,3000h
    0xB9, 0x20, 0x00,                    # mov cx,32
    0xFC,                                # cld
    0xF3, 0xA5,                          # rep movsw
    0xBE, 0x00, 0x30,                    # mov si,3000h
    0xB9, 0x40, 0x00,                    # mov cx,64
    0x31, 0xD2,                          # xor dx,dx
    0xAC,                                # sum: lodsb
    0xE8, 0x0A, 0x00,                    # call addd
    0xA8, 0x01,                          # test al,1
    0x74, 0x02,                          # jz even
    0xD0, 0xC8,                          # ror al,1
    0xE2, 0xF4,                          # even: loop sum
    0xEB, 0xCC,                          # jmp outer
    0x00, 0xC2,                          # addd: add dl,al
    0x80, 0xD6, 0x00,                    # adc dh,0
    0xC3,                                # ret
])
assert PROGRAM[0x3F] == 0x00 and PROGRAM[0x44] == 0xC3, "addd must sit at 003Fh"


def bench(seconds: float = 2.0, model=8086) -> dict:
    t0 = time.perf_counter()
    cpu = X86(4.77e6, model=model)
    mem = flat_memory(20, X86.page_bits, space_bits=X86.address_bits)
    mem[0][:len(PROGRAM)] = np.frombuffer(PROGRAM, dtype=np.uint8)
    cpu.set_registers(cs=0, ip=0)
    cpu.execute(mem, 100)
    first = time.perf_counter() - t0
    n0, t = cpu.state[abi.S_INSNS], time.perf_counter()
    while time.perf_counter() - t < seconds:
        cpu.execute(mem, 20_000_000)
    dt = time.perf_counter() - t
    out = {"mips": (cpu.state[abi.S_INSNS] - n0) / dt / 1e6, "first_run_s": first}
    if model == 8086:                          # (emu bench's call): the protected-mode lines too
        out["pm_paging_mips"] = bench_pm(seconds)["mips"]
        out["pm_loop_mips"] = bench_pm_loop(seconds)["mips"]
        try:
            out["pm_loop_unicorn_mips"] = bench_pm_loop_unicorn(seconds)["mips"]
        except ImportError:
            out["pm_loop_unicorn"] = "unicorn not installed (pip install unicorn)"
    return out




# ---- protected mode -----------------------------------------------------------------
# A mixed 32-bit workload at CPL 3 with paging on (identity map, 4 MiB): ALU, loads and
# stores through the TLB, a call per iteration, and every 1000 iterations an INT 80h
# system call whose ring-0 handler reloads CR3 (a TLB flush) before IRETD.
GDT, IDT, TSS, PD, PT, KCODE, UCODE, KSTACK, USTACK = (0x1000, 0x2000, 0x3000, 0x10000, 0x11000,
                                                       0x5000, 0x6000, 0x8000, 0x9000)


def _pm_image() -> bytes:
    import struct

    def desc(base, limit, access, flags):
        return struct.pack("<HHBBBB", limit & 0xFFFF, base & 0xFFFF, (base >> 16) & 0xFF, access,
                           ((limit >> 16) & 0xF) | (flags << 4), base >> 24)
    m = bytearray(1 << 22)
    gdt = (bytes(8) + desc(0, 0xFFFFF, 0x9B, 0xC) + desc(0, 0xFFFFF, 0x93, 0xC)
           + desc(0, 0xFFFFF, 0xFB, 0xC) + desc(0, 0xFFFFF, 0xF3, 0xC) + desc(TSS, 0x67, 0x89, 0))
    m[GDT:GDT + len(gdt)] = gdt
    m[IDT + 0x80 * 8:IDT + 0x80 * 8 + 8] = struct.pack("<HHBBH", KCODE, 0x08, 0, 0xEE, 0)
    m[TSS + 4:TSS + 12] = struct.pack("<II", KSTACK, 0x10)
    m[PD:PD + 4] = struct.pack("<I", PT | 7)
    for i in range(1024):
        m[PT + 4 * i:PT + 4 * i + 4] = struct.pack("<I", (i << 12) | 7)
    # ring 0: mov eax,cr3; mov cr3,eax; iretd
    m[KCODE:KCODE + 7] = bytes.fromhex("0F 20 D8 0F 22 D8 CF")
    user = bytes.fromhex(
        "89 C8"                 # loop: mov eax, ecx
        "01 C0"                 #       add eax, eax
        "35 55 00 00 00"        #       xor eax, 55h
        "89 07"                 #       mov [edi], eax
        "83 C7 04"              #       add edi, 4
        "81 E7 FC 3F 00 00"     #       and edi, 3FFCh
        "81 CF 00 00 20 00"     #       or  edi, 200000h
        "8B 1F"                 #       mov ebx, [edi]
        "E8 0C 00 00 00"        #       call sub
        "49"                    #       dec ecx
        "75 DC"                 #       jnz loop
        "B9 E8 03 00 00"        #       mov ecx, 1000
        "CD 80"                 #       int 80h
        "EB D3"                 #       jmp loop
        "01 DA"                 # sub:  add edx, ebx
        "C3")                   #       ret
    m[UCODE:UCODE + len(user)] = user
    return bytes(m)


# The same loop without the system call, for the comparison with Unicorn (QEMU's TCG):
# ESI counts outer iterations so that Unicorn can run a known number of instructions
# to a stop address (its count= option would add a hook on every instruction).
#   start: mov ecx,1000
#   loop:  (the 13 instructions of the loop above, call and ret included)
#          dec esi / jnz start
#   stop:
LOOP = 0x7000
LOOP_CODE = bytes.fromhex(
    "B9 E8 03 00 00"            # start: mov ecx, 1000
    "89 C8 01 C0 35 55 00 00 00 89 07 83 C7 04 81 E7 FC 3F 00 00 81 CF 00 00 20 00 8B 1F"
    "E8 08 00 00 00"            #        call sub
    "49 75 DC"                  #        dec ecx / jnz loop
    "4E 75 D4"                  #        dec esi / jnz start
    "EB FE"                     # stop:  jmp $
    "01 DA C3")                 # sub:   add edx, ebx / ret
LOOP_STOP = LOOP + LOOP_CODE.index(bytes.fromhex("EB FE"))
LOOP_INSNS = 1 + 13 * 1000 + 2                 # instructions per outer iteration
# ring 0 -> ring 3 as a kernel does: push SS, ESP, EFLAGS, CS, EIP; IRETD (6 instructions)
PROLOGUE = 0x6F00


def _pm_loop_image() -> bytes:
    import struct
    m = bytearray(_pm_image())
    m[LOOP:LOOP + len(LOOP_CODE)] = LOOP_CODE
    pro = (bytes.fromhex("6A 23 68") + struct.pack("<I", USTACK) + bytes.fromhex("9C 6A 1B 68")
           + struct.pack("<I", LOOP) + b"\xCF")
    m[PROLOGUE:PROLOGUE + len(pro)] = pro
    return bytes(m)


def bench_pm_loop(seconds: float = 2.0) -> dict:
    """Guest MIPS of our core on the loop without the system call, CPL 3, paging on."""
    x, mem = _pm_machine(_pm_loop_image(), LOOP)
    s = x.state
    x.set_registers(esi=0xFFFFFFFF)              # outer iterations (4 G: never ends here)
    x.execute(mem, 1000)
    n0, t = s[abi.S_INSNS], time.perf_counter()
    while time.perf_counter() - t < seconds:
        x.execute(mem, 20_000_000)
    dt = time.perf_counter() - t
    from . import cpu as c
    assert s[c.CPL] == 3 and LOOP <= s[c.EIP] < LOOP + len(LOOP_CODE) and s[c.EIP] != LOOP_STOP, \
        "the workload left its loop"
    return {"mips": (s[abi.S_INSNS] - n0) / dt / 1e6}


def bench_pm_loop_unicorn(seconds: float = 2.0) -> dict:
    """Unicorn (no hooks) on the same image and loop: flat protected mode with the same
    GDT and page tables (CR0.PG on), entered at CPL 3 by the IRETD prologue; it runs a
    known number of outer iterations to the stop address, so the instruction count is
    6 + K * LOOP_INSNS exactly.  Raises ImportError without the unicorn package."""
    from unicorn import UC_ARCH_X86, UC_MODE_32, Uc
    from unicorn import x86_const as U
    uc = Uc(UC_ARCH_X86, UC_MODE_32)
    image = _pm_loop_image()
    uc.mem_map(0, len(image))
    uc.mem_write(0, image)
    uc.reg_write(U.UC_X86_REG_GDTR, (0, GDT, 47, 0))
    uc.reg_write(U.UC_X86_REG_IDTR, (0, IDT, 0x80 * 8 + 7, 0))
    uc.reg_write(U.UC_X86_REG_CR3, PD)
    uc.reg_write(U.UC_X86_REG_CR0, 0x80000011)

    def go(k):
        for r, v in ((U.UC_X86_REG_ESP, KSTACK), (U.UC_X86_REG_ESI, k), (U.UC_X86_REG_EDI, 0x200000),
                     (U.UC_X86_REG_EFLAGS, 2)):
            uc.reg_write(r, v)
        t = time.perf_counter()
        uc.emu_start(PROLOGUE, LOOP_STOP)
        dt = time.perf_counter() - t
        assert uc.reg_read(U.UC_X86_REG_EIP) == LOOP_STOP and uc.reg_read(U.UC_X86_REG_CS) == 0x1B
        return 6 + k * LOOP_INSNS, dt
    go(2)                                        # translate the code (QEMU's JIT) first
    n, dt = go(20)
    k = max(20, int(20 * seconds / max(dt, 1e-6)))   # about ``seconds`` of running
    n, dt = go(k)
    return {"mips": n / dt / 1e6}


def _pm_machine(image: bytes, eip: int):
    """Our core in the image's flat protected mode at CPL 3 with paging (model p6)."""
    from . import cpu as c
    x = X86(200e6, model="p6")
    mem = flat_memory(22, X86.page_bits, space_bits=X86.address_bits)
    mem[0][:] = np.frombuffer(image, dtype=np.uint8)
    s = x.state
    s[c.CR0] |= c.PE | c.PG
    s[c.CR3] = PD
    s[c.GDTB], s[c.GDTL], s[c.IDTB], s[c.IDTL] = GDT, 47, IDT, 0x80 * 8 + 7
    s[c.TR], s[c.TRB], s[c.TRL], s[c.TRA] = 0x28, TSS, 0x67, 0x8B
    for i in range(6):
        sel, attr = (0x1B, 0xCFB) if i == c.CS else (0x23, 0xCF3)
        s[c.SEL + i], s[c.BASE + i], s[c.LIMIT + i], s[c.ATTR + i] = sel, 0, 0xFFFFFFFF, attr
    s[c.CSD] = s[c.SSB] = 1
    s[c.CPL] = 3
    x.set_registers(eip=eip, esp=USTACK, ecx=1000, edi=0x200000, eflags=0x202 & ~0x200)
    return x, mem


def bench_pm(seconds: float = 2.0) -> dict:
    """Guest MIPS of the protected-mode workload above (model p6)."""
    from . import cpu as c
    x, mem = _pm_machine(_pm_image(), UCODE)
    s = x.state
    x.execute(mem, 1000)
    n0, t = s[abi.S_INSNS], time.perf_counter()
    while time.perf_counter() - t < seconds:
        x.execute(mem, 20_000_000)
    dt = time.perf_counter() - t
    in_loop = s[c.CPL] == 3 and UCODE <= s[c.EIP] < UCODE + 0x40
    in_syscall = s[c.CPL] == 0 and KCODE <= s[c.EIP] < KCODE + 7    # a run may end in INT 80h's handler
    assert in_loop or in_syscall, "the workload left its loop"
    return {"mips": (s[abi.S_INSNS] - n0) / dt / 1e6}


if __name__ == "__main__":
    print(bench())
