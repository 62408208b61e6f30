"""The protected-mode bench loop (cores/x86/bench.py) that `emu bench` runs on our
core and on Unicorn: both execute the same instructions, and the instruction count
the Unicorn figure is computed from is exact (counted here with a code hook, which
the timed run does without)."""
import pytest

from cores.x86 import bench, cpu
from emu import abi


def test_pm_loop_same_work_and_exact_count():
    unicorn = pytest.importorskip("unicorn")
    from unicorn import x86_const as U
    k = 3
    uc = unicorn.Uc(unicorn.UC_ARCH_X86, unicorn.UC_MODE_32)
    image = bench._pm_loop_image()
    uc.mem_map(0, len(image))
    uc.mem_write(0, image)
    uc.reg_write(U.UC_X86_REG_GDTR, (0, bench.GDT, 47, 0))
    uc.reg_write(U.UC_X86_REG_CR3, bench.PD)
    uc.reg_write(U.UC_X86_REG_CR0, 0x80000011)
    for r, v in ((U.UC_X86_REG_ESP, bench.KSTACK), (U.UC_X86_REG_ESI, k), (U.UC_X86_REG_EDI, 0x200000),
                 (U.UC_X86_REG_ECX, 1000), (U.UC_X86_REG_EFLAGS, 2)):
        uc.reg_write(r, v)
    n = [0]
    uc.hook_add(unicorn.UC_HOOK_CODE, lambda *a: n.__setitem__(0, n[0] + 1))
    uc.emu_start(bench.PROLOGUE, bench.LOOP_STOP)
    assert n[0] == 6 + k * bench.LOOP_INSNS
    assert uc.reg_read(U.UC_X86_REG_CS) == 0x1B            # ran at CPL 3

    x, mem = bench._pm_machine(image, bench.LOOP)            # ours starts past the prologue
    s = x.state
    s[cpu.ESI], s[cpu.EDX] = k, 0                          # (EDX: both start at 0)
    s[abi.S_BREAK] = bench.LOOP_STOP
    for _ in range(100):
        if x.execute(mem, 100_000) == abi.EXIT_BREAKPOINT:
            break
    assert int(s[cpu.EIP]) == bench.LOOP_STOP
    assert int(s[abi.S_INSNS]) == k * bench.LOOP_INSNS
    regs = x.get_registers()
    for name in ("eax", "ebx", "ecx", "edx", "esi", "edi", "esp"):
        assert regs[name] == uc.reg_read(getattr(U, f"UC_X86_REG_{name.upper()}")), name
    assert bytes(mem[0][0x200000:0x204000]) == bytes(uc.mem_read(0x200000, 0x4000))
