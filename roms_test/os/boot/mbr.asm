; MBR boot sector: loads the loader (LOADER_SECTORS sectors from LBA 1) to
; 0000:8000 with INT 13h AH=42h and jumps to it with DL = boot drive.
bits 16
org 0x7C00
        cli
        xor     ax, ax
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     sp, 0x7C00
        sti
        cld
        mov     [drive], dl
        mov     ah, 0x41                ; extensions present?
        mov     bx, 0x55AA
        int     0x13
        jc      fail
        cmp     bx, 0xAA55
        jne     fail
        mov     si, dap
        mov     ah, 0x42
        mov     dl, [drive]
        int     0x13
        jc      fail
        mov     dl, [drive]
        jmp     0:0x8000
fail:   mov     si, msg
.next:  lodsb
        test    al, al
        jz      .halt
        mov     ah, 0x0E
        mov     bx, 7
        int     0x10
        jmp     .next
.halt:  hlt
        jmp     .halt
msg:    db      "MBR: disk read failed", 13, 10, 0
drive:  db      0
dap:    db      16, 0
        dw      LOADER_SECTORS, 0x8000, 0
        dq      1
        times 510 - ($ - $$) db 0
        dw      0xAA55
