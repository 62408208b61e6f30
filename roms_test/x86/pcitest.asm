; pcitest.img — PCI BIOS (INT 1Ah AH=B1h) check disk for machines/pc.yaml.
;
; One line per call on the debug console (port E9h), hex values (tests/test_pci.py):
;   B101 <AH> <AL> <BX> <CL> <EDX>     installation check
;   B102 <AH> <BX>                     find 8086:7010 (PIIX3 IDE), index 0
;   B102N <AH> <CF>                    index 1 of it (none)
;   B103 <AH> <BX>                     find class 010180h, index 0
;   B10A <AH> <ECX>                    dword 08h of that function (class, revision)
;   B109 <AH> <CX>                     word 02h (device ID)
;   B109O <AH>                         word at 03h (bad register number)
;   B10B <AH> <CL>                     byte 3Ch written 0Eh, read back with B108h
;   B1FF <AH> <CF>                     an unknown function
;   PCITEST DONE

        cpu     386
        bits    16
        org     0x7C00

%include "boot.inc"

start:
        BOOT_SETUP
        mov     ax, 0xB101
        xor     edx, edx
        int     0x1A
        push    ax
        mov     si, s_b101
        call    puts
        pop     ax
        push    ax
        mov     al, ah
        call    hex8s
        pop     ax
        call    hex8s
        mov     ax, bx
        call    hex16s
        mov     al, cl
        call    hex8s
        call    hexedx
        call    nl

        mov     ax, 0xB102
        mov     cx, 0x7010
        mov     dx, 0x8086
        xor     si, si
        int     0x1A
        push    bx
        mov     si, s_b102
        call    puts
        call    ah_bx
        pop     bx
        mov     [dev], bx

        mov     ax, 0xB102
        mov     cx, 0x7010
        mov     dx, 0x8086
        mov     si, 1
        int     0x1A
        call    ah_cf
        mov     si, s_b102n
        call    puts
        call    print_ah_cf

        mov     ax, 0xB103
        mov     ecx, 0x00010180
        xor     si, si
        int     0x1A
        mov     si, s_b103
        call    puts
        call    ah_bx

        mov     ax, 0xB10A
        mov     bx, [dev]
        mov     di, 0x08
        int     0x1A
        mov     si, s_b10a
        call    puts
        mov     al, ah
        call    hex8s
        mov     edx, ecx
        call    hexedx
        call    nl

        mov     ax, 0xB109
        mov     bx, [dev]
        mov     di, 0x02
        int     0x1A
        mov     si, s_b109
        call    puts
        mov     al, ah
        call    hex8s
        mov     ax, cx
        call    hex16s
        call    nl

        mov     ax, 0xB109
        mov     bx, [dev]
        mov     di, 0x03
        int     0x1A
        mov     si, s_b109o
        call    puts
        mov     al, ah
        call    hex8s
        call    nl

        mov     ax, 0xB10B
        mov     bx, [dev]
        mov     di, 0x3C
        mov     cl, 0x0E
        int     0x1A
        mov     ax, 0xB108
        mov     cl, 0
        int     0x1A
        mov     si, s_b10b
        call    puts
        mov     al, ah
        call    hex8s
        mov     al, cl
        call    hex8s
        call    nl

        mov     ax, 0xB1FF
        int     0x1A
        call    ah_cf
        mov     si, s_b1ff
        call    puts
        call    print_ah_cf

        mov     si, s_done
        call    puts
.halt:  hlt
        jmp     .halt

ah_bx:  mov     al, ah                  ; " AH BX" and a newline
        call    hex8s
        mov     ax, bx
        call    hex16s
        jmp     nl

ah_cf:  mov     [res], ah               ; keep AH and CF
        setc    byte [res + 1]
        ret

print_ah_cf:
        mov     al, [res]
        call    hex8s
        mov     al, [res + 1]
        call    hex8s
        jmp     nl

hexedx: push    eax                     ; " " + EDX in hex
        mov     eax, edx
        shr     eax, 16
        call    hex16s
        mov     ax, dx
        call    hex16
        pop     eax
        ret

%include "debugcon.inc"

dev:    dw 0
res:    dw 0
s_b101:  db "B101", 0
s_b102:  db "B102", 0
s_b102n: db "B102N", 0
s_b103:  db "B103", 0
s_b10a:  db "B10A", 0
s_b109:  db "B109", 0
s_b109o: db "B109O", 0
s_b10b:  db "B10B", 0
s_b1ff:  db "B1FF", 0
s_done:  db "PCITEST DONE", 10, 0

        times 510 - ($ - $$) db 0
        dw      0xAA55
