"""x86 state-array layout: register slots, flag bits, internal codes (run ABI: emu/abi.py).

General registers are kept as 32-bit values (AX is the low half of EAX); every
segment register has its selector and its hidden descriptor cache (base, limit,
attributes) in the state, as on the chip, so a mode switch keeps what was loaded
("unreal mode").  Slots ``16 .. 16 + NREG`` are the architectural state an
instruction may change; the general path snapshots them at ``SNAP`` so that a
fault or a restartable exit can undo a half-done instruction (SDM vol. 3, 6.5:
faults are reported with the state before the faulting instruction).
"""
from emu import abi

from .jit import J, JI, JTOP  # noqa: F401  (compile options: see jit.py)

# ---- architectural state (snapshotted) -------------------------------------------
REG = 16                                       # EAX ECX EDX EBX ESP EBP ESI EDI
EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI = range(16, 24)
EIP = 24
FLAGS = 25
SEL = 26                                       # selectors  ES CS SS DS FS GS
BASE = 32                                      # hidden bases
LIMIT = 38                                     # hidden limits (the highest valid offset)
ATTR = 44                                      # hidden attributes: descriptor bits 40-55 >> 8
ES, CS, SS, DS, FS, GS = range(6)              # (access byte | G D/B L AVL << 8); 0 = unusable
CPL = 50                                       # current privilege level (0 in real mode, 3 in V86)
CSD = 51                                       # CS default size is 32 bits (D bit)
SSB = 52                                       # SS is 32-bit (B bit): ESP, not SP
LDTR, LDTB, LDTL = 53, 54, 55                  # LDT selector, base, limit
TR, TRB, TRL, TRA = 56, 57, 58, 59             # task register: selector, base, limit, type
GDTB, GDTL, IDTB, IDTL = 60, 61, 62, 63        # GDTR / IDTR (real mode: the IVT)
CR0, CR3, CR4 = 64, 65, 66
INHIBIT = 67                                   # interrupt shadow (STI, MOV/POP SS)
HALTED = 68
NREG = 69 - 16                                 # slots 16..68 are snapshotted

# ---- VMX non-root operation (cores/x86/vmx.py): the VMCS fields the core consults ----------
VMX = 69                                       # 1: the CPU runs a guest (VMX non-root operation)
VMX_PIN, VMX_PROC = 70, 71                     # pin-based / primary processor-based controls
CR0_MASK, CR0_SHADOW, CR4_MASK, CR4_SHADOW = 72, 73, 74, 75   # guest/host masks, read shadows
VMX_REASON = 76                                # basic exit reason of the last EXIT_VMEXIT
VMX_QUAL = 77                                  # its exit qualification (while the exit is pending)
VMX_MSRBM = 78                                 # MSR bitmaps: offset of their 4 KiB in mem[0] (host memory)

# ---- not undone by a fault ----------------------------------------------------------
CR2 = 80                                       # page-fault linear address
MODEL = 81                                     # 0 8086, 1 186, 2 286, 3 386, 4 486, 5 Pentium, 6 P6
XREAD = 82                                     # the instruction is abandoned: X_MMIO_RD or X_FAULTED
A20 = 83                                       # A20 gate mask of physical addresses
AMASK = 84                                     # A20 & size of the bus page tables (run sets it)
END = 85                                       # cycle count where run stops (REP checks it)
PARTIAL = 86                                   # the instruction did not finish (REP interrupted)
EAC = 87                                       # effective-address cycles of this instruction
SWINT = 88                                     # the instruction entered a handler (no trap)
XVEC = 89                                      # exception raised by the instruction (-1 none)
XERR = 90                                      # its error code (-1: none pushed)
XLIN = 91                                      # linear address of a page fault (CR2 on delivery)
DELIV = 92                                     # vector being delivered (-1): #DF / triple fault
MSR_CS, MSR_ESP, MSR_EIP = 93, 94, 95          # IA32_SYSENTER_CS/ESP/EIP
TSC_OFF = 96                                   # TSC = cycles + TSC_OFF (WRMSR 10h writes it)
APICBASE = 97                                  # IA32_APIC_BASE
FEAT = 98                                      # CPUID.1 EDX feature bits of the model
SHUTDOWN = 99                                  # triple fault: the CPU stopped (machine resets)
DBACT = 100                                    # DR7 enables: bit 0 instruction, bit 1 data breakpoints
DBHIT = 101                                    # data breakpoints hit by this instruction (DR6.B0-3)
XCHAIN = 102                                   # exceptions of the last delivery, 8 bits each (shutdown report)
XFCS, XFEIP = 103, 104                         # CS:EIP where that delivery started
DR = 105                                       # DR0..DR7: status that a fault does not undo
XCHERR = 113                                   # error codes of the XCHAIN exceptions (5 slots; -1 none)
EXIT_INFO = 118                                # VMM exit info (emu.abi EI_*): ILEN, GLA, GPA
STRICT = 121                                   # strict (virtualizable) model: sensitive instructions trap
EXC_BITMAP = 122                               # VMM: exception vectors that exit (INTERCEPT_EXCEPTIONS)
INJ_INFO, INJ_ERR = 123, 124                   # VMM: event to deliver when run() starts, as VT-x's
                                               # entry interruption information: bit 31 valid,
                                               # bit 11 error code (INJ_ERR) valid, bits 7:0 vector
