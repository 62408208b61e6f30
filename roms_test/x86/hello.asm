; hello.img — text-mode boot disk for machines/pc.yaml (1.44M floppy).
;
; Sector 1 (boot sector, loaded at 0000:7C00 by the BIOS) clears the screen
; with INT 10h AH=00h, writes directly to B800:0000, prints through the BIOS
; (AH=13h string with attribute, AH=0Eh teletype, AH=09h coloured characters),
; reads sector 2 with INT 13h AH=02h and prints the message found there.
; The screen afterwards (tests/test_pc_boot.py checks it):
;   row 0, col 0:  " HELLO FROM THE EMU PC "   attribute 1Eh (yellow on blue), direct VRAM write
;   row 2, col 0:  "Printed by INT 10h AH=13h" attribute 0Ah (light green)
;   row 4, col 0:  "Teletype via AH=0Eh"       attribute 07h (teletype keeps the cleared attribute)
;   row 6, col 0:  "COLOURS" with attributes 09h, 0Ah, 0Bh, 0Ch, 0Dh, 0Eh, 0Fh
;   row 8, col 0:  "Sector 2 says: loaded by INT 13h" attribute 07h
;   row 10, col 0: "Memory: 640 KiB  boot drive: 00" attribute 07h (INT 12h, DL from the BIOS)
; and "HELLO OK" then a newline on the debug console (port E9h).

        cpu     8086
        bits    16
        org     0x7C00

%include "boot.inc"

start:
        BOOT_SETUP
        mov     [boot_drive], dl

        mov     ax, 0x0003              ; 80x25 colour text, cleared
        int     0x10

        ; ---- row 0: straight into video memory -----------------------------
        mov     ax, 0xB800
        mov     es, ax
        xor     di, di
        mov     si, msg_direct
        mov     ah, 0x1E
.d:     lodsb
        or      al, al
        jz      .d_done
        stosw
        jmp     .d
.d_done:
        xor     ax, ax
        mov     es, ax

        ; ---- row 2: AH=13h write string with attribute, cursor moved -------
        mov     ax, 0x1301
        mov     bx, 0x000A
        mov     cx, msg_str_len
        mov     dx, 0x0200
        mov     bp, msg_str
        int     0x10

        ; ---- row 4: teletype --------------------------------------------
        mov     dx, 0x0400
        call    setpos
        mov     si, msg_tty
        call    print

        ; ---- row 6: coloured characters with AH=09h --------------------------
        mov     dx, 0x0600
        mov     si, msg_col
        mov     bl, 0x09
.c:     call    setpos
        lodsb
        or      al, al
        jz      .c_done
        mov     ah, 0x09
        mov     bh, 0
        mov     cx, 1
        int     0x10
        inc     bl
        inc     dl
        jmp     .c
.c_done:

        ; ---- row 8: read sector 2 into 0000:7E00 and print its message ---------
        mov     dx, 0x0800
        call    setpos
        mov     ax, 0x0201
        mov     cx, 0x0002              ; cylinder 0, sector 2
        mov     dh, 0
        mov     dl, [boot_drive]
        mov     bx, 0x7E00
        int     0x13
        jc      .disk_err
        mov     si, 0x7E00
        call    print
        jmp     .mem
.disk_err:
        mov     si, msg_err
        call    print

        ; ---- row 10: INT 12h memory size and the boot drive -------------------
.mem:   mov     dx, 0x0A00
        call    setpos
        mov     si, msg_mem
        call    print
        int     0x12
        call    print_dec
        mov     si, msg_kib
        call    print
        mov     al, [boot_drive]
        call    print_hex8

        mov     dx, 0x0C00
        call    setpos
        mov     si, msg_dbg
.dbg:   lodsb
        or      al, al
        jz      .halt
        out     0xE9, al
        jmp     .dbg
.halt:  sti
        hlt
        jmp     .halt

setpos:                                 ; DX = row/column
        push    ax
        push    bx
        mov     ah, 0x02
        mov     bh, 0
        int     0x10
        pop     bx
        pop     ax
        ret

print:                                  ; DS:SI zero-terminated, teletype
        push    ax
        push    bx
.l:     lodsb
        or      al, al
        jz      .e
        mov     ah, 0x0E
        mov     bx, 0x0007
        int     0x10
        jmp     .l
.e:     pop     bx
        pop     ax
        ret

print_dec:                              ; AX
        mov     bx, 10
        xor     cx, cx
.a:     xor     dx, dx
        div     bx
        push    dx
        inc     cx
        or      ax, ax
        jnz     .a
.b:     pop     ax
        add     al, '0'
        mov     ah, 0x0E
        mov     bx, 0x0007
        int     0x10
        loop    .b
        ret

print_hex8:                             ; AL
        push    ax
        mov     cl, 4
        shr     al, cl
        call    .n
        pop     ax
.n:     and     al, 0x0F
        add     al, '0'
        cmp     al, '9'
        jbe     .o
        add     al, 7
.o:     mov     ah, 0x0E
        mov     bx, 0x0007
        int     0x10
        ret

boot_drive:     db 0
msg_direct:     db " HELLO FROM THE EMU PC ", 0
msg_str:        db "Printed by INT 10h AH=13h"
msg_str_len     equ $ - msg_str
msg_tty:        db "Teletype via AH=0Eh", 0
msg_col:        db "COLOURS", 0
msg_err:        db "INT 13h read failed", 0
msg_mem:        db "Memory: ", 0
msg_kib:        db " KiB  boot drive: ", 0
msg_dbg:        db "HELLO OK", 10, 0

        times 510 - ($ - $$) db 0
        dw      0xAA55

; ---- sector 2 -----------------------------------------------------------------
        db      "Sector 2 says: loaded by INT 13h", 0
        times 1024 - ($ - $$) db 0
