; apictest.img — the local APIC and I/O APIC driven by a guest on the x86 core
; (machines/pc.yaml, 1.44M floppy).  Reaches FEE00000h/FEC00000h from real mode
; through "unreal mode" (FS loaded with a 4 GiB flat descriptor in protected
; mode, then back to real mode: the cached limit stays), takes the interrupts
; through the real-mode IVT and reports on the debug console (port E9h):
;   VER <version>            local APIC version register
;   IPI <count>              a fixed self-IPI (vector 40h) was taken
;   TPR <count> <count>      with TPR = 40h it waits; TPR = 0 lets it in
;   TIMER START / TIMER <n>  ten periodic timer interrupts (vector 41h) at 100 Hz
;   ONESHOT <n>              a one-shot count raises its vector once
;   IOAPIC <n>               three PIT (ISA IRQ0) interrupts through I/O APIC pin 2
;   APICTEST DONE
; tests/test_apic.py checks the lines and the timer's rate.

        cpu     386
        bits    16
        org     0x7C00

%include "boot.inc"

LAPIC           equ 0xFEE00000
IOAPIC          equ 0xFEC00000
COUNT           equ 0x0500          ; interrupt counter (word)

start:
        BOOT_SETUP
        BOOT_LOAD_REST main                     ; the rest of the program after the boot sector
        times 510 - ($ - $$) db 0
        dw      0xAA55

%macro TAG 1
        mov     si, %%s
        call    puts
        jmp     %%e
%%s:    db %1, 0
%%e:
%endmacro

%macro APIC_W 2                         ; register offset, value
        mov     dword [fs:dword LAPIC + %1], %2
%endmacro

main:
        ; ---- unreal mode: FS = flat 4 GiB ---------------------------------------
        cli
        lgdt    [gdtr]
        mov     eax, cr0
        or      al, 1
        mov     cr0, eax
        jmp     short .pm
.pm:    mov     bx, 0x08
        mov     fs, bx
        and     al, 0xFE
        mov     cr0, eax
        jmp     short .rm
.rm:    xor     bx, bx
        mov     fs, bx
        ; ---- vectors 40h-42h ------------------------------------------------------
        mov     word [0x40 * 4], isr_count
        mov     [0x40 * 4 + 2], cs
        mov     word [0x41 * 4], isr_count
        mov     [0x41 * 4 + 2], cs
        mov     word [0x42 * 4], isr_count
        mov     [0x42 * 4 + 2], cs
        mov     word [COUNT], 0
        sti
        TAG     "VER"
        mov     eax, [fs:dword LAPIC + 0x30]
        call    hex32s
        call    nl
        ; ---- software enable, self-IPI -----------------------------------------------
        APIC_W  0xF0, 0x1FF
        APIC_W  0x300, 0x00040040       ; fixed, vector 40h, shorthand self
        nop
        TAG     "IPI"
        call    count
        call    nl
        ; ---- TPR holds it back -----------------------------------------------------------
        APIC_W  0x80, 0x40
        APIC_W  0x300, 0x00040040
        nop
        TAG     "TPR"
        call    count
        APIC_W  0x80, 0
        nop
        call    count
        call    nl
        ; ---- periodic timer: 25 MHz / 16 / 15625 = 100 Hz ---------------------------------
        mov     word [COUNT], 0
        APIC_W  0x3E0, 0x03             ; divide by 16
        APIC_W  0x320, 0x00020041       ; periodic, vector 41h
        TAG     "TIMER START"
        call    nl
        APIC_W  0x380, 15625
.t:     hlt
        cmp     word [COUNT], 10
        jb      .t
        APIC_W  0x380, 0                ; stop
        TAG     "TIMER"
        call    count
        call    nl
        ; ---- one-shot ---------------------------------------------------------------------
        mov     word [COUNT], 0
        APIC_W  0x320, 0x00000041       ; one-shot
        APIC_W  0x380, 2000
        mov     ecx, 200000
.w:     a32 loop .w                     ; long past the expiry
        TAG     "ONESHOT"
        call    count
        call    nl
        ; ---- I/O APIC: ISA IRQ0 (the PIT, 18.2 Hz) on pin 2 -> vector 42h ------------------
        mov     word [COUNT], 0
        mov     dword [fs:dword IOAPIC], 0x15           ; entry 2 high: destination APIC 0
        mov     dword [fs:dword IOAPIC + 0x10], 0
        mov     dword [fs:dword IOAPIC], 0x14           ; entry 2 low: edge, high, vector 42h
        mov     dword [fs:dword IOAPIC + 0x10], 0x42
.p:     hlt
        cmp     word [COUNT], 3
        jb      .p
        mov     dword [fs:dword IOAPIC + 0x10], 0x10042 ; masked again
        TAG     "IOAPIC"
        call    count
        call    nl
        TAG     "APICTEST DONE"
        call    nl
.halt:  hlt
        jmp     .halt

isr_count:                              ; count, EOI, return
        inc     word [cs:COUNT]
        mov     dword [fs:dword LAPIC + 0xB0], 0
        iret

count:  mov     ax, [COUNT]             ; " " + the counter in hex
        jmp     hex8s

gdt:    dq      0
        dq      0x00CF92000000FFFF      ; flat 4 GiB data, present, writable
gdtr:   dw      15
        dd      gdt

%include "debugcon.inc"

hex32s: push    eax
        mov     al, ' '
        out     0xE9, al
        pop     eax
        push    eax
        shr     eax, 16
        call    hex16
        pop     eax
        jmp     hex16

rest_end:
REST_SECTORS    equ (rest_end - main + 511) / 512
        times 512 + REST_SECTORS * 512 - ($ - $$) db 0
