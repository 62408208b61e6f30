        include 'layout.inc'
; BDOS: CP/M 2.2 compatible functions 0-40, written for this project.
; Register convention on entry: C = function, DE = parameter.  Results are
; returned in HL with A = L and B = H.
        org BDOSBASE
        db 0,0,0,0,0,0          ; serial number area (entry is at +6)
bdosent:
        ld (info),de
        ld (usersp),sp
        ld sp,bdosstk
        xor a
        ld (resel),a
        ld h,a
        ld l,a
        ld (aret),hl
        ld hl,goback
        push hl
        ld a,c
        cp 41
        jr nc,badfn
        ld hl,functab
        add a,a
        ld c,a
        ld b,0
        add hl,bc
        ld a,(hl)
        inc hl
        ld h,(hl)
        ld l,a
        ld c,e                  ; byte parameter in C and E
        jp (hl)
badfn:  out (DIAG_P),a           ; unknown function (A = C): the host prints a diagnostic
        ld hl,0FFFFh            ; and the call returns A = L = 0FFh, HL = 0FFFFh
        ld (aret),hl
        ret

goback: ld a,(resel)
        or a
        jr z,gb2
        ld hl,(info)            ; give the FCB its drive byte back
        ld a,(fcbdsk)
        ld (hl),a
        ld a,(curdsk)           ; and select the default drive again
        ld hl,actdsk
        cp (hl)
        call nz,seldrv
gb2:    ld sp,(usersp)
        ld hl,(aret)
        ld a,l
        ld b,h
        ret

functab:
        dw f0,f1,f2,f3,f4,f5,f6,f7,f8,f9
        dw f10,f11,f12,f13,f14,f15,f16,f17,f18,f19
        dw f20,f21,f22,f23,f24,f25,f26,f27,f28,f29
        dw f30,f31,f32,f33,f34,f35,f36,f37,retz,retz
        dw f40

; ---------------------------------------------------------------- BIOS calls
bconst:  equ BIOSBASE+06h
bconin:  equ BIOSBASE+09h
bconout: equ BIOSBASE+0Ch
blist:   equ BIOSBASE+0Fh
bpunch:  equ BIOSBASE+12h
breader: equ BIOSBASE+15h
bhome:   equ BIOSBASE+18h
bseldsk: equ BIOSBASE+1Bh
bsettrk: equ BIOSBASE+1Eh
bsetsec: equ BIOSBASE+21h
bsetdma: equ BIOSBASE+24h
bread:   equ BIOSBASE+27h
bwrite:  equ BIOSBASE+2Ah
bsectran: equ BIOSBASE+30h

setaret: ld (aret),a
retz:   ret
retff:  ld a,0FFh
        jr setaret

; ---------------------------------------------------------------- console
f0:     jp 0                    ; system reset = warm boot

conink: ld a,(kbchar)           ; next key, honouring the look-ahead
        or a
        jp z,bconin
        push af
        xor a
        ld (kbchar),a
        pop af
        ret

; look for ^S (pause) / ^C during output; other keys are kept for later
conbrk: ld a,(kbchar)
        or a
        ret nz
        call bconst
        or a
        ret z
        call bconin
        cp 13h
        jr nz,cb2
        call bconin
        cp 3
        jp z,0
        xor a
        ret
cb2:    ld (kbchar),a
        ret

; C = character; tabs expanded to columns of 8
conoutc: push bc
        call conbrk
        pop bc
        ld a,c
        cp 9
        jr nz,coraw
cotab:  ld c,' '
        call coraw
        ld a,(column)
        and 7
        jr nz,cotab
        ret
coraw:  push bc
        call bconout
        pop bc
        ld hl,column
        ld a,c
        cp 8
        jr nz,co2
        ld a,(hl)
        or a
        ret z
        dec (hl)
        ret
co2:    cp 13
        jr nz,co3
        ld (hl),0
        ret
co3:    cp ' '
        ret c
        inc (hl)
        ret

crlf:   ld c,13
        call conoutc
        ld c,10
        jr conoutc

; echo A, control characters as ^X
echo:   cp ' '
        jr nc,ech2
        cp 9
        jr z,ech2
        push af
        ld c,'^'
        call conoutc
        pop af
        add a,40h
ech2:   ld c,a
        jr conoutc

