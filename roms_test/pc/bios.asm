; emu PC BIOS — the project's own 64 KiB system BIOS for machines/pc.yaml.
;
; Mapped at F0000-FFFFF; the CPU starts at FFFF:0000 (= F000:FFF0), which jumps
; to POST.  8086 instructions only (E820h, reached only from 386 code, uses
; 32-bit registers).  Build: roms_test/pc/build.sh (nasm).
;
; Hardware (machines/pc.yaml, docs/HARDWARE.md): 8259 pair (vectors 08h/70h),
; 8254 PIT (IRQ0 18.2 Hz), 8042 keyboard controller (IRQ1, set-1 codes),
; MC146818 CMOS/RTC (70h/71h), VGA (programmed through its registers, vga.inc:
; text 80x25 at B8000 with the font in plane 2, mode 13h at A0000), the paravirtual block
; disk controller at 600h for floppies (not an FDC: one OUT starts a DMA
; transfer), the ATA channels at 1F0h/170h for hard disks (ata.inc), and the
; debug console at port E9h.
;
; Disk numbering: INT 13h drive 00h = block drive 0 (floppy A:), 80h = block
; drive 1 (the primary ATA master), 01h = block drive 2, 81h = block drive 3
; (the secondary ATA master).  Geometry comes from the sector count the
; controller reports (block query command, ATA READ NATIVE MAX): the standard
; floppy sizes (160K..2.88M) have their usual CHS, anything else is a hard disk
; with 16 heads x 63 sectors (255 heads above 504 MiB), at most 1024 cylinders.

        cpu     8086
        bits    16
        org     0

BDA             equ 0x40
DEBUG_PORT      equ 0xE9
DISK            equ 0x600           ; block controller base
VGA_MODE_PORT   equ 0x610
CRTC            equ 0x3D4

; BDA offsets (segment 40h)
B_EQUIP         equ 0x10
B_MEMKB         equ 0x13
B_KBFLAG        equ 0x17
B_KBFLAG1       equ 0x18
B_KBHEAD        equ 0x1A
B_KBTAIL        equ 0x1C
B_KBBUF         equ 0x1E
B_FDSTATUS      equ 0x41
B_VMODE         equ 0x49
B_VCOLS         equ 0x4A
B_VPAGESIZE     equ 0x4C
B_VPAGESTART    equ 0x4E
B_CURPOS        equ 0x50
B_CURSHAPE      equ 0x60
B_VPAGE         equ 0x62
B_CRTCBASE      equ 0x63
B_TICKS         equ 0x6C
B_MIDNIGHT      equ 0x70
B_RESETFLAG     equ 0x72
B_HDSTATUS      equ 0x74
B_HDCOUNT       equ 0x75
B_KBSTART       equ 0x80
B_KBEND         equ 0x82
B_VROWS         equ 0x84
B_CHARH         equ 0x85
B_KBFLAG3       equ 0x96
B_KBFLAG2       equ 0x97

; register frame built by FRAME_ENTER (offsets from BP)
F_AX    equ 0
F_BX    equ 2
F_CX    equ 4
F_DX    equ 6
F_SI    equ 8
F_DI    equ 10
F_BP    equ 12
F_ES    equ 14
F_DS    equ 16
F_IP    equ 18
F_CS    equ 20
F_FL    equ 22

%macro FRAME_ENTER 0
        sti
        cld
        push    ds
        push    es
        push    bp
        push    di
        push    si
        push    dx
        push    cx
        push    bx
        push    ax
        mov     bp, sp
        mov     si, BDA
        mov     ds, si
%endmacro

%macro SET_CF 0
        or      byte [bp+F_FL], 1
%endmacro
%macro CLR_CF 0
        and     byte [bp+F_FL], 0xFE
%endmacro

; ===========================================================================
rom_start:
        db      "emu PC BIOS 1.0", 0

banner:         db "emu PC BIOS 1.0 (8086, VGA, paravirtual disk)", 13, 10, 0
msg_dbg_post:   db "BIOS: POST done, ", 0
msg_dbg_kb:     db " KiB base memory, hard disks: ", 0
msg_crlf:       db 13, 10, 0
msg_try:        db "BIOS: boot drive ", 0
msg_noread:     db ": cannot read boot sector, status ", 0
msg_nosig:      db ": no 55AA boot signature", 0
msg_boot:       db ": booting", 13, 10, 0
msg_noboot:     db "No bootable device.", 13, 10, 0
msg_dbg_noboot: db "BIOS: NO BOOTABLE DEVICE - halted", 13, 10, 0
msg_kbfail:     db "BIOS: keyboard controller self test failed", 13, 10, 0

; ===========================================================================
; POST
; ===========================================================================
post:
        cli
        cld
        xor     ax, ax
        mov     ss, ax
        mov     sp, 0x7C00
        ; ---- interrupt controllers: ICW1-ICW4, vectors 08h and 70h -------
        mov     al, 0x11
        out     0x20, al
        out     0xA0, al
        mov     al, 0x08
        out     0x21, al
        mov     al, 0x70
        out     0xA1, al
        mov     al, 0x04
        out     0x21, al
        mov     al, 0x02
        out     0xA1, al
        mov     al, 0x01
        out     0x21, al
        out     0xA1, al
        mov     al, 0xFF                ; all masked while we set up
        out     0x21, al
        out     0xA1, al
        ; ---- PIT channel 0: mode 3, divisor 65536 (18.2 Hz) ---------------
        mov     al, 0x36
        out     0x43, al
        xor     al, al
        out     0x40, al
        out     0x40, al
        out     0x61, al                ; speaker off
        ; ---- IVT and BDA ------------------------------------------------------
        xor     ax, ax
        mov     es, ax
        xor     di, di
        mov     cx, 0x300               ; 0000-05FF
        rep     stosw
        xor     di, di
        mov     cx, 256
.ivt:   mov     ax, default_int
        stosw
        mov     ax, cs
        stosw
        loop    .ivt
        mov     di, 0x08 * 4
        mov     cx, 8
.ivt_m: mov     ax, default_irq_master
        stosw
        mov     ax, cs
        stosw
        loop    .ivt_m
        mov     di, 0x70 * 4
        mov     cx, 8
.ivt_s: mov     ax, default_irq_slave
        stosw
        mov     ax, cs
        stosw
        loop    .ivt_s
        mov     si, vector_table
.vec:   cs lodsb
        cmp     al, 0xFF
        je      .vec_done
        xor     ah, ah
        shl     ax, 1
        shl     ax, 1
        mov     di, ax
        cs lodsw
        stosw
        mov     ax, cs
        stosw
        jmp     .vec
.vec_done:
        ; data pointers
        mov     word [es:0x1E * 4], diskette_params
        mov     [es:0x1E * 4 + 2], cs
        mov     word [es:0x1D * 4], video_params
        mov     [es:0x1D * 4 + 2], cs
        xor     ax, ax
        mov     [es:0x1F * 4], ax
        mov     [es:0x1F * 4 + 2], ax
        mov     [es:0x41 * 4], ax
        mov     [es:0x41 * 4 + 2], ax
        mov     [es:0x46 * 4], ax
        mov     [es:0x46 * 4 + 2], ax
        mov     [es:0x43 * 4], ax
        mov     [es:0x43 * 4 + 2], ax

        mov     ax, BDA
        mov     ds, ax
        mov     word [B_EQUIP], 0x0021  ; 1 floppy drive, 80x25 colour
        call    serial_post             ; COM ports: 40:00, equipment bits 9-11
        mov     word [B_MEMKB], 640
        mov     ax, B_KBBUF
        mov     [B_KBHEAD], ax
        mov     [B_KBTAIL], ax
        mov     [B_KBSTART], ax
        mov     word [B_KBEND], B_KBBUF + 32
        mov     byte [B_KBFLAG3], 0x10  ; 101/102-key keyboard
        mov     word [B_CRTCBASE], CRTC

        ; ---- keyboard controller ----------------------------------------------
        call    kbc_flush
        mov     al, 0xAA                ; controller self test
        out     0x64, al
        call    kbc_read
        cmp     al, 0x55
        je      .kbc_ok
        mov     si, msg_kbfail
        call    dbg_puts
