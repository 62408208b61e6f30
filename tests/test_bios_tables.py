"""The BIOS's MP and ACPI tables, found and checked the way an OS does, by a
parser written from the specifications (not from roms_test/pc/mktables.py):

* MP spec 1.4, 4.1-4.3: the "_MP_" floating pointer on a 16-byte boundary in the
  first KiB of the EBDA, the last KiB of base memory or F0000h-FFFFFh, 16 bytes,
  checksum 0; the "PCMP" configuration table it points to, checksum 0, its
  entries (processor 20 bytes, bus / I/O APIC / interrupt entries 8 bytes);
* ACPI 1.0b/2.0, 5.2: "RSD PTR " on a 16-byte boundary in E0000h-FFFFFh,
  revision 0, 20-byte checksum; RSDT -> FADT (revision 1, DSDT and FACS
  pointers) and MADT; every table's checksum; the DSDT's AML.

And both describe the pc machine's hardware: the local APIC and I/O APIC at the
addresses the YAML maps them, the I/O APIC's pin count from its version register,
ISA IRQ0 on pin 2."""
import struct

import pytest

from emu.machine import Machine

try:
    import cores.x86  # noqa: F401
except ImportError as e:
    pytest.skip(f"cores.x86 is not importable yet ({e})", allow_module_level=True)


@pytest.fixture(scope="module")
def pc():
    m = Machine.load("pc")
    assert m.run_until(lambda mm: "HELLO OK" in mm.devices["debug"].text, 10)
    return m


def mem(m, addr, n):
    return m.memory[addr:addr + n]


def checksum_ok(data):
    return sum(data) & 0xFF == 0


def scan(m, sig, ranges):
    found = []
    for lo, hi in ranges:
        data = mem(m, lo, hi - lo)
        for off in range(0, len(data) - 15, 16):
            if data[off:off + len(sig)] == sig:
                found.append(lo + off)
    return found


def mapped(m, name):
    e = next(e for e in m.spec.memory["maincpu"] if e.kind == "device" and e.target == name)
    return e.start, e.end


