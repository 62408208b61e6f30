"""The virtual machine monitor: one host CPU, many VMs (docs/vmm.md).

    hostmem   host physical memory and its frame allocator
    spec      VM descriptions and scenarios (machines/vm/*.yaml)
    vm        a VM: guest memory on host frames, its CPU state, its devices
    modes     how a VM's CPU runs (emulate, ...)
    sched     fair share of guest progress among VMs
    vmm       the VMM: the loop, world switches, accounting
    control   the control socket (emu vmm ps / pause / resume / ...)
    cli       the ``emu vmm`` commands
"""
