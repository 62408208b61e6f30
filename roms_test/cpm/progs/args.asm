; ARGS.COM - shows what the CCP passed: the command tail at 80h and the
; drive/name/type of the FCBs at 5Ch and 6Ch; then calls an undefined BDOS
; function (99) and shows the HL it returned.
BDOS:   equ 5
        org 100h
        ld de,mtail
        call print
        ld hl,81h
        ld a,(80h)
        ld b,a
        or a
        jr z,a2
a1:     ld a,(hl)
        call putc
        inc hl
        djnz a1
a2:     ld de,mend
        call print
        ld de,mfcb1
        call print
        ld hl,5Ch
        call pfcb
        ld de,mfcb2
        call print
        ld hl,6Ch
        call pfcb
        ld de,mbad
        call print
        ld c,99
        call BDOS
        push hl
        ld a,h
        call phex
        pop hl
        ld a,l
        call phex
        ld de,mcrlf
        jp print                ; return to the CCP
pfcb:   ld a,(hl)
        add a,'0'
        call putc
        ld a,','
        call putc
        ld b,11
pf1:    inc hl
        ld a,(hl)
        call putc
        djnz pf1
        ld de,mcrlf
        jp print
phex:   push af
        rrca
        rrca
        rrca
        rrca
        call ph1
        pop af
ph1:    and 0Fh
        add a,90h
        daa
        adc a,40h
        daa
putc:   push hl
        push bc
        ld e,a
        ld c,2
        call BDOS
        pop bc
        pop hl
        ret
print:  ld c,9
        jp BDOS
mtail:  db "TAIL=[$"
mend:   db "]\r\n$"
mfcb1:  db "FCB1=$"
mfcb2:  db "FCB2=$"
mbad:   db "BAD=$"
mcrlf:  db "\r\n$"
