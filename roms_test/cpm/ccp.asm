        include 'layout.inc'
; CCP: console command processor, written for this project.
; Built-ins DIR ERA TYPE SAVE REN USER, drive change "X:", and NAME.COM
; transients loaded at 0100h.
        org CCPBASE
BDOS:   equ 5
FCB1:   equ 5Ch
FCB2:   equ 6Ch
TBUFF:  equ 80h
TPA:    equ 100h

        jp ccpstart             ; +0 cold start
        jp ccpstart             ; +3 warm start
ccpstart:
        ld sp,ccpstk
        ld a,c
        and 0Fh
        ld (cdrive),a
        ld a,c
        rrca
        rrca
        rrca
        rrca
        and 0Fh
        ld (cuser),a
        ld c,13                 ; reset disk system
        call BDOS
        ld a,(cuser)
        ld e,a
        ld c,32
        call BDOS
        call seldef

mainlp: ld sp,ccpstk
        ld de,TBUFF
        ld c,26
        call BDOS
        call crlf
        ld a,(cdrive)
        add a,'A'
        call putc
        ld a,'>'
        call putc
        ld de,cbuf
        ld c,10
        call BDOS
        ld a,10
        call putc
        ld hl,cbuf+1            ; terminate, upper-case
        ld c,(hl)
        ld b,0
        inc hl
        push hl
        add hl,bc
        ld (hl),0
        pop hl
        ld (cmdptr),hl
up1:    ld a,(hl)
        or a
        jr z,up3
        cp 'a'
        jr c,up2
        cp 'z'+1
        jr nc,up2
        sub 20h
        ld (hl),a
up2:    inc hl
        jr up1
up3:    ld hl,(cmdptr)
        call skipsp
        or a
        jr z,mainlp
        ld (cmdptr),hl
        ld de,cfcb
        call parse
        ld (tailptr),hl
        jp nz,cmderr            ; wildcards in a command name
        ld a,(cfcb+1)
        cp ' '
        jr nz,notdrv
        ld a,(cfcb)             ; "X:" - change drive
        or a
        jp z,cmderr
        call skipsp
        or a
        jp nz,cmderr
        ld a,(cfcb)
        dec a
        ld (cdrive),a
        call seldef
        jp mainlp
notdrv: ld a,(cfcb)
        or a
        jr nz,trans
        ld hl,builtins          ; compare with the built-in names
bi1:    ld a,(hl)
        or a
        jr z,trans
        ld de,cfcb+1
        ld b,8
        push hl
bi2:    ld a,(de)
        cp (hl)
        jr nz,bi3
        inc hl
        inc de
        djnz bi2
        ld e,(hl)
        inc hl
        ld d,(hl)
        pop hl
        ex de,hl
        push hl
        call setargs
        ret                     ; -> built-in
bi3:    pop hl
        ld de,10
        add hl,de
        jr bi1

builtins:
        db "DIR     "
        dw cdir
        db "ERA     "
        dw cera
        db "TYPE    "
        dw ctype
        db "SAVE    "
        dw csave
        db "REN     "
        dw cren
        db "USER    "
        dw cuserc
        db 0

; ---------------------------------------------------------- transients
trans:  ld a,(cfcb+9)
        cp ' '
        jp nz,cmderr
        ld hl,comtyp
        ld de,cfcb+9
        ld bc,3
        ldir
        xor a
        ld (cfcb+12),a
        ld (cfcb+14),a
        ld (cfcb+32),a
        ld de,cfcb
        ld c,15
        call BDOS
        inc a
        jp z,cmderr
        ld hl,TPA
ld1:    push hl
        ex de,hl
        ld c,26
        call BDOS
        ld de,cfcb
        ld c,20
        call BDOS
        pop hl
        or a
        jr nz,ld3
        ld de,128
        add hl,de
        ld a,h                  ; room for another record below the CCP?
        cp CCPBASE>>8
        jr c,ld1
        ld de,TBUFF             ; no: fine only if the file ends here
        ld c,26
        call BDOS
        ld de,cfcb
        ld c,20
        call BDOS
        or a
        jr nz,ld3
        ld hl,mtoobig
        call pstr
        jp mainlp
ld3:    call setargs
        ld de,TBUFF
        ld c,26
        call BDOS
        call TPA
        ld sp,ccpstk            ; the program returned
        call seldef
        jp mainlp
comtyp: db "COM"

; command tail -> 80h, FCB1/FCB2 from the first two arguments
setargs: ld hl,(tailptr)
        ld de,TBUFF+1
        ld b,0
sa1:    ld a,(hl)
        ld (de),a
        or a
        jr z,sa2
        inc hl
        inc de
        inc b
        jr sa1
sa2:    ld a,b
        ld (TBUFF),a
        ld hl,(tailptr)
        ld de,FCB1
        call parse
        ld de,FCB2
        call parse
        xor a
        ld (FCB1+32),a
        ret

; ---------------------------------------------------------- built-ins
cdir:   ld hl,FCB1+1
        ld a,(hl)
        cp ' '
        jr nz,dir1
        ld b,11