.kbc_ok:
        mov     al, 0x60                ; command byte: IRQ1, system flag, translation
        out     0x64, al
        mov     al, 0x45
        out     0x60, al
        mov     al, 0xFF                ; keyboard reset: ACK, BAT passed
        out     0x60, al
        call    kbc_read
        call    kbc_read
        mov     al, 0xAE                ; enable keyboard
        out     0x64, al
        call    kbc_flush

        ; ---- disks -------------------------------------------------------------------
        call    ata_init
        xor     bl, bl
        mov     al, 1                   ; block drive 1 = 80h
        call    disk_query
        jc      .no_hd
        inc     bl
        mov     al, 3                   ; block drive 3 = 81h
        call    disk_query
        jc      .no_hd
        inc     bl
.no_hd: mov     ax, BDA
        mov     ds, ax
        mov     [B_HDCOUNT], bl

        ; ---- time of day from the RTC ----------------------------------------------
        call    init_ticks

        ; ---- interrupts on: IRQ0 timer, IRQ1 keyboard, IRQ2 cascade -------------------
        mov     al, 0xF8
        out     0x21, al
        mov     al, 0xFF
        out     0xA1, al
        sti

        ; ---- video ----------------------------------------------------------------
        mov     ax, 0x0003
        int     0x10
        mov     si, banner
        call    puts
        mov     si, banner
        call    dbg_puts
        mov     si, msg_dbg_post
        call    dbg_puts
        int     0x12
        call    dbg_dec
        mov     si, msg_dbg_kb
        call    dbg_puts
        mov     ax, BDA
        mov     ds, ax
        mov     al, [B_HDCOUNT]
        xor     ah, ah
        call    dbg_dec
        mov     si, msg_crlf
        call    dbg_puts

        int     0x19
        int     0x18

; ---- keyboard controller helpers ---------------------------------------------
kbc_flush:
        mov     cx, 64
.l:     in      al, 0x64
        test    al, 1
        jz      .d
        in      al, 0x60
        loop    .l
.d:     ret

kbc_read:                               ; -> AL (0 on timeout)
        mov     cx, 2000
.l:     in      al, 0x64
        test    al, 1
        jnz     .got
        loop    .l
        xor     al, al
        ret
.got:   in      al, 0x60
        ret

; ---- ticks since midnight from the CMOS clock (ticks = seconds * 1165 / 64) ----
init_ticks:
        mov     al, 4
        call    cmos_bin                ; hours
        mov     bx, 3600
        mul     bx                      ; DX:AX
        push    dx
        push    ax
        mov     al, 2
        call    cmos_bin                ; minutes
        mov     bl, 60
        mul     bl
        mov     cx, ax
        mov     al, 0
        call    cmos_bin                ; seconds
        add     cx, ax
        pop     ax
        pop     dx
        add     ax, cx
        adc     dx, 0                   ; DX:AX = seconds since midnight
        mov     bx, dx
        mov     cx, 1165
        mul     cx                      ; lo * 1165
        push    dx
        push    ax
        mov     ax, bx
        mul     cx                      ; hi * 1165 (fits 16 bits)
        pop     bx
        pop     dx
        add     dx, ax                  ; DX:BX = seconds * 1165
        mov     cx, 6
.sh:    shr     dx, 1
        rcr     bx, 1
        loop    .sh
        mov     ax, BDA
        mov     ds, ax
        mov     [B_TICKS], bx
        mov     [B_TICKS+2], dx
        ret

cmos_bin:                               ; AL = CMOS register -> AX = binary value of its BCD
        out     0x70, al
        in      al, 0x71
        mov     ah, al
        and     al, 0x0F
        shr     ah, 1
        shr     ah, 1
        shr     ah, 1
        shr     ah, 1
        aad                             ; AL = AH*10 + AL, AH = 0
        ret

; ---- debug console and screen output ----------------------------------------
dbg_puts:                               ; CS:SI zero-terminated
        push    ax
        push    si
.l:     cs lodsb
        or      al, al
        jz      .d
        out     DEBUG_PORT, al
        jmp     .l
.d:     pop     si
        pop     ax
        ret

puts:                                   ; CS:SI via INT 10h teletype
        push    ax
        push    bx
        push    si
.l:     cs lodsb
        or      al, al
        jz      .d
        mov     ah, 0x0E
        mov     bx, 0x0007
        int     0x10
        jmp     .l
.d:     pop     si
        pop     bx
        pop     ax
        ret

dbg_dec:                                ; AX unsigned decimal to the debug port
        push    ax
        push    bx
        push    cx
        push    dx
        mov     bx, 10
        xor     cx, cx
.div:   xor     dx, dx
        div     bx
        push    dx
        inc     cx
        or      ax, ax
        jnz     .div
.out:   pop     ax
        add     al, '0'
        out     DEBUG_PORT, al
        loop    .out
        pop     dx
        pop     cx
        pop     bx
        pop     ax
        ret

dbg_hex8:                               ; AL as two hex digits
        push    ax
        push    cx
        mov     ah, al
        mov     cl, 4
        shr     al, cl
        call    .nib
        mov     al, ah
        call    .nib
        pop     cx
        pop     ax
        ret
.nib:   and     al, 0x0F
        add     al, '0'
        cmp     al, '9'
        jbe     .o
        add     al, 7
.o:     out     DEBUG_PORT, al
        ret

; ===========================================================================
; default handlers
; ===========================================================================
default_int:
        iret

default_irq_master:
        push    ax
        mov     al, 0x20
        out     0x20, al
        pop     ax
        iret

default_irq_slave:
        push    ax
        mov     al, 0x20
        out     0xA0, al
        out     0x20, al
        pop     ax
        iret

; ===========================================================================
; INT 08h — timer tick (IRQ0)
; ===========================================================================
int08:
        push    ax
        push    ds
        mov     ax, BDA
        mov     ds, ax
        add     word [B_TICKS], 1
        adc     word [B_TICKS+2], 0
        cmp     word [B_TICKS+2], 0x18
        jb      .ok
        cmp     word [B_TICKS], 0xB0
        jb      .ok
        mov     word [B_TICKS], 0       ; midnight: 1800B0h ticks a day
        mov     word [B_TICKS+2], 0
        mov     byte [B_MIDNIGHT], 1
.ok:    int     0x1C
        cli
        mov     al, 0x20
        out     0x20, al
        pop     ds
        pop     ax
        iret

; ===========================================================================
; INT 09h — keyboard (IRQ1): set-1 scan code -> BDA buffer
; ===========================================================================
int09:
        push    ax
        push    bx
        push    cx
        push    ds
        mov     ax, BDA
        mov     ds, ax
        in      al, 0x60
        cmp     al, 0xE0
        jne     .not_e0
        or      byte [B_KBFLAG3], 0x02
        jmp     .eoi
.not_e0:
        cmp     al, 0xE1                ; Pause prefix: ignore
        je      .eoi
        mov     ch, [B_KBFLAG3]
        and     byte [B_KBFLAG3], 0xFD
        and     ch, 0x02                ; CH = 2 if E0-prefixed
        mov     ah, al
        and     ah, 0x7F                ; AH = make code
        jz      .eoi
        ; ---- modifiers -----------------------------------------------------
        cmp     ah, 0x2A
        je      .lshift
        cmp     ah, 0x36
        je      .rshift
        cmp     ah, 0x1D
        je      .ctrl
        cmp     ah, 0x38
        je      .alt
        test    al, 0x80
        jnz     .break
        cmp     ah, 0x3A
        je      .caps
        cmp     ah, 0x45
        je      .num
        cmp     ah, 0x46
        je      .scroll
        jmp     .key
.break: cmp     ah, 0x3A
        jne     .eoi
        and     byte [B_KBFLAG1], 0xBF
        jmp     .eoi
.lshift:
        or      ch, ch                  ; E0 2A: fake shift
        jnz     .eoi
        mov     bl, 0x02
        jmp     .mod
.rshift:
        or      ch, ch
        jnz     .eoi
        mov     bl, 0x01
        jmp     .mod
.ctrl:  mov     bl, 0x04
        jmp     .mod
.alt:   mov     bl, 0x08
.mod:   test    al, 0x80
        jnz     .mod_up
        or      [B_KBFLAG], bl
        jmp     .eoi
