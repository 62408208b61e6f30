; kvmboot.img — the guest of the VMM's mode kvm test (1.44M floppy for
; machines/pc.yaml; it runs under mode emulate too, and under QEMU:
; qemu-system-i386 -fda kvmboot.img -serial stdio -display none).
;
; It reports on COM1 (port 3F8h, polling the line status register 3FDh bit 5
; before each byte), one line per step, numbers in hex (8 digits):
;     KVM-GUEST START <boot count>
;         CMOS byte 6Fh plus one (CMOS survives a CPU reset); on the first boot
;         the guest then triple-faults (protected mode, an IDT of limit 0, UD2:
;         #UD, #GP and #DF cannot be delivered): a PC resets the CPU, the BIOS
;         boots the floppy again, and the second boot goes on with the lines below
;     KVM-GUEST OK <vendor> <max leaf> <signature> <xorshift>
;         CPUID leaf 0 (vendor string, highest leaf), leaf 1 EAX (family, model,
;         stepping) and xorshift32 (13, 17, 5) iterated 10,000 times from 1
;         (the test knows the value: the loop ran, and ran right)
;     KVM-GUEST CPU <brand string>
;         CPUID 80000002h-80000004h, or "?" where the CPU has none
;     KVM-GUEST HV <signature>
;         the hypervisor's CPUID signature (leaf 40000000h: "KVMKVMKVM" under
;         KVM) if CPUID.1:ECX bit 31 says there is one, else "-"
;     KVM-GUEST REP <dword>
;         CMOS register 10h (floppy types) read four times by one REP INSB from
;         port 71h (a string I/O exit with a count); the same line goes to the
;         debug console (port E9h) by one REP OUTSB
;     KVM-GUEST TICKS <ticks>
;         interrupts on, HLT until the BIOS's timer tick count (40:6Ch, IRQ 0)
;         has advanced by 3: interrupt injection and waking from HLT
;     KVM-GUEST PM <cr0>
;         from 32-bit protected mode (flat GDT, interrupts off), CR0 as read there
; and then halts for good (CLI; HLT in a loop).  Under emulation the vendor is
; the emulated CPU's ("GenuineIntel", highest leaf 1, signature 00000611);
; under mode kvm every CPUID value is the host processor's.
; tests/test_vmm_kvm.py runs it; roms_test/vmm/README.md.

        cpu     686
        bits    16
        org     0x7C00

%include "boot.inc"

REST_SECTORS    equ 2
COM1            equ 0x3F8
CMOS_BOOTS      equ 0x6F                        ; CMOS byte: boots so far
CODE_SEL        equ 0x08
DATA_SEL        equ 0x10

start:
        BOOT_SETUP
        BOOT_LOAD_REST main                     ; the rest of the program after the boot sector
        times 510 - ($ - $$) db 0
        dw      0xAA55

main:
        ; ---- the boot count (CMOS 6Fh, kept across the CPU reset); the first boot
        ; triple-faults: a real-mode IDT of limit 0, then INT3 ----
        mov     al, CMOS_BOOTS
        out     0x70, al
        in      al, 0x71
        inc     al
        mov     [boots], al
        mov     ah, al
        mov     al, CMOS_BOOTS
        out     0x70, al
        mov     al, ah
        out     0x71, al
        mov     si, msg_start
        call    puts16
        movzx   eax, byte [boots]
        call    hex32s16
        call    nl16
        cmp     byte [boots], 1
        jne     .again
        cli
        lgdt    [gdtr]
        mov     eax, cr0
        or      al, 1
        mov     cr0, eax
        jmp     dword CODE_SEL:crash