f1:     call conink
        push af
        cp ' '
        jr nc,f1e
        cp 13
        jr z,f1e
        cp 10
        jr z,f1e
        cp 9
        jr z,f1e
        cp 8
        jr nz,f1x
f1e:    ld c,a
        call conoutc
f1x:    pop af
        jp setaret

f2:     jr conoutc

f3:     call breader
        jp setaret
f4:     jp bpunch
f5:     jp blist

f6:     ld a,e
        inc a
        jr z,f6in
        inc a
        jr z,f6st
        jp bconout
f6in:   ld a,(kbchar)
        or a
        jr nz,f6k
        call bconst
        or a
        ret z
        call bconin
        jp setaret
f6k:    call conink
        jp setaret
f6st:   ld a,(kbchar)
        or a
        jp nz,retff
        call bconst
        jp setaret

f7:     ld a,(3)
        jp setaret
f8:     ld a,e
        ld (3),a
        ret

f9:     ld hl,(info)
f9l:    ld a,(hl)
        cp '$'
        ret z
        ld c,a
        push hl
        call conoutc
        pop hl
        inc hl
        jr f9l

f11:    call conbrk
        ld a,(kbchar)
        or a
        ret z
        jp retff

f12:    ld a,22h                ; version 2.2, plain CP/M
        jp setaret

; read console buffer: (DE) = max, (DE+1) = count, then the characters
f10:    ld a,(column)
        ld (strtcol),a
        ld c,0                  ; C = count
rbl:    push bc
        call conink
        pop bc
        and 7Fh
        cp 13
        jr z,rbend
        cp 10
        jr z,rbend
        cp 8
        jr z,rbbs
        cp 7Fh
        jr z,rbbs
        cp 15h                  ; ^U
        jr z,rbkill
        cp 18h                  ; ^X
        jr z,rbkill
        cp 5                    ; ^E: physical end of line
        jr z,rbnl
        cp 12h                  ; ^R: retype the line
        jr z,rbretype
        cp 3                    ; ^C at start of line: warm boot
        jr nz,rbst
        inc c
        dec c
        jp z,0
rbst:   ld b,a
        ld hl,(info)
        ld a,(hl)
        cp c
        jr z,rbl                ; buffer full: ignore
        call rbptr
        ld (hl),b
        inc c
        ld a,b
        push bc
        call echo
        pop bc
        ld hl,(info)
        ld a,(hl)
        cp c
        jr nz,rbl
rbend:  ld hl,(info)
        inc hl
        ld (hl),c
        ld c,13
        jp conoutc
rbnl:   push bc
        call crlf
        pop bc
        jr rbl
rbbs:   call rberase
        jr rbl
rbkill: call rberase
        inc c
        dec c
        jr nz,rbkill
        jr rbl
rbretype:
        push bc
        ld c,'#'
        call conoutc
        call crlf
        pop bc
        ld b,c
        ld c,0
rbr2:   ld a,c
        cp b
        jr z,rbl
        call rbptr
        ld a,(hl)
        push bc
        call echo
        pop bc
        inc c
        jr rbr2
; erase the last character (C > 0), two columns for ^X
rberase: inc c
        dec c
        ret z
        dec c
        call rbptr
        ld a,(hl)
        push bc
        cp ' '
        call c,bserase
        call bserase
        pop bc
        ret
bserase: ld c,8
        call coraw
        ld c,' '
        call coraw
        ld c,8
        jp coraw
rbptr:  ld hl,(info)        ; HL = address of character C
        inc hl
        inc hl
        ld a,l
        add a,c
        ld l,a
        ret nc
        inc h
        ret

; ---------------------------------------------------------------- errors
errsel: ld hl,msel
        call errmsg
        ld a,(4)                ; fall back to drive A
        and 0F0h
        ld (4),a
        call bconin
        jp 0
errro:  ld hl,mro
        jr errboot
errfro: ld hl,mfro
errboot: call errmsg
        call bconin
        jp 0
errbad: push hl
        ld hl,mbad
        call errmsg
        call bconin
        pop hl
        cp 3
        jp z,0
        ret                     ; any other key: ignore the error

errmsg: push hl
        call crlf
        ld hl,mbdos
        call pstr
        ld a,(actdsk)
        add a,'A'
        ld c,a
        call conoutc
        ld hl,mcolon
        call pstr
        pop hl
pstr:   ld a,(hl)
        or a
        ret z
        push hl
        ld c,a
        call conoutc
        pop hl
        inc hl
        jr pstr
