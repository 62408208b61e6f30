; biostest.img — BIOS service checks for machines/pc.yaml (1.44M floppy).
; Calls INT 10h/11h/12h/15h/16h/1Ah and reports each result on the debug
; console (port E9h) as "<tag> <hex> <hex>..." lines, then "BIOSTEST DONE";
; tests/test_pc_boot.py holds the expected values.  Needs a 386 for E820h.

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
        ; ---- INT 11h / 12h ---------------------------------------------------
        TAG     "EQ"
        int     0x11
        call    hex16s
        call    nl
        TAG     "MEM"
        int     0x12
        call    hex16s
        call    nl
        ; ---- INT 15h -------------------------------------------------------------
        TAG     "X88"
        mov     ax, 0x88FF
        clc
        int     0x15
        call    cf
        call    hex16s
        call    nl
        TAG     "C0"
        mov     ah, 0xC0
        int     0x15
        call    cf
        mov     al, ah
        call    hex8s
        mov     al, [es:bx+2]
        call    hex8s
        call    nl
        push    ds
        pop     es
        TAG     "UNS"
        mov     ah, 0x87
        int     0x15
        call    cf
        mov     al, ah
        call    hex8s
        call    nl
        xor     ebx, ebx
        xor     bp, bp
.e820:  mov     eax, 0xE820
        mov     ecx, 24
        mov     edx, 0x534D4150
        mov     di, 0x9000
        int     0x15
        jc      .e820_end
        cmp     eax, 0x534D4150
        jne     .e820_end
        inc     bp
        TAG     "E820"
        mov     eax, [0x9000]
        call    hex32s
        mov     eax, [0x9008]
        call    hex32s
        mov     al, [0x9010]
        call    hex8s
        call    nl
        or      ebx, ebx
        jnz     .e820
.e820_end:
        TAG     "E820 END"
        mov     ax, bp
        call    hex8s
        call    nl
        ; ---- INT 1Ah --------------------------------------------------------------
        TAG     "RTC"
        mov     ah, 0x02
        int     0x1A
        call    cf
        mov     al, ch
        call    hex8s
        mov     al, cl
        call    hex8s
        mov     al, dh
        call    hex8s
        call    nl
        TAG     "DATE"
        mov     ah, 0x04
        int     0x1A
        call    cf
        call    hex_chcldhdl
        call    nl
        ; ---- INT 16h --------------------------------------------------------------
        TAG     "K05"
        mov     ah, 0x05
        mov     cx, 0x1E61
        int     0x16
        call    hex8s
        call    nl
        TAG     "K01"
        mov     ah, 0x01
        int     0x16
        call    zf
        call    hex16s
        call    nl
        TAG     "K00"
        mov     ah, 0x00
        int     0x16
        call    hex16s
        call    nl
        TAG     "K01E"
        mov     ah, 0x01
        int     0x16
        call    zf
        call    nl
        mov     ah, 0x05
        mov     cx, 0x48E0
        int     0x16
        mov     ah, 0x05
        mov     cx, 0x48E0
        int     0x16
        TAG     "K00G"
        mov     ah, 0x00
        int     0x16
        call    hex16s
        call    nl
        TAG     "K10G"
        mov     ah, 0x10
        int     0x16
        call    hex16s
        call    nl
        TAG     "K02"
        mov     ah, 0x02
        int     0x16
        call    hex8s
        call    nl
        ; ---- INT 10h --------------------------------------------------------------
        mov     ax, 0x0003
        int     0x10
        TAG     "V0F"
        mov     ah, 0x0F
        int     0x10
        call    hex16s
        mov     al, bh
        call    hex8s
        call    nl
        mov     si, s_abc
        call    print
        mov     dx, 0x0001
        call    setpos
        TAG     "V08"
        mov     ah, 0x08
        mov     bh, 0
        int     0x10
        call    hex16s
        call    nl
        mov     dx, 0x0100              ; row 1: 80 x 'X' in 1Fh
        call    setpos
        mov     ax, 0x0958
        mov     bx, 0x001F
        mov     cx, 80
        int     0x10
        mov     ax, 0x0601              ; scroll the screen up one line, blank 2Eh
        mov     bh, 0x2E
        xor     cx, cx
        mov     dx, 0x184F
        int     0x10
        TAG     "UP"
        mov     dx, 0x0005
        call    readat
        mov     dx, 0x1800
        call    readat
        call    nl
        mov     ax, 0x0701              ; and down one line, blank 4Fh
        mov     bh, 0x4F
        xor     cx, cx
        mov     dx, 0x184F
        int     0x10
        TAG     "DOWN"
        mov     dx, 0x0105
        call    readat
        mov     dx, 0x0005
        call    readat
        call    nl
        mov     ax, 0x0602              ; a window: rows 10-12, columns 10-19 up by 2
        mov     bh, 0x5F
        mov     cx, 0x0A0A
        mov     dx, 0x0C13
        int     0x10
        TAG     "WIN"
        mov     dx, 0x0A0A
        call    readat
        mov     dx, 0x0C13
        call    readat
        mov     dx, 0x0C14
        call    readat
        call    nl
        mov     dx, 0x1800              ; teletype on the last line scrolls
        call    setpos
        mov     si, s_last
        call    print
        TAG     "TTY"
        mov     ah, 0x03
        mov     bh, 0
        int     0x10
        mov     ax, dx
        call    hex16s
        mov     dx, 0x1700
        call    readat
        call    nl
        TAG     "PAL"
        mov     ax, 0x1015
        mov     bx, 15
        int     0x10
        mov     al, dh
        call    hex8s
        mov     al, ch
        call    hex8s
        mov     al, cl
        call    hex8s
        call    nl
        TAG     "DCC"
        mov     ax, 0x1A00
        int     0x10
        call    hex8s
        mov     ax, bx
        call    hex16s
        call    nl
        TAG     "BIOSTEST DONE"
        call    nl
.halt:  sti
        hlt
        jmp     .halt

readat:                                 ; " " + char/attribute at DX
        call    setpos
        mov     ah, 0x08
        mov     bh, 0
        int     0x10
        jmp     hex16s

setpos: mov     ah, 0x02
        mov     bh, 0
        int     0x10
        ret

print:  lodsb
        or      al, al
        jz      .r
        mov     ah, 0x0E
        mov     bx, 7
        int     0x10
        jmp     print
.r:     ret

cf:     pushf                           ; " CF=n" from the flags
        push    ax
        setc    al
        jmp     flag
zf:     pushf
        push    ax
        setz    al
flag:   push    ax
        mov     al, ' '
        out     0xE9, al
        pop     ax
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

s_abc:  db "ABC", 0
s_last: db "LAST", 10, 0

rest_end:
REST_SECTORS    equ (rest_end - main + 511) / 512
        times 512 + REST_SECTORS * 512 - ($ - $$) db 0
