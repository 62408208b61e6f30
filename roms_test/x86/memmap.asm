; memmap.img — the BIOS's memory-size services for machines/pc.yaml (1.44M
; floppy).  Calls INT 15h AH=88h, AX=E801h and the whole E820h chain, and a bad
; E820h call, and reports each answer on the debug console (port E9h):
;   X88 <CF> <AX>
;   E801 <CF> <AX> <BX> <CX> <DX>
;   E820 <base hi> <base lo> <length hi> <length lo> <type> <ECX> <EBX next>
;   E820 END <entries>
;   E820 BAD <CF> <AH>
;   MEMMAP DONE
; tests/test_memmap.py compares them with the map computed from the YAML.

        cpu     386
        bits    16
        org     0x7C00

%include "boot.inc"

start:
        BOOT_SETUP
        BOOT_LOAD_REST main                     ; the rest of the program after the boot sector
        times 510 - ($ - $$) db 0
        dw      0xAA55

%macro TAG 1
        mov     si, %%s
        call    puts
        jmp     %%e
%%s:    db %1, 0
%%e:
%endmacro

main:
        TAG     "X88"
        mov     ah, 0x88
        stc
        int     0x15
        call    cf
        call    hex16s
        call    nl
        TAG     "E801"
        mov     ax, 0xE801
        stc
        int     0x15
        call    cf
        call    hex16s
        mov     ax, bx
        call    hex16s
        mov     ax, cx
        call    hex16s
        mov     ax, dx
        call    hex16s
        call    nl
        xor     ebx, ebx
        xor     bp, bp
.e820:  mov     eax, 0xE820
        mov     ecx, 24
        mov     edx, 0x534D4150
        mov     di, 0x9000
        mov     dword [di + 16], 0xFFFFFFFF
        int     0x15
        jc      .e820_end
        cmp     eax, 0x534D4150
        jne     .e820_end
        inc     bp
        TAG     "E820"
        mov     eax, [0x9004]
        call    hex32s
        mov     eax, [0x9000]
        call    hex32s
        mov     eax, [0x900C]
        call    hex32s
        mov     eax, [0x9008]
        call    hex32s
        mov     eax, [0x9010]
        call    hex32s
        mov     eax, ecx
        call    hex32s
        mov     eax, ebx
        call    hex32s
        call    nl
        cmp     bp, 32
        jae     .e820_end
        or      ebx, ebx
        jnz     .e820
.e820_end:
        TAG     "E820 END"
        mov     ax, bp
        call    hex8s
        call    nl
        TAG     "E820 BAD"
        mov     eax, 0xE820
        xor     ebx, ebx
        mov     ecx, 20
        mov     edx, 0x12345678         ; not 'SMAP'
        mov     di, 0x9000
        clc
        int     0x15
        call    cf
        mov     al, ah
        call    hex8s
        call    nl
        TAG     "MEMMAP DONE"
        call    nl
.halt:  hlt
        jmp     .halt

cf:     pushf                           ; " n": CF from the flags
        push    ax
        setc    al
        mov     ah, al
        mov     al, ' '
        out     0xE9, al
        mov     al, ah
        add     al, '0'
        out     0xE9, al
        pop     ax
        popf
        ret

%include "debugcon.inc"

hex32s: push    eax
        mov     al, ' '
        out     0xE9, al
        pop     eax
        push    eax
        shr     eax, 16
        call    hex16
        pop     eax
        jmp     hex16

rest_end:
REST_SECTORS    equ (rest_end - main + 511) / 512
        times 512 + REST_SECTORS * 512 - ($ - $$) db 0
