"""Bank switcher: a port or memory write selects a bank of an address space.

    devices:  {rombank: {type: bank_switch, bank: rom_window, select: value, mask: 0x0F}}
    ports:    {maincpu: [{start: 0x20, device: rombank}]}

``select: value`` picks choice ``value & mask``; ``select: N`` always picks N
(e.g. a boot-ROM overlay that any write removes)."""
from __future__ import annotations

from ..device import Device
from ..errors import EmuError


class BankSwitch(Device):
    PARAMS = {"bank": None, "space": None, "select": "value", "mask": 0xFF}
    SAVE_FIELDS = ()

    @staticmethod
    def validate_params(p):
        if not p.get("bank"):
            return "bank", "required parameter is missing (name of a bank in the memory map)"
        sel = p.get("select", "value")
        if sel != "value" and not isinstance(sel, int):
            return "select", f"must be 'value' or a choice number, got {sel!r}"
        return None

    def start(self):
        space = self.machine.spaces[self.space or self.machine.cpu.name]
        if self.bank not in space.banks:
            raise EmuError(f"device {self.name}: no bank {self.bank!r} in the memory map of "
                           f"{space.name} (banks: {', '.join(space.banks) or 'none'})")
        self._bank = space.banks[self.bank]

    def _select(self, value):
        self._bank.select(value & self.mask if self.select == "value" else self.select)

    def io_write(self, port, value, size):
        self._select(value)

    def mem_write(self, addr, value, size):
        self._select(value)

    def io_read(self, port, size):
        return self._bank.index


DEVICE = BankSwitch
