; The user programs, linked into the kernel (build.sh puts NAME.bin on the
; include path); the table is struct prog[] in kernel.h, ended by a null name.
section .rodata
%macro PROG 1
n_%1:   db      %str(%1), 0
align 4
b_%1:   incbin  %str(%1.bin)
e_%1:
%endmacro
%include "progs_data.inc"
section .data
global progs
progs:
%macro ENTRY 1
        dd      n_%1, b_%1, e_%1
%endmacro
%include "progs_table.inc"
        dd      0, 0, 0
