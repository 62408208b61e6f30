"""Write tables.inc: the BIOS's MP and ACPI tables as nasm source (build.sh runs this).

The tables describe machines/pc.yaml's board: one CPU whose local APIC is at
FEE00000h, one 82093AA I/O APIC at FEC00000h (24 pins, GSI 0-23), the 8259
pair behind LINT0 (ExtINT) and NMI on LINT1, ISA IRQ n on I/O APIC pin n
except IRQ0 on pin 2, IRQ 2 (the cascade) on none.  They live in the ROM at
F0000h, so their addresses are ``0xF0000 + (label - $$)`` and every checksum is
a nasm expression over those address bytes: the tables can sit anywhere in the
ROM and stay valid.

References: Intel MultiProcessor Specification 1.4 (ch. 4: MP floating pointer,
configuration table and its entries); ACPI 1.0b / 2.0 (5.2.4 RSDP, 5.2.7 RSDT,
5.2.8 FADT revision 1, 5.2.9 FACS, 5.2.10 MADT, 5.2.11.1 DSDT; 16 AML).
"""
from __future__ import annotations

import struct
import sys
from pathlib import Path

BIOS_PHYS = 0xF0000
LAPIC, IOAPIC = 0xFEE00000, 0xFEC00000
LAPIC_VERSION, IOAPIC_VERSION = 0x14, 0x11
OEM, OEM_TABLE, CREATOR = b"EMUPC ", b"EMUPCBIOS", b"EMU "
SCI_IRQ = 9
PM_BASE = 0xB000                    # emu/devices/acpi_pm.py in machines/pc.yaml: PM1a EVT, CNT, PM_TMR
S5_TYPE = 5                         # SLP_TYP that powers off (acpi_pm's s5_type)
CPU_SIGNATURE = 0x0611              # family 6 model 1 stepping 1 (the x86 core's P6 reset EDX)
CPU_FEATURES = 0x0000AB3E           # CPUID.1 EDX of that model plus bit 9 (on-chip APIC)


class Ref:
    """A 32-bit physical address of a label in the ROM."""

    def __init__(self, label):
        self.label = label

    def expr(self):
        return f"(BIOS_PHYS + ({self.label} - $$))"


class Table:
    def __init__(self, label, align=16):
        self.label, self.align = label, align
        self.items = []             # bytes, Ref or "checksum"
        self.cks_at = None

    def raw(self, b):
        self.items.append(bytes(b))
        return self

    def pack(self, fmt, *v):
        return self.raw(struct.pack("<" + fmt, *v))

    def ref(self, label):
        self.items.append(Ref(label))
        return self

    def checksum(self):
        self.items.append("checksum")
        return self

    def size(self):
        return sum(4 if isinstance(i, Ref) else 1 if i == "checksum" else len(i) for i in self.items)

    def patch_length(self, at, size=4):
        """Store the table's length at byte offset ``at`` (into the raw items)."""
        n, off = self.size(), 0
        for k, it in enumerate(self.items):
            w = 4 if isinstance(it, Ref) else 1 if it == "checksum" else len(it)
            if isinstance(it, bytes) and off <= at < off + w:
                b = bytearray(it)
                b[at - off:at - off + size] = n.to_bytes(size, "little")
                self.items[k] = bytes(b)
                return
            off += w
        raise ValueError("length field not in raw bytes")

    def nasm(self):
        const = sum(sum(i) for i in self.items if isinstance(i, bytes))
        refs = [i for i in self.items if isinstance(i, Ref)]
        out = [f"        align   {self.align}, db 0", f"{self.label}:"]
        for it in self.items:
            if isinstance(it, Ref):
                out.append(f"        dd      {it.expr()}")
            elif it == "checksum":
                terms = " + ".join([str(const)] + [f"B4({r.expr()})" for r in refs])
                out.append(f"        db      (-({terms})) & 0xFF")
            else:
                for i in range(0, len(it), 16):
                    out.append("        db      " + ", ".join(f"0x{x:02X}" for x in it[i:i + 16]))
        return "\n".join(out)


def acpi_header(t, sig, revision):
    """ACPI 5.2.3 system description table header (36 bytes); length patched later."""
    t.raw(sig).pack("I", 0).pack("B", revision).checksum()
    t.raw(OEM).raw(OEM_TABLE[:8].ljust(8)).pack("I", 1).raw(CREATOR).pack("I", 1)
    return t


