; User program start: main(arg) and exit with its result.
bits 32
section .text.entry
extern main
global _start
_start: push    dword [esp + 4]
        call    main
        mov     ebx, eax
        xor     eax, eax                ; SYS_EXIT
        int     0x80
.h:     jmp     .h
