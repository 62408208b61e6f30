; writetest.img — INT 13h check disk for machines/pc.yaml (1.44M floppy).
;
; Everything is reported on the debug console (port E9h), one line each, hex
; values as two or four digits (tests/test_pc_boot.py parses them):
;   FD08 <CH> <CL> <DH> <DL> <BL>     AH=08h of the boot floppy
;   FD15 <AH>                         AH=15h of the boot floppy
;   FD WRITE OK | FD WRITE FAIL <AH>  AH=03h writes sector 18 (C0 H0 S18, LBA 17) with
;                                     pattern A, AH=02h reads it back, compared
;   FD RANGE <AH>                     AH=02h of cylinder 80 (beyond a 1.44M disk)
;   FD01 <AH>                         AH=02h on drive 01h (no such disk)
;   NO HDD                            when AH=41h fails on drive 80h, else:
;   HD08 <CH> <CL> <DH> <DL>          AH=08h of drive 80h
;   HD15 <AH> <CX> <DX>               AH=15h (CX:DX sectors)
;   HD48 <cyl> <heads> <spt> <total>  AH=48h (low words)
;   HD WRITE OK | HD WRITE FAIL <AH>  AH=43h writes LBA 5 with pattern B,
;                                     AH=42h reads it back, compared
;   HD CHS OK | HD CHS FAIL           AH=02h of C0 H0 S6 (= LBA 5) matches
;   WRITETEST DONE
;   The boot sector loads the rest of the program from sectors 2.. first.
; Pattern A: byte i = (i * 7 + 3) AND 255; pattern B: byte i = 255 - (i AND 255).

        cpu     8086
        bits    16
        org     0x7C00

%include "boot.inc"

BUF_A   equ 0x9000
BUF_B   equ 0x9200

start:
        BOOT_SETUP
        mov     [drive], dl
        BOOT_LOAD_REST main                     ; the rest of the program after the boot sector

drive:          db 0

        times 510 - ($ - $$) db 0
        dw      0xAA55

main:
        ; ---- floppy parameters ----------------------------------------------------
        mov     ah, 0x08
        mov     dl, [drive]
        int     0x13
        push    ds                      ; AH=08h returned ES:DI = diskette table
        pop     es
        mov     si, s_fd08
        call    puts
        call    hex_chcldhdl
        mov     al, bl
        call    hex8s
        call    nl
        mov     ah, 0x15
        mov     dl, [drive]
        int     0x13
        mov     si, s_fd15
        call    puts
        mov     al, ah
        call    hex8s
        call    nl

        ; ---- floppy write + read back -----------------------------------------------
        mov     di, BUF_A
        xor     cx, cx
.pa:    mov     al, cl
        mov     bl, 7
        mul     bl
        add     al, 3
        stosb
        inc     cx
        cmp     cx, 512
        jb      .pa
        mov     ax, 0x0301
        mov     cx, 0x0012
        mov     dh, 0
        mov     dl, [drive]
        mov     bx, BUF_A
        int     0x13
        jc      .fd_fail
        mov     ax, 0x0201
        mov     cx, 0x0012
        mov     dh, 0
        mov     dl, [drive]
        mov     bx, BUF_B
        int     0x13
        jc      .fd_fail
        call    compare
        jne     .fd_fail0
        mov     si, s_fd_ok
        call    puts
        jmp     .fd_range
.fd_fail0:
        mov     ah, 0xEE
.fd_fail:
        mov     si, s_fd_fail
        call    puts
        mov     al, ah
        call    hex8s
        call    nl

.fd_range:
        mov     ax, 0x0201
        mov     cx, 0x5001              ; cylinder 80, sector 1
        mov     dh, 0
        mov     dl, [drive]
        mov     bx, BUF_B
        int     0x13
        mov     si, s_fd_range
        call    puts
        mov     al, ah
        call    hex8s
        call    nl
        mov     ax, 0x0201
        mov     cx, 0x0001
        mov     dx, 0x0001              ; drive 01h
        mov     bx, BUF_B
        int     0x13
        mov     si, s_fd01
        call    puts
        mov     al, ah
        call    hex8s
        call    nl

        ; ---- hard disk ----------------------------------------------------------------
        mov     ah, 0x41
        mov     bx, 0x55AA
        mov     dl, 0x80
        int     0x13
        jc      .nohd
        cmp     bx, 0xAA55
        je      .hd
