; mode13.img — VGA mode 13h demo boot disk for machines/pc.yaml (1.44M floppy).
;
; Drawing rule (320 x 200, colour index at A000:y*320+x; tests/test_pc_boot.py
; recomputes it):
;   border  (x = 0 or 319 or y = 0 or 199):  15, drawn with INT 10h AH=0Ch
;   y < 100:                                 x / 20        (16 colour bars)
;   y >= 100:                                (x XOR y) AND 255
; DAC: entries 240..254 are set with INT 10h AX=1012h to a red ramp,
; entry 240+i = (4*i + 3, 0, 0); entry 255 is animated from the BIOS tick
; counter: (0, 0, ticks AND 63), written with INT 10h AX=1010h every tick.
; When the picture is complete "MODE13 OK" and a newline go to the debug
; console (port E9h).

        cpu     8086
        bits    16
        org     0x7C00

start:
        cli
        xor     ax, ax
        mov     ds, ax
        mov     ss, ax
        mov     sp, 0x7C00
        sti
        cld
        mov     ax, 0x0013
        int     0x10

        ; ---- body: bars on top, XOR pattern below ------------------------------
        mov     ax, 0xA000
        mov     es, ax
        xor     di, di
        xor     dx, dx                  ; y
.row:   xor     cx, cx                  ; x
.col:   cmp     dx, 100
        jae     .xor
        mov     ax, cx
        mov     bl, 20
        div     bl                      ; AL = x / 20
        jmp     .put
.xor:   mov     al, cl
        xor     al, dl
.put:   stosb
        inc     cx
        cmp     cx, 320
        jb      .col
        inc     dx
        cmp     dx, 200
        jb      .row

        ; ---- border through the BIOS ---------------------------------------------
        xor     cx, cx
.hb:    xor     dx, dx
        call    pixel
        mov     dx, 199
        call    pixel
        inc     cx
        cmp     cx, 320
        jb      .hb
        xor     dx, dx
.vb:    xor     cx, cx
        call    pixel
        mov     cx, 319
        call    pixel
        inc     dx
        cmp     dx, 200
        jb      .vb

        ; ---- red ramp in DAC 240..254 -----------------------------------------------
        push    ds
        pop     es
        mov     di, ramp
        xor     bx, bx
.rp:    mov     al, bl
        shl     al, 1
        shl     al, 1
        add     al, 3
        stosb
        xor     al, al
        stosb
        stosb
        inc     bx
        cmp     bx, 15
        jb      .rp
        mov     ax, 0x1012
        mov     bx, 240
        mov     cx, 15
        mov     dx, ramp
        int     0x10

        mov     si, msg_ok
.dbg:   lodsb
        or      al, al
        jz      .anim
        out     0xE9, al
        jmp     .dbg

        ; ---- animate DAC 255 with the tick counter ----------------------------------------
.anim:  xor     ah, ah
        int     0x1A                    ; CX:DX ticks
        mov     cl, dl
        and     cl, 63
        mov     ax, 0x1010
        mov     bx, 255
        mov     dh, 0
        mov     ch, 0
        int     0x10
        sti
        hlt
        jmp     .anim

pixel:                                  ; CX, DX: colour 15
        mov     ax, 0x0C0F
        mov     bh, 0
        int     0x10
        ret

msg_ok: db "MODE13 OK", 10, 0
ramp    equ 0x7E00                      ; 15 x 3 bytes built at run time

        times 510 - ($ - $$) db 0
        dw      0xAA55
