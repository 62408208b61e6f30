"""Mode ``kvm``: the guest on the host's real VT-x (or AMD-V) through Linux KVM.

The VM's CPU runs on the host processor in VMX non-root mode; what leaves it
(a port access, a device page, HLT, an interrupt window) comes back to this
module as a ``KVM_RUN`` exit and is served by the VM's own device models, the
same ones every other mode uses.  Nothing but ctypes, ``mmap`` and the raw
ioctls of the KVM API (Documentation/virt/kvm/api.rst; structures and numbers
from include/uapi/linux/kvm.h and arch/x86/include/uapi/asm/kvm.h, x86-64).

* **Guest-physical memory** is the VM's own host frames: every page of its
  address space that reads RAM or ROM (``rpage >= 0``) is part of a KVM memory
  slot whose userspace address is the frame in ``HostMemory.data``, one slot
  per run of pages contiguous both guest-physically and in the host array.
  Pages written where they are read (``wpage == rpage``: RAM) are writable;
  the others (ROM: ``PAGE_ROM``; reads of RAM whose writes a device takes) are
  ``KVM_MEM_READONLY``: a write exits as MMIO and goes to ``mmio_write`` (which
  drops it on a ROM).  Device pages (``PAGE_MMIO``) and the open-bus page get
  no slot: every access exits as ``KVM_EXIT_MMIO``.  The slots follow the map
  (``AddressSpace.generation``: a bank switch, the VGA mapping its window).
* **The CPU state** is the VM's x86 state array (cores/x86/state.py), as for
  every mode: it is loaded into the vCPU (KVM_SET_REGS/SREGS, the segment caches
  from SEL/BASE/LIMIT/ATTR) when it changed (a reset, a restore, another mode
  ran) and saved back at the end of each slice, so save states, the debugger's
  view and a switch back to ``emulate`` see the guest where KVM left it.
* **Interrupts** come from the machine's interrupt controllers as for the
  interpreter (``S_IRQ`` bit 0, ``S_IRQ_VECTOR``): injected with KVM_INTERRUPT
  when the vCPU can take one (``ready_for_interrupt_injection``), else an
  interrupt window is requested; then the controller is told (INTA).  No
  in-kernel irqchip, PIT or APIC: those stay the machine's models.
* **Time.**  The guest runs in real time, so a slice of emulated time is a
  slice of wall time: each KVM_RUN is bounded by a per-thread POSIX timer
  (SIGEV_THREAD_ID) whose signal is blocked in the thread and unblocked only
  inside KVM_RUN (KVM_SET_SIGNAL_MASK), so KVM_RUN returns with KVM_EXIT_INTR
  at the slice's end and a signal that fires outside it is never lost (QEMU's
  SIG_IPI scheme).  ``S_CYCLES`` advances by the wall time spent in KVM_RUN
  times the CPU's clock; ``S_INSNS`` cannot be read from KVM and is estimated
  as one instruction per cycle of guest time run (not idled): the fair-share
  scheduler measures progress in it.

Not modelled under KVM: the A20 gate (KVM has none: addresses never wrap at
1 MiB), the x87/SSE state and MSRs other than SYSENTER (not in the state
array; a guest that uses them and is switched to ``emulate`` loses them), the
guest's TSC (the host's, offset by KVM).  CPUID is the host's as KVM supports
it, less long mode, x2APIC and the TSC-deadline timer (the state array cannot
hold a 64-bit guest; the local APIC is the machine's xAPIC model).
"""
from __future__ import annotations

import ctypes
import mmap
import os
import signal
import threading
import time
from collections import Counter
from ctypes import (
    Structure,
    Union,
    c_int,
    c_long,
    c_uint8,
    c_uint16,
    c_uint32,
    c_uint64,
    c_void_p,
)

import numpy as np

from .. import abi
from ..bus import FRAME
from ..errors import GuestFault
from .mode import Emulate, ModeError

# ---- ioctl numbers (include/uapi/asm-generic/ioctl.h, include/uapi/linux/kvm.h) --------
_IOC_WRITE, _IOC_READ = 1, 2
KVMIO = 0xAE


def _ioc(direction, nr, size):
    return (direction << 30) | (size << 16) | (KVMIO << 8) | nr


def _io(nr):
    return _ioc(0, nr, 0)


def _ior(nr, t):
    return _ioc(_IOC_READ, nr, ctypes.sizeof(t))


def _iow(nr, t):
    return _ioc(_IOC_WRITE, nr, ctypes.sizeof(t))


def _iowr(nr, t):
    return _ioc(_IOC_READ | _IOC_WRITE, nr, ctypes.sizeof(t))


# ---- structures (x86-64 layouts) ------------------------------------------------------
class KvmRegs(Structure):                      # asm/kvm.h struct kvm_regs
    _fields_ = [(n, c_uint64) for n in ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp",
                                        "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
                                        "rip", "rflags")]


class KvmSegment(Structure):                   # asm/kvm.h struct kvm_segment
    _fields_ = [("base", c_uint64), ("limit", c_uint32), ("selector", c_uint16), ("type", c_uint8),
                ("present", c_uint8), ("dpl", c_uint8), ("db", c_uint8), ("s", c_uint8),
                ("l", c_uint8), ("g", c_uint8), ("avl", c_uint8), ("unusable", c_uint8),
                ("padding", c_uint8)]


class KvmDtable(Structure):                    # asm/kvm.h struct kvm_dtable
    _fields_ = [("base", c_uint64), ("limit", c_uint16), ("padding", c_uint16 * 3)]


KVM_NR_INTERRUPTS = 256


