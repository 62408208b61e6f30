"""The paravirtual ABI of mode ``pv`` (docs/pv-abi.md): hypercall numbers, errnos,
the shared info page and the device rings.  The guest's side is
roms_test/os/kernel/pv/pv.h; the two must agree."""
from __future__ import annotations

VERSION = 1
NOTE = b"EMU-PV-ABI\0\0"           # the PV note in the kernel image (kernel/pv/priv.asm)
HYPERCALL_VECTOR = 0x82            # int 0x82 from ring 1
KERNEL_ENTRY = 0x100000            # where the boot loader jumps: the VMM takes over there

HC_NAMES = ("set_shared", "mmu_update", "stack_switch", "set_trap_table", "update_descriptor",
            "set_ldt", "sched_op", "evtchn_send", "set_ring", "set_timer", "evtchn_bind",
            "port_io", "version")
(HC_SET_SHARED, HC_MMU_UPDATE, HC_STACK_SWITCH, HC_SET_TRAP_TABLE, HC_UPDATE_DESC, HC_SET_LDT,
 HC_SCHED_OP, HC_EVTCHN_SEND, HC_SET_RING, HC_SET_TIMER, HC_EVTCHN_BIND, HC_PORT_IO,
 HC_VERSION) = range(len(HC_NAMES))

SCHEDOP_YIELD, SCHEDOP_BLOCK, SCHEDOP_SHUTDOWN, SCHEDOP_NONE = range(4)
MMU_PT_UPDATE, MMU_NEW_BASEPTR, MMU_INVLPG, MMU_STACK_SWITCH = range(4)

EPERM, EFAULT, EINVAL, ENOSYS = 1, 14, 22, 38

PORT_TIMER, PORT_CONSOLE, PORT_BLOCK = 0, 1, 2
NPORTS = 3
PORT_NAMES = ("timer", "console", "block")

# the GDT the VMM starts the kernel with (entries 1-4, as the native kernel's at ring 1)
KCODE, KDATA, UCODE, UDATA = 0x09, 0x11, 0x1B, 0x23
GUEST_GDT = 16                     # entries 1..15 are the guest's; the VMM's follow
TSS_SEL, LDT_SEL = GUEST_GDT * 8, (GUEST_GDT + 1) * 8
LDT_ENTRIES = 512

# struct pv_shared
SH_MASK, SH_PENDING, SH_EVT_PENDING, SH_EVT_MASK, SH_CR2 = 0, 1, 4, 8, 12
SH_TICK_TSC, SH_TSC_MUL, SH_FEATURES, SH_VERSION = 16, 24, 28, 32

# struct pv_console
CO_OUT_PROD, CO_OUT_CONS, CO_IN_PROD, CO_IN_CONS, CO_OUT, CO_IN = 0, 4, 8, 12, 64, 64 + 2048
CONS_OUT, CONS_IN = 2048, 1024

# struct pv_block
BL_REQ_PROD, BL_RSP_PROD, BL_REQ = 0, 4, 16
BLK_SLOTS, BLK_REQ_SIZE = 8, 16
BLK_READ, BLK_WRITE, BLK_FLUSH = 1, 2, 3
SECTOR = 512


def image_is_pv(path) -> bool:
    """Does the disk image hold a PV kernel (the PV note in its first 64 KiB after the
    loader)?  The native build has none."""
    try:
        with open(path, "rb") as f:
            return NOTE in f.read(5 * 512 + 65536)[5 * 512:]
    except OSError:
        return False


def spec_is_pv(spec) -> bool:
    """Does the VM boot a PV kernel (from one of its hard disks)?"""
    return any(image_is_pv(p) for k, p in dict(spec.media).items() if str(k).startswith("hdd"))
