"""Mode ``bt``: binary translation (the seed's software VMM; VMware's for the
same ISA, Virtual PC's across ISAs).  The guest's code is translated into host
x86 code in a translation cache that the host CPU runs; which translator depends
on the guest's ISA:

* x86 guests (emu.vmm.bt_x86): kernel code (CPL 0) is translated block by block
  and run at ring 1, sensitive instructions rewritten; user code runs directly.
* Z80 guests (emu.vmm.bt_z80): every instruction is translated into x86 code
  that keeps the Z80's registers and exact flags.
"""
from __future__ import annotations

import importlib

from .mode import Mode, ModeError

TRANSLATORS = {"x86": ("bt_x86", "BtX86"), "z80": ("bt_z80", "BtZ80")}


class Bt(Mode):
    name = "bt"
    isas = frozenset(TRANSLATORS)
    summary = "guest code translated into host x86 code in a translation cache (x86 same-ISA, Z80 cross-ISA)"

    @classmethod
    def translator(cls, isa: str):
        modname, clsname = TRANSLATORS[isa]
        try:
            mod = importlib.import_module(f".{modname}", __package__)
        except ModuleNotFoundError as e:
            raise ModeError(f"mode 'bt': no translator for {isa} guests yet") from e
        return getattr(mod, clsname)

    @classmethod
    def check(cls, spec) -> None:
        super().check(spec)
        cls.translator(spec.isa).check(spec)

    def __new__(cls, vm):
        return cls.translator(vm.spec.isa)(vm)