.again:
        ; ---- CPUID and a computed value ----
        mov     si, msg_ok
        call    puts16
        xor     eax, eax
        cpuid
        mov     [vendor], ebx
        mov     [vendor + 4], edx
        mov     [vendor + 8], ecx
        mov     [maxleaf], eax
        mov     al, ' '
        call    putc16
        mov     si, vendor
        call    puts16
        mov     eax, [maxleaf]
        call    hex32s16
        mov     eax, 1
        cpuid
        call    hex32s16
        mov     eax, 1                          ; xorshift32 from 1, 10,000 rounds
        mov     ecx, 10000
.xs:    mov     edx, eax
        shl     edx, 13
        xor     eax, edx
        mov     edx, eax
        shr     edx, 17
        xor     eax, edx
        mov     edx, eax
        shl     edx, 5
        xor     eax, edx
        dec     ecx
        jnz     .xs
        call    hex32s16
        call    nl16

        ; ---- the brand string ----
        mov     si, msg_cpu
        call    puts16
        mov     eax, 0x80000000
        cpuid
        cmp     eax, 0x80000004
        jb      .nobrand
        cmp     eax, 0x8000FFFF                 ; (a CPU without the range echoes garbage)
        ja      .nobrand
        mov     di, brand
        mov     esi, 0x80000002
.br:    mov     eax, esi
        cpuid
        mov     [di], eax
        mov     [di + 4], ebx
        mov     [di + 8], ecx
        mov     [di + 12], edx
        add     di, 16
        inc     esi
        cmp     esi, 0x80000004
        jbe     .br
        mov     si, brand
.sp:    cmp     byte [si], ' '                  ; (Intel pads it on the left)
        jne     .bp
        inc     si
        jmp     .sp
.bp:    call    puts16
        jmp     .brdone
.nobrand:
        mov     al, '?'
        call    putc16
.brdone:
        call    nl16

        ; ---- the hypervisor's signature (CPUID.1:ECX bit 31: leaf 40000000h) ----
        mov     si, msg_hv
        call    puts16
        mov     eax, 1
        cpuid
        test    ecx, 0x80000000
        jz      .nohv
        mov     eax, 0x40000000
        cpuid
        mov     [vendor], ebx
        mov     [vendor + 4], ecx
        mov     [vendor + 8], edx
        mov     si, vendor
        call    puts16
        jmp     .hvdone
.nohv:  mov     al, '-'
        call    putc16
.hvdone:
        call    nl16

        ; ---- string I/O: REP INSB from the CMOS, REP OUTSB to the debug console ----
        mov     al, 0x10
        out     0x70, al
        mov     dx, 0x71
        mov     di, cmos4
        mov     cx, 4
        rep     insb
        mov     si, msg_rep
        call    puts16
        mov     eax, [cmos4]
        call    hex32s16
        call    nl16
        mov     si, msg_rep                     ; the same line on port E9h, one instruction
        mov     di, line
        call    strcpy
        mov     eax, [cmos4]
        call    hex32_buf
        mov     byte [di], 10
        inc     di
        mov     cx, di
        sub     cx, line
        mov     si, line
        mov     dx, 0xE9
        rep     outsb

        ; ---- interrupts: three timer ticks, waiting in HLT ----
        sti
        mov     ebx, [0x46C]
.tick:  hlt
        mov     eax, [0x46C]
        sub     eax, ebx
        cmp     eax, 3
        jb      .tick
        cli
        mov     si, msg_ticks
        call    puts16
        call    hex32s16
        call    nl16

        ; ---- 32-bit protected mode ----
        lgdt    [gdtr]
        mov     eax, cr0
        or      al, 1
        mov     cr0, eax
        jmp     dword CODE_SEL:pm

; ---- 16-bit COM1 output ----
putc16: push    dx                              ; AL
        push    ax
        mov     dx, COM1 + 5
.w:     in      al, dx
        test    al, 0x20                        ; transmitter holding register empty
        jz      .w
        pop     ax
        mov     dx, COM1
        out     dx, al
        pop     dx
        ret

puts16: push    ax                              ; SI: zero-terminated
        push    si
.l:     lodsb
        test    al, al
        jz      .r
        call    putc16
        jmp     .l