mbdos:  db "Bdos Err On ",0
mcolon: db ": ",0
mbad:   db "Bad Sector",0
msel:   db "Select",0
mro:    db "R/O",0
mfro:   db "File R/O",0

; ---------------------------------------------------------------- disks
; HL = 1 << A
dmask:  ld hl,1
        or a
        ret z
dm1:    add hl,hl
        dec a
        jr nz,dm1
        ret

; select drive A (logging it in if needed); error -> Bdos Err Select
seldrv: ld (actdsk),a
        push af
        call dmask
        ld de,(dlog)
        ld a,h
        and d
        ld b,a
        ld a,l
        and e
        or b
        ld (logged),a
        pop bc                  ; B = drive
        ld c,b
        ld e,0
        jr z,sd1
        inc e
sd1:    call bseldsk
        ld a,h
        or l
        jp z,errsel
        ld e,(hl)
        inc hl
        ld d,(hl)
        ld (xlt),de
        ld de,7
        add hl,de
        ld de,dirbufp
        ld bc,8
        ldir
        ld hl,(dpbp)
        ld de,dpb
        ld bc,15
        ldir
        ld hl,0FFFFh
        ld (dirsec),hl          ; directory buffer contents unknown
        ld a,(dsm+1)
        ld (bigdsk),a           ; nonzero: 16-bit block numbers
        ld a,(logged)
        or a
        ret nz
        ld a,(actdsk)           ; log in: mark it, build the allocation map
        call dmask
        ld de,(dlog)
        ld a,h
        or d
        ld (dlog+1),a
        ld a,l
        or e
        ld (dlog),a
        ld hl,(dsm)             ; clear ALV (DSM/8+1 bytes)
        srl h
        rr l
        srl h
        rr l
        srl h
        rr l
        ld b,h
        ld c,l
        ld hl,(alvp)
        ld de,(alvp)
        inc de
        ld (hl),0
        ld a,b
        or c
        jr z,sd2
        ldir
sd2:    ld hl,(alvp)            ; directory blocks
        ld a,(al0)
        ld (hl),a
        inc hl
        ld a,(al1)
        ld (hl),a
        call bhome
        call dirfirst
sd3:    call nextdir
        ret c
        ld a,(hl)
        cp 20h                  ; E5 (free) or not a file entry
        jr nc,sd3
        ld c,1
        call setalloc
        jr sd3

; mark (C=1) or free (C=0) the blocks in the map of the entry at HL
setalloc: ld de,16
        add hl,de
        ld b,16
sa1:    ld e,(hl)
        inc hl
        ld d,0
        ld a,(bigdsk)
        or a
        jr z,sa2
        ld d,(hl)
        inc hl
        dec b
sa2:    ld a,d
        or e
        jr z,sa3
        push hl
        ld hl,(dsm)
        or a
        sbc hl,de
        jr c,sa4
        push bc
        call bitaddr
        dec c
        jr nz,sa5
        or (hl)
        jr sa6
sa5:    cpl
        and (hl)
sa6:    ld (hl),a
        pop bc
sa4:    pop hl
sa3:    djnz sa1
        ret

; DE = block -> HL = ALV byte, A = bit mask (block 0 = bit 7 of byte 0)
bitaddr: ld a,e
        and 7
        inc a
        ld b,a
        srl d
        rr e
        srl d
        rr e
        srl d
        rr e
        ld hl,(alvp)
        add hl,de
        ld a,1
ba1:    rrca
        djnz ba1
        ret

; find a free block, mark it used -> DE (0 = disk full)
getfree: ld de,0
gf1:    push de
        call bitaddr
        pop de
        and (hl)
        jr z,gf2
        inc de
        ld hl,(dsm)
        or a
        sbc hl,de
        jr nc,gf1
        ld de,0
        ret
gf2:    push de
        call bitaddr
        or (hl)
        ld (hl),a
        pop de
        ret

; DE = record number in the data area -> BIOS SETTRK/SETSEC
seekrec: ld bc,(spt)
        call div16              ; DE = track - OFF, HL = sector
        push hl
        ld hl,(off)
        add hl,de
        ld b,h
        ld c,l
        call bsettrk
        pop bc
        ld de,(xlt)
        call bsectran
        ld b,h
        ld c,l
        jp bsetsec

; DE / BC -> DE quotient, HL remainder
div16:  ld hl,0
        ld a,16