dir0:   ld (hl),'?'
        inc hl
        djnz dir0
dir1:   ld a,(FCB1)             ; drive letter for the listing
        dec a
        jp p,dir1b
        ld a,(cdrive)
dir1b:  add a,'A'
        ld (dirdrv),a
        xor a
        ld (dircol),a
        ld (dircnt),a
        ld c,17
dir2:   ld de,FCB1
        call BDOS
        inc a
        jr z,dir9
        dec a
        rrca                    ; entry = 80h + 32*A
        rrca
        rrca
        add a,TBUFF
        ld l,a
        ld h,0
        ld (dirptr),hl
        ld de,10                ; SYS attribute: not listed
        add hl,de
        bit 7,(hl)
        jr nz,dir8
        ld a,1
        ld (dircnt),a
        ld a,(dircol)
        or a
        jr nz,dir3
        call crlf
        ld a,(dirdrv)
        call putc
        ld a,':'
        call putc
        jr dir4
dir3:   ld a,' '
        call putc
        ld a,':'
        call putc
dir4:   ld a,' '
        call putc
        ld hl,(dirptr)
        inc hl
        ld b,8
        call pname
        ld a,' '
        call putc
        ld b,3
        call pname
        ld a,(dircol)
        inc a
        and 3
        ld (dircol),a
dir8:   ld c,18
        jr dir2
dir9:   ld a,(dircnt)
        or a
        jp nz,mainlp
nofile: ld hl,mnofile
        call pstr
        jp mainlp
pname:  ld a,(hl)
        and 7Fh
        call putc
        inc hl
        djnz pname
        ret

cera:   ld a,(FCB1+1)
        cp ' '
        jp z,cmderr
        ld hl,FCB1+1            ; *.*: ask first
        ld b,11
era1:   ld a,(hl)
        cp '?'
        jr nz,era3
        inc hl
        djnz era1
        ld hl,mall
        call pstr
        ld de,ybuf
        ld c,10
        call BDOS
        ld a,(ybuf+1)
        or a
        jp z,mainlp
        ld a,(ybuf+2)
        and 5Fh
        cp 'Y'
        jp nz,mainlp
era3:   ld de,FCB1
        ld c,19
        call BDOS
        inc a
        jp nz,mainlp
        jr nofile

ctype:  call needufn
        ld de,FCB1
        ld c,15
        call BDOS
        inc a
        jr z,nofile
        call crlf
typ1:   ld de,FCB1
        ld c,20
        call BDOS
        or a
        jp nz,mainlp
        ld hl,TBUFF
typ2:   ld a,(hl)
        cp 1Ah
        jp z,mainlp
        push hl
        call putc
        ld c,11                 ; a key stops the listing
        call BDOS
        or a
        jr z,typ3
        ld c,1
        call BDOS
        pop hl
        jp mainlp
typ3:   pop hl
        inc l
        jr nz,typ2
        jr typ1

csave:  ld hl,(tailptr)
        call getnum
        jp c,cmderr
        ld (savepg),a
        ld de,FCB1
        call parse
        call needufn
        ld de,FCB1
        ld c,19
        call BDOS
        ld de,FCB1
        ld c,22
        call BDOS
        inc a
        jr z,nospace
        ld hl,TPA
        ld a,(savepg)
        or a
        jr z,sv2
        add a,a                 ; records = 2 * pages (up to 510)
        ld c,a
        ld a,0
        adc a,a
        ld b,a
sv1:    push bc
        push hl
        ex de,hl
        ld c,26
        call BDOS
        ld de,FCB1
        ld c,21
        call BDOS
        pop hl
        pop bc
        or a
        jr nz,nospace
        ld de,128
        add hl,de
        dec bc
        ld a,b
        or c
        jr nz,sv1
sv2:    ld de,FCB1
        ld c,16
        call BDOS
        inc a
        jp nz,mainlp
nospace: ld hl,mnospace
        call pstr
        jp mainlp

; REN NEW=OLD
cren:   ld hl,(tailptr)
        ld de,rfcb
        call parse
        jp nz,cmderr
        ld a,(hl)
        cp '='
        jr z,ren1
        cp '_'
        jp nz,cmderr
ren1:   inc hl
        ld de,FCB1
        call parse
        jp nz,cmderr
        ld a,(FCB1+1)
        cp ' '
        jp z,cmderr
        ld a,(rfcb+1)
        cp ' '
        jp z,cmderr
        ld a,(rfcb)             ; drives: equal, or one given
        or a
        jr z,ren2
        ld b,a
        ld a,(FCB1)
        or a
        jr z,ren1b
        cp b
        jp nz,cmderr
ren1b:  ld a,b
        ld (FCB1),a
ren2:   ld a,(FCB1)
        ld (rfcb),a
        ld de,rfcb              ; new name must not exist
        ld c,17
        call BDOS
        inc a
        jr z,ren3
        ld hl,mexists
        call pstr
        jp mainlp
ren3:   ld hl,rfcb
        ld de,FCB1+16
        ld bc,16
        ldir
        ld de,FCB1
        ld c,23
        call BDOS
        inc a
        jp nz,mainlp
        jp nofile