.mod_up:
        not     bl
        and     [B_KBFLAG], bl
        jmp     .eoi
.caps:  test    byte [B_KBFLAG1], 0x40  ; held: no repeat toggles
        jnz     .eoi
        or      byte [B_KBFLAG1], 0x40
        xor     byte [B_KBFLAG], 0x40
        jmp     .eoi
.num:   xor     byte [B_KBFLAG], 0x20
        jmp     .eoi
.scroll:
        xor     byte [B_KBFLAG], 0x10
        jmp     .eoi
        ; ---- a key press: AH = scan code -> AX = scan:ascii ------------------
.key:   mov     bl, [B_KBFLAG]
        cmp     ah, 0x53                ; Ctrl-Alt-Del
        jne     .not_cad
        mov     al, bl
        and     al, 0x0C
        cmp     al, 0x0C
        jne     .not_cad
        mov     word [B_RESETFLAG], 0x1234
        mov     al, 0x20
        out     0x20, al
        jmp     0xF000:0xFFF0
.not_cad:
        or      ch, ch
        jz      .plain
        ; E0-prefixed (grey) keys
        cmp     ah, 0x1C
        jne     .e0_1
        mov     al, 0x0D                ; keypad Enter
        jmp     .store
.e0_1:  cmp     ah, 0x35
        jne     .e0_2
        mov     al, '/'
        jmp     .store
.e0_2:  cmp     ah, 0x47
        jb      .eoi
        cmp     ah, 0x53
        ja      .eoi
        mov     al, 0xE0                ; grey navigation key (AH=00h turns E0 into 00)
        jmp     .store
.plain: cmp     ah, 0x3B
        jb      .main
        cmp     ah, 0x44
        jbe     .fkey
        cmp     ah, 0x57
        je      .f11
        cmp     ah, 0x58
        je      .f11
        cmp     ah, 0x47
        jb      .eoi
        cmp     ah, 0x53
        ja      .eoi
        ; keypad 47..53
        cmp     ah, 0x4A
        jne     .kp1
        mov     al, '-'
        jmp     .store
.kp1:   cmp     ah, 0x4E
        jne     .kp2
        mov     al, '+'
        jmp     .store
.kp2:   test    bl, 0x0C                ; ctrl/alt: navigation code
        jnz     .kp_nav
        mov     al, bl
        and     al, 0x03                ; shift inverts num lock
        jz      .kp3
        mov     al, 0x20
.kp3:   xor     al, bl
        test    al, 0x20
        jz      .kp_nav
        mov     bl, ah
        sub     bl, 0x47
        xor     bh, bh
        mov     al, [cs:keypad_digits + bx]
        jmp     .store
.kp_nav:
        xor     al, al
        jmp     .store
.fkey:  xor     al, al                  ; F1-F10: 3B / shift 54 / ctrl 5E / alt 68
        test    bl, 0x08
        jz      .fk1
        add     ah, 0x68 - 0x3B
        jmp     .store
.fk1:   test    bl, 0x04
        jz      .fk2
        add     ah, 0x5E - 0x3B
        jmp     .store
.fk2:   test    bl, 0x03
        jz      .store
        add     ah, 0x54 - 0x3B
        jmp     .store
.f11:   xor     al, al                  ; F11/F12: 85/86, shift 87/88, ctrl 89/8A, alt 8B/8C
        add     ah, 0x85 - 0x57
        test    bl, 0x08
        jz      .f1a
        add     ah, 6
        jmp     .store
.f1a:   test    bl, 0x04
        jz      .f1b
        add     ah, 4
        jmp     .store
.f1b:   test    bl, 0x03
        jz      .store
        add     ah, 2
        jmp     .store
.main:  ; AH = 01..3A (modifiers handled above)
        mov     cl, ah
        xor     bh, bh
        mov     bl, ah
        mov     al, [B_KBFLAG]
        test    al, 0x08                ; alt: ascii 0 (digit row -> 78h..83h)
        jz      .m_ctrl
        cmp     ah, 0x39
        je      .m_space
        cmp     ah, 0x02
        jb      .m_alt0
        cmp     ah, 0x0D
        ja      .m_alt0
        add     ah, 0x76
.m_alt0:
        xor     al, al
        jmp     .store
.m_space:
        mov     al, ' '
        jmp     .store
.m_ctrl:
        test    al, 0x04
        jz      .m_shift
        mov     al, [cs:kb_ctrl + bx]
        or      al, al
        jnz     .store
        cmp     ah, 0x03                ; Ctrl-2 is NUL with its scan code
        je      .store
        cmp     ah, 0x0F                ; Ctrl-Tab 94h
        jne     .eoi
        mov     ah, 0x94
        jmp     .store
.m_shift:
        mov     ch, al
        and     ch, 0x03                ; CH != 0: shift held
        mov     al, [cs:kb_normal + bx]
        cmp     al, 'a'
        jb      .m_ns
        cmp     al, 'z'
        ja      .m_ns
        test    byte [B_KBFLAG], 0x40   ; caps lock flips shift for letters
        jz      .m_ns
        xor     ch, 0x01
        and     ch, 0x01
.m_ns:  or      ch, ch
        jz      .m_have
        mov     al, [cs:kb_shift + bx]
.m_have:
        or      al, al
        jnz     .store
        cmp     ah, 0x0F                ; Shift-Tab: 0F00
        jne     .eoi
.store: ; AX = scan:ascii into the ring buffer
        mov     bx, [B_KBTAIL]
        mov     cx, bx
        add     cx, 2
        cmp     cx, [B_KBEND]
        jb      .nowrap
        mov     cx, [B_KBSTART]
.nowrap:
        cmp     cx, [B_KBHEAD]
        je      .eoi                    ; full: drop the key
        mov     [bx], ax
        mov     [B_KBTAIL], cx
.eoi:   cli
        mov     al, 0x20
        out     0x20, al
        pop     ds
        pop     cx
        pop     bx
        pop     ax
        iret

keypad_digits:  db "789-456+1230."

kb_normal:
        db 0, 0x1B, "1234567890-=", 0x08, 0x09
        db "qwertyuiop[]", 0x0D, 0
        db "asdfghjkl;'`", 0, "\"
        db "zxcvbnm,./", 0, "*", 0, " ", 0
kb_shift:
        db 0, 0x1B, "!@#$%^&*()_+", 0x08, 0
        db "QWERTYUIOP{}", 0x0D, 0
        db 'ASDFGHJKL:"~', 0, "|"
        db "ZXCVBNM<>?", 0, "*", 0, " ", 0
kb_ctrl:
        db 0, 0x1B, 0, 0, 0, 0, 0, 0x1E, 0, 0, 0, 0, 0x1F, 0, 0x7F, 0
        db 0x11, 0x17, 0x05, 0x12, 0x14, 0x19, 0x15, 0x09, 0x0F, 0x10, 0x1B, 0x1D, 0x0A, 0
        db 0x01, 0x13, 0x04, 0x06, 0x07, 0x08, 0x0A, 0x0B, 0x0C, 0, 0, 0, 0, 0x1C
        db 0x1A, 0x18, 0x03, 0x16, 0x02, 0x0E, 0x0D, 0, 0, 0, 0, 0, 0, " ", 0

; ===========================================================================
; INT 16h — keyboard services
; ===========================================================================
int16:
        FRAME_ENTER
        cmp     ah, 0x00
        je      .read
        cmp     ah, 0x10
        je      .read
        cmp     ah, 0x01
        je      .peek
        cmp     ah, 0x11
        je      .peek
        cmp     ah, 0x02
        je      .shift
        cmp     ah, 0x12
        je      .shift2
        cmp     ah, 0x05
        je      .push
        jmp     frame_exit
.read:  cli
        mov     bx, [B_KBHEAD]
        cmp     bx, [B_KBTAIL]
        jne     .have
        sti
        hlt
        jmp     .read
.have:  mov     ax, [bx]
        add     bx, 2
        cmp     bx, [B_KBEND]
        jb      .nw
        mov     bx, [B_KBSTART]
.nw:    mov     [B_KBHEAD], bx
        sti
        call    .convert
        mov     [bp+F_AX], ax
        jmp     frame_exit
.peek:  cli
        mov     bx, [B_KBHEAD]
        cmp     bx, [B_KBTAIL]
        sti
        je      .none
        mov     ax, [bx]
        call    .convert
        mov     [bp+F_AX], ax
        and     byte [bp+F_FL], 0xBF    ; ZF = 0: a key is waiting
        jmp     frame_exit
.none:  or      byte [bp+F_FL], 0x40    ; ZF = 1
        jmp     frame_exit
.shift: mov     al, [B_KBFLAG]
        mov     [bp+F_AX], al
        jmp     frame_exit
.shift2:
        mov     al, [B_KBFLAG]
        mov     [bp+F_AX], al
        mov     al, [B_KBFLAG1]
        and     al, 0x73
        mov     [bp+F_AX+1], al
        jmp     frame_exit
.push:  mov     bx, [B_KBTAIL]          ; CX = key to store; AL = 0 ok, 1 full
        mov     dx, bx
        add     dx, 2
        cmp     dx, [B_KBEND]
        jb      .pw
        mov     dx, [B_KBSTART]
.pw:    mov     byte [bp+F_AX], 1
        cmp     dx, [B_KBHEAD]
        je      frame_exit
        mov     [bx], cx
        mov     [B_KBTAIL], dx
        mov     byte [bp+F_AX], 0
        jmp     frame_exit
.convert:                               ; AH=00h/01h: grey keys report ascii 00
        cmp     byte [bp+F_AX+1], 0x10
        jae     .cv
        cmp     al, 0xE0
        jne     .cv
        or      ah, ah
        jz      .cv
        xor     al, al
.cv:    ret

; common exit of the frame-based handlers
frame_exit:
        pop     ax
        pop     bx
        pop     cx
        pop     dx
        pop     si
        pop     di
        pop     bp
        pop     es
        pop     ds
        iret

; ===========================================================================
; INT 11h, INT 12h
; ===========================================================================
int11:
        push    ds
        mov     ax, BDA
        mov     ds, ax
        mov     ax, [B_EQUIP]
        pop     ds
        iret

int12:
        push    ds
        mov     ax, BDA
        mov     ds, ax
        mov     ax, [B_MEMKB]
        pop     ds
        iret

; ===========================================================================
; INT 1Ah — time of day
; ===========================================================================
int1a:
        cmp     ah, 0xB1                ; PCI BIOS (pci.inc)
        jne     .not_pci
        jmp     pci_bios
.not_pci:
        FRAME_ENTER
        cmp     ah, 0x00
        je      .get
        cmp     ah, 0x01
        je      .set
        cmp     ah, 0x02
        je      .rtc_time
        cmp     ah, 0x03
        je      .ok
        cmp     ah, 0x04
        je      .rtc_date
        cmp     ah, 0x05
        je      .ok
        SET_CF
        jmp     frame_exit
.get:   cli
        mov     ax, [B_TICKS]
        mov     [bp+F_DX], ax
        mov     ax, [B_TICKS+2]
        mov     [bp+F_CX], ax
        mov     al, [B_MIDNIGHT]
        mov     [bp+F_AX], al
        mov     byte [B_MIDNIGHT], 0
        sti
        jmp     frame_exit
.set:   cli
        mov     [B_TICKS], dx
        mov     [B_TICKS+2], cx
        mov     byte [B_MIDNIGHT], 0
        sti
        jmp     frame_exit
.rtc_time:
        mov     al, 4
        call    .cmos
        mov     [bp+F_CX+1], al         ; CH hours
        mov     al, 2
        call    .cmos
        mov     [bp+F_CX], al           ; CL minutes
        mov     al, 0
        call    .cmos
        mov     [bp+F_DX+1], al         ; DH seconds
        mov     byte [bp+F_DX], 0       ; DL no daylight saving
        jmp     .ok
.rtc_date:
        mov     al, 0x32
        call    .cmos
        mov     [bp+F_CX+1], al         ; CH century
        mov     al, 9
        call    .cmos
        mov     [bp+F_CX], al           ; CL year
        mov     al, 8
        call    .cmos
        mov     [bp+F_DX+1], al         ; DH month
        mov     al, 7
        call    .cmos
        mov     [bp+F_DX], al           ; DL day
.ok:    CLR_CF
        jmp     frame_exit
.cmos:  cli
        out     0x70, al
        in      al, 0x71
        sti
        ret

; ===========================================================================
; INT 15h — system services
; ===========================================================================
int15:
        cmp     ax, 0xE820
        jne     .frame
        jmp     mm_e820
.frame: FRAME_ENTER
        cmp     ah, 0x88
        je      .ext
        cmp     ah, 0xC0
        je      .config
        cmp     ax, 0xE801
        je      .e801
        cmp     ah, 0x86
        je      .wait
        cmp     ah, 0x4F
        je      .kbint
        cmp     ah, 0x90
        je      .os_hook
        cmp     ah, 0x91
        je      .os_hook
        mov     byte [bp+F_AX+1], 0x86  ; unsupported
        SET_CF
        jmp     frame_exit
.ext:   jmp     mm_int15_88             ; memmap.inc
.e801:  jmp     mm_int15_e801
.config:
        mov     word [bp+F_BX], config_table
        mov     [bp+F_ES], cs
        mov     byte [bp+F_AX+1], 0
        CLR_CF
        jmp     frame_exit
.kbint: SET_CF                          ; keep the scan code
        jmp     frame_exit
.os_hook:
        mov     byte [bp+F_AX+1], 0
        CLR_CF
        jmp     frame_exit
.wait:  ; CX:DX microseconds, waited in timer ticks (54925 us), rounded up
        mov     ax, dx
        mov     dx, cx
        cmp     dx, 54925
        jae     .big
        mov     bx, 54925
        div     bx
        inc     ax
        jmp     .w
.big:   mov     ax, 0xFFFF
.w:     mov     cx, ax
.w1:    mov     bx, [B_TICKS]
.w2:    hlt
        cmp     bx, [B_TICKS]
        je      .w2
        loop    .w1
        mov     byte [bp+F_AX+1], 0
        CLR_CF
        jmp     frame_exit

%include "memmap.inc"

config_table:
        dw 8
        db 0xFC, 0x01, 0x00             ; model AT, submodel, revision
        db 0x60                         ; second 8259, RTC
        db 0, 0, 0, 0

; ===========================================================================
; INT 18h — no bootable device; INT 19h — bootstrap loader
; ===========================================================================
int18:
        sti
        push    cs
        pop     ds
        mov     si, msg_noboot
        call    puts
        mov     si, msg_dbg_noboot
        call    dbg_puts
.halt:  sti
        hlt
        jmp     .halt

int19:
        sti
        cld
        xor     ax, ax
        mov     ss, ax
        mov     sp, 0x7C00
        mov     dl, 0x00
        call    try_boot
        mov     dl, 0x80
        call    try_boot
        int     0x18

try_boot:                               ; DL = drive; returns only if not bootable
        mov     si, msg_try
        call    dbg_puts
        mov     al, dl
        call    dbg_hex8
        mov     cx, 3                   ; three attempts, reset between
.again: push    cx
        push    dx
        xor     ax, ax
        int     0x13
        pop     dx
        push    dx
        xor     ax, ax
        mov     es, ax
        mov     bx, 0x7C00
        mov     ax, 0x0201
        mov     cx, 0x0001
        mov     dh, 0
        int     0x13
        pop     dx
        pop     cx
        jnc     .read
        loop    .again
        mov     si, msg_noread
        call    dbg_puts
        mov     al, ah
        call    dbg_hex8
        mov     si, msg_crlf
        call    dbg_puts
        ret
.read:  cmp     word [es:0x7DFE], 0xAA55
        je      .go
        mov     si, msg_nosig
        call    dbg_puts
        mov     si, msg_crlf
        call    dbg_puts
        ret
.go:    mov     si, msg_boot
        call    dbg_puts
        xor     ax, ax
        mov     ds, ax
        mov     es, ax
        xor     bx, bx
        xor     cx, cx
        xor     si, si
        xor     di, di
        xor     bp, bp
        mov     dh, 0
        jmp     0x0000:0x7C00

; ===========================================================================
; INT 13h — disk services on the block controller
; ===========================================================================
int13:
        FRAME_ENTER
        mov     si, i13_table
