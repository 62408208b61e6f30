; Kernel entry at 1 MiB, from the loader: flat 32-bit segments, interrupts
; off, EBX = boot info.  Clears the BSS, takes the boot stack, calls kmain.
bits 32
section .text.entry
extern kmain, _bss_start, _bss_end
global _start
_start:         mov     esp, boot_stack_top
                mov     edi, _bss_start
                mov     ecx, _bss_end
                sub     ecx, edi
                xor     eax, eax
                cld
                rep stosb
                push    ebx
                call    kmain
.h:             jmp     .h
section .bss
align 16
global boot_stack_top
                resb    16384
boot_stack_top:
