; serial.img — COM port boot disk for machines/pc.yaml (1.44M floppy).
;
; Programs COM1 and COM2 (16550A: 115200 baud 8N1, FIFOs, trigger level 1),
; then sends on COM1, polling LSR bit 5 (THRE):
;   "SERIAL OK COM1=xxxx COM2=xxxx EQUIP=xxxx\r\n"   (BDA 40:00, 40:02, 40:10 in hex)
; and on COM2 "COM2 OK\r\n".  Then it echoes what arrives on COM1, upper-cased,
; receiving through IRQ 4 (INT 0Ch, IER bit 0, OUT2 set): a Return is echoed as
; CR LF.  "SERIAL READY" goes to the debug console (port E9h) once the banner
; is sent.  tests/test_cli.py drives it through --serial file: and tcp:.

        cpu     8086
        bits    16
        org     0x7C00

%include "boot.inc"

COM1    equ 0x3F8
COM2    equ 0x2F8

start:
        BOOT_SETUP
        cli
        mov     word [0x0C * 4], com1_irq
        mov     [0x0C * 4 + 2], cs
        mov     dx, COM1
        call    uart_init
        mov     dx, COM2
        call    uart_init

        mov     dx, COM1
        mov     si, msg_ok
        call    puts
        mov     bx, 0x400               ; the BDA's COM1, COM2 and equipment words
        mov     si, msg_com2
        call    hexword
        mov     bx, 0x402
        mov     si, msg_equip
        call    hexword
        mov     bx, 0x410
        mov     si, msg_crlf
        call    hexword
        mov     dx, COM2
        mov     si, msg_com2ok
        call    puts

        mov     si, msg_ready
.dbg:   lodsb
        or      al, al
        jz      .irqs
        out     0xE9, al
        jmp     .dbg
.irqs:  mov     dx, COM1 + 1
        mov     al, 0x01                ; IER: received data available
        out     dx, al
        in      al, 0x21
        and     al, ~0x10               ; unmask IRQ 4
        out     0x21, al
        sti

main:   hlt
.next:  cli
        mov     bx, [tail]
        cmp     bx, [head]
        sti
        je      main
        mov     al, [ring + bx]
        inc     bx
        and     bx, 15
        mov     [tail], bx
        mov     dx, COM1
        cmp     al, 13
        jne     .up
        call    putc
        mov     al, 10
        jmp     .send
.up:    cmp     al, 'a'
        jb      .send
        cmp     al, 'z'
        ja      .send
        sub     al, 0x20
.send:  call    putc
        jmp     .next

com1_irq:                               ; drain the RX FIFO into the ring
        push    ax
        push    bx
        push    dx
.more:  mov     dx, COM1 + 5
        in      al, dx
        test    al, 1
        jz      .done
        mov     dx, COM1
        in      al, dx
        mov     bx, [cs:head]
        mov     [cs:ring + bx], al
        inc     bx
        and     bx, 15
        mov     [cs:head], bx
        jmp     .more
.done:  mov     al, 0x20
        out     0x20, al
        pop     dx
        pop     bx
        pop     ax
        iret

uart_init:                              ; DX = base
        add     dx, 3
        mov     al, 0x80                ; DLAB
        out     dx, al
        sub     dx, 3
        mov     al, 1                   ; divisor 1: 115200 baud
        out     dx, al
        inc     dx
        xor     al, al
        out     dx, al                  ; DLM; DX = base+1
        add     dx, 2
        mov     al, 0x03                ; 8N1, DLAB off
        out     dx, al
        dec     dx
        mov     al, 0x07                ; FIFOs on and cleared, trigger level 1
        out     dx, al
        add     dx, 2
        mov     al, 0x0B                ; DTR, RTS, OUT2 (the IRQ gate)
        out     dx, al
        sub     dx, 4
        ret

putc:                                   ; AL to the UART at DX, when THR is empty
        push    ax
        add     dx, 5
.wait:  in      al, dx
        test    al, 0x20
        jz      .wait
        sub     dx, 5
        pop     ax
        out     dx, al
        ret

puts:                                   ; DS:SI to the UART at DX
        lodsb
        or      al, al
        jz      .r
        call    putc
        jmp     puts
.r:     ret

hexword:                                ; the word at [BX] in hex, then the string SI
        mov     cx, 4
        mov     bx, [bx]
.h:     push    cx
        mov     cl, 4
        rol     bx, cl
        pop     cx
        mov     al, bl
        and     al, 15
        add     al, '0'
        cmp     al, '9'
        jbe     .p
        add     al, 'A' - '9' - 1
.p:     call    putc
        loop    .h
        jmp     puts

msg_ok      db "SERIAL OK COM1=", 0
msg_com2    db " COM2=", 0
msg_equip   db " EQUIP=", 0
msg_crlf    db 13, 10, 0
msg_com2ok  db "COM2 OK", 13, 10, 0
msg_ready   db "SERIAL READY", 10, 0
head        dw 0
tail        dw 0
ring        times 16 db 0

        times 510 - ($ - $$) db 0
        dw      0xAA55