IDT_INFO, IDT_ERR = 125, 126                   # VMM: the event whose delivery an intercepted
                                               # exception interrupted, as VT-x's IDT-vectoring
                                               # information (SDM vol. 3, 27.2.4): the same format;
                                               # cleared when run() starts
SNAP = 128                                     # snapshot of slots 16 .. 16 + NREG
SCRATCH = 192                                  # 32 slots of work space (call-gate parameters)
TLBN = 256                                     # TLB entries (direct-mapped by linear page)
TLBT = 256                                     # tags: linear page number, -1 empty
TLBE = TLBT + TLBN                             # entries: physical page << 12 | TLB_* bits
MMLOG_N = TLBE + TLBN                          # MMIO values of the instruction being restarted:
MMLOG_C = MMLOG_N + 1                          #   entries in the log, entries this attempt used,
MMLOG_W = MMLOG_N + 2                          #   the entry an MMIO read exit awaits (-1 none),
MMLOG = MMLOG_N + 3                            #   (address | size << 32, value) pairs (memory.py)
MMLOG_CAP = 64                                  # (ENTER with 31 levels fetched from MMIO: 35 reads)
BREAKS = MMLOG + 2 * MMLOG_CAP                 # the break table (emu.abi BT_*): linear addresses
STATE_SIZE = BREAKS + abi.BT_SIZE

CF, PF, AF, ZF, SF, TF, IF, DF, OF = 0x1, 0x4, 0x10, 0x40, 0x80, 0x100, 0x200, 0x400, 0x800
IOPL, NT, RF, VM, AC, VIF, VIP, ID = 0x3000, 0x4000, 0x10000, 0x20000, 0x40000, 0x80000, 0x100000, 0x200000
ARITH = 0x8D5                                  # OF SF ZF AF PF CF

# CR0 / CR4 bits (SDM vol. 3, 2.5)
PE, MP, EM, TS, ET, NE, WP, AM, NW, CD, PG = (1, 2, 4, 8, 0x10, 0x20, 0x10000, 0x40000,
                                              0x20000000, 0x40000000, 0x80000000)
VME, PVI, TSD, DE, PSE, PGE, PCE = 1, 2, 4, 8, 0x10, 0x80, 0x100

PB = 12                                        # page bits of the bus tables and of paging
PM = (1 << PB) - 1

# execute() results below zero
X_IN = -1          # IN needs the outside world (nothing changed but EIP)
X_MMIO = -2        # MMIO read: restore the snapshot
X_SREAD = -3       # string iteration read exit: state already consistent (EIP = start)
X_SIN = -4         # string iteration IN exit: state consistent
X_FAULT = -5       # unrecoverable (S_FAULT says why)

# state[XREAD]: why the current instruction is abandoned
X_MMIO_RD = 1      # a read needs an exit (restartable)
X_FAULTED = 2      # an exception was raised (XVEC, XERR): undo, then deliver it
