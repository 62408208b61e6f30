; The privileged-operations layer, paravirtual build (--mode pv of emu's VMM,
; docs/pv-abi.md): the kernel runs at ring 1 and asks the VMM through
; hypercalls (int 0x82) for what the native layer does with privileged
; instructions; priv.c holds the rest.  cdecl; arguments at [esp+4], ...
bits 32
section .text

; the PV note: the VMM finds it in the kernel image (a native kernel has none)
global pv_note
pv_note:        db      "EMU-PV-ABI", 0, 0
                dd      1                       ; PV_VERSION

; pv_hypercall(nr, a, b, c, d): EAX = nr, EBX ECX EDX ESI = a b c d; returns EAX
global pv_hypercall
pv_hypercall:   push    ebx
                push    esi
                mov     eax, [esp + 12]
                mov     ebx, [esp + 16]
                mov     ecx, [esp + 20]
                mov     edx, [esp + 24]
                mov     esi, [esp + 28]
                int     0x82
                pop     esi
                pop     ebx
                ret

global pv_rdtsc                                 ; u64 pv_rdtsc(void): RDTSC works at ring 1
pv_rdtsc:       rdtsc
                ret

; the segments of the VMM's start GDT (ring-1 kernel code 09h, data 11h)
global pv_load_segments
pv_load_segments:
                jmp     0x09:.cs
.cs:            mov     ax, 0x11
                mov     ds, ax
                mov     es, ax
                mov     fs, ax
                mov     gs, ax
                mov     ss, ax
                ret

; ---- trap entry and exit ------------------------------------------------------
; The VMM's IDT enters these at ring 1 through trap gates (the real IF is the
; VMM's): the first instruction turns the virtual IF off, as an interrupt gate
; would.  A frame the VMM built itself (an event, a page fault) already has it off.
extern trap, pv_event, pv_leave, pv_shared
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

trap_common:    mov     byte [pv_shared], 1     ; virtual CLI
                pushad
                push    ds
                push    es
                push    fs
                push    gs
                mov     ax, 0x11
                mov     ds, ax
                mov     es, ax
                cld
                push    esp
                call    trap
                mov     esp, eax
global priv_trap_return
priv_trap_return:                       ; also the first entry of a new process
                call    pv_leave                ; mmu batch, stack switch (the frame is saved)
                test    dword [esp + 64], 0x200 ; the frame's IF: the virtual IF to return with
                jz      .go
                mov     byte [pv_shared], 0     ; virtual STI ...
                cmp     byte [pv_shared + 1], 0 ; ... and an event that waited for it
                je      .go
                mov     byte [pv_shared], 1
                push    esp
                call    pv_event                ; taken on this frame, as if just after IRET
                mov     esp, eax
                jmp     priv_trap_return
.go:            pop     gs
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
