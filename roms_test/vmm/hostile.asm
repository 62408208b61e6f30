; hostile.img — a guest that tries to get out of its VM (1.44M floppy for
; machines/pc.yaml, also boots under QEMU/SeaBIOS).  One line per step on the
; debug console (port E9h), numbers in hex:
;   a. HOSTILE START <boot count, 2 digits>   CMOS byte 6Eh + 1, kept across resets
;   b. HOSTILE SCAN <pages, 8> FOUND <n, 8>   paging on (CR4.PSE, 1024 4 MiB pages
;      mapping all 4 GiB 1:1), the first 20 bytes of every 4 KiB page read and
;      matched against "VICTIM-CANARY-42" (victim.asm's canary); an isolated VM
;      finds none.  The needle is only ever in this program as four separate
;      dword immediates, so the scan cannot find the program itself.
;   c. HOSTILE WROTE <pages, 8>               DEADBEEFh into the first dword of every
;      4 KiB page from 1 MiB to 4 GiB except the I/O APIC (FEC00000h) and local
;      APIC (FEE00000h) pages; everything this program uses (code, stack, page
;      directory, the E820h-free low memory) is below 1 MiB
;   d. HOSTILE DMA <address, 8> <status, 2>   the block disk controller (port 600h,
;      docs/HARDWARE.md) reads floppy sectors to 7FFF0000h, FFFFF000h and (two
;      sectors) 00FFFF00h, across the top of its 24-bit DMA address; the
;      controller has three address bytes, so only the low 24 bits are written
;   e. HOSTILE PORTS <xor, 8>                 5Ah written to ports 100h-10Fh and read
;      back (bytes), A55Ah to port F000h (word), 12345678h to E0000000h (dword
;      MMIO); the xor of the 18 values read (all ones everywhere: FFFF0000)
;   f. HOSTILE TRIPLE                         then a GDT at a junk base, an IDT with
;      limit 0 and UD2: #UD, #GP, #DF cannot be delivered, the CPU shuts down
; A PC resets the CPU on the shutdown, the BIOS boots the floppy again and the
; program starts over with the next boot count.  tests/test_vmm_guests.py;
; roms_test/vmm/README.md.

        cpu     686
        bits    16
        org     0x7C00

%include "boot.inc"

PD              equ 0x3000              ; the page directory (4 KiB, below 1 MiB)
CMOS_BOOTS      equ 0x6E                ; CMOS byte counting boots (free on pc and QEMU)
WRITE_FROM      equ 0x100000            ; step c starts at 1 MiB
IOAPIC_PAGE     equ 0xFEC00000
LAPIC_PAGE      equ 0xFEE00000
JUNK            equ 0xDEADBEEF
BLK             equ 0x600               ; block controller: command/status, drive, LBA, DMA, count

start:
        BOOT_SETUP
        BOOT_LOAD_REST main                     ; the rest of the program after the boot sector
        times 510 - ($ - $$) db 0
        dw      0xAA55

%include "pm32.inc"

main:
        ENTER_PM pm_main

pm_main:
        mov     esp, 0x7C00

        ; ---- a. count this boot in CMOS (survives the CPU reset) ----
        mov     al, CMOS_BOOTS
        out     0x70, al
        in      al, 0x71
        inc     al
        mov     ah, al
        mov     al, CMOS_BOOTS
        out     0x70, al
        mov     al, ah
        out     0x71, al
        PRINT   "HOSTILE START"
        call    hex8s
        call    nl32

        ; ---- b. paging: 4 MiB pages 1:1 over all 4 GiB, then scan every 4 KiB page ----
        mov     edi, PD
        mov     eax, 0x83               ; present, writable, PS (4 MiB)
        mov     ecx, 1024
.pd:    stosd
        add     eax, 0x400000
        loop    .pd
        mov     eax, cr4
        or      eax, 0x10               ; CR4.PSE
        mov     cr4, eax
        mov     eax, PD
        mov     cr3, eax
        mov     eax, cr0
        or      eax, 0x80000000         ; CR0.PG
        mov     cr0, eax
        jmp     .paged
.paged:
        xor     esi, esi                ; ESI = page address (wraps to 0 after 4 GiB)
        xor     ebx, ebx                ; EBX = canaries found
        xor     ebp, ebp                ; EBP = pages scanned
.scan:  mov     eax, [esi]              ; the needle as dword immediates only
        sub     eax, 'VICT'
        mov     edx, [esi + 4]
        sub     edx, 'IM-C'
        or      eax, edx
        mov     edx, [esi + 8]
        sub     edx, 'ANAR'
        or      eax, edx
        mov     edx, [esi + 12]
        sub     edx, 'Y-42'
        or      eax, edx                ; ZF: the 16 bytes match
        mov     edx, [esi + 16]         ; the canary's address dword (read; a copy may carry any)
        jnz     .miss
        inc     ebx
.miss:  inc     ebp
        add     esi, 4096
        jnz     .scan
        PRINT   "HOSTILE SCAN"
        mov     eax, ebp
        call    hex32s
        PRINT   " FOUND"
        mov     eax, ebx
        call    hex32s
        call    nl32

        ; ---- c. junk into every page from 1 MiB up, but the APIC pages ----
        mov     esi, WRITE_FROM
        xor     ebp, ebp                ; EBP = pages written
.wr:    cmp     esi, IOAPIC_PAGE
        je      .skip
        cmp     esi, LAPIC_PAGE
        je      .skip
        mov     dword [esi], JUNK
        inc     ebp
.skip:  add     esi, 4096
        jnz     .wr
        PRINT   "HOSTILE WROTE"
        mov     eax, ebp
        call    hex32s
        call    nl32

        ; ---- d. disk DMA far beyond RAM and across the top of the DMA address ----
        mov     eax, 0x7FFF0000
        mov     cl, 1
        call    dma
        mov     eax, 0xFFFFF000
        mov     cl, 1
        call    dma
        mov     eax, 0x00FFFF00
        mov     cl, 2
        call    dma

        ; ---- e. unassigned ports and MMIO: write, read back, xor what came back ----
        xor     ebx, ebx
        mov     dx, 0x100
.port:  mov     al, 0x5A
        out     dx, al
        in      al, dx
        movzx   eax, al
        xor     ebx, eax
        inc     dx
        cmp     dx, 0x110
        jb      .port
        mov     dx, 0xF000
        mov     ax, 0xA55A
        out     dx, ax
        in      ax, dx
        movzx   eax, ax
        xor     ebx, eax
        mov     dword [0xE0000000], 0x12345678
        xor     ebx, [0xE0000000]
        PRINT   "HOSTILE PORTS"
        mov     eax, ebx
        call    hex32s
        call    nl32

        ; ---- f. descriptor tables that cannot deliver a fault, then a fault ----
        PRINT   "HOSTILE TRIPLE"
        call    nl32
        lgdt    [bogus_gdtr]
        lidt    [bogus_idtr]
        ud2
        jmp     $                       ; not reached

; dma: EAX = DMA address, CL = sectors (CL = status on return): read floppy LBA 0 there with the block
; controller (drive 0) and print "HOSTILE DMA <EAX> <status>".
dma:    push    eax
        push    edx
        mov     dx, BLK + 1
        push    eax
        xor     al, al                  ; drive 0
        out     dx, al
        inc     dx
.lba:   out     dx, al                  ; LBA bytes 0..3 = 0
        inc     dx
        cmp     dx, BLK + 6
        jb      .lba
        pop     eax
        out     dx, al                  ; DMA address bytes 0..2: all the controller has
        inc     dx
        shr     eax, 8
        out     dx, al
        inc     dx
        shr     eax, 8
        out     dx, al
        inc     dx
        mov     al, cl                  ; sector count
        out     dx, al
        mov     dx, BLK
        mov     al, 1                   ; command: read
        out     dx, al
        in      al, dx                  ; status
        mov     cl, al
        pop     edx
        pop     eax
        PRINT   "HOSTILE DMA"
        call    hex32s
        push    eax
        mov     al, cl
        call    hex8s
        pop     eax
        call    nl32
        ret

bogus_gdtr:
        dw      0                       ; limit 0 ...
        dd      0xFFFFF000              ; ... at a junk base
bogus_idtr:
        dw      0                       ; limit 0: no vector can be delivered
        dd      0

rest_end:
REST_SECTORS    equ (rest_end - $$ - 512 + 511) / 512
        times 512 + REST_SECTORS * 512 - ($ - $$) db 0