# ---- MP -----------------------------------------------------------------------------
def test_mp_floating_pointer_and_configuration_table(pc):
    ebda = (pc.memory[0x40E] | pc.memory[0x40F] << 8) << 4
    base_kb = pc.memory[0x413] | pc.memory[0x414] << 8
    ranges = ([(ebda, ebda + 1024)] if ebda else []) + \
        [(base_kb * 1024 - 1024, base_kb * 1024), (0xF0000, 0x100000)]
    hits = [a for a in scan(pc, b"_MP_", ranges) if checksum_ok(mem(pc, a, 16))]
    assert len(hits) == 1
    fp = mem(pc, hits[0], 16)
    ptr, length, rev, _, feat1, feat2 = struct.unpack_from("<IBBBBB", fp, 4)
    assert length == 1 and rev in (1, 4) and feat1 == 0     # a configuration table follows
    assert feat2 & 0x80 == 0                                 # no IMCR: virtual wire mode
    hdr = mem(pc, ptr, 44)
    assert hdr[:4] == b"PCMP"
    base_len, spec_rev = struct.unpack_from("<HB", hdr, 4)
    assert spec_rev in (1, 4)
    table = mem(pc, ptr, base_len)
    assert checksum_ok(table)
    count, lapic_addr, ext_len = struct.unpack_from("<HIH", table, 34)
    assert lapic_addr == mapped(pc, "lapic")[0] == 0xFEE00000
    assert ext_len == 0
    procs, buses, ioapics, ints, locals_ = [], {}, [], [], []
    off = 44
    for _ in range(count):
        kind = table[off]
        if kind == 0:
            apic_id, ver, flags, _sig, feat = struct.unpack_from("<BBBII", table, off + 1)
            procs.append((apic_id, ver, flags, feat))
            off += 20
            continue
        e = table[off:off + 8]
        if kind == 1:
            buses[e[1]] = e[2:8].decode().strip()
        elif kind == 2:
            ioapics.append((e[1], e[2], e[3], struct.unpack_from("<I", e, 4)[0]))
        elif kind == 3:
            ints.append(struct.unpack_from("<BHBBBB", e, 1))
        elif kind == 4:
            locals_.append(struct.unpack_from("<BHBBBB", e, 1))
        else:
            pytest.fail(f"unknown MP entry type {kind}")
        off += 8
    assert off == base_len
    # one enabled bootstrap processor with an on-chip APIC (version from the APIC itself)
    sp = pc.spaces["maincpu"]
    assert len(procs) == 1
    apic_id, ver, flags, feat = procs[0]
    assert flags & 3 == 3 and feat & 0x200
    assert apic_id == sp.mmio_read(0xFEE00020, 4) >> 24
    assert ver == sp.mmio_read(0xFEE00030, 4) & 0xFF
    assert "ISA" in buses.values() and "PCI" in buses.values()
    isa = next(b for b, t in buses.items() if t == "ISA")
    assert len(ioapics) == 1
    io_id, io_ver, io_flags, io_addr = ioapics[0]
    assert io_flags & 1 and io_addr == mapped(pc, "ioapic")[0] == 0xFEC00000
    sp.mmio_write(0xFEC00000, 1, 4)
    version = sp.mmio_read(0xFEC00010, 4)
    assert io_ver == version & 0xFF
    pins = (version >> 16 & 0xFF) + 1
    # every ISA IRQ but the cascade, identity-mapped except IRQ0 -> pin 2
    isa_map = {irq: pin for typ, _, bus, irq, dst, pin in ints if bus == isa and typ == 0}
    assert all(d == io_id for _, _, _, _, d, _ in ints)
    assert set(isa_map) == set(range(16)) - {2}
    assert isa_map[0] == 2
    assert all(isa_map[i] == i for i in isa_map if i)
    assert all(p < pins for p in isa_map.values())
    # local interrupts: ExtINT on LINT0, NMI on LINT1, to every local APIC
    assert {(typ, dst, lint) for typ, _, _, _, dst, lint in locals_} == {(3, 0xFF, 0), (1, 0xFF, 1)}


# ---- ACPI -----------------------------------------------------------------------------
def acpi_table(m, addr, sig):
    hdr = mem(m, addr, 36)
    assert hdr[:4] == sig
    length, rev = struct.unpack_from("<IB", hdr, 4)
    data = mem(m, addr, length)
    assert checksum_ok(data), sig
    return rev, data