.r:     pop     si
        pop     ax
        ret

nl16:   push    ax
        mov     al, 13
        call    putc16
        mov     al, 10
        call    putc16
        pop     ax
        ret

hex32s16:                                       ; " " + EAX as 8 hex digits
        push    eax
        push    cx
        push    edx
        mov     edx, eax
        mov     al, ' '
        call    putc16
        mov     cx, 8
.d:     rol     edx, 4
        mov     al, dl
        call    hexdigit
        call    putc16
        loop    .d
        pop     edx
        pop     cx
        pop     eax
        ret

hexdigit:                                       ; AL low nibble -> its digit
        and     al, 0x0F
        add     al, '0'
        cmp     al, '9'
        jbe     .r
        add     al, 'A' - '9' - 1
.r:     ret

strcpy: lodsb                                   ; SI -> DI, without the terminator
        test    al, al
        jz      .r
        stosb
        jmp     strcpy
.r:     ret

hex32_buf:                                      ; " " + EAX in hex at DI (advanced)
        push    cx
        push    edx
        mov     edx, eax
        mov     al, ' '
        stosb
        mov     cx, 8
.d:     rol     edx, 4
        mov     al, dl
        call    hexdigit
        stosb
        loop    .d
        pop     edx
        pop     cx
        ret

; ---- 32-bit code ----
        bits    32
crash:  lidt    [noidt]                         ; no IDT: #UD, #GP and #DF cannot be
        ud2                                     ; delivered, the CPU shuts down

pm:     mov     ax, DATA_SEL
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     fs, ax
        mov     gs, ax
        mov     esp, 0x7C00
        mov     esi, msg_pm
        call    puts32
        mov     eax, cr0
        call    hex32s32
        mov     al, 13
        call    putc32
        mov     al, 10
        call    putc32
.halt:  cli
        hlt
        jmp     .halt

putc32: push    edx
        push    eax
        mov     dx, COM1 + 5
.w:     in      al, dx
        test    al, 0x20
        jz      .w
        pop     eax
        mov     dx, COM1
        out     dx, al
        pop     edx
        ret

puts32: push    eax
        push    esi
.l:     lodsb
        test    al, al
        jz      .r
        call    putc32
        jmp     .l
.r:     pop     esi
        pop     eax
        ret

hex32s32:
        push    eax
        push    ecx
        push    edx
        mov     edx, eax
        mov     al, ' '
        call    putc32
        mov     ecx, 8
.d:     rol     edx, 4
        mov     al, dl
        and     al, 0x0F
        add     al, '0'
        cmp     al, '9'
        jbe     .p
        add     al, 'A' - '9' - 1
.p:     call    putc32
        loop    .d
        pop     edx
        pop     ecx
        pop     eax
        ret

; ---- data ----
msg_start: db "KVM-GUEST START", 0
msg_ok:    db "KVM-GUEST OK", 0
msg_cpu:   db "KVM-GUEST CPU ", 0
msg_hv:    db "KVM-GUEST HV ", 0
msg_rep:   db "KVM-GUEST REP", 0
msg_ticks: db "KVM-GUEST TICKS", 0
msg_pm:    db "KVM-GUEST PM", 0

        align   8
gdt:    dq      0
        dq      0x00CF9A000000FFFF              ; 08: code, base 0, 4 GiB, 32-bit, ring 0
        dq      0x00CF92000000FFFF              ; 10: data, base 0, 4 GiB, writable
gdt_end:
gdtr:   dw      gdt_end - gdt - 1
        dd      gdt
noidt:  dw      0                               ; an IDT that holds nothing
        dd      0

boots:   db 0
vendor:  times 13 db 0
maxleaf: dd 0
cmos4:   dd 0
brand:   times 49 db 0
line:    times 40 db 0

        times 512 * (1 + REST_SECTORS) - ($ - $$) db 0
