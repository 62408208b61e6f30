; cputest.rom: a POST-card style tester for a P6-class 32-bit x86 (protected
; mode, paging, tasks, V86, debug registers), run as the BIOS of a bare
; machine.  64 KiB, mapped at F0000h and aliased at FFFF0000h; the CPU starts
; at F000:FFF0.  Progress code per group on port 80h, text on port E9h,
; "ALL PASS" and code AAh at the end; a failed check prints
; "FAIL group nn check mm: expected X got Y (what)" and writes E0h|group.
; See README.md.  Build: build.sh (nasm).

        cpu     686
        org     0xF0000
%include "layout.inc"
        bits    32

%include "lib.inc"

; ---- GDT template (the rest of the GDT starts zeroed) ----
%macro DESC 4                           ; base, limit, access, flags nibble (G D/B 0 AVL)
        dw      (%2) & 0xFFFF
        dw      (%1) & 0xFFFF
        db      ((%1) >> 16) & 0xFF
        db      %3
        db      (((%2) >> 16) & 0x0F) | ((%4) << 4)
        db      ((%1) >> 24) & 0xFF
%endmacro
gdt_tmpl:
        dq      0                                       ; 00 null
        DESC    0, 0xFFFFF, 0x9B, 0xC                   ; 08 code32 ring 0
        DESC    0, 0xFFFFF, 0x93, 0xC                   ; 10 data32 ring 0
        DESC    0xF0000, 0xFFFF, 0x9B, 0x0              ; 18 code16 ring 0 (the ROM)
        DESC    0, 0xFFFF, 0x93, 0x0                    ; 20 data16
        DESC    TSS0, TSS0_LIMIT, 0x89, 0x0             ; 28 TSS0 (available 32-bit TSS)
        DESC    0, 0xFFFFF, 0xFB, 0xC                   ; 30 code32 ring 3
        DESC    0, 0xFFFFF, 0xF3, 0xC                   ; 38 data32 ring 3
gdt_tmpl_end:

gdtr:   dw      GDT_LIMIT
        dd      GDT
idtr:   dw      IDT_LIMIT
        dd      IDT
rm_idtr: dw     0x3FF
        dd      0

; ---- the groups (included in order; each falls through to the next) ----
pm_start:
        mov     ax, SEL_DATA0
        mov     ds, ax
        mov     es, ax
        mov     fs, ax
        mov     gs, ax
        mov     ss, ax
        mov     esp, STACK0
        cld
        ; the rest of the GDT, the IDT, TSS0
        mov     edi, GDT + (gdt_tmpl_end - gdt_tmpl)
        mov     ecx, (GDT_LIMIT + 1 - (gdt_tmpl_end - gdt_tmpl)) / 4
        xor     eax, eax
        rep stosd
        mov     edi, LDT
        mov     ecx, (LDT_LIMIT + 1) / 4
        rep stosd
        call    reset_idt
        lidt    [idtr]
        call    init_tss0
        mov     ax, SEL_TSS0
        ltr     ax
        call    print_cpuid
%include "g01_mode.inc"
%include "g02_desc.inc"
%include "g03_priv.inc"
%include "g04_gates.inc"
%include "g05_paging.inc"
%include "g06_tasks.inc"
%include "g07_v86.inc"
%include "g08_debug.inc"
%include "g09_p6.inc"
all_pass:
        mov     esi, s_allpass
        call    print
        mov     al, 0xAA
        out     0x80, al
.h:     cli
        hlt
        jmp     .h
s_allpass: db   "ALL PASS (port 80h = AAh)", 10, 0

init_tss0:
        pushad
        mov     edi, TSS0
        mov     ecx, (TSS0_LIMIT + 1 + 3) / 4
        xor     eax, eax
        rep stosd
        mov     dword [TSS0 + 4], ESP0_TOP      ; ESP0
        mov     dword [TSS0 + 8], SEL_DATA0     ; SS0
        mov     dword [TSS0 + 28], PD           ; CR3 (loaded when a task switch returns here)
        mov     word [TSS0 + 0x66], TSS_IOMAP   ; I/O map base
        mov     edi, TSS0 + TSS_IRB             ; redirection bitmap: nothing redirected
        mov     ecx, 32 / 4
        dec     eax
        rep stosd
        mov     edi, TSS0 + TSS_IOMAP           ; every port denied at CPL > IOPL ...
        mov     ecx, 8192 / 4
        rep stosd
        mov     byte [TSS0 + TSS_IOMAP + 8192], 0xFF
        and     byte [TSS0 + TSS_IOMAP + 0x80 / 8], ~1  ; ... but port 80h
        popad
        ret

print_cpuid:                            ; "cpu: GenuineIntel family/model/stepping, features"
        pushad
        PRINT   "cpu: "
        xor     eax, eax
        cpuid
        mov     [tmp], ebx
        mov     [tmp + 4], edx
        mov     [tmp + 8], ecx
        mov     byte [tmp + 12], 0
        mov     esi, tmp
        call    print
        PRINT   " signature "
        mov     eax, 1
        cpuid
        mov     [v_cpuid1d], edx
        call    phex
        PRINT   " features "
        mov     eax, edx
        call    phex
        call    nl
        popad
        ret

; ---- real mode: reset entry ----
        bits    16
rm_start:
        cli
        cld
        xor     ax, ax
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     sp, RM_STACK
        mov     si, R(s_banner)
        call    rm_print
        ; A20: if 1 MiB wraps to 0, open it through port 92h (fast A20)
        mov     ax, 0xFFFF
        mov     fs, ax
        mov     byte [0], 0x11
        mov     byte [fs:0x10], 0x22
        cmp     byte [0], 0x22
        jne     .a20ok
        in      al, 0x92
        or      al, 2
        and     al, 0xFE
        out     0x92, al
.a20ok:
        ; group 1 begins in real mode: its header, SMSW after reset
        mov     al, 1
        out     0x80, al
        mov     dword [cur_group], 1
        mov     si, R(s_g1)
        call    rm_print
        smsw    ax
        mov     [v_smsw_rm], ax
        ; GDT template -> RAM, then MOV CR0 and a far JMP to 32-bit code
        push    cs
        pop     ds
        mov     si, R(gdt_tmpl)
        mov     di, GDT
        mov     cx, gdt_tmpl_end - gdt_tmpl
        rep movsb
        xor     ax, ax
        mov     ds, ax
        o32 lgdt [cs:R(gdtr)]
        mov     eax, cr0
        or      al, CR0_PE
        mov     cr0, eax
        jmp     dword SEL_CODE0:pm_start

rm_print:                               ; CS:SI
        cs lodsb
        test    al, al
        jz      .d
        out     0xE9, al
        jmp     rm_print
.d:     ret

s_banner: db    10, "cputest: x86 protected-mode tester ROM", 10, 0
s_g1:   db      "group 01 mode switch (real -> protected -> real -> protected)", 10, 0

%include "g01_rm.inc"
%include "g07_v86_16.inc"

        times   0xFFF0 - ($ - $$) db 0xFF
reset:  jmp     0xF000:R(rm_start)      ; F000:FFF0
        times   0x10000 - ($ - $$) db 0xFF
