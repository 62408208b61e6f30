; WPTEST.COM - write-protects the current drive (function 28), shows the R/O
; vector (29), then tries to make a file: the BDOS must stop with
; "Bdos Err On X: R/O" and warm boot after a key (which clears the R/O bit).
BDOS:   equ 5
        org 100h
        ld c,28
        call BDOS
        ld c,29
        call BDOS
        ld a,l
        add a,'0'
        ld (vec),a
        ld de,msg
        ld c,9
        call BDOS
        ld de,fcb
        ld c,22
        call BDOS
        ld de,notstop
        ld c,9
        call BDOS
        ret
msg:    db "R/O vector bit 0: "
vec:    db "?\r\n$"
notstop: db "WPTEST: make on a R/O drive was allowed\r\n$"
fcb:    db 0,"WPTEST  TMP",0,0,0,0
        ds 20,0