class KvmSregs(Structure):                     # asm/kvm.h struct kvm_sregs
    _fields_ = [("cs", KvmSegment), ("ds", KvmSegment), ("es", KvmSegment), ("fs", KvmSegment),
                ("gs", KvmSegment), ("ss", KvmSegment), ("tr", KvmSegment), ("ldt", KvmSegment),
                ("gdt", KvmDtable), ("idt", KvmDtable),
                ("cr0", c_uint64), ("cr2", c_uint64), ("cr3", c_uint64), ("cr4", c_uint64),
                ("cr8", c_uint64), ("efer", c_uint64), ("apic_base", c_uint64),
                ("interrupt_bitmap", c_uint64 * ((KVM_NR_INTERRUPTS + 63) // 64))]


class KvmCpuidEntry2(Structure):               # asm/kvm.h struct kvm_cpuid_entry2
    _fields_ = [("function", c_uint32), ("index", c_uint32), ("flags", c_uint32), ("eax", c_uint32),
                ("ebx", c_uint32), ("ecx", c_uint32), ("edx", c_uint32), ("padding", c_uint32 * 3)]


def kvm_cpuid2(n):
    """struct kvm_cpuid2 with room for ``n`` entries (a flexible array in C)."""
    class KvmCpuid2(Structure):
        _fields_ = [("nent", c_uint32), ("padding", c_uint32), ("entries", KvmCpuidEntry2 * n)]
    return KvmCpuid2


class KvmCpuid2Head(Structure):                # (its fixed part: what the ioctl number encodes)
    _fields_ = [("nent", c_uint32), ("padding", c_uint32)]


class KvmMsrEntry(Structure):                  # asm/kvm.h struct kvm_msr_entry
    _fields_ = [("index", c_uint32), ("reserved", c_uint32), ("data", c_uint64)]


class KvmMsrsHead(Structure):                  # asm/kvm.h struct kvm_msrs (fixed part)
    _fields_ = [("nmsrs", c_uint32), ("pad", c_uint32)]


MSRS = (0x174, 0x175, 0x176)                   # IA32_SYSENTER_CS / _ESP / _EIP


class KvmMsrs(Structure):
    _fields_ = [("nmsrs", c_uint32), ("pad", c_uint32), ("entries", KvmMsrEntry * len(MSRS))]


class KvmUserspaceMemoryRegion(Structure):     # linux/kvm.h struct kvm_userspace_memory_region
    _fields_ = [("slot", c_uint32), ("flags", c_uint32), ("guest_phys_addr", c_uint64),
                ("memory_size", c_uint64), ("userspace_addr", c_uint64)]


class KvmInterrupt(Structure):                 # linux/kvm.h struct kvm_interrupt
    _fields_ = [("irq", c_uint32)]


class KvmSignalMask(Structure):                # linux/kvm.h struct kvm_signal_mask (len 8: the
    _fields_ = [("len", c_uint32), ("sigset", c_uint8 * 8)]   # kernel's sigset_t on x86-64)


class _EvException(Structure):
    _fields_ = [("injected", c_uint8), ("nr", c_uint8), ("has_error_code", c_uint8),
                ("pending", c_uint8), ("error_code", c_uint32)]


class _EvInterrupt(Structure):
    _fields_ = [("injected", c_uint8), ("nr", c_uint8), ("soft", c_uint8), ("shadow", c_uint8)]


class _EvNmi(Structure):
    _fields_ = [("injected", c_uint8), ("pending", c_uint8), ("masked", c_uint8), ("pad", c_uint8)]


class _EvSmi(Structure):
    _fields_ = [("smm", c_uint8), ("pending", c_uint8), ("smm_inside_nmi", c_uint8),
                ("latched_init", c_uint8)]


class KvmVcpuEvents(Structure):                # asm/kvm.h struct kvm_vcpu_events
    _fields_ = [("exception", _EvException), ("interrupt", _EvInterrupt), ("nmi", _EvNmi),
                ("sipi_vector", c_uint32), ("flags", c_uint32), ("smi", _EvSmi),
                ("triple_fault_pending", c_uint8), ("reserved", c_uint8 * 26),
                ("exception_has_payload", c_uint8), ("exception_payload", c_uint64)]


KVM_VCPUEVENT_VALID_SHADOW = 0x4
KVM_X86_SHADOW_INT_MOV_SS, KVM_X86_SHADOW_INT_STI = 1, 2


# struct kvm_run: the exit area shared with the kernel (mmap of the vCPU fd, offset 0)
class KvmRunIo(Structure):
    _fields_ = [("direction", c_uint8), ("size", c_uint8), ("port", c_uint16), ("count", c_uint32),
                ("data_offset", c_uint64)]     # data_offset: relative to the start of kvm_run


class KvmRunMmio(Structure):
    _fields_ = [("phys_addr", c_uint64), ("data", c_uint8 * 8), ("len", c_uint32), ("is_write", c_uint8)]


class KvmRunFailEntry(Structure):
    _fields_ = [("hardware_entry_failure_reason", c_uint64), ("cpu", c_uint32)]


class KvmRunInternal(Structure):
    _fields_ = [("suberror", c_uint32), ("ndata", c_uint32), ("data", c_uint64 * 16)]


class KvmRunExit(Union):
    _fields_ = [("hardware_exit_reason", c_uint64), ("fail_entry", KvmRunFailEntry),
                ("io", KvmRunIo), ("mmio", KvmRunMmio), ("internal", KvmRunInternal),
                ("padding", ctypes.c_char * 256)]


class KvmRun(Structure):
    _fields_ = [("request_interrupt_window", c_uint8), ("immediate_exit", c_uint8),
                ("padding1", c_uint8 * 6), ("exit_reason", c_uint32),
                ("ready_for_interrupt_injection", c_uint8), ("if_flag", c_uint8), ("flags", c_uint16),
                ("cr8", c_uint64), ("apic_base", c_uint64), ("x", KvmRunExit)]


assert ctypes.sizeof(KvmSregs) == 312 and ctypes.sizeof(KvmRegs) == 144
assert ctypes.sizeof(KvmVcpuEvents) == 64 and KvmRun.x.offset == 32

KVM_GET_API_VERSION = _io(0x00)
KVM_CREATE_VM = _io(0x01)
KVM_CHECK_EXTENSION = _io(0x03)
KVM_GET_VCPU_MMAP_SIZE = _io(0x04)
KVM_GET_SUPPORTED_CPUID = _iowr(0x05, KvmCpuid2Head)
KVM_CREATE_VCPU = _io(0x41)
KVM_SET_USER_MEMORY_REGION = _iow(0x46, KvmUserspaceMemoryRegion)
KVM_SET_TSS_ADDR = _io(0x47)
KVM_SET_IDENTITY_MAP_ADDR = _iow(0x48, c_uint64)
KVM_RUN = _io(0x80)
KVM_GET_REGS = _ior(0x81, KvmRegs)
KVM_SET_REGS = _iow(0x82, KvmRegs)
KVM_GET_SREGS = _ior(0x83, KvmSregs)
KVM_SET_SREGS = _iow(0x84, KvmSregs)
KVM_INTERRUPT = _iow(0x86, KvmInterrupt)
KVM_GET_MSRS = _iowr(0x88, KvmMsrsHead)
KVM_SET_MSRS = _iow(0x89, KvmMsrsHead)
KVM_SET_CPUID2 = _iow(0x90, KvmCpuid2Head)
KVM_NMI = _io(0x9A)
KVM_GET_VCPU_EVENTS = _ior(0x9F, KvmVcpuEvents)
KVM_SET_VCPU_EVENTS = _iow(0xA0, KvmVcpuEvents)


class _SigMaskHead(Structure):                 # (the ioctl number encodes the fixed part only)
    _fields_ = [("len", c_uint32)]


KVM_SET_SIGNAL_MASK = _iow(0x8B, _SigMaskHead)

KVM_API_VERSION = 12
KVM_CAP_SET_TSS_ADDR, KVM_CAP_NR_MEMSLOTS, KVM_CAP_READONLY_MEM = 4, 10, 81
KVM_CAP_IMMEDIATE_EXIT = 136
KVM_MEM_READONLY = 1 << 1

(KVM_EXIT_UNKNOWN, KVM_EXIT_EXCEPTION, KVM_EXIT_IO, KVM_EXIT_HYPERCALL, KVM_EXIT_DEBUG, KVM_EXIT_HLT,
 KVM_EXIT_MMIO, KVM_EXIT_IRQ_WINDOW_OPEN, KVM_EXIT_SHUTDOWN, KVM_EXIT_FAIL_ENTRY,
 KVM_EXIT_INTR) = range(11)
KVM_EXIT_INTERNAL_ERROR = 17
KVM_EXIT_SYSTEM_EVENT = 24
KVM_EXIT_IO_IN, KVM_EXIT_IO_OUT = 0, 1
EXIT_NAMES = {KVM_EXIT_UNKNOWN: "unknown", KVM_EXIT_EXCEPTION: "exception", KVM_EXIT_IO: "io",
              KVM_EXIT_HYPERCALL: "hypercall", KVM_EXIT_DEBUG: "debug", KVM_EXIT_HLT: "hlt",
              KVM_EXIT_MMIO: "mmio", KVM_EXIT_IRQ_WINDOW_OPEN: "irq-window",
              KVM_EXIT_SHUTDOWN: "shutdown", KVM_EXIT_FAIL_ENTRY: "fail-entry",
              KVM_EXIT_INTR: "intr", KVM_EXIT_INTERNAL_ERROR: "internal-error",
              KVM_EXIT_SYSTEM_EVENT: "system-event"}

# where KVM puts the real-mode TSS (3 pages) and the EPT identity map (1 page) it needs
# when the host lacks unrestricted guest: below the BIOS at the top of 4 GiB, as QEMU does
TSS_ADDR = 0xFFFBD000
IDENTITY_MAP_ADDR = 0xFFFBC000
MIN_RUN = 20e-6            # seconds: a slice's remainder shorter than an exit is the next one's

# ---- libc: ioctl, POSIX timers -------------------------------------------------------------
_libc = ctypes.CDLL(None, use_errno=True)
_ioctl = _libc.ioctl
_ioctl.argtypes = [c_int, ctypes.c_ulong, c_void_p]
_ioctl.restype = c_int


class _Sigevent(Structure):                    # glibc struct sigevent (64 bytes on x86-64)
    _fields_ = [("sigev_value", c_uint64), ("sigev_signo", c_int), ("sigev_notify", c_int),
                ("sigev_notify_thread_id", c_int), ("pad", c_int * 11)]


class _Timespec(Structure):
    _fields_ = [("tv_sec", c_long), ("tv_nsec", c_long)]


class _Itimerspec(Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


SIGEV_THREAD_ID = 4
CLOCK_MONOTONIC = 1
KICK_SIGNAL = signal.SIGRTMIN + 5              # ends KVM_RUN at the slice's end (never delivered)
KICK_SET = {KICK_SIGNAL}


def _timer_functions():
    for lib in (_libc, None):
        try:
            lib = lib or ctypes.CDLL("librt.so.1", use_errno=True)
            create, settime, delete = lib.timer_create, lib.timer_settime, lib.timer_delete
        except (OSError, AttributeError):
            continue
        create.argtypes = [c_int, ctypes.POINTER(_Sigevent), ctypes.POINTER(c_void_p)]
        settime.argtypes = [c_void_p, c_int, ctypes.POINTER(_Itimerspec), c_void_p]
        delete.argtypes = [c_void_p]
        return create, settime, delete
    return None


_TIMERS = _timer_functions()


class KvmError(ModeError):
    pass


def _check(r, what):
    if r < 0:
        e = ctypes.get_errno()
        raise KvmError(f"{what}: {os.strerror(e)} (errno {e})")
    return r


def ioctl(fd, req, arg=None, what="ioctl"):
    """One ioctl: ``arg`` a ctypes object (passed by reference), an int, or None."""
    ptr = ctypes.addressof(arg) if isinstance(arg, (Structure, Union, ctypes.Array,
                                                    ctypes._SimpleCData)) else arg
    return _check(_ioctl(fd, req, ptr), what)      # (``arg`` keeps the object alive meanwhile)


# ---- the KVM device, a VM, a vCPU ------------------------------------------------------------
KVM_DEVICE = "/dev/kvm"


def open_kvm(owner: str) -> int:
    """The /dev/kvm fd, API version 12, with the capabilities this mode needs;
    a one-line ModeError naming ``owner`` if there is none."""
    try:
        fd = os.open(KVM_DEVICE, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        raise KvmError(f"{owner}: mode 'kvm' needs {KVM_DEVICE} (this host has no KVM: "
                       f"no VT-x/AMD-V, or the kvm module is not loaded)") from None
    except OSError as e:
        raise KvmError(f"{owner}: mode 'kvm': cannot open {KVM_DEVICE}: {e.strerror}") from None
    try:
        v = _ioctl(fd, KVM_GET_API_VERSION, None)
        if v != KVM_API_VERSION:
            raise KvmError(f"{owner}: mode 'kvm': {KVM_DEVICE} has API version {v}, "
                           f"not {KVM_API_VERSION}")
        for cap, name in ((KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"),
                          (KVM_CAP_READONLY_MEM, "KVM_CAP_READONLY_MEM"),
                          (KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT")):
            if _ioctl(fd, KVM_CHECK_EXTENSION, cap) <= 0:
                raise KvmError(f"{owner}: mode 'kvm': this KVM lacks {name}")
    except BaseException:
        os.close(fd)
        raise
    return fd


def supported_cpuid(kvm_fd):
    """KVM_GET_SUPPORTED_CPUID: the host's CPUID as KVM can give it to a guest."""
    n = 64
    while True:
        buf = kvm_cpuid2(n)()
        buf.nent = n
        r = _ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, ctypes.addressof(buf))
        if r >= 0:
            return buf
        if ctypes.get_errno() != 7 or n >= 4096:          # E2BIG: more room
            _check(r, "KVM_GET_SUPPORTED_CPUID")
        n *= 2


def host_brand() -> bytes:
    """The host processor's brand string (as /proc/cpuinfo gives it), 48 bytes."""
    try:
        with open("/proc/cpuinfo", encoding="latin-1") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip().encode("latin-1")[:47].ljust(48, b"\0")
    except OSError:
        pass
    return bytes(48)


def guest_cpuid(kvm_fd):
    """The CPUID the guest sees: the host's, less long mode (the state array holds a
    32-bit x86), x2APIC and the TSC-deadline timer (the machine's xAPIC model serves
    the local APIC); the brand string (which KVM leaves zero) the host's."""
    buf = supported_cpuid(kvm_fd)
    brand = host_brand()
    for i in range(buf.nent):
        e = buf.entries[i]
        if e.function == 1:
            e.ecx &= ~((1 << 21) | (1 << 24))              # x2APIC, TSC-deadline
            e.ebx &= 0x00FFFFFF                            # initial APIC ID 0
        elif e.function == 0x80000001:
            e.edx &= ~(1 << 29)                            # LM
        elif 0x80000002 <= e.function <= 0x80000004 and not (e.eax | e.ebx | e.ecx | e.edx):
            o = 16 * (e.function - 0x80000002)
            e.eax, e.ebx, e.ecx, e.edx = (int.from_bytes(brand[o + 4 * j:o + 4 * j + 4], "little")
                                          for j in range(4))
    return buf


class Vcpu:
    """One KVM VM with one vCPU: fds, the mmapped kvm_run, register transfer."""

    def __init__(self, owner: str):
        self.owner = owner
        self.kvm = self.vm = self.fd = -1
        self.run_map = self.run = None
        try:
            self.kvm = open_kvm(owner)
            self.vm = ioctl(self.kvm, KVM_CREATE_VM, 0, f"{owner}: KVM_CREATE_VM")
            ioctl(self.vm, KVM_SET_TSS_ADDR, TSS_ADDR, f"{owner}: KVM_SET_TSS_ADDR")
            ident = c_uint64(IDENTITY_MAP_ADDR)
            ioctl(self.vm, KVM_SET_IDENTITY_MAP_ADDR, ident, f"{owner}: KVM_SET_IDENTITY_MAP_ADDR")
            self.max_slots = max(0, _ioctl(self.kvm, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS))
            self.fd = ioctl(self.vm, KVM_CREATE_VCPU, 0, f"{owner}: KVM_CREATE_VCPU")
            size = ioctl(self.kvm, KVM_GET_VCPU_MMAP_SIZE, None, f"{owner}: KVM_GET_VCPU_MMAP_SIZE")
            self.run_map = mmap.mmap(self.fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
            self.run = KvmRun.from_buffer(self.run_map)
            self.run_addr = ctypes.addressof(self.run)
            ioctl(self.fd, KVM_SET_CPUID2, guest_cpuid(self.kvm), f"{owner}: KVM_SET_CPUID2")
        except BaseException:
            self.close()
            raise
        self.regs, self.sregs = KvmRegs(), KvmSregs()
        self.events, self.msrs = KvmVcpuEvents(), KvmMsrs()
        self.slots = {}                  # slot number -> (gpa, size, host offset, flags)

    def close(self) -> None:
        self.run = None                  # (the ctypes view holds the mapping)
        if self.run_map is not None:
            try:
                self.run_map.close()
            except BufferError:
                pass
            self.run_map = None
        for name in ("fd", "vm", "kvm"):
            fd = getattr(self, name)
            if fd >= 0:
                os.close(fd)
                setattr(self, name, -1)

    def get(self, req, obj, what):
        ioctl(self.fd, req, obj, f"{self.owner}: {what}")
        return obj

    def set_slot(self, slot, gpa, size, addr, flags) -> None:
        r = KvmUserspaceMemoryRegion(slot, flags, gpa, size, addr)
        ioctl(self.vm, KVM_SET_USER_MEMORY_REGION, r,
              f"{self.owner}: KVM_SET_USER_MEMORY_REGION (slot {slot}, {gpa:#x}+{size:#x})")


# ---- the memory map: KVM slots from the address space's page tables --------------------------
def slot_runs(rpage, wpage, skip=()):
    """[(first page, pages, host offset, read-only)] covering every page that reads
    RAM/ROM (``rpage >= 0``), merged into runs contiguous in both guest-physical
    pages and host offsets with one access; pages whose offset is in ``skip`` (the
    open-bus page every unmapped page reads) are left out."""
    rp = np.asarray(rpage)
    ok = rp >= 0
    for o in skip:
        ok &= rp != o
    pages = np.flatnonzero(ok)
    if not len(pages):
        return []
    offs = rp[pages]
    ro = (np.asarray(wpage)[pages] != offs).astype(np.int8)
    brk = np.flatnonzero((np.diff(pages) != 1) | (np.diff(offs) != FRAME) | (np.diff(ro) != 0)) + 1
    starts = np.concatenate(([0], brk))
    ends = np.concatenate((brk, [len(pages)]))
    return [(int(pages[a]), int(b - a), int(offs[a]), bool(ro[a])) for a, b in zip(starts, ends)]


# ---- the mode --------------------------------------------------------------------------------
class Kvm(Emulate):
    name = "kvm"
    isas = frozenset({"x86"})
    summary = "the guest on the host's real VT-x through KVM"

    def __init__(self, vm):
        super().__init__(vm)
        from cores.x86 import cpu as X
        self.X = X
        m = vm.machine
        self.m = m
        if len(m.cpu_list) != 1:
            raise ModeError(f"{vm.name}: mode 'kvm' runs one-CPU machines ({len(m.cpu_list)} CPUs here)")
        self.vcpu_core = cpu = m.cpu
        if getattr(cpu, "model", 0) < 3:
            raise ModeError(f"{vm.name}: mode 'kvm' needs a 386 or later guest CPU (the host's is one)")
        self.space = space = m.spaces[cpu.name]
        if space.page != FRAME:
            raise ModeError(f"{vm.name}: mode 'kvm' needs 4 KiB pages in the address space")
        self.data = m.mem.data
        self.base = self.data.ctypes.data
        if self.base % mmap.PAGESIZE:
            raise ModeError(f"{vm.name}: mode 'kvm': the host memory array is not page aligned "
                            f"(at {self.base:#x}), so its frames cannot be KVM memory")
        if _TIMERS is None:
            raise ModeError(f"{vm.name}: mode 'kvm' needs POSIX timers (timer_create) in libc")
        self.k = Vcpu(vm.name)
        self.openbus = m.mem.offset("_openbus", 0)
        self.gen = None                  # space.generation the slots were built for
        self.loaded = None               # state snapshot KVM holds (None: load it)
        self.ready = False               # the last exit said an interrupt can be injected
        self.pending_io = False          # an IO/MMIO exit not yet completed by KVM_RUN
        self.irq_bitmap = None           # interrupt_bitmap of the last KVM_GET_SREGS
        self.efer = 0                    # and its EFER
        self.tid = None                  # the thread the timer and signal mask are set up for
        self.timer = c_void_p()
        self.exits = Counter()           # KVM exit name -> count
        self.runs = 0                    # KVM_RUN calls
        self.run_time = 0.0              # wall seconds inside KVM_RUN
        self.injected = 0                # interrupts injected
        self.idle_cycles = 0
        self._irq = KvmInterrupt()
        m.scheduler.cpu_hooks[cpu.name] = self._run_cpu

    # ---- Mode interface -------------------------------------------------------------------
    def invalidate(self) -> None:
        """The guest's state was replaced (reset, restore): load it again, rebuild slots."""
        self.loaded = None
        self.gen = None
        self.pending_io = False

    def destroy(self) -> None:
        if self.timer.value and _TIMERS is not None:
            _TIMERS[2](self.timer)
            self.timer = c_void_p()
        if getattr(self, "k", None) is not None:
            self.k.close()
            self.k = None
        self.m.scheduler.cpu_hooks.pop(self.vcpu_core.name, None)

    def stats(self) -> dict:
        runs = self.runs or 1
        return {"exits": dict(self.exits), "kvm_runs": self.runs, "kvm_seconds": self.run_time,
                "us_per_run": 1e6 * self.run_time / runs, "injected": self.injected,
                "idle_cycles": self.idle_cycles, "slots": len(self.k.slots) if self.k else 0}

    # ---- memory slots ------------------------------------------------------------------------
    def sync_slots(self) -> None:
        """KVM's memory slots from the address space's page tables (when they changed)."""
        sp = self.space
        gen = getattr(sp, "generation", None)
        if gen is not None and gen == self.gen:
            return
        if gen is None:                                        # (no generation: a fingerprint)
            gen = hash(sp.rpage.tobytes()) ^ hash(sp.wpage.tobytes())
            if gen == self.gen:
                return
        self.gen = gen
        k = self.k
        want = {}
        for p, n, off, ro in slot_runs(sp.rpage, sp.wpage, (self.openbus,)):
            want[(p << 12, n << 12, off, KVM_MEM_READONLY if ro else 0)] = True
        have = {v: s for s, v in k.slots.items()}
        if k.max_slots and len(want) > k.max_slots:
            raise KvmError(f"{self.vm.name}: mode 'kvm': its memory map needs {len(want)} KVM memory "
                           f"slots, this KVM has {k.max_slots} (host frames too scattered)")
        for v, s in list(have.items()):                        # drop what is gone first: slots
            if v not in want:                                  # may not overlap
                k.set_slot(s, v[0], 0, 0, v[3])
                del k.slots[s]
        free = (s for s in range(1 << 15) if s not in k.slots)
        for v in want:
            if v not in have:
                s = next(free)
                k.set_slot(s, v[0], v[1], self.base + v[2], v[3])
                k.slots[s] = v

    # ---- the state array <-> the vCPU ------------------------------------------------------------
    def _snapshot(self) -> bytes:
        """What of the state array the vCPU holds (HALTED is the mode's own)."""
        X, s = self.X, self.vcpu_core.state
        return s[X.REG:X.HALTED].tobytes() + s[X.CR2:X.CR2 + 1].tobytes() + \
            s[X.MSR_CS:X.MSR_EIP + 1].tobytes() + s[X.APICBASE:X.APICBASE + 1].tobytes()

    def _seg_in(self, ks, sel, base, limit, attr, pm, v86):
        ks.selector, ks.base, ks.limit = sel & 0xFFFF, base & 0xFFFFFFFF, limit & 0xFFFFFFFF
        ks.padding = ks.unusable = 0
        if v86:                                  # (VMX: V86 segments are 8086 ones, AR F3h)
            ks.base, ks.limit = (sel & 0xFFFF) << 4, 0xFFFF
            ks.type, ks.s, ks.dpl, ks.present, ks.avl, ks.l, ks.db, ks.g = 3, 1, 3, 1, 0, 0, 0, 0
            return
        if not attr:
            if pm:
                ks.unusable = 1
                ks.type = ks.s = ks.dpl = ks.present = ks.avl = ks.l = ks.db = ks.g = 0
                return
            attr = 0x93                          # (real mode: every segment is usable)
        ks.type, ks.s, ks.dpl, ks.present = attr & 0xF, (attr >> 4) & 1, (attr >> 5) & 3, (attr >> 7) & 1
        ks.avl, ks.l, ks.db, ks.g = (attr >> 8) & 1, 0, (attr >> 10) & 1, (attr >> 11) & 1
        lim = ks.limit
        if lim > 0xFFFFF:                        # (VMX checks G against the limit)
            ks.g = 1
        elif lim & 0xFFF != 0xFFF:
            ks.g = 0
        if not pm:
            ks.dpl, ks.present, ks.s = 0, 1, 1

    @staticmethod
    def _seg_out(ks):
        if ks.unusable:
            return 0
        return (ks.type | ks.s << 4 | ks.dpl << 5 | ks.present << 7 | ks.avl << 8 | ks.l << 9
                | ks.db << 10 | ks.g << 11)

    SEG_NAMES = ("es", "cs", "ss", "ds", "fs", "gs")       # the state array's order

    def load(self) -> None:
        """The state array into the vCPU (KVM_SET_REGS, _SREGS, _MSRS, _VCPU_EVENTS)."""
        X, s, k = self.X, self.vcpu_core.state, self.k
        self.loaded = None               # (until it is all in: a failure leaves nothing to save)
        r = k.regs
        r.rax, r.rcx, r.rdx, r.rbx = (int(s[X.EAX + i]) & 0xFFFFFFFF for i in range(4))
        r.rsp, r.rbp, r.rsi, r.rdi = (int(s[X.ESP + i]) & 0xFFFFFFFF for i in range(4))
        r.r8 = r.r9 = r.r10 = r.r11 = r.r12 = r.r13 = r.r14 = r.r15 = 0
        r.rip = int(s[X.EIP]) & 0xFFFFFFFF
        r.rflags = (int(s[X.FLAGS]) & 0x3F7FD7) | 2
        k.get(KVM_SET_REGS, r, "KVM_SET_REGS")
        sr = k.sregs
        cr0 = int(s[X.CR0]) & 0xFFFFFFFF
        pm, v86 = bool(cr0 & X.PE), bool(int(s[X.FLAGS]) & X.VM)
        for i, n in enumerate(self.SEG_NAMES):
            self._seg_in(getattr(sr, n), int(s[X.SEL + i]), int(s[X.BASE + i]), int(s[X.LIMIT + i]),
                         int(s[X.ATTR + i]), pm, v86)
        tr, tra = sr.tr, int(s[X.TRA])
        self._seg_in(tr, int(s[X.TR]), int(s[X.TRB]), int(s[X.TRL]), tra | 0x80, True, False)
        if tr.type in (1, 9):
            tr.type |= 2                                       # (VMX: TR is a busy TSS)
        elif tr.type not in (3, 11):
            tr.type = 11
        tr.s, tr.present, tr.unusable = 0, 1, 0
        ldt = sr.ldt
        self._seg_in(ldt, int(s[X.LDTR]), int(s[X.LDTB]), int(s[X.LDTL]), 0x82, True, False)
        if not int(s[X.LDTR]) & 0xFFFC:
            ldt.unusable, ldt.present = 1, 0
        sr.gdt.base, sr.gdt.limit = int(s[X.GDTB]) & 0xFFFFFFFF, int(s[X.GDTL]) & 0xFFFF
        sr.idt.base, sr.idt.limit = int(s[X.IDTB]) & 0xFFFFFFFF, int(s[X.IDTL]) & 0xFFFF
        sr.cr0, sr.cr2 = cr0 | X.ET, int(s[X.CR2]) & 0xFFFFFFFF
        sr.cr3, sr.cr4 = int(s[X.CR3]) & 0xFFFFFFFF, int(s[X.CR4]) & 0xFFFFFFFF
        sr.cr8 = 0
        sr.efer = self.efer if self.irq_bitmap is not None else 0   # (NXE: not in the state array)
        sr.apic_base = int(s[X.APICBASE]) or 0xFEE00900
        for i in range(len(sr.interrupt_bitmap)):              # an injection still queued stays
            sr.interrupt_bitmap[i] = self.irq_bitmap[i] if self.irq_bitmap else 0
        k.get(KVM_SET_SREGS, sr, "KVM_SET_SREGS")
        ms = k.msrs
        ms.nmsrs = len(MSRS)
        for i, (msr, slot) in enumerate(zip(MSRS, (X.MSR_CS, X.MSR_ESP, X.MSR_EIP))):
            ms.entries[i].index, ms.entries[i].data = msr, int(s[slot]) & 0xFFFFFFFF
        ioctl(k.fd, KVM_SET_MSRS, ms, f"{self.vm.name}: KVM_SET_MSRS")
        ev = k.get(KVM_GET_VCPU_EVENTS, k.events, "KVM_GET_VCPU_EVENTS")
        ev.interrupt.shadow = KVM_X86_SHADOW_INT_STI if s[X.INHIBIT] else 0
        ev.flags = KVM_VCPUEVENT_VALID_SHADOW
        if self.irq_bitmap is None:                            # (a reset: nothing in flight)
            ev.exception.injected = ev.exception.pending = 0
            ev.interrupt.injected = ev.nmi.injected = ev.nmi.pending = 0
        k.get(KVM_SET_VCPU_EVENTS, ev, "KVM_SET_VCPU_EVENTS")
        s[X.DELIV] = -2
        self.loaded = self._snapshot()
        self.ready = False               # (run.if_flag is stale now)

    def complete(self) -> None:
        """Finish the instruction of the last I/O or MMIO exit, so that the vCPU's state is
        whole (api.rst, KVM_RUN: the operation completes on the next KVM_RUN, which with
        ``immediate_exit`` returns EINTR at once after it)."""
        if self.pending_io:
            k = self.k
            k.run.immediate_exit = 1
            _ioctl(k.fd, KVM_RUN, None)
            k.run.immediate_exit = 0
            self.pending_io = False

    def save(self) -> None:
        """The vCPU into the state array."""
        X, s, k = self.X, self.vcpu_core.state, self.k
        self.complete()
        r = k.get(KVM_GET_REGS, k.regs, "KVM_GET_REGS")
        s[X.EAX], s[X.ECX], s[X.EDX], s[X.EBX] = r.rax & 0xFFFFFFFF, r.rcx & 0xFFFFFFFF, \
            r.rdx & 0xFFFFFFFF, r.rbx & 0xFFFFFFFF
        s[X.ESP], s[X.EBP], s[X.ESI], s[X.EDI] = r.rsp & 0xFFFFFFFF, r.rbp & 0xFFFFFFFF, \
            r.rsi & 0xFFFFFFFF, r.rdi & 0xFFFFFFFF
        s[X.EIP], s[X.FLAGS] = r.rip & 0xFFFFFFFF, r.rflags & 0x3F7FD7 | 2
        sr = k.get(KVM_GET_SREGS, k.sregs, "KVM_GET_SREGS")
        self.irq_bitmap = list(sr.interrupt_bitmap)
        self.efer = sr.efer
        for i, n in enumerate(self.SEG_NAMES):
            ks = getattr(sr, n)
            s[X.SEL + i], s[X.BASE + i], s[X.LIMIT + i] = ks.selector, ks.base & 0xFFFFFFFF, ks.limit
            s[X.ATTR + i] = self._seg_out(ks)
        pm, v86 = bool(sr.cr0 & X.PE), bool(r.rflags & X.VM)
        s[X.CPL] = 3 if v86 else (sr.ss.dpl if pm else 0)
        s[X.CSD] = sr.cs.db if pm and not v86 else 0
        s[X.SSB] = sr.ss.db if pm and not v86 else 0
        s[X.LDTR], s[X.LDTB], s[X.LDTL] = sr.ldt.selector, sr.ldt.base & 0xFFFFFFFF, sr.ldt.limit
        if sr.ldt.unusable:
            s[X.LDTB] = s[X.LDTL] = 0
        s[X.TR], s[X.TRB], s[X.TRL] = sr.tr.selector, sr.tr.base & 0xFFFFFFFF, sr.tr.limit
        s[X.TRA] = self._seg_out(sr.tr) & 0xFF
        s[X.GDTB], s[X.GDTL], s[X.IDTB], s[X.IDTL] = sr.gdt.base, sr.gdt.limit, sr.idt.base, sr.idt.limit
        s[X.CR0], s[X.CR2] = sr.cr0 & 0xFFFFFFFF, sr.cr2 & 0xFFFFFFFF
        s[X.CR3], s[X.CR4] = sr.cr3 & 0xFFFFFFFF, sr.cr4 & 0xFFFFFFFF
        s[X.APICBASE] = sr.apic_base & 0xFFFFFFFF
        ms = k.msrs
        ms.nmsrs = len(MSRS)
        for i, msr in enumerate(MSRS):
            ms.entries[i].index = msr
        if _ioctl(k.fd, KVM_GET_MSRS, ctypes.addressof(ms)) == len(MSRS):
            s[X.MSR_CS], s[X.MSR_ESP], s[X.MSR_EIP] = (ms.entries[i].data & 0xFFFFFFFF for i in range(3))
        ev = k.get(KVM_GET_VCPU_EVENTS, k.events, "KVM_GET_VCPU_EVENTS")
        s[X.INHIBIT] = 1 if ev.interrupt.shadow else 0
        s[X.DELIV] = -1
        s[X.TLBT:X.TLBT + X.TLBN] = -1   # (the interpreter's TLB knows nothing of what KVM did)
        self.loaded = self._snapshot()

    # ---- slice timer -------------------------------------------------------------------------
    def _thread_setup(self) -> None:
        """This thread's timer and signal mask: the kick signal blocked here, unblocked
        only inside KVM_RUN (KVM_SET_SIGNAL_MASK), aimed at this thread only."""
        tid = threading.get_native_id()
        if tid == self.tid:
            return
        signal.pthread_sigmask(signal.SIG_BLOCK, {KICK_SIGNAL})
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, [])
        mask = KvmSignalMask()
        mask.len = 8
        bits = sum(1 << (int(n) - 1) for n in blocked if n != KICK_SIGNAL)
        for i in range(8):
            mask.sigset[i] = (bits >> (8 * i)) & 0xFF
        ioctl(self.k.fd, KVM_SET_SIGNAL_MASK, mask, f"{self.vm.name}: KVM_SET_SIGNAL_MASK")
        create, _, delete = _TIMERS
        if self.timer.value:
            delete(self.timer)
            self.timer = c_void_p()
        sev = _Sigevent()
        sev.sigev_signo, sev.sigev_notify, sev.sigev_notify_thread_id = KICK_SIGNAL, SIGEV_THREAD_ID, tid
        _check(create(CLOCK_MONOTONIC, ctypes.byref(sev), ctypes.byref(self.timer)),
               f"{self.vm.name}: timer_create")
        self.tid = tid
        self._its = _Itimerspec()

    def _arm(self, seconds: float) -> None:
        its = self._its
        ns = max(1000, int(seconds * 1e9))
        its.it_value.tv_sec, its.it_value.tv_nsec = divmod(ns, 1_000_000_000)
        _TIMERS[1](self.timer, 0, ctypes.byref(its), None)

    def _disarm(self) -> None:
        its = self._its
        its.it_value.tv_sec = its.it_value.tv_nsec = 0
        _TIMERS[1](self.timer, 0, ctypes.byref(its), None)
        signal.sigtimedwait(KICK_SET, 0)                        # (one that fired meanwhile)

    # ---- the run loop (the scheduler's slice of this VM's CPU) ---------------------------------
    def _run_cpu(self, cpu) -> None:
        m, X, k = self.m, self.X, self.k
        sched, space, state = m.scheduler, self.space, cpu.state
        sched.running_cpu = cpu
        sched.halted[cpu.name] = False
        clock = cpu.clock_hz
        run, fd, exits, vexits = k.run, k.fd, self.exits, self.vm.exits
        dispatch = sched.dispatch
        HALTED, DELIV, S_IRQ, S_NMI, S_CYCLES = X.HALTED, X.DELIV, abi.S_IRQ, abi.S_NMI, abi.S_CYCLES
        io, mmio = run.x.io, run.x.mmio
        perf = time.perf_counter
        self._thread_setup()
        armed_for, ran = None, False
        try:
            self.sync_slots()
            if self.loaded is None or self._snapshot() != self.loaded:
                self.load()
            state[DELIV] = -2            # (the state is live in KVM: a reset rewrites this)
            state[abi.S_EXIT_REASON] = abi.EXIT_BUDGET
            while not m.stop_requested:
                target = int(sched.slice_end * clock)
                cycles = int(state[S_CYCLES])
                budget = target - cycles
                if budget <= 0 or (ran and budget < clock * MIN_RUN):
                    break                  # (a remainder shorter than an exit: the next slice's)
                irq = state[S_IRQ] & 1
                if state[HALTED]:
                    iflag = run.if_flag if self.ready else state[X.FLAGS] & X.IF
                    if not (state[S_NMI] or (irq and iflag)):
                        self.idle_cycles += budget
                        state[abi.S_EXIT_REASON] = abi.EXIT_HLT
                        dispatch(cpu, space, abi.EXIT_HLT)     # (idles to the slice's end)
                        sched.halted[cpu.name] = True
                        break
                    state[HALTED] = 0
                if state[S_NMI]:
                    state[S_NMI] = 0
                    ioctl(fd, KVM_NMI, None, f"{self.vm.name}: KVM_NMI")
                if irq:
                    if self.ready and run.ready_for_interrupt_injection and run.if_flag:
                        self._irq.irq = int(state[abi.S_IRQ_VECTOR]) & 0xFF
                        ioctl(fd, KVM_INTERRUPT, self._irq, f"{self.vm.name}: KVM_INTERRUPT")
                        self.injected += 1
                        self.ready = False
                        run.request_interrupt_window = 0
                        dispatch(cpu, space, abi.EXIT_IRQ_ACK)  # (the controller's INTA)
                    else:
                        run.request_interrupt_window = 1
                elif run.request_interrupt_window:
                    run.request_interrupt_window = 0
                if armed_for != target:
                    self._arm(budget / clock)
                    armed_for = target
                t0 = perf()
                r = _ioctl(fd, KVM_RUN, None)
                dt = perf() - t0
                ran = True
                self.pending_io = False
                self.runs += 1
                self.run_time += dt
                n = int(dt * clock)
                state[S_CYCLES] = cycles + n
                state[abi.S_INSNS] += n                        # (an estimate: see the module doc)
                self.ready = True
                reason = run.exit_reason if r >= 0 else KVM_EXIT_INTR
                if reason == KVM_EXIT_IO:
                    exits["io"] += 1
                    port, size, count, off = io.port, io.size, io.count, io.data_offset
                    buf = k.run_map
                    if io.direction == KVM_EXIT_IO_OUT:
                        vexits["io-out"] += count
                        for a in range(off, off + count * size, size):
                            space.io_write(port, int.from_bytes(buf[a:a + size], "little"), size)
                    else:
                        vexits["io-in"] += count
                        for a in range(off, off + count * size, size):
                            buf[a:a + size] = space.io_read(port, size).to_bytes(size, "little")
                    self.pending_io = True
                elif reason == KVM_EXIT_MMIO:
                    exits["mmio"] += 1
                    addr, size = mmio.phys_addr & 0xFFFFFFFF, mmio.len
                    if mmio.is_write:
                        vexits["mmio-write"] += 1
                        space.mmio_write(addr, int.from_bytes(bytes(mmio.data)[:size], "little"), size)
                    else:
                        vexits["mmio-read"] += 1
                        v = space.mmio_read(addr, size)
                        ctypes.memmove(mmio.data, v.to_bytes(8, "little"), 8)
                    self.pending_io = True
                elif reason == KVM_EXIT_INTR:
                    exits["intr"] += 1
                    if r < 0 and ctypes.get_errno() != 4:
                        e = ctypes.get_errno()
                        raise GuestFault(f"{self.vm.name}: KVM_RUN failed: {os.strerror(e)} (errno {e})")
                    signal.sigtimedwait(KICK_SET, 0)
                    armed_for = None                           # (re-armed if the slice goes on)
                    continue
                elif reason == KVM_EXIT_IRQ_WINDOW_OPEN:
                    exits["irq-window"] += 1
                    continue
                elif reason == KVM_EXIT_HLT:
                    exits["hlt"] += 1
                    state[HALTED] = 1
                    continue
                elif reason == KVM_EXIT_SHUTDOWN:
                    exits["shutdown"] += 1
                    self._shutdown(cpu)
                    armed_for = None
                    continue
                else:
                    exits[EXIT_NAMES.get(reason, str(reason))] += 1
                    self._failure(reason)
                if state[DELIV] != -2:                         # a device reset the CPU (port 92h,
                    self.complete()                            # the 8042): load the reset state
                    self.irq_bitmap = None
                    self.load()
                if space.generation != self.gen:               # the map changed (VGA window ...)
                    self.sync_slots()
        finally:
            if self.tid is not None:
                self._disarm()
            if self.k is not None and self.loaded is not None and state[DELIV] == -2:
                self.save()
            sched.running_cpu = None

    def _shutdown(self, cpu) -> None:
        """KVM_EXIT_SHUTDOWN (a triple fault): the machine's reaction, as on a PC (a line in
        its log, the CPU reset); the reset state is loaded into the vCPU."""
        X, s = self.X, cpu.state
        self.save()
        # what the machine's report shows: where KVM stopped and "#DF -> triple fault" (the
        # exceptions before the double fault are not reported by KVM)
        s[X.XFCS], s[X.XFEIP] = s[X.SEL + X.CS], s[X.EIP]
        s[X.XCHAIN], s[X.XCHERR:X.XCHERR + 5] = 8, -1
        self.m.scheduler.dispatch(cpu, self.space, abi.EXIT_SHUTDOWN)
        self.irq_bitmap = None
        self.load()

    def _failure(self, reason) -> None:
        run = self.k.run
        where = ""
        try:
            regs = self.k.get(KVM_GET_REGS, self.k.regs, "KVM_GET_REGS")
            sr = self.k.get(KVM_GET_SREGS, self.k.sregs, "KVM_GET_SREGS")
            where = f" at {sr.cs.selector:04X}:{regs.rip:08X} (CR0={sr.cr0:08X})"
        except ModeError:
            pass
        if reason == KVM_EXIT_FAIL_ENTRY:
            why = f"VM entry failed (hardware reason {run.x.fail_entry.hardware_entry_failure_reason:#x})"
        elif reason == KVM_EXIT_INTERNAL_ERROR:
            why = f"KVM internal error (suberror {run.x.internal.suberror})"
        elif reason == KVM_EXIT_UNKNOWN:
            why = f"unknown exit (hardware reason {run.x.hardware_exit_reason:#x})"
        else:
            why = f"unexpected exit {EXIT_NAMES.get(reason, reason)}"
        self.loaded = None
        raise GuestFault(f"{self.vm.name}: KVM: {why}{where}")
