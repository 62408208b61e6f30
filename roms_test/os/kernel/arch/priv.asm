; The privileged-operations layer, assembly half: every privileged or
; sensitive instruction the kernel executes is in this file or in priv.c's
; inline-free C (which only calls these).  A paravirtual build replaces the
; two files.  cdecl; arguments at [esp+4], [esp+8], ...
bits 32
section .text

global priv_cli, priv_sti, priv_irq_save, priv_irq_restore, priv_idle, priv_halt_forever
priv_cli:       cli
                ret
priv_sti:       sti
                ret
priv_irq_save:  pushfd                  ; returns the old EFLAGS, interrupts off
                pop     eax
                cli
                ret
priv_irq_restore:
                test    dword [esp + 4], 0x200
                jz      .off
                sti
                ret
.off:           cli
                ret
priv_idle:      sti                     ; wait for the next interrupt
                hlt
                ret
priv_halt_forever:
                cli
.h:             hlt
                jmp     .h

global priv_lgdt, priv_lidt, priv_ltr
priv_lgdt:      mov     eax, [esp + 4]
                lgdt    [eax]
                jmp     0x08:.cs        ; reload every segment register
.cs:            mov     ax, 0x10
                mov     ds, ax
                mov     es, ax
                mov     fs, ax
                mov     gs, ax
                mov     ss, ax
                ret
priv_lidt:      mov     eax, [esp + 4]
                lidt    [eax]
                ret
priv_ltr:       mov     eax, [esp + 4]
                ltr     ax
                ret

global priv_read_cr0, priv_read_cr2, priv_read_cr3, priv_write_cr0, priv_write_cr3
priv_read_cr0:  mov     eax, cr0
                ret
priv_read_cr2:  mov     eax, cr2
                ret
priv_read_cr3:  mov     eax, cr3
                ret
priv_write_cr0: mov     eax, [esp + 4]
                mov     cr0, eax
                ret
priv_write_cr3: mov     eax, [esp + 4]
                mov     cr3, eax
                ret

; INVLPG exists from the 486; priv_detect sets has_invlpg, else CR3 is reloaded.
; priv_detect returns CPU features: bit 0 INVLPG (486+), 1 CPUID, 2 TSC.
global priv_invlpg, priv_detect
priv_invlpg:    cmp     byte [has_invlpg], 0
                je      .reload
                mov     eax, [esp + 4]
                invlpg  [eax]
                ret
.reload:        mov     eax, cr3
                mov     cr3, eax
                ret
priv_detect:    pushfd                  ; 486+: EFLAGS.AC (bit 18) can be toggled
                pop     eax
                mov     ecx, eax
                xor     eax, 0x40000
                push    eax
                popfd
                pushfd
                pop     eax
                push    ecx
                popfd
                xor     eax, ecx
                shr     eax, 18
                and     eax, 1
                mov     [has_invlpg], al
                jz      .done
                pushfd                  ; CPUID exists if EFLAGS.ID (bit 21) toggles
                pop     eax
                mov     ecx, eax
                xor     eax, 0x200000
                push    eax
                popfd
                pushfd
                pop     eax
                push    ecx
                popfd
                xor     eax, ecx
                test    eax, 0x200000
                mov     eax, 1
                jz      .done
                push    ebx
                mov     eax, 1
                cpuid
                pop     ebx
                mov     eax, 3
                test    edx, 0x10       ; CPUID.1:EDX.TSC
                jz      .done
                mov     eax, 7
.done:          ret

global priv_inb, priv_inw, priv_inl, priv_outb, priv_outw, priv_outl, priv_insw, priv_outsw
priv_inb:       mov     edx, [esp + 4]
                xor     eax, eax
                in      al, dx
                ret
priv_inw:       mov     edx, [esp + 4]
                xor     eax, eax
                in      ax, dx
                ret
priv_inl:       mov     edx, [esp + 4]
                in      eax, dx
                ret
priv_outb:      mov     edx, [esp + 4]
                mov     eax, [esp + 8]
                out     dx, al
                ret
priv_outw:      mov     edx, [esp + 4]
                mov     eax, [esp + 8]
                out     dx, ax
                ret
priv_outl:      mov     edx, [esp + 4]
                mov     eax, [esp + 8]
                out     dx, eax
                ret
priv_insw:      push    edi             ; (port, buf, count)
                mov     edx, [esp + 8]
                mov     edi, [esp + 12]
                mov     ecx, [esp + 16]
                cld
                rep insw
                pop     edi
                ret
priv_outsw:     push    esi
                mov     edx, [esp + 8]
                mov     esi, [esp + 12]
                mov     ecx, [esp + 16]
                cld
                rep outsw
                pop     esi
                ret

; ---- trap entry and exit ------------------------------------------------------
; Every vector pushes an error code (0 if the CPU gives none) and its number,
; then the common path saves the registers into a struct trapframe (trap.h)
; and calls trap(frame); trap returns the frame to resume (another process's
; after a context switch), which the exit path pops and IRETs to.
extern trap
%macro STUB 1
stub_%1:
%if %1 <> 8 && (%1 < 10 || %1 > 14) && %1 <> 17
                push    0
%endif
                push    %1
                jmp     trap_common
%endmacro
%assign i 0
%rep 48
STUB i
%assign i i + 1
%endrep
STUB 128

trap_common:    pushad
                push    ds
                push    es
                push    fs
                push    gs
                mov     ax, 0x10
                mov     ds, ax
                mov     es, ax
                cld
                push    esp
                call    trap
                mov     esp, eax
global priv_trap_return
priv_trap_return:                       ; also the first entry of a new process
                pop     gs
                pop     fs
                pop     es
                pop     ds
                popad
                add     esp, 8
                iretd

global priv_resume
priv_resume:    mov     esp, [esp + 4]  ; (frame): start running a frame
                jmp     priv_trap_return

section .data
global priv_stubs
priv_stubs:
%assign i 0
%rep 48
                dd      stub_ %+ i
%assign i i + 1
%endrep
                dd      stub_128
has_invlpg:     db      0