def test_acpi_rsdp_rsdt_fadt_madt_dsdt(pc):
    hits = [a for a in scan(pc, b"RSD PTR ", [(0xE0000, 0x100000)])
            if checksum_ok(mem(pc, a, 20))]
    assert len(hits) == 1 and hits[0] % 16 == 0
    rsdp = mem(pc, hits[0], 20)
    assert rsdp[15] == 0                                     # revision 0 (ACPI 1.0)
    rsdt_addr = struct.unpack_from("<I", rsdp, 16)[0]
    _, rsdt = acpi_table(pc, rsdt_addr, b"RSDT")
    entries = struct.unpack_from(f"<{(len(rsdt) - 36) // 4}I", rsdt, 36)
    sigs = {mem(pc, a, 4): a for a in entries}
    assert set(sigs) == {b"FACP", b"APIC"}
    # FADT revision 1: 116 bytes, FACS and DSDT, multiple-APIC model, SCI, no PM blocks
    rev, fadt = acpi_table(pc, sigs[b"FACP"], b"FACP")
    assert rev == 1 and len(fadt) == 116
    facs_addr, dsdt_addr, int_model, _, sci = struct.unpack_from("<IIBBH", fadt, 36)
    assert int_model == 1
    facs = mem(pc, facs_addr, 64)
    assert facs_addr % 64 == 0 and facs[:4] == b"FACS" and struct.unpack_from("<I", facs, 4)[0] == 64
    # the required PM1a event/control blocks and the PM timer are the acpi_pm device's
    # ports in the YAML (ACPI 4.7: 4, 2 and 4 bytes); PM1b, PM2 and GPE absent
    pm = struct.unpack_from("<8I", fadt, 56)
    lens = fadt[88:94]
    ports = {p for e in pc.spec.ports["maincpu"] if e.target == "pm"
             for p in range(e.start, e.end + 1)}
    for addr, n in ((pm[0], lens[0]), (pm[2], lens[1]), (pm[5], lens[3])):
        assert n and all(p in ports for p in range(addr, addr + n))
    assert (pm[1], pm[3], pm[4], pm[6], pm[7]) == (0,) * 5 and lens[2] == lens[4] == lens[5] == 0
    assert (lens[0], lens[1], lens[3]) == (4, 2, 4)
    assert fadt[108] == 0x32                                 # CENTURY: the CMOS's 32h
    # DSDT: header and AML that parses: Scope (\_PR) { Processor (CPU0 ...) } and
    # Name (\_S5, Package {SLP_TYPa, SLP_TYPb, 0, 0}) with the acpi_pm device's S5 type
    _, dsdt = acpi_table(pc, dsdt_addr, b"DSDT")
    aml = dsdt[36:]
    assert aml[0] == 0x10 and aml[2:7] == b"\\_PR_"         # ScopeOp, one-byte PkgLength
    scope_end = 1 + aml[1]
    assert aml[7:9] == b"\x5B\x83" and 9 + aml[9] == scope_end and aml[10:14] == b"CPU0"
    s5 = aml[scope_end:]
    assert s5[0] == 0x08 and s5[1:6] == b"\\_S5_" and s5[6] == 0x12   # NameOp, PackageOp
    assert 7 + s5[7] == len(s5) and s5[8] == 4                # PkgLength to the end, 4 elements
    assert s5[9] == 0x0A and s5[10] == pc.devices["pm"].s5_type
    # MADT: the local APIC address, one processor, the I/O APIC, IRQ0 -> GSI 2
    _, madt = acpi_table(pc, sigs[b"APIC"], b"APIC")
    lapic_addr, flags = struct.unpack_from("<II", madt, 36)
    assert lapic_addr == mapped(pc, "lapic")[0] and flags & 1     # PCAT_COMPAT: 8259s present
    off, procs, ioapics, isos, nmis = 44, [], [], {}, []
    while off < len(madt):
        typ, n = madt[off], madt[off + 1]
        body = madt[off:off + n]
        if typ == 0:
            procs.append(struct.unpack_from("<BBI", body, 2))
        elif typ == 1:
            ioapics.append(struct.unpack_from("<BxII", body, 2))
        elif typ == 2:
            bus, src, gsi, fl = struct.unpack_from("<BBIH", body, 2)
            assert bus == 0
            isos[src] = (gsi, fl)
        elif typ == 4:
            nmis.append(struct.unpack_from("<BHB", body, 2))
        off += n
    assert off == len(madt)
    sp = pc.spaces["maincpu"]
    assert len(procs) == 1 and procs[0][1] == sp.mmio_read(0xFEE00020, 4) >> 24 and procs[0][2] & 1
    assert len(ioapics) == 1 and ioapics[0][1] == mapped(pc, "ioapic")[0] and ioapics[0][2] == 0
    assert isos[0] == (2, 0)
    if sci in isos:                                          # the SCI's own trigger/polarity
        assert isos[sci][0] == sci
    assert nmis == [(0xFF, 0, 1)]                            # NMI on LINT1


def test_tables_are_in_reserved_memory(pc):
    """The E820 map (tests/test_memmap.py runs it) reserves F0000h-FFFFFh, where the
    tables are: an OS must not reuse them as RAM."""
    for a in scan(pc, b"RSD PTR ", [(0xE0000, 0x100000)]) + scan(pc, b"_MP_", [(0xF0000, 0x100000)]):
        assert 0xF0000 <= a < 0x100000