.nohd:  mov     si, s_nohd
        call    puts
        jmp     .done
.hd:    mov     ah, 0x08
        mov     dl, 0x80
        int     0x13
        mov     si, s_hd08
        call    puts
        call    hex_chcldhdl
        call    nl
        mov     ah, 0x15
        mov     dl, 0x80
        int     0x13
        push    dx
        push    cx
        mov     si, s_hd15
        call    puts
        mov     al, ah
        call    hex8s
        pop     ax
        call    hex16s
        pop     ax
        call    hex16s
        call    nl
        mov     word [edd_buf], 0x1A
        mov     ah, 0x48
        mov     dl, 0x80
        mov     si, edd_buf
        int     0x13
        mov     si, s_hd48
        call    puts
        mov     ax, [edd_buf + 4]
        call    hex16s
        mov     ax, [edd_buf + 8]
        call    hex16s
        mov     ax, [edd_buf + 12]
        call    hex16s
        mov     ax, [edd_buf + 16]
        call    hex16s
        call    nl
        ; pattern B, LBA 5
        mov     di, BUF_A
        xor     cx, cx
.pb:    mov     al, cl
        not     al
        stosb
        inc     cx
        cmp     cx, 512
        jb      .pb
        mov     word [dap + 4], BUF_A
        mov     ah, 0x43
        xor     al, al
        mov     dl, 0x80
        mov     si, dap
        int     0x13
        jc      .hd_fail
        mov     word [dap + 4], BUF_B
        mov     ah, 0x42
        mov     dl, 0x80
        mov     si, dap
        int     0x13
        jc      .hd_fail
        call    compare
        jne     .hd_fail0
        mov     si, s_hd_ok
        call    puts
        jmp     .chs
.hd_fail0:
        mov     ah, 0xEE
.hd_fail:
        mov     si, s_hd_fail
        call    puts
        mov     al, ah
        call    hex8s
        call    nl
.chs:   mov     di, BUF_B               ; clear, then read C0 H0 S6
        mov     cx, 256
        xor     ax, ax
        rep     stosw
        mov     ax, 0x0201
        mov     cx, 0x0006
        mov     dx, 0x0080
        mov     bx, BUF_B
        int     0x13
        jc      .chs_fail
        call    compare
        jne     .chs_fail
        mov     si, s_chs_ok
        call    puts
        jmp     .done
.chs_fail:
        mov     si, s_chs_fail
        call    puts

.done:  mov     si, s_done
        call    puts
.halt:  sti
        hlt
        jmp     .halt

compare:                                ; ZF=1 when BUF_A = BUF_B
        mov     si, BUF_A
        mov     di, BUF_B
        mov     cx, 256
        repe    cmpsw
        ret

%include "debugcon.inc"

dap:            db 0x10, 0
                dw 1                    ; one sector
                dw BUF_A, 0             ; buffer offset, segment
                dd 5, 0                 ; LBA 5
s_fd08:         db "FD08", 0
s_fd15:         db "FD15", 0
s_fd_ok:        db "FD WRITE OK", 10, 0
s_fd_fail:      db "FD WRITE FAIL", 0
s_fd_range:     db "FD RANGE", 0
s_fd01:         db "FD01", 0
s_nohd:         db "NO HDD", 10, 0
s_hd08:         db "HD08", 0
s_hd15:         db "HD15", 0
s_hd48:         db "HD48", 0
s_hd_ok:        db "HD WRITE OK", 10, 0
s_hd_fail:      db "HD WRITE FAIL", 0
s_chs_ok:       db "HD CHS OK", 10, 0
s_chs_fail:     db "HD CHS FAIL", 10, 0
s_done:         db "WRITETEST DONE", 10, 0

edd_buf equ 0x9400

rest_end:
REST_SECTORS    equ (rest_end - main + 511) / 512
        times 512 + REST_SECTORS * 512 - ($ - $$) db 0
