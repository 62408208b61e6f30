; Second stage, at 0000:8000 with DL = boot drive.  Reads the E820 memory map
; to BOOTINFO, loads the kernel (KERNEL_SECTORS sectors after the loader) to
; 1000:0000 in 32 KiB chunks, enables A20 (port 92h), enters protected mode,
; copies the kernel to 1 MiB and jumps there with EBX = BOOTINFO.
; BOOTINFO: dd entry count, dd boot drive, then 24-byte entries (base, length,
; type as E820 returns them, padded to 24 bytes).
bits 16
org 0x8000
BOOTINFO equ 0x5000
MAXENT   equ 32
        mov     [drive], dl
        mov     si, hello
        call    print
        ; --- E820 ---
        xor     ebx, ebx
        mov     di, BOOTINFO + 8
        xor     bp, bp
.e820:  mov     eax, 0xE820
        mov     edx, 0x534D4150
        mov     ecx, 20
        int     0x15
        jc      .e820end
        cmp     eax, 0x534D4150
        jne     .e820end
        inc     bp
        add     di, 24
        cmp     bp, MAXENT
        je      .e820end
        test    ebx, ebx
        jnz     .e820
.e820end:
        movzx   eax, bp
        mov     [BOOTINFO], eax
        movzx   eax, byte [drive]
        mov     [BOOTINFO + 4], eax
        ; --- kernel ---
.read:  mov     ax, [left]
        test    ax, ax
        jz      .loaded
        cmp     ax, 64
        jbe     .n
        mov     ax, 64
.n:     mov     [dap + 2], ax
        mov     si, dap
        mov     ah, 0x42
        mov     dl, [drive]
        int     0x13
        jc      fail
        mov     ax, [dap + 2]
        sub     [left], ax
        add     [dap + 8], ax           ; next LBA
        shl     ax, 5                   ; sectors -> paragraphs
        add     [dap + 6], ax
        jmp     .read
.loaded:
        in      al, 0x92                ; fast A20
        or      al, 2
        and     al, 0xFE
        out     0x92, al
        cli
        lgdt    [gdtr]
        mov     eax, cr0
        or      eax, 1
        mov     cr0, eax
        jmp     0x08:pm

fail:   mov     si, err
        call    print
.h:     hlt
        jmp     .h

print:  lodsb
        test    al, al
        jz      .r
        mov     ah, 0x0E
        mov     bx, 7
        int     0x10
        jmp     print
.r:     ret

bits 32
pm:     mov     ax, 0x10
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     fs, ax
        mov     gs, ax
        mov     esp, 0x7C00
        mov     esi, 0x10000
        mov     edi, 0x100000
        mov     ecx, KERNEL_SECTORS * 128
        cld
        rep movsd
        mov     ebx, BOOTINFO
        jmp     0x08:0x100000

hello:  db      "loader: E820, kernel", 13, 10, 0
err:    db      "loader: disk read failed", 13, 10, 0
drive:  db      0
left:   dw      KERNEL_SECTORS
align 4
dap:    db      16, 0
        dw      0, 0, 0x1000
        dq      1 + LOADER_SECTORS
align 8
gdt:    dq      0
        dq      0x00CF9A000000FFFF      ; 08: flat code
        dq      0x00CF92000000FFFF      ; 10: flat data
gdtr:   dw      gdtr - gdt - 1
        dd      gdt
        times LOADER_SECTORS * 512 - ($ - $$) db 0
