; A guest that triple-faults once (tests/test_x86_shutdown.py builds it with nasm): flat protected
; mode, paging with linear 400000h mapped to physical 200000h, where it runs
;     mov ax,28h / mov ds,ax       ; selector 28h lies beyond the GDT limit: #GP(0028)
; and the gates of #GP, #NP and #DF name the not-present code segment 18h.
; After the CPU reset it writes 2 to port 80h and halts.
bits 16
org 0
ROMBASE equ 0xF0000
start:
        cli
        xor ax, ax
        mov ds, ax
        cmp byte [0x500], 0x55
        je second
        mov byte [0x500], 0x55
        mov al, 1
        out 0x80, al
        o32 lgdt [cs:gdtr]
        mov eax, cr0
        or al, 1
        mov cr0, eax
        jmp dword 0x08:(ROMBASE + pm)
second:
        mov al, 2
        out 0x80, al
.halt:  hlt
        jmp .halt

bits 32
pm:
        mov ax, 0x10
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov esp, 0x9000
        cld
        mov edi, 0x1000                 ; IDT: 256 empty entries
        mov ecx, 512
        xor eax, eax
        rep stosd
        mov dword [0x1000 + 8 * 8], 0x00180000      ; #DF, #NP, #GP: interrupt gates to 18h:0
        mov dword [0x1000 + 8 * 8 + 4], 0x00008E00
        mov dword [0x1000 + 11 * 8], 0x00180000
        mov dword [0x1000 + 11 * 8 + 4], 0x00008E00
        mov dword [0x1000 + 13 * 8], 0x00180000
        mov dword [0x1000 + 13 * 8 + 4], 0x00008E00
        lidt [ROMBASE + idtr]
        mov edi, 0x10000                ; page directory and two page tables
        mov ecx, 3 * 1024
        xor eax, eax
        rep stosd
        mov dword [0x10000], 0x11007
        mov dword [0x10004], 0x12007
        mov edi, 0x11000                ; PT0: identity 0 .. 4 MiB
        mov eax, 7
.pt:    stosd
        add eax, 0x1000
        cmp edi, 0x12000
        jne .pt
        mov dword [0x12000], 0x200007   ; PT1[0]: linear 400000h -> physical 200000h
        mov esi, ROMBASE + victim
        mov edi, 0x200000
        mov ecx, victim_end - victim
        rep movsb
        mov eax, 0x10000
        mov cr3, eax
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax
        jmp 0x08:0x400000
victim:
        mov ax, 0x28                    ; (66 B8 28 00)
        mov ds, ax                      ; (8E D8) at 0008:00400004
        hlt
victim_end:

gdtr:   dw gdt_end - gdt - 1
        dd ROMBASE + gdt
idtr:   dw 256 * 8 - 1
        dd 0x1000
align 8
gdt:    dq 0
        dw 0xFFFF, 0, 0x9A00, 0x00CF    ; 08: code, flat, 32-bit
        dw 0xFFFF, 0, 0x9200, 0x00CF    ; 10: data, flat
        dw 0xFFFF, 0, 0x1A00, 0x00CF    ; 18: code, not present
gdt_end:

        times 0xFFF0 - ($ - $$) db 0
bits 16
        jmp 0xF000:start                ; the reset vector (FFFF0000h + FFF0h)
        times 0x10000 - ($ - $$) db 0