dv1:    sla e
        rl d
        adc hl,hl
        or a
        sbc hl,bc
        jr nc,dv2
        add hl,bc
        jr dv3
dv2:    inc e
dv3:    dec a
        jr nz,dv1
        ret

; read (A=1) or write (A=2) record DE with DMA HL
diskio: push af
        push de
        ld b,h
        ld c,l
        call bsetdma
        pop de
        call seekrec
        pop af
        ld c,0
        dec a
        jr nz,dio2
        call bread
        jr dio3
dio2:   call bwrite
dio3:   or a
        ret z
        jp errbad

; ------------------------------------------------------------ directory
dirfirst: ld hl,0FFFFh
        ld (dcnt),hl
        ret

; next directory entry -> HL, carry set at the end
nextdir: ld hl,(dcnt)
        inc hl
        ld (dcnt),hl
        ex de,hl
        ld hl,(drm)
        or a
        sbc hl,de
        jr c,nd9
        ld a,e                  ; sector = dcnt / 4
        srl d
        rr e
        srl d
        rr e
        ld hl,(dirsec)
        or a
        sbc hl,de
        jr z,nd2
        ld (dirsec),de
        push af
        ld hl,(dirbufp)
        ld a,1
        call diskio
        pop af
nd2:    and 3
        rrca
        rrca
        rrca
        ld e,a
        ld d,0
        ld hl,(dirbufp)
        add hl,de
        ld (dirent),hl
        or a
        ret
nd9:    ld hl,0FFFFh
        ld (dcnt),hl
        scf
        ret

; write the directory sector holding the current entry
wrdir:  call chkro
        ld de,(dirsec)
        ld hl,(dirbufp)
        ld a,2
        jp diskio

; search for the FCB at (info) comparing C bytes -> Z and HL = entry if found
search: ld a,c
        ld (searchl),a
        ld hl,(info)
        ld (searcha),hl
        call dirfirst
searchn: call nextdir
        jr c,snfail
        ld de,(searcha)
        ld a,(searchl)
        ld c,a
        ld b,0
sn1:    ld a,b
        cp c
        jr z,snok
        ld a,(de)
        cp '?'
        jr z,sn3
        ld a,b
        cp 13
        jr z,sn3
        cp 12
        ld a,(de)
        jr z,snext
        xor (hl)
        and 7Fh
        jr nz,searchn
sn3:    inc de
        inc hl
        inc b
        jr sn1
snext:  xor (hl)
        push bc
        ld c,a
        ld a,(exm)
        cpl
        and 1Fh
        and c
        pop bc
        jr nz,searchn
        jr sn3
snok:   ld a,(dcnt)
        and 3
        ld (aret),a
        ld hl,(dirent)
        xor a                   ; Z: found
        ret
snfail: ld a,0FFh
        ld (aret),a
        or a                    ; NZ: not found
        ret