.find:  cmp     byte [cs:si], 0xFF
        je      .bad
        cmp     ah, [cs:si]
        je      .go
        add     si, 3
        jmp     .find
.go:    jmp     [cs:si+1]
.bad:   mov     al, 0x01
        jmp     i13_status

i13_table:
        db 0x00
        dw i13_reset
        db 0x01
        dw i13_getstatus
        db 0x02
        dw i13_rw
        db 0x03
        dw i13_rw
        db 0x04
        dw i13_reset                    ; verify: nothing to check
        db 0x08
        dw i13_params
        db 0x0C
        dw i13_reset                    ; seek
        db 0x0D
        dw i13_reset                    ; alternate reset
        db 0x10
        dw i13_reset                    ; test ready
        db 0x11
        dw i13_reset                    ; recalibrate
        db 0x15
        dw i13_type
        db 0x16
        dw i13_reset                    ; change line: not changed
        db 0x41
        dw i13_ext_check
        db 0x42
        dw i13_ext_rw
        db 0x43
        dw i13_ext_rw
        db 0x44
        dw i13_reset                    ; extended verify
        db 0x47
        dw i13_reset                    ; extended seek
        db 0x48
        dw i13_ext_params
        db 0xFF

; AL = status: to AH, the BDA and CF
i13_status:
        mov     [bp+F_AX+1], al
        test    byte [bp+F_DX], 0x80
        jz      .fl
        mov     [B_HDSTATUS], al
        jmp     .cf
.fl:    mov     [B_FDSTATUS], al
.cf:    or      al, al
        jz      .ok
        SET_CF
        jmp     frame_exit
.ok:    CLR_CF
        jmp     frame_exit

; controller status -> INT 13h status: ok, no medium (80h timeout),
; out of range (04h sector not found), write protected (03h), bad command (01h)
status_map:     db 0x00, 0x80, 0x04, 0x03, 0x01

i13_reset:
        call    map_drive
        mov     al, 0x01
        jc      i13_status
        xor     al, al
        jmp     i13_status

i13_getstatus:
        mov     al, [B_FDSTATUS]
        test    dl, 0x80
        jz      .s
        mov     al, [B_HDSTATUS]
.s:     mov     [bp+F_AX+1], al
        or      al, al
        jz      .ok
        SET_CF
        jmp     frame_exit
.ok:    CLR_CF
        jmp     frame_exit

; AH=02h read / 03h write: AL count, CH/CL cylinder and sector, DH head, ES:BX buffer
i13_rw:
        call    map_drive
        jc      .badcmd
        mov     si, ax
        call    geom
        jc      .nomedium
        ; sector 1..spt, head < heads, cylinder < cylinders
        mov     al, [bp+F_CX]
        and     al, 0x3F
        jz      .notfound
        cmp     al, bh
        ja      .notfound
        mov     ah, [bp+F_DX+1]
        cmp     ah, bl
        jae     .notfound
        push    ax                      ; AL sector, AH head
        mov     al, [bp+F_CX]
        xor     ah, ah
        and     al, 0xC0
        shl     ax, 1
        shl     ax, 1
        mov     al, [bp+F_CX+1]
        mov     di, ax                  ; cylinder
        pop     ax
        cmp     di, cx
        jae     .notfound
        push    ax
        ; LBA = (cyl * heads + head) * spt + sector - 1
        mov     al, bl
        xor     ah, ah
        mul     di                      ; DX:AX = cyl * heads
        pop     cx                      ; CL sector, CH head
        push    cx
        mov     cl, ch
        xor     ch, ch
        add     ax, cx
        adc     dx, 0
        mov     cl, bh
        xor     ch, ch                  ; CX = spt
        mov     di, dx
        mul     cx                      ; low word * spt
        push    dx
        push    ax
        mov     ax, di
        mul     cx                      ; high word * spt
        pop     bx
        pop     dx
        add     dx, ax                  ; DX:BX
        pop     cx
        xor     ch, ch
        dec     cx
        add     bx, cx
        adc     dx, 0
        mov     ax, [bp+F_AX]
        or      al, al
        jz      .badcmd
        mov     cl, al
        mov     ax, si
        mov     ah, al                  ; block drive
        mov     al, [bp+F_AX+1]
        dec     al                      ; 02h -> 1 read, 03h -> 2 write
        mov     di, [bp+F_BX]
        call    disk_cmd
        call    map_status
        or      al, al
        jz      i13_status              ; AL stays the count: all transferred
.fail:  mov     byte [bp+F_AX], 0       ; nothing transferred
        jmp     i13_status
.badcmd:
        mov     al, 0x01
        jmp     .fail
.nomedium:
        mov     al, 0x80
        jmp     .fail
.notfound:
        mov     al, 0x04
        jmp     .fail

map_status:                             ; controller status AL -> INT 13h status AL
        cmp     al, 4
        jbe     .m
        mov     al, 4
.m:     push    bx
        mov     bx, status_map
        cs xlatb
        pop     bx
        ret

; AH=08h drive parameters
i13_params:
        call    map_drive
        jc      .bad
        mov     si, ax
        call    geom
        jnc     .have
        test    si, 0xFF00
        jz      .bad                    ; hard disk not present
        cmp     si, 0x0100              ; floppy drive 0 without a disk: its CMOS type, 1.44M
        jne     .bad
        mov     cx, 80
        mov     bx, 0x1202
.have:  dec     cx                      ; highest cylinder
        mov     [bp+F_CX+1], cl
        mov     al, ch
        ror     al, 1
        ror     al, 1
        and     al, 0xC0
        or      al, bh
        mov     [bp+F_CX], al
        mov     al, bl
        dec     al
        mov     [bp+F_DX+1], al         ; highest head
        mov     word [bp+F_AX], 0
        test    si, 0xFF00
        jz      .hd
        mov     byte [bp+F_DX], 1       ; one floppy drive
        mov     al, bh                  ; drive type from the sectors per track
        mov     ah, 4
        cmp     al, 18
        je      .t
        mov     ah, 6
        cmp     al, 36
        je      .t
        mov     ah, 2
        cmp     al, 15
        je      .t
        mov     ah, 3
        cmp     cx, 79
        je      .t
        mov     ah, 1
.t:     mov     [bp+F_BX], ah
        mov     byte [bp+F_BX+1], 0
        mov     word [bp+F_DI], diskette_params
        mov     [bp+F_ES], cs
        xor     al, al
        jmp     i13_status
.hd:    mov     al, [B_HDCOUNT]
        mov     [bp+F_DX], al
        xor     al, al
        jmp     i13_status
.bad:   mov     al, [B_HDCOUNT]
        test    byte [bp+F_DX], 0x80
        jnz     .b2
        mov     al, 1
.b2:    mov     [bp+F_DX], al
        mov     al, 0x01
        jmp     i13_status

; AH=15h drive type
i13_type:
        call    map_drive
        jc      .none
        mov     si, ax
        test    si, 0xFF00
        jz      .hd
        cmp     si, 0x0100
        je      .fl                     ; drive 0 exists even when empty
        call    geom
        jc      .none
.fl:    mov     byte [bp+F_AX+1], 0x01  ; floppy without change line
        jmp     .ok
.hd:    call    geom
        jc      .none
        mov     [bp+F_CX], dx
        mov     [bp+F_DX], ax
        mov     byte [bp+F_AX+1], 0x03
        jmp     .ok
.none:  mov     byte [bp+F_AX+1], 0x00
.ok:    CLR_CF
        jmp     frame_exit

; AH=41h extensions present?
i13_ext_check:
        cmp     bx, 0x55AA
        jne     .no
        call    map_drive
        jc      .no
        test    ah, ah
        jnz     .no                     ; hard disks only
        call    geom
        jc      .no
        mov     word [bp+F_BX], 0xAA55
        mov     word [bp+F_CX], 0x0001  ; fixed disk access subset
        mov     byte [bp+F_AX+1], 0x21  ; EDD 1.1
        CLR_CF
        jmp     frame_exit
.no:    mov     al, 0x01
        jmp     i13_status