def tables():
    out = []
    # ---- MP (MultiProcessor Specification 1.4, 4.1 and 4.2-4.3) ------------------
    fp = Table("mp_floating")
    fp.raw(b"_MP_").ref("mp_config").pack("BB", 1, 4).checksum()
    fp.pack("BBBBB", 0, 0, 0, 0, 0)          # feature 1 = 0: the table exists; IMCR absent
    out.append(fp)
    entries = []
    entries.append(struct.pack("<BBBBII8x", 0, 0, LAPIC_VERSION, 0x03, CPU_SIGNATURE,
                               CPU_FEATURES))                          # processor: enabled, BSP
    entries.append(struct.pack("<BB6s", 1, 0, b"PCI   "))               # bus 0: PCI
    entries.append(struct.pack("<BB6s", 1, 1, b"ISA   "))               # bus 1: ISA
    entries.append(struct.pack("<BBBBI", 2, 0, IOAPIC_VERSION, 1, IOAPIC))   # I/O APIC 0
    for irq in range(16):
        if irq == 2:
            continue                         # the cascade: no ISA device on IRQ 2
        pin = 2 if irq == 0 else irq
        flags = 0x0D if irq == SCI_IRQ else 0      # SCI: level, active high (as the MADT)
        entries.append(struct.pack("<BBHBBBB", 3, 0, flags, 1, irq, 0, pin))
    entries.append(struct.pack("<BBHBBBB", 4, 3, 0, 1, 0, 0xFF, 0))   # ExtINT -> LINT0
    entries.append(struct.pack("<BBHBBBB", 4, 1, 0, 1, 0, 0xFF, 1))   # NMI -> LINT1
    cfg = Table("mp_config")
    cfg.raw(b"PCMP").pack("HB", 0, 4).checksum()
    cfg.raw(b"EMUPC   ").raw(b"EMU PC BOARD").pack("IHH", 0, 0, len(entries))
    cfg.pack("IHBB", LAPIC, 0, 0, 0)
    for e in entries:
        cfg.raw(e)
    cfg.patch_length(4, 2)
    out.append(cfg)
    # ---- ACPI -----------------------------------------------------------------------
    rsdp = Table("acpi_rsdp")
    rsdp.raw(b"RSD PTR ").checksum().raw(OEM).pack("B", 0).ref("acpi_rsdt")   # revision 0
    out.append(rsdp)
    rsdt = acpi_header(Table("acpi_rsdt"), b"RSDT", 1).ref("acpi_fadt").ref("acpi_madt")
    rsdt.patch_length(4)
    out.append(rsdt)
    # FADT revision 1 (116 bytes).  The PM1a event/control blocks and the PM timer
    # of the acpi_pm device; no PM1b, PM2 or GPE blocks (address 0, length 0);
    # SMI_CMD 0 (the machine is in ACPI mode from power-on); SCI on IRQ 9; C2/C3
    # latencies say "not supported"; CMOS century 32h.
    fadt = acpi_header(Table("acpi_fadt"), b"FACP", 1).ref("acpi_facs").ref("acpi_dsdt")
    fadt.pack("BBH", 1, 0, SCI_IRQ)          # INT_MODEL 1: multiple APIC
    fadt.pack("IBBBB", 0, 0, 0, 0, 0)        # SMI_CMD, ACPI_ENABLE/DISABLE, S4BIOS_REQ
    fadt.pack("8I", PM_BASE, 0, PM_BASE + 4, 0, 0, PM_BASE + 8, 0, 0)   # PM1a/b EVT, CNT, PM2, TMR, GPE0/1
    fadt.pack("8B", 4, 2, 0, 4, 0, 0, 0, 0)  # PM1_EVT, PM1_CNT, PM2_CNT, PM_TMR, GPE lengths
    fadt.pack("HHHH", 101, 1001, 0, 0)       # P_LVL2_LAT > 100, P_LVL3_LAT > 1000: no C2/C3
    fadt.pack("BBBBB", 0, 0, 0, 0, 0x32)     # duty cycle, RTC alarms, CENTURY = CMOS 32h
    fadt.pack("3x").pack("I", 0x35)          # WBINVD, PROC_C1, no fixed power/sleep button
    fadt.patch_length(4)
    assert fadt.size() == 116
    out.append(fadt)
    facs = Table("acpi_facs", align=64)      # 5.2.9, 64-byte aligned; no checksum
    facs.raw(b"FACS").pack("IIIII", 64, 0, 0, 0, 0).raw(bytes(40))
    out.append(facs)
    # DSDT: Scope (\_PR) { Processor (CPU0, 0, 0, 0) {} } -- the CPU the MADT names --
    # and Name (\_S5, Package (4) {5, 5, 0, 0}): SLP_TYP for soft-off
    aml = bytes([0x10, 19]) + b"\\_PR_" + bytes([0x5B, 0x83, 11]) + b"CPU0" + \
        bytes([0]) + struct.pack("<I", 0) + bytes([0])
    aml += bytes([0x08]) + b"\\_S5_" + bytes([0x12, 8, 4, 0x0A, S5_TYPE, 0x0A, S5_TYPE, 0, 0])
    dsdt = acpi_header(Table("acpi_dsdt"), b"DSDT", 1).raw(aml)
    dsdt.patch_length(4)
    out.append(dsdt)
    # MADT (5.2.10): local APIC address, PCAT_COMPAT (8259s present), then entries
    madt = acpi_header(Table("acpi_madt"), b"APIC", 1).pack("II", LAPIC, 1)
    madt.pack("BBBBI", 0, 8, 0, 0, 1)                    # processor 0, APIC ID 0, enabled
    madt.pack("BBBBII", 1, 12, 0, 0, IOAPIC, 0)          # I/O APIC 0, GSI base 0
    madt.pack("BBBBIH", 2, 10, 0, 0, 2, 0)              # ISA IRQ0 -> GSI 2, bus default
    madt.pack("BBBBIH", 2, 10, 0, SCI_IRQ, SCI_IRQ, 0x0D)   # SCI: level, active high
    madt.pack("BBBHB", 4, 6, 0xFF, 0, 1)                # NMI on LINT1 of every CPU
    madt.patch_length(4)
    out.append(madt)
    return out


def main(path="tables.inc"):
    lines = ["; generated by mktables.py (build.sh): MP and ACPI tables, see mktables.py",
             ("%define B4(x) (((x) & 0xFF) + (((x) >> 8) & 0xFF) + (((x) >> 16) & 0xFF) + "
              "(((x) >> 24) & 0xFF))"),
             f"BIOS_PHYS       equ 0x{BIOS_PHYS:X}"]
    for t in tables():
        lines.append(t.nasm())
    Path(path).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
