; User program start: the break moved past the BSS (its pages are demand-zero),
; then main(arg) and exit with its result.
bits 32
section .text.entry
extern main, _end
global _start
_start: mov     eax, 14                 ; SYS_SBRK(0): the break after the image
        xor     ebx, ebx
        int     0x80
        mov     ebx, _end
        sub     ebx, eax
        jbe     .go
        mov     eax, 14
        int     0x80
.go:    push    dword [esp + 4]
        call    main
        mov     ebx, eax
        xor     eax, eax                ; SYS_EXIT
        int     0x80
.h:     jmp     .h