; AH=42h read / 43h write: DS:SI disk address packet
i13_ext_rw:
        call    map_drive
        jc      .bad
        mov     si, ax
        mov     ds, [bp+F_DS]
        mov     bx, [bp+F_SI]
        cmp     byte [bx], 0x10
        jb      .bad
        mov     cx, [bx+2]
        cmp     cx, 127
        ja      .bad
        jcxz    .zero
        mov     ax, [bx+12]
        or      ax, [bx+14]
        jnz     .range
        les     di, [bx+4]
        push    bx
        mov     dx, [bx+10]
        mov     bx, [bx+8]
        mov     ax, si
        mov     ah, al
        mov     al, [bp+F_AX+1]
        sub     al, 0x41                ; 42h -> 1 read, 43h -> 2 write
        call    disk_cmd
        pop     bx
        call    map_status
        or      al, al
        jz      .done
        mov     word [bx+2], 0          ; nothing transferred
.done:  mov     cx, BDA
        mov     ds, cx
        jmp     i13_status
.zero:  xor     al, al
        jmp     .done
.range: mov     word [bx+2], 0
        mov     al, 0x04
        jmp     .done
.bad:   mov     ax, BDA
        mov     ds, ax
        mov     al, 0x01
        jmp     i13_status

; AH=48h extended drive parameters: DS:SI result buffer
i13_ext_params:
        call    map_drive
        jc      .bad
        mov     si, ax
        call    geom
        jc      .nomedium
        mov     es, [bp+F_DS]
        mov     di, [bp+F_SI]
        cmp     word [es:di], 0x1A
        jb      .bad
        push    dx
        push    ax
        mov     ax, 0x1A
        stosw
        mov     ax, 0x0002              ; CHS information valid
        stosw
        mov     ax, cx
        stosw
        xor     ax, ax
        stosw
        mov     al, bl
        stosw
        xor     al, al
        stosw
        mov     al, bh
        stosw
        xor     al, al
        stosw
        pop     ax
        stosw
        pop     ax
        stosw
        xor     ax, ax
        stosw
        stosw
        mov     ax, 512
        stosw
        xor     al, al
        jmp     i13_status
.nomedium:
        mov     al, 0x80
        jmp     i13_status
.bad:   mov     al, 0x01
        jmp     i13_status

; DL = INT 13h drive -> AL = block drive, AH = 1 floppy / 0 hard disk; CF if none
map_drive:
        mov     ax, 0x0100
        cmp     dl, 0x00
        je      .ok
        mov     ax, 0x0102
        cmp     dl, 0x01
        je      .ok
        mov     ax, 0x0001
        cmp     dl, 0x80
        je      .ok
        mov     ax, 0x0003
        cmp     dl, 0x81
        je      .ok
        stc
        ret
.ok:    clc
        ret

; AL = block drive -> CF=1 no medium, else DX:AX = total sectors.  Keeps BX, CX.
disk_query:
        test    al, 1                   ; block drives 1, 3: the ATA masters (ata.inc)
        jz      .block
        jmp     ata_query
.block: push    cx
        mov     dx, DISK+1
        out     dx, al
        mov     dx, DISK
        mov     al, 3
        out     dx, al
        in      al, dx
        or      al, al
        jnz     .none
        mov     dx, DISK+5
        in      al, dx
        mov     ch, al
        dec     dx
        in      al, dx
        mov     cl, al
        dec     dx
        in      al, dx
        mov     ah, al
        dec     dx
        in      al, dx
        mov     dx, cx
        pop     cx
        clc
        ret
.none:  pop     cx
        stc
        ret

; AL = block drive, AH = 1 for a floppy -> CF=1 no medium, else
; DX:AX total sectors, CX cylinders, BL heads, BH sectors per track
geom:
        push    si
        mov     si, ax
        call    disk_query
        jc      .out
        test    si, 0xFF00
        jz      .hdd
        or      dx, dx
        jnz     .hdd
        mov     bx, floppy_table
.lp:    cmp     word [cs:bx], 0
        je      .hdd
        cmp     ax, [cs:bx]
        je      .found
        add     bx, 6
        jmp     .lp
.found: mov     cx, [cs:bx+2]
        mov     bx, [cs:bx+4]
        clc
        jmp     .out
.hdd:   mov     bh, 63
        cmp     dx, 0xFB                ; >= 1024 * 255 * 63 sectors: capped
        ja      .max
        jb      .a
        cmp     ax, 0x0400
        jae     .max
.a:     cmp     dx, 0x0F                ; >= 1024 * 16 * 63 sectors: 255 heads
        ja      .h255
        jb      .h16
        cmp     ax, 0xC000
        jae     .h255
.h16:   mov     bl, 16
        mov     cx, 1008
        jmp     .div
.h255:  mov     bl, 255
        mov     cx, 16065
.div:   push    dx
        push    ax
        div     cx
        mov     cx, ax
        pop     ax
        pop     dx
        or      cx, cx
        jnz     .ok
        inc     cx
        jmp     .ok
.max:   mov     bl, 255
        mov     cx, 1024
.ok:    clc
.out:   pop     si
        ret

floppy_table:           ; total sectors, cylinders, heads, sectors per track
        dw 320, 40
        db 1, 8
        dw 360, 40
        db 1, 9
        dw 640, 40
        db 2, 8
        dw 720, 40
        db 2, 9
        dw 1440, 80
        db 2, 9
        dw 2400, 80
        db 2, 15
        dw 2880, 80
        db 2, 18
        dw 5760, 80
        db 2, 36
        dw 0

; AL = command (1 read, 2 write), AH = block drive, CL = count,
; DX:BX = LBA, ES:DI = buffer -> AL = controller status
disk_cmd:
        test    ah, 1                   ; block drives 1, 3: the ATA masters (ata.inc)
        jz      .block
        jmp     ata_cmd
.block: push    ax
        push    dx
        push    bx
        mov     ch, cl
        mov     dx, DISK+1
        mov     al, ah
        out     dx, al                  ; drive
        pop     ax
        inc     dx
        out     dx, al                  ; LBA 0
        inc     dx
        mov     al, ah
        out     dx, al                  ; LBA 1
        pop     ax
        inc     dx
        out     dx, al                  ; LBA 2
        inc     dx
        mov     al, ah
        out     dx, al                  ; LBA 3
        push    dx
        mov     ax, es                  ; physical address = ES * 16 + DI
        mov     bx, ax
        mov     cl, 4
        shl     ax, cl
        mov     cl, 12
        shr     bx, cl
        add     ax, di
        adc     bx, 0
        pop     dx
        inc     dx
        out     dx, al                  ; DMA 0
        inc     dx
        mov     al, ah
        out     dx, al                  ; DMA 1
        inc     dx
        mov     al, bl
        out     dx, al                  ; DMA 2
        inc     dx
        mov     al, ch
        out     dx, al                  ; count
        pop     ax
        mov     dx, DISK
        out     dx, al                  ; go
        in      al, dx
        ret

%include "ata.inc"
%include "pci.inc"

; ===========================================================================
; INT 10h — video
; ===========================================================================
int10:
        FRAME_ENTER
        push    ax
        mov     al, ah
        xor     ah, ah
        shl     ax, 1
        mov     si, ax
        pop     ax
        cmp     si, (vid_table_end - vid_table)
        jae     .out
        call    [cs:vid_table + si]
.out:   jmp     frame_exit

vid_table:
        dw vid_setmode                  ; 00
        dw vid_shape                    ; 01
        dw vid_setpos                   ; 02
        dw vid_getpos                   ; 03
        dw vid_nop                      ; 04 light pen
        dw vid_page                     ; 05
        dw vid_scroll                   ; 06
        dw vid_scroll                   ; 07
        dw vid_readchar                 ; 08
        dw vid_writechar                ; 09
        dw vid_writechar                ; 0A
        dw vid_nop                      ; 0B CGA palette
        dw vid_putpixel                 ; 0C
        dw vid_getpixel                 ; 0D
        dw vid_tty                      ; 0E
        dw vid_getmode                  ; 0F
        dw vid_palette                  ; 10
        dw vid_font                     ; 11
        dw vid_altsel                   ; 12
        dw vid_string                   ; 13
        dw vid_nop                      ; 14
        dw vid_nop                      ; 15
        dw vid_nop                      ; 16
        dw vid_nop                      ; 17
        dw vid_nop                      ; 18
        dw vid_nop                      ; 19
        dw vid_dcc                      ; 1A
vid_table_end:

