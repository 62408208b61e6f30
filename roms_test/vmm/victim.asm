; victim.img — the guest whose memory the VMM isolation test guards (1.44M
; floppy for machines/pc.yaml, also boots under QEMU/SeaBIOS).
;
; In real mode it asks INT 15h E820h for the RAM range holding 2 MiB (type 1)
; and takes its end as the top of RAM; then, in flat 32-bit protected mode (no
; paging, interrupts off), it writes a canary record at the start of every
; 4 KiB page from 2 MiB to that top:
;     16 bytes "VICTIM-CANARY-42", then the page's own physical address (dword)
; and checks them (those 20 bytes per page) forever, printing on the debug
; console (port E9h), numbers in hex:
;     VICTIM OK <rounds, 8 digits> <pages, 8 digits>   after each intact round
;     VICTIM BAD <page address, 8 digits>               and halts, if one changed
;     VICTIM NO RAM                                     if E820h gave no RAM above 2 MiB
; tests/test_vmm_guests.py runs it; roms_test/vmm/README.md.

        cpu     686
        bits    16
        org     0x7C00

%include "boot.inc"

CANARY_BASE     equ 0x200000            ; first canary page (2 MiB)
E820_BUF        equ 0x9000              ; one 20-byte E820h entry

start:
        BOOT_SETUP
        BOOT_LOAD_REST main                     ; the rest of the program after the boot sector
        times 510 - ($ - $$) db 0
        dw      0xAA55

%include "pm32.inc"

main:
        ; ---- the top of RAM: end of the E820h type-1 range that holds 2 MiB ----
        xor     ebx, ebx
        xor     ebp, ebp                ; EBP = the top found (0 = none)
        mov     si, 64                  ; at most 64 entries
.e820:  mov     eax, 0xE820
        mov     ecx, 20
        mov     edx, 0x534D4150         ; 'SMAP'
        mov     di, E820_BUF
        int     0x15
        jc      .e820_done
        cmp     eax, 0x534D4150
        jne     .e820_done
        cmp     dword [E820_BUF + 16], 1        ; usable RAM?
        jne     .next
        cmp     dword [E820_BUF + 4], 0         ; base below 4 GiB and at most 2 MiB
        jne     .next
        mov     eax, [E820_BUF]
        cmp     eax, CANARY_BASE
        ja      .next
        mov     edx, [E820_BUF + 12]            ; end = base + length (64-bit) ...
        add     eax, [E820_BUF + 8]
        adc     edx, 0
        jz      .below4g
        mov     eax, 0xFFFFF000                 ; ... capped below 4 GiB
.below4g:
        and     eax, 0xFFFFF000
        cmp     eax, CANARY_BASE
        jbe     .next
        cmp     eax, ebp
        jbe     .next
        mov     ebp, eax
.next:  dec     si
        jz      .e820_done
        test    ebx, ebx
        jnz     .e820
.e820_done:
        ENTER_PM pm_main

pm_main:
        mov     esp, 0x7C00
        test    ebp, ebp
        jnz     .fill
        PRINT   "VICTIM NO RAM"
        call    nl32
        jmp     halt

        ; ---- the canaries: 16 bytes of text and the page's address ----
.fill:  mov     edi, CANARY_BASE
.f:     mov     dword [edi], 'VICT'
        mov     dword [edi + 4], 'IM-C'
        mov     dword [edi + 8], 'ANAR'
        mov     dword [edi + 12], 'Y-42'
        mov     [edi + 16], edi
        add     edi, 4096
        cmp     edi, ebp
        jb      .f
        mov     ebx, ebp                ; EBX = pages
        sub     ebx, CANARY_BASE
        shr     ebx, 12
        xor     ecx, ecx                ; ECX = rounds

        ; ---- forever: check all of them, one line per round ----
round:  mov     edi, CANARY_BASE
.c:     cmp     dword [edi], 'VICT'
        jne     bad
        cmp     dword [edi + 4], 'IM-C'
        jne     bad
        cmp     dword [edi + 8], 'ANAR'
        jne     bad
        cmp     dword [edi + 12], 'Y-42'
        jne     bad
        cmp     [edi + 16], edi
        jne     bad
        add     edi, 4096
        cmp     edi, ebp
        jb      .c
        inc     ecx
        PRINT   "VICTIM OK"
        mov     eax, ecx
        call    hex32s
        mov     eax, ebx
        call    hex32s
        call    nl32
        jmp     round

bad:    PRINT   "VICTIM BAD"
        mov     eax, edi
        call    hex32s
        call    nl32
halt:   cli
        hlt
        jmp     halt

rest_end:
REST_SECTORS    equ (rest_end - $$ - 512 + 511) / 512
        times 512 + REST_SECTORS * 512 - ($ - $$) db 0