cuserc: ld hl,(tailptr)
        call getnum
        jp c,cmderr
        cp 16
        jp nc,cmderr
        ld (cuser),a
        ld e,a
        ld c,32
        call BDOS
        call setcur
        jp mainlp

; ---------------------------------------------------------- helpers
; select the CCP's drive and record drive/user at 0004
seldef: ld a,(cdrive)
        ld e,a
        ld c,14
        call BDOS
setcur: ld a,(cuser)
        rlca
        rlca
        rlca
        rlca
        ld hl,cdrive
        or (hl)
        ld (4),a
        ret

; FCB1 must name one file
needufn: ld a,(FCB1+1)
        cp ' '
        jr z,nu9
        ld hl,FCB1+1
        ld b,11
nu1:    ld a,(hl)
        cp '?'
        jr z,nu9
        inc hl
        djnz nu1
        ret
nu9:    pop hl
        jp cmderr

; HL -> decimal number -> A (carry on error); HL after it
getnum: call skipsp
        ld c,0
        ld b,0                  ; digit count
gn1:    ld a,(hl)
        sub '0'
        jr c,gn2
        cp 10
        jr nc,gn2
        ld d,a
        ld a,c
        cp 26
        ccf
        ret c
        add a,a
        ld e,a
        add a,a
        add a,a
        add a,e
        add a,d
        ret c
        ld c,a
        inc b
        inc hl
        jr gn1
gn2:    ld a,(hl)               ; must end at a delimiter
        call isdelim
        scf
        ret nz
        ld a,b
        or a
        scf
        ret z
        ld a,c
        or a
        ret

skipsp: ld a,(hl)
        cp ' '
        ret nz
        inc hl
        jr skipsp

; parse a file name at HL into the FCB at DE (drive, name, type, 12-15
; zeroed).  Returns HL after it; NZ if it contains '?'.
parse:  call skipsp
        push de
        xor a
        ld (de),a
        ld a,(hl)
        or a
        jr z,pa1
        inc hl
        ld a,(hl)
        dec hl
        cp ':'
        jr nz,pa1
        ld a,(hl)
        sub 'A'-1
        ld (de),a
        inc hl
        inc hl
pa1:    inc de
        ld b,8
        call pfield
        ld a,(hl)
        cp '.'
        jr nz,pa2
        inc hl
pa2:    ld b,3
        call pfield
        xor a
        ld b,4
pa3:    ld (de),a
        inc de
        djnz pa3
        pop de
        push hl
        ld h,d
        ld l,e
        inc hl
        ld bc,11
        ld a,'?'
        cpir
        pop hl
        jr z,pa4
        xor a                   ; Z: unambiguous
        ret
pa4:    or a                    ; NZ: '?' (A = '?')
        ret

pfield: ld a,(hl)
        call isdelim
        jr z,pfpad
        cp '*'
        jr z,pfstar
        ld (de),a
        inc de
        inc hl
        djnz pfield
pfskip: ld a,(hl)               ; drop extra characters
        call isdelim
        ret z
        inc hl
        jr pfskip
pfstar: ld a,'?'
pfs1:   ld (de),a
        inc de
        djnz pfs1
        inc hl
        jr pfskip
pfpad:  ld a,' '
pfp1:   ld (de),a
        inc de
        djnz pfp1
        ret

; Z if A is a file name delimiter
isdelim: cp ' '+1
        jr c,isd1
        push hl
        push bc
        ld hl,delims
        ld bc,ndelims
        cpir
        pop bc
        pop hl
        ret
isd1:   cp a
        ret
delims: db "=.:;<>,_[]|"
ndelims: equ $-delims

cmderr: call crlf               ; echo the command word with '?'
        ld hl,(cmdptr)
ce1:    ld a,(hl)
        or a
        jr z,ce2
        cp ' '
        jr z,ce2
        call putc
        inc hl
        jr ce1
ce2:    ld a,'?'
        call putc
        jp mainlp

crlf:   ld a,13
        call putc
        ld a,10
putc:   push hl
        push de
        push bc
        ld e,a
        ld c,2
        call BDOS
        pop bc
        pop de
        pop hl
        ret
pstr:   ld a,(hl)
        or a
        ret z
        call putc
        inc hl
        jr pstr

mnofile:  db "\r\nNO FILE",0
mnospace: db "\r\nNO SPACE",0
mexists:  db "\r\nFILE EXISTS",0
mall:     db "\r\nALL (Y/N)?",0
mtoobig:  db "\r\nProgram too large for the TPA",0

ccpcode_end:
cdrive:  db 0
cuser:   db 0
cmdptr:  dw 0
tailptr: dw 0
dirptr:  dw 0
dirdrv:  db 0
dircol:  db 0
dircnt:  db 0
savepg:  db 0
ybuf:    db 4,0,0,0,0,0
cfcb:    ds 36,0
rfcb:    ds 36,0
cbuf:    db 127,0
         ds 128,0
         ds 48,0
ccpstk:
ccpend:
        ds BDOSBASE-$,0