vid_nop:
        ret

; AH=00h: AL = mode (03h text or 13h graphics; other text modes become 03h),
; bit 7 keeps the video memory
vid_setmode:
        mov     bl, al
        and     al, 0x7F
        cmp     al, 0x13
        je      .m
        mov     al, 0x03
.m:     mov     [B_VMODE], al
        call    vga_program             ; vga.inc: the mode's standard registers
        xor     ax, ax
        mov     [B_VPAGESTART], ax
        mov     [B_VPAGE], al
        mov     di, B_CURPOS
        push    ds
        pop     es
        mov     cx, 8
        rep     stosw
        mov     byte [B_VROWS], 24
        mov     dx, CRTC                ; display start 0, cursor 0
        mov     ax, 0x000C
        out     dx, ax
        mov     ax, 0x000D
        out     dx, ax
        mov     ax, 0x000E
        out     dx, ax
        mov     ax, 0x000F
        out     dx, ax
        cmp     byte [B_VMODE], 0x13
        je      .gfx
        mov     word [B_VCOLS], 80
        mov     word [B_VPAGESIZE], 0x1000
        mov     word [B_CHARH], 16
        mov     cx, 0x0607
        call    set_shape
        test    bl, 0x80
        jnz     .pal
        mov     ax, 0xB800
        mov     es, ax
        xor     di, di
        mov     ax, 0x0720
        mov     cx, 0x4000
        rep     stosw
        jmp     .pal
.gfx:   mov     word [B_VCOLS], 40
        mov     word [B_VPAGESIZE], 0xFA00
        mov     word [B_CHARH], 8
        mov     cx, 0x2000
        call    set_shape
        test    bl, 0x80
        jnz     .pal
        mov     ax, 0xA000
        mov     es, ax
        xor     di, di
        xor     ax, ax
        mov     cx, 32000
        rep     stosw
.pal:   mov     al, [B_VMODE]           ; default DAC; text modes: the font into plane 2
        call    vga_load_dac
        cmp     al, 0x13
        je      .r
        xor     bl, bl
        call    vga_load_rom_font
.r:     ret

; AH=01h: CH start line (bit 5 hides), CL end line; 0-7 values are scaled to 16-line cells
vid_shape:
set_shape:
        mov     [B_CURSHAPE], cx
        mov     ax, cx
        test    ch, 0x20
        jnz     .w
        cmp     ah, 7
        ja      .w
        cmp     al, 7
        ja      .w
        shl     ah, 1
        shl     al, 1
        inc     al
.w:     mov     dx, CRTC
        mov     bl, al
        mov     al, 0x0A
        out     dx, al
        inc     dx
        mov     al, ah
        out     dx, al
        dec     dx
        mov     al, 0x0B
        out     dx, al
        inc     dx
        mov     al, bl
        out     dx, al
        ret

; AH=02h: BH page, DH row, DL column
vid_setpos:
        and     bh, 7
        mov     bl, bh
        xor     bh, bh
        shl     bx, 1
        mov     [B_CURPOS + bx], dx
        or      bx, bx
        jnz     .r
        call    set_cursor
.r:     ret

; AH=03h: -> DH/DL position of page BH, CH/CL cursor shape
vid_getpos:
        and     bh, 7
        mov     bl, bh
        xor     bh, bh
        shl     bx, 1
        mov     ax, [B_CURPOS + bx]
        mov     [bp+F_DX], ax
        mov     ax, [B_CURSHAPE]
        mov     [bp+F_CX], ax
        mov     word [bp+F_AX], 0
        ret

; AH=05h: only page 0 exists
vid_page:
        mov     byte [B_VPAGE], 0
        ret

; DX = row/column of page 0: store and move the hardware cursor
set_cursor:
        push    ax
        push    bx
        push    dx
        mov     [B_CURPOS], dx
        mov     al, dh
        mul     byte [B_VCOLS]
        add     al, dl
        adc     ah, 0
        mov     bx, ax
        mov     dx, CRTC
        mov     al, 0x0E
        out     dx, al
        inc     dx
        mov     al, bh
        out     dx, al
        dec     dx
        mov     al, 0x0F
        out     dx, al
        inc     dx
        mov     al, bl
        out     dx, al
        pop     dx
        pop     bx
        pop     ax
        ret

; DX = row/column -> DI = text buffer offset
text_offset:
        push    ax
        mov     al, dh
        mul     byte [B_VCOLS]
        add     al, dl
        adc     ah, 0
        shl     ax, 1
        mov     di, ax
        pop     ax
        ret

; AH=06h up / 07h down: AL lines (0 clears), BH attribute, CH/CL..DH/DL window
vid_scroll:
        cmp     byte [B_VMODE], 0x13
        jne     scroll
        ret
scroll:                                 ; same registers, text mode
        push    bp
        mov     bp, sp
        sub     sp, 10
        push    ds
        push    es
        push    ax
        mov     al, ' '
        mov     ah, bh
        mov     [bp-2], ax              ; blank cell
        pop     ax
        mov     bl, [B_VCOLS]
        cmp     dl, bl
        jb      .c1
        mov     dl, bl
        dec     dl
.c1:    cmp     dh, [B_VROWS]
        jbe     .c2
        mov     dh, [B_VROWS]
.c2:    cmp     ch, dh
        ja      .ret
        cmp     cl, dl
        ja      .ret
        xor     bh, bh
        shl     bx, 1
        mov     [bp-4], bx              ; row stride in bytes
        mov     bl, dl
        sub     bl, cl
        inc     bl
        xor     bh, bh
        mov     [bp-6], bx              ; window width in cells
        mov     bl, dh
        sub     bl, ch
        inc     bl                      ; window height
        or      al, al
        jz      .all
        cmp     al, bl
        jbe     .n
.all:   mov     al, bl
.n:     sub     bl, al                  ; rows to move
        mov     [bp-8], al              ; rows to blank
        mov     [bp-7], bl
        push    ax
        mov     al, cl
        xor     ah, ah
        shl     ax, 1
        mov     [bp-10], ax             ; left column offset
        pop     ax
        cmp     ah, 7
        je      .down
        ; up: destination top row, source n rows below
        mov     al, ch
        call    .rowoff
        mov     di, ax
        mov     al, ch
        add     al, [bp-8]
        call    .rowoff
        mov     si, ax
        mov     bx, [bp-4]
        jmp     .move
.down:  mov     al, dh
        call    .rowoff
        mov     di, ax
        mov     al, dh
        sub     al, [bp-8]
        call    .rowoff
        mov     si, ax
        mov     bx, [bp-4]
        neg     bx
.move:  mov     ax, 0xB800
        mov     ds, ax
        mov     es, ax
        cld
        mov     dl, [bp-7]
        or      dl, dl
        jz      .fill
.mv:    push    si
        push    di
        mov     cx, [bp-6]
        rep     movsw
        pop     di
        pop     si
        add     di, bx
        add     si, bx
        dec     dl
        jnz     .mv
.fill:  mov     dl, [bp-8]
        or      dl, dl
        jz      .ret
.fl:    push    di
        mov     cx, [bp-6]
        mov     ax, [bp-2]
        rep     stosw
        pop     di
        add     di, bx
        dec     dl
        jnz     .fl
.ret:   pop     es
        pop     ds
        mov     sp, bp
        pop     bp
        ret
.rowoff:                                ; AL = row -> AX = offset of (row, left)
        xor     ah, ah
        push    dx
        mul     word [bp-4]
        pop     dx
        add     ax, [bp-10]
        ret

; AH=08h: -> AL character, AH attribute at the cursor
vid_readchar:
        cmp     byte [B_VMODE], 0x13
        je      .r
        mov     dx, [B_CURPOS]
        call    text_offset
        mov     ax, 0xB800
        mov     es, ax
        mov     ax, [es:di]
        mov     [bp+F_AX], ax
.r:     ret

; AH=09h (BL attribute) / 0Ah (keep attribute): AL character, CX count, at the cursor
vid_writechar:
        cmp     byte [B_VMODE], 0x13
        je      .r
        mov     dx, [B_CURPOS]
        call    text_offset
        cmp     cx, 2000
        jbe     .c
        mov     cx, 2000
.c:     jcxz    .r
        mov     dx, 0xB800
        mov     es, dx