; the FCB's drive byte selects a drive for this call; the byte holds the
; user number while we work (so it compares with the directory's byte 0)
reselect: ld a,0FFh
        ld (resel),a
        ld hl,(info)
        ld a,(hl)
        ld (fcbdsk),a
        and 1Fh
        dec a
        jp p,rs2
        ld a,(curdsk)
rs2:    call seldrv
        ld hl,(info)
        ld a,(usrcode)
        ld (hl),a
        ret

clrs2:  ld hl,(info)            ; FCB module byte := 0
        ld de,14
        add hl,de
        ld (hl),0
        ret

; HL = info + A
fcbfld: ld hl,(info)
        add a,l
        ld l,a
        ret nc
        inc h
        ret

chkro:  ld a,(actdsk)
        call dmask
        ld de,(rodsk)
        ld a,h
        and d
        ld b,a
        ld a,l
        and e
        or b
        ret z
        jp errro

chkfro: ld a,9                  ; T1' set: file is read-only
        call fcbfld
        bit 7,(hl)
        ret z
        jp errfro

; ------------------------------------------------------------ file functions
f13:    ld hl,0
        ld (dlog),hl
        ld (rodsk),hl
        ld hl,80h
        ld (dmaad),hl
        xor a
        ld (curdsk),a
        jp seldrv

f14:    ld a,e
        ld (curdsk),a
        jp seldrv

f15:    call clrs2
        call reselect
; open the extent named by the FCB; NZ if none
open:   ld c,15
        call search
        ret nz
openhl: ld a,12
        call fcbfld
        ld b,(hl)               ; requested extent
        push bc
        ex de,hl
        ld hl,(dirent)
        ld de,(info)
        ld bc,32
        ldir
        pop bc
        ld a,12
        call fcbfld
        ld a,(hl)               ; extent in the directory
        ld (hl),b
        inc hl
        inc hl
        set 7,(hl)              ; not written since opened
        inc hl
        cp b
        jr z,op3                ; same extent: RC from the directory
        ld (hl),0               ; later extent of this entry: empty
        jr c,op3
        ld (hl),128             ; earlier extent: full
op3:    xor a
        ret

f16:    call reselect
close:  ld a,14
        call fcbfld
        bit 7,(hl)
        jr z,close1
        xor a                   ; nothing written: nothing to do
        ret
close1: call chkro
        ld c,15
        call search
        ret nz
        ld hl,(dirent)
        ld de,16
        add hl,de
        ex de,hl
        ld a,16
        call fcbfld             ; HL = FCB map, DE = entry map
        ld b,16
cl1:    ld a,(bigdsk)
        or a
        jr nz,cl5
        ld a,(de)               ; 8-bit block numbers
        or a
        jr nz,cl2
        ld a,(hl)
        ld (de),a
        jr cl4
cl2:    ld a,(hl)
        or a
        jr nz,cl3
        ld a,(de)
        ld (hl),a
        jr cl4
cl3:    ld a,(de)
        cp (hl)
        jr nz,clbad
cl4:    inc hl
        inc de
        djnz cl1
        jr cl8
cl5:    push bc                 ; 16-bit block numbers
        ld c,(hl)
        inc hl
        ld b,(hl)               ; BC = FCB block, HL = FCB slot+1
        ex de,hl                ; HL = dir slot, DE = FCB slot+1
        ld a,(hl)
        inc hl
        push hl
        ld h,(hl)
        ld l,a                  ; HL = dir block
        or h
        jr nz,cl6
        pop hl                  ; dir slot empty: take the FCB's
        ld (hl),b
        dec hl
        ld (hl),c
        inc hl
        jr cl7
cl6:    ld a,b
        or c
        jr nz,cl6b
        ld b,h                  ; FCB slot empty: take the dir's
        ld c,l
        pop hl
        ex de,hl
        ld (hl),b
        dec hl
        ld (hl),c
        inc hl
        ex de,hl
        jr cl7
cl6b:   or a
        sbc hl,bc
        pop hl
        jr z,cl7
        pop bc
        jr clbad
cl7:    inc hl                  ; HL = dir slot+1, DE = FCB slot+1
        inc de
        ex de,hl
        pop bc
        dec b
        djnz cl1
cl8:    ld a,12                 ; extent / record count
        call fcbfld
        ld de,(dirent)
        ex de,hl
        ld bc,12
        add hl,bc               ; HL = dir ex, DE = fcb ex
        ld a,(de)
        cp (hl)
        jr c,cl10               ; FCB at an earlier extent: keep the dir's
        jr z,cl9
        ld (hl),a               ; FCB further on: take its extent and RC
        inc hl
        inc hl
        inc hl
        inc de
        inc de
        inc de
        ld a,(de)
        ld (hl),a
        jr cl10
cl9:    inc hl
        inc hl
        inc hl
        inc de
        inc de
        inc de
        ld a,(de)
        cp (hl)
        jr c,cl10
        ld (hl),a
cl10:   call wrdir
        xor a
        ret
clbad:  ld a,0FFh
        ld (aret),a
        or a
        ret

f17:    ld hl,(info)
        ld a,(hl)
        cp '?'
        jr z,f17q
        ld a,12
        call fcbfld
        ld a,(hl)
        cp '?'
        call nz,clrs2
        call reselect
f17q:   ld c,15
        call search
        jr f18r
f18:    ld hl,(searcha)
        ld (info),hl
        ld a,(hl)
        cp '?'
        call nz,reselect
        call searchn
f18r:   ret nz
        ld hl,(dirbufp)         ; the directory sector goes to the DMA
        ld de,(dmaad)
        ld bc,128
        ldir
        ret

f19:    call reselect
        call chkro
        ld c,12
        call search
        ret nz
f19a:   ld de,9
        add hl,de
        bit 7,(hl)
        jp nz,errfro
        ld hl,(dirent)
        ld (hl),0E5h
        ld c,0
        call setalloc
        call wrdir
        call searchn
        jr z,f19a
        xor a
        ld (aret),a
        ret

f20:    call reselect
readseq: ld a,32
        call fcbfld
        ld a,(hl)
        cp 128
        jr c,rsq2
        ld c,0
        call nextext
        jr nz,ret1
rsq2:   call readrec
        ret nz
        ld a,32
        call fcbfld
        inc (hl)
        ret
ret1:   ld a,1
        ld (aret),a
        ret

; read the record at CR of the current extent; NZ + aret=1 if unwritten
readrec: ld a,32
        call fcbfld
        ld b,(hl)
        ld a,15
        call fcbfld
        ld a,b
        cp (hl)
        jr nc,rr9
        call mapblk
        ld a,d
        or e
        jr z,rr9
        call blkrec
        ld hl,(dmaad)
        ld a,1
        call diskio
        xor a
        ld (aret),a
        ret
rr9:    ld a,1
        ld (aret),a
        or a
        ret

; -> HL = address of the map slot for CR, DE = block there, (recidx) set
mapblk: ld a,12
        call fcbfld
        ld a,(exm)
        and (hl)
        ld h,a
        ld l,0
        srl h
        rr l
        push hl
        ld a,32
        call fcbfld
        ld a,(hl)
        pop hl
        or l
        ld l,a                  ; HL = record within this directory entry
        ld (recidx),hl
        ld a,(bsh)
        ld b,a
mb1:    srl h
        rr l
        djnz mb1
        ld a,(bigdsk)           ; L = block index
        or a
        ld a,l
        jr z,mb2
        add a,a
mb2:    add a,16
        call fcbfld
        ld e,(hl)
        ld d,0
        ld a,(bigdsk)
        or a
        ret z
        inc hl
        ld d,(hl)
        dec hl
        ret

; DE = block -> DE = record number of (recidx) in it
blkrec: ld a,(bsh)
        ld b,a
        ex de,hl
br1:    add hl,hl
        djnz br1
        ld a,(blm)
        ld b,a
        ld a,(recidx)
        and b
        or l
        ld l,a
        ex de,hl
        ret

; close this extent and open the next (C=1: make it if missing); NZ = fail
nextext: push bc
        call close
        pop bc
        ret nz
        ld a,12
        call fcbfld
        ld a,(hl)
        inc a
        and 1Fh
        ld (hl),a
        jr nz,ne2
        inc hl
        inc hl
        ld a,(hl)
        inc a
        and 7Fh
        ld (hl),a
        cp 16                   ; 16 modules = 8 MB: end of file space
        jr nc,ne9
ne2:    push bc
        call open
        pop bc
        jr z,ne3
        dec c
        jr nz,ne9
        call make
        jr nz,ne9
ne3:    ld a,32
        call fcbfld
        ld (hl),0
        xor a
        ret
ne9:    or 1
        ret

f21:    call reselect
writeseq: ld a,32
        call fcbfld
        ld a,(hl)
        cp 128
        jr c,wsq2
        call chkro
        ld c,1
        call nextext
        jr z,wsq2
        ld a,1                  ; no directory space
        ld (aret),a
        ret
wsq2:   xor a
        call writerec
        ret nz
        ld a,32
        call fcbfld
        inc (hl)
        ret

; write the DMA record at CR; A = 1: zero-fill newly allocated blocks
writerec: ld (zfill),a
        call chkro
        call chkfro
        call mapblk
        ld a,d
        or e
        jr nz,wr3
        push hl
        call getfree
        pop hl
        ld a,d
        or e
        jr nz,wr2
        ld a,2                  ; disk full
        ld (aret),a
        or a
        ret
wr2:    ld (hl),e
        ld a,(bigdsk)
        or a
        jr z,wr2b
        inc hl
        ld (hl),d
wr2b:   ld a,(zfill)
        or a
        jr z,wr3
        push de                 ; fill the new block with zero records
        ld hl,(dirbufp)
        ld b,128
wz1:    ld (hl),0
        inc hl
        djnz wz1
        ld hl,0FFFFh
        ld (dirsec),hl          ; directory buffer now holds zeros
        ld a,(bsh)
        ld b,a
        ex de,hl
wz2:    add hl,hl
        djnz wz2
        ld a,(blm)
        inc a
        ld b,a
wz3:    push bc
        push hl
        ex de,hl
        ld hl,(dirbufp)
        ld a,2
        call diskio
        pop hl
        pop bc
        inc hl
        djnz wz3
        pop de
wr3:    call blkrec
        ld hl,(dmaad)
        ld a,2
        call diskio
        ld a,32                 ; RC := max(RC, CR+1)
        call fcbfld
        ld b,(hl)
        inc b
        ld a,15
        call fcbfld
        ld a,(hl)
        cp b
        jr nc,wr4
        ld (hl),b
wr4:    ld a,14
        call fcbfld
        res 7,(hl)              ; FCB modified
        xor a
        ld (aret),a
        ret

f22:    call clrs2
        call reselect
make:   call chkro
        ld hl,(info)
        push hl
        ld hl,efcb
        ld (info),hl
        ld c,1
        call search
        pop hl
        ld (info),hl
        jr z,mk2
        ld a,0FFh
        ld (aret),a
        or a
        ret
mk2:    ld a,13
        call fcbfld
        ld (hl),0
        inc hl
        res 7,(hl)
        inc hl
        ld b,17
mk3:    ld (hl),0
        inc hl
        djnz mk3
        ld hl,(info)
        ld de,(dirent)
        ld bc,32
        ldir
        call wrdir
        ld a,14
        call fcbfld
        set 7,(hl)
        xor a
        ret
efcb:   db 0E5h

f23:    call reselect
        call chkro
        ld c,12
        call search
        ret nz
f23a:   ld de,9
        add hl,de
        bit 7,(hl)
        jp nz,errfro
        ld a,17
        call fcbfld
        ld de,(dirent)
        inc de
        ld bc,11
        ldir
        call wrdir
        call searchn
        jr z,f23a
        xor a
        ld (aret),a
        ret

f24:    ld hl,(dlog)
        ld (aret),hl
        ret
f25:    ld a,(curdsk)
        jp setaret
f26:    ld (dmaad),de
        ret
f27:    ld hl,(alvp)
        ld (aret),hl
        ret
f28:    ld a,(curdsk)
        call dmask
        ld de,(rodsk)
        ld a,h
        or d
        ld h,a
        ld a,l
        or e
        ld l,a
        ld (rodsk),hl
        ret
f29:    ld hl,(rodsk)
        ld (aret),hl
        ret

f30:    call reselect
        ld c,12
        call search
        ret nz
f30a:   ld a,1
        call fcbfld
        ld de,(dirent)
        inc de
        ld bc,11
        ldir
        call wrdir
        call searchn
        jr z,f30a
        xor a
        ld (aret),a
        ret

f31:    ld hl,(dpbp)
        ld (aret),hl
        ret

f32:    ld a,e
        inc a
        ld a,(usrcode)
        jp z,setaret
        ld a,e
        and 1Fh
        ld (usrcode),a
        ret

; position the FCB on its random record (C = 1 for writing)
; -> Z ok, else A = error code (and aret set)
randpos: ld a,33
        call fcbfld
        ld e,(hl)
        inc hl
        ld d,(hl)
        inc hl
        ld a,(hl)
        or a
        ld a,6                  ; beyond 65535 records
        jr nz,rp9
        ld a,e
        and 7Fh
        ld b,a                  ; B = record in extent
        ld a,e
        rla
        ld a,d
        rla
        and 1Fh
        ld e,a                  ; E = extent
        ld a,d
        rrca
        rrca
        rrca
        rrca
        and 0Fh
        ld d,a                  ; D = module
        push bc
        ld a,32
        call fcbfld
        pop bc
        ld (hl),b
        ld a,12
        call fcbfld
        ld a,(hl)
        cp e
        jr nz,rp2
        inc hl
        inc hl
        ld a,(hl)
        and 7Fh
        cp d
        ret z                   ; same extent: already there
rp2:    push bc
        push de
        call close
        pop de
        pop bc
        ld a,3
        jr nz,rp9
        ld a,12
        call fcbfld
        ld (hl),e
        inc hl
        inc hl
        ld (hl),d
        push bc
        call open
        pop bc
        ret z
        dec c
        jr z,rp3
        ld a,15                 ; reading: no such extent.  Empty the FCB
        call fcbfld             ; map and force a re-open next time
        ld b,17
rp4:    ld (hl),0
        inc hl
        djnz rp4
        ld a,12
        call fcbfld
        ld (hl),0FFh
        inc hl
        inc hl
        set 7,(hl)
        ld a,4                  ; seek to unwritten extent
        jr rp9
rp3:
        call make
        ret z
        ld a,5                  ; writing: no directory space
rp9:    ld (aret),a
        or a
        ret

f33:    call reselect
        ld c,0
        call randpos
        ret nz
        jp readrec

f34:    xor a
        jr f34a
f40:    ld a,1
f34a:   push af
        call reselect
        ld c,1
        call randpos
        pop bc
        ret nz
        ld a,b
        jp writerec

f35:    call reselect
        xor a
        ld h,a
        ld l,a
        ld (fsize),hl
        ld (fsize+2),a
        ld c,12
        call search
f35a:   jr nz,f35e
        ld de,12                ; size = module*4096 + ext*128 + rc
        add hl,de
        ld a,(hl)
        and 1Fh
        ld e,a
        inc hl
        inc hl
        ld a,(hl)
        and 0Fh
        ld d,a
        inc hl
        ld c,(hl)               ; rc
        ld b,0
        ld h,0
        ld l,e
        add hl,hl
        add hl,hl
        add hl,hl
        add hl,hl
        add hl,hl
        add hl,hl
        add hl,hl               ; ext*128
        ld a,d
        add a,a
        add a,a
        add a,a
        add a,a
        add a,h
        ld h,a
        ld a,0
        add hl,bc
        adc a,0                 ; A:HL = size
        ld de,(fsize)
        ld c,a
        ld a,(fsize+2)
        cp c
        jr c,f35b
        jr nz,f35c
        push hl
        or a
        sbc hl,de
        pop hl
        jr c,f35c
f35b:   ld (fsize),hl
        ld a,c
        ld (fsize+2),a
f35c:   call searchn
        jr f35a
f35e:   ld a,33
        call fcbfld
        ld de,fsize
        ex de,hl
        ld bc,3
        ldir
        xor a
        ld (aret),a
        ret

f36:    ld a,32
        call fcbfld
        ld c,(hl)               ; cr
        ld a,12
        call fcbfld
        ld a,(hl)
        and 1Fh
        ld l,a
        ld h,0
        add hl,hl
        add hl,hl
        add hl,hl
        add hl,hl
        add hl,hl
        add hl,hl
        add hl,hl
        ld a,c
        or l
        ld l,a
        push hl
        ld a,14
        call fcbfld
        ld a,(hl)
        and 7Fh
        ld b,a
        pop hl
        add a,a
        add a,a
        add a,a
        add a,a
        add a,h
        ld h,a
        ld a,b
        rrca
        rrca
        rrca
        rrca
        and 0Fh                 ; module >= 16: beyond the 16-bit range
        ld c,a
        push hl
        ld a,33
        call fcbfld
        pop de
        ld (hl),e
        inc hl
        ld (hl),d
        inc hl
        ld (hl),c
        ret

f37:    ld hl,(dlog)
        ld a,e
        cpl
        and l
        ld l,a
        ld a,d
        cpl
        and h
        ld h,a
        ld (dlog),hl
        ld hl,(rodsk)
        ld a,e
        cpl
        and l
        ld l,a
        ld a,d
        cpl
        and h
        ld h,a
        ld (rodsk),hl
        ret

; ---------------------------------------------------------------- data
bdoscode_end:
info:    dw 0
aret:    dw 0
usersp:  dw 0
resel:   db 0
fcbdsk:  db 0
curdsk:  db 0
actdsk:  db 0
usrcode: db 0
dmaad:   dw 80h
dlog:    dw 0
rodsk:   dw 0
kbchar:  db 0
column:  db 0
strtcol: db 0
logged:  db 0
bigdsk:  db 0
zfill:   db 0
dcnt:    dw 0
dirsec:  dw 0FFFFh
dirent:  dw 0
searcha: dw 0
searchl: db 0
recidx:  dw 0
fsize:   db 0,0,0
xlt:     dw 0
dirbufp: dw 0                   ; copied from the DPH: DIRBUF, DPB, CSV, ALV
dpbp:    dw 0
csvp:    dw 0
alvp:    dw 0
dpb:                            ; copy of the current drive's DPB
spt:     dw 0
bsh:     db 0
blm:     db 0
exm:     db 0
dsm:     dw 0
drm:     dw 0
al0:     db 0
al1:     db 0
cks:     dw 0
off:     dw 0
         ds 96,0
bdosstk:
bdosend:
        ds BIOSBASE-$,0