.l:     mov     [es:di], al
        cmp     ah, 0x09
        jne     .n
        mov     [es:di+1], bl
.n:     add     di, 2
        cmp     di, 4000
        jae     .r
        loop    .l
.r:     ret

; AH=0Ch / 0Dh: pixel CX, DX in mode 13h (AL colour)
pixel_offset:                           ; CF=1 outside the screen, else ES:DI
        cmp     byte [B_VMODE], 0x13
        jne     .out
        cmp     cx, 320
        jae     .out
        cmp     dx, 200
        jae     .out
        push    ax
        mov     ax, 320
        mul     dx
        add     ax, cx
        mov     di, ax
        mov     ax, 0xA000
        mov     es, ax
        pop     ax
        clc
        ret
.out:   stc
        ret

vid_putpixel:
        call    pixel_offset
        jc      .r
        mov     [es:di], al
.r:     ret

vid_getpixel:
        call    pixel_offset
        jc      .r
        mov     al, [es:di]
        mov     [bp+F_AX], al
.r:     ret

; AH=0Eh teletype: AL character (BEL, BS, CR, LF handled), page 0
vid_tty:
        xor     ah, ah                  ; keep the attribute already on screen
        jmp     tty_char

; AL character, AH = 1: write BL as attribute too.  Keeps BX, CX, SI, ES.
tty_char:
        push    dx
        push    di
        mov     dx, [B_CURPOS]
        cmp     al, 0x0D
        je      .cr
        cmp     al, 0x0A
        je      .lf
        cmp     al, 0x08
        je      .bs
        cmp     al, 0x07
        je      .bel
        cmp     byte [B_VMODE], 0x13
        je      .adv                    ; no graphics font: the cursor still moves
        call    text_offset
        push    es
        push    ax
        mov     ax, 0xB800
        mov     es, ax
        pop     ax
        mov     [es:di], al
        or      ah, ah
        jz      .keep
        mov     [es:di+1], bl
.keep:  pop     es
.adv:   inc     dl
        cmp     dl, [B_VCOLS]
        jb      .set
        xor     dl, dl
.lf:    inc     dh
        cmp     dh, [B_VROWS]
        jbe     .set
        mov     dh, [B_VROWS]
        cmp     byte [B_VMODE], 0x13
        je      .set
        ; scroll the screen up a line, blank line in the attribute under the cursor
        push    ax
        push    bx
        push    cx
        push    es
        call    text_offset
        mov     ax, 0xB800
        mov     es, ax
        mov     bh, [es:di+1]
        push    dx
        mov     ax, 0x0601
        xor     cx, cx
        mov     dh, [B_VROWS]
        mov     dl, [B_VCOLS]
        dec     dl
        call    scroll
        pop     dx
        pop     es
        pop     cx
        pop     bx
        pop     ax
        jmp     .set
.cr:    xor     dl, dl
        jmp     .set
.bs:    or      dl, dl
        jz      .set
        dec     dl
.set:   call    set_cursor
.done:  pop     di
        pop     dx
        ret
.bel:   call    beep
        jmp     .done

beep:                                   ; about 900 Hz for two timer ticks
        push    ax
        push    bx
        push    cx
        mov     al, 0xB6
        out     0x43, al
        mov     ax, 1331
        out     0x42, al
        mov     al, ah
        out     0x42, al
        in      al, 0x61
        or      al, 0x03
        out     0x61, al
        mov     cx, 2
.w1:    mov     bx, [B_TICKS]
.w2:    sti
        hlt
        cmp     bx, [B_TICKS]
        je      .w2
        loop    .w1
        in      al, 0x61
        and     al, 0xFC
        out     0x61, al
        pop     cx
        pop     bx
        pop     ax
        ret

; AH=0Fh: -> AL mode, AH columns, BH page
vid_getmode:
        mov     al, [B_VMODE]
        mov     ah, [B_VCOLS]
        mov     [bp+F_AX], ax
        mov     al, [B_VPAGE]
        mov     [bp+F_BX+1], al
        ret

; AH=10h: DAC (AL=10h set one, 12h set block, 15h read one, 17h read block);
; AL=00h-09h (attribute controller) in vga.inc
vid_palette:
        cmp     al, 0x10
        jae     .dac
        jmp     vga_attr_fn
.dac:   cmp     al, 0x10
        je      .set1
        cmp     al, 0x12
        je      .setblk
        cmp     al, 0x15
        je      .get1
        cmp     al, 0x17
        je      .getblk
        ret
.set1:  mov     al, bl
        mov     dx, 0x3C8
        out     dx, al
        inc     dx
        mov     al, [bp+F_DX+1]
        out     dx, al
        mov     al, ch
        out     dx, al
        mov     al, cl
        out     dx, al
        ret
.setblk:
        mov     si, dx                  ; ES:DX table, BX first, CX count
        mov     al, bl
        mov     dx, 0x3C8
        out     dx, al
        inc     dx
        jcxz    .r
.sb:    mov     al, [es:si]
        out     dx, al
        mov     al, [es:si+1]
        out     dx, al
        mov     al, [es:si+2]
        out     dx, al
        add     si, 3
        loop    .sb
.r:     ret
.get1:  mov     al, bl
        mov     dx, 0x3C7
        out     dx, al
        mov     dx, 0x3C9
        in      al, dx
        mov     [bp+F_DX+1], al
        in      al, dx
        mov     [bp+F_CX+1], al
        in      al, dx
        mov     [bp+F_CX], al
        ret
.getblk:
        mov     di, dx
        mov     al, bl
        mov     dx, 0x3C7
        out     dx, al
        mov     dx, 0x3C9
        jcxz    .r
.gb:    in      al, dx
        stosb
        in      al, dx
        stosb
        in      al, dx
        stosb
        loop    .gb
        ret

; AH=11h: vid_font in vga.inc

; AH=12h BL=10h: EGA/VGA information
vid_altsel:
        cmp     bl, 0x10
        jne     .r
        mov     word [bp+F_BX], 0x0003  ; colour, 256 KiB
        mov     word [bp+F_CX], 0
.r:     ret

; AH=13h: write string ES:BP, CX characters at DH/DL, AL bit 0 move cursor, bit 1 attributes inline
vid_string:
        push    word [B_CURPOS]
        call    set_cursor
        mov     si, [bp+F_BP]
        jcxz    .end
.l:     mov     al, [es:si]
        inc     si
        test    byte [bp+F_AX], 2
        jz      .na
        mov     bl, [es:si]
        inc     si
.na:    mov     ah, 1
        call    tty_char
        loop    .l
.end:   pop     dx
        test    byte [bp+F_AX], 1
        jnz     .r
        call    set_cursor
.r:     ret

; AH=1Ah AL=00h: display combination = VGA colour
vid_dcc:
        cmp     al, 0
        jne     .r
        mov     byte [bp+F_AX], 0x1A
        mov     word [bp+F_BX], 0x0008
.r:     ret

; ===========================================================================
; tables
; ===========================================================================
%include "serial.inc"

vector_table:
        db 0x08
        dw int08
        db 0x09
        dw int09
        db 0x10
        dw int10
        db 0x11
        dw int11
        db 0x12
        dw int12
        db 0x13
        dw int13
        db 0x14
        dw int14
        db 0x15
        dw int15
        db 0x16
        dw int16
        db 0x18
        dw int18
        db 0x19
        dw int19
        db 0x1A
        dw int1a
        db 0xFF

diskette_params:        ; INT 1Eh: 1.44M
        db 0xDF, 0x02, 0x25, 0x02, 0x12, 0x1B, 0xFF, 0x6C, 0xF6, 0x0F, 0x08

video_params:           ; INT 1Dh placeholder
        times 16 db 0

vga_palette:            ; default 256-colour DAC (6-bit RGB), generated by build.sh
%include "palette.inc"
%include "vga.inc"

%include "tables.inc"                   ; MP and ACPI tables, generated by mktables.py

        times 0xFFF0 - ($ - $$) db 0xFF

; ===========================================================================
; reset vector at F000:FFF0
; ===========================================================================
reset:
        jmp     0xF000:post
        db      "11/25/26"              ; BIOS date at F000:FFF5
        db      0
        db      0xFC                    ; model byte: AT
        db      0
