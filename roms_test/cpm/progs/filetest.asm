; FILETEST.COM - exercises the BDOS file functions with standard CP/M 2.2
; calls only and prints a PASS/FAIL line per check, then a summary.
BDOS:   equ 5
        org 100h
        ld sp,stack
        ld de,mtitle
        call print
; --- system calls
        ld c,12                 ; version
        call BDOS
        cp 22h
        ld hl,tver
        call check
        ld c,25                 ; current disk (run from A:)
        call BDOS
        ld (disk),a
        ld hl,tdisk
        or a
        call check
        ld c,24                 ; login vector has the current drive
        call BDOS
        ld a,l
        and 1
        cp 1
        ld hl,tlogin
        call check
        ld c,31                 ; DPB: 26 sectors per track
        call BDOS
        ld a,(hl)
        cp 26
        ld hl,tdpb
        call check
        call countfree
        ld (free0),hl
        ld de,buf
        ld c,26
        call BDOS
; --- make / sequential write of 300 records (3 extents)
        ld de,fcb
        ld c,19
        call BDOS
        call fcbinit
        ld de,fcb
        ld c,22
        call BDOS
        cp 4
        ccf
        sbc a,a                 ; A = 0 if the make succeeded
        ld hl,tmake
        call check
        ld hl,0
        ld (recno),hl
        ld a,1
        ld (ok),a
wl:     call fillrec
        ld de,fcb
        ld c,21
        call BDOS
        or a
        call nz,bad
        ld hl,(recno)
        inc hl
        ld (recno),hl
        ld de,-300
        add hl,de
        jr nc,wl
        ld de,fcb
        ld c,16
        call BDOS
        cp 4
        call nc,bad
        ld a,(ok)
        cp 1
        ld hl,twrite
        call check
; --- open and read back sequentially
        call fcbinit
        ld de,fcb
        ld c,15
        call BDOS
        cp 4
        ccf
        sbc a,a
        ld hl,topen
        call check
        ld hl,0
        ld (recno),hl
        ld a,1
        ld (ok),a
rl:     ld de,fcb
        ld c,20
        call BDOS
        or a
        call nz,bad
        call cmprec
        call nz,bad
        ld hl,(recno)
        inc hl
        ld (recno),hl
        ld de,-300
        add hl,de
        jr nc,rl
        ld a,(ok)
        cp 1
        ld hl,tread
        call check
        ld de,fcb               ; and then end of file
        ld c,20
        call BDOS
        cp 1
        ld hl,teof
        call check
; --- file size
        ld de,fcb
        ld c,35
        call BDOS
        ld hl,(fcb+33)
        ld de,300
        or a
        sbc hl,de
        ld hl,tsize
        call check
; --- random read
        ld hl,200
        call rread
        ld hl,trr1
        call check
        ld hl,5
        call rread
        ld hl,trr2
        call check
        ld de,fcb               ; sequential read after a random read
        ld c,20                 ; reads the same record again
        call BDOS
        or a
        call z,cmprec
        ld hl,trrseq
        call check
        ld de,fcb               ; set random record: now 6
        ld c,36
        call BDOS
        ld hl,(fcb+33)
        ld de,6
        or a
        sbc hl,de
        ld hl,tsetr
        call check
; --- random write beyond the end (new extent) and read back
        ld hl,400
        ld (recno),hl
        call fillrec
        ld (fcb+33),hl
        ld de,fcb
        ld c,34
        call BDOS
        ld hl,trw
        or a
        call check
        ld de,fcb               ; the directory knows after a close
        ld c,16
        call BDOS
        ld de,fcb
        ld c,35
        call BDOS
        ld hl,(fcb+33)
        ld de,401
        or a
        sbc hl,de
        ld hl,tsize2
        call check
        ld hl,350               ; hole: unwritten data
        ld (fcb+33),hl
        ld de,fcb
        ld c,33
        call BDOS
        cp 1
        ld hl,thole
        call check
        ld hl,700               ; extent never written
        ld (fcb+33),hl
        ld de,fcb
        ld c,33
        call BDOS
        cp 4
        ld hl,tnoext
        call check
        ld hl,400
        call rread
        ld hl,trr3
        call check
; --- write random with zero fill
        ld hl,1001
        ld (recno),hl
        call fillrec
        ld (fcb+33),hl
        ld de,fcb
        ld c,40
        call BDOS
        or a
        ld hl,tzf
        call check
        ld hl,1000              ; same block, never written: zeros
        ld (fcb+33),hl
        ld hl,buf
        ld b,128
zf1:    ld (hl),0AAh
        inc hl
        djnz zf1
        ld de,fcb
        ld c,33
        call BDOS
        ld hl,buf
        ld b,128
zf2:    or (hl)
        inc hl
        djnz zf2
        ld hl,tzf2
        call check
        ld de,fcb
        ld c,16
        call BDOS
        cp 4
        ccf
        sbc a,a
        ld hl,tclose
        call check
; --- search
        ld de,wfcb              ; *.DAT: finds TEST.DAT
        ld c,17
        call BDOS
        cp 4
        ccf
        sbc a,a
        ld hl,tsearch
        call check
; --- rename
        call fcbinit
        ld hl,newname
        ld de,fcb+16
        ld bc,12
        ldir
        ld de,fcb
        ld c,23
        call BDOS
        cp 4
        ccf
        sbc a,a
        ld hl,tren
        call check
        call fcbinit
        ld de,fcb
        ld c,15
        call BDOS
        cp 0FFh
        ld hl,tren2
        call check
        ld hl,newname
        ld de,fcb
        ld bc,12
        ldir
        ld de,fcb
        ld c,15
        call BDOS
        cp 4
        ccf
        sbc a,a
        ld hl,tren3
        call check
; --- attributes: set SYS, still found, then clear it again
        ld hl,fcb+10
        set 7,(hl)
        ld de,fcb
        ld c,30
        call BDOS
        ld de,fcb
        ld c,17
        call BDOS
        cp 4
        jr nc,at1
        rrca
        rrca
        rrca
        add a,80h+10
        ld l,a
        ld h,0
        ld a,(buf+0)            ; (DMA is buf, not 80h)
        ld a,l
        sub 80h
        ld l,a
        ld de,buf
        add hl,de
        ld a,(hl)
        and 80h
        xor 80h
at1:    ld hl,tattr
        call check
        ld hl,fcb+10
        res 7,(hl)
        ld de,fcb
        ld c,30
        call BDOS
; --- delete and free space back to where it was
        ld de,fcb
        ld c,19
        call BDOS
        cp 4
        ccf
        sbc a,a
        ld hl,tdel
        call check
        ld de,fcb
        ld c,15
        call BDOS
        cp 0FFh
        ld hl,tdel2
        call check
        call countfree
        ld de,(free0)
        or a
        sbc hl,de
        ld hl,tfree
        call check
; --- user numbers
        ld e,5
        ld c,32
        call BDOS
        ld e,0FFh
        ld c,32
        call BDOS
        cp 5
        ld hl,tuser
        call check
        call fcbinit
        ld de,fcb
        ld c,22
        call BDOS
        ld de,fcb
        ld c,16
        call BDOS
        ld e,0
        ld c,32
        call BDOS
        call fcbinit
        ld de,fcb
        ld c,15
        call BDOS
        cp 0FFh
        ld hl,tuser2
        call check
        ld e,5
        ld c,32
        call BDOS
        call fcbinit
        ld de,fcb
        ld c,15
        call BDOS
        cp 4
        ccf
        sbc a,a
        ld hl,tuser3
        call check
        ld de,fcb
        ld c,19
        call BDOS
        ld e,0
        ld c,32
        call BDOS
; --- summary
        ld a,(fails)
        or a
        ld de,mall
        jr z,sum
        ld de,msome
sum:    call print
        ld c,0                  ; back to the CCP through a warm boot
        jp BDOS

; Z flag: pass.  HL = test name
check:  push af
        ld de,mpass
        jr z,ck1
        ld de,mfail
        ld a,(fails)
        inc a
        ld (fails),a
ck1:    push hl
        call print
        pop de
        call print
        ld de,mcrlf
        call print
        pop af
        ret
print:  ld c,9
        jp BDOS
bad:    ld (bada),a
        ld a,(ok)               ; report the first bad record only
        or a
        ret z
        xor a
        ld (ok),a
        ld de,mrec
        call print
        ld a,(recno+1)
        call phex
        ld a,(recno)
        call phex
        ld a,' '
        call phex1b
        ld a,(bada)
        call phex
        ld de,mcrlf
        jp print
phex:   push af
        rrca
        rrca
        rrca
        rrca
        call phex1
        pop af
phex1:  and 0Fh
        add a,90h
        daa
        adc a,40h
        daa
phex1b: ld e,a
        ld c,2
        jp BDOS

fcbinit: ld hl,fname
        ld de,fcb
        ld bc,12
        ldir
        ld hl,fcb+12
        ld b,24
fi1:    ld (hl),0
        inc hl
        djnz fi1
        ret

; random-read record HL into buf, compare -> Z if it holds record HL
rread:  ld (recno),hl
        ld (fcb+33),hl
        xor a
        ld (fcb+35),a
        ld de,fcb
        ld c,33
        call BDOS
        or a
        ret nz
cmprec: ld hl,buf               ; Z if buf holds record (recno)
        ld de,(recno)
        ld a,(hl)
        cp e
        ret nz
        inc hl
        ld a,(hl)
        cp d
        ret nz
        ld b,126
        ld c,2
cr1:    inc hl
        ld a,e
        add a,c
        inc c
        cp (hl)
        ret nz
        djnz cr1
        ret
; fill buf with the pattern of record (recno); HL = recno
fillrec: ld hl,buf
        ld de,(recno)
        ld (hl),e
        inc hl
        ld (hl),d
        ld b,126
        ld c,2
fr1:    inc hl
        ld a,e
        add a,c
        ld (hl),a
        inc c
        djnz fr1
        ld hl,(recno)
        xor a
        ld (fcb+35),a
        ret

; HL = number of free blocks on the current drive
countfree: ld c,31
        call BDOS
        ld de,5
        add hl,de
        ld e,(hl)
        inc hl
        ld d,(hl)               ; DE = DSM
        inc de
        push de
        ld c,27
        call BDOS
        pop de                  ; HL = ALV, DE = blocks
        ld bc,0                 ; BC = free count
        ld a,80h
cf1:    push af
        and (hl)
        jr nz,cf2
        inc bc
cf2:    pop af
        rrca
        jr nc,cf3
        inc hl
cf3:    dec de
        push af
        ld a,d
        or e
        jr z,cf4
        pop af
        jr cf1
cf4:    pop af
        ld h,b
        ld l,c
        ret

mtitle: db "FILETEST: BDOS file functions\r\n$"
mpass:  db "PASS $"
mfail:  db "FAIL $"
mcrlf:  db "\r\n$"
mrec:   db "  bad record $"
mall:   db "FILETEST: ALL PASSED\r\n$"
msome:  db "FILETEST: SOME CHECKS FAILED\r\n$"
tver:   db "version 2.2$"
tdisk:  db "current disk A$"
tlogin: db "login vector$"
tdpb:   db "DPB address$"
tmake:  db "make file$"
twrite: db "write 300 records sequentially, close$"
topen:  db "open file$"
tread:  db "read 300 records back, compare$"
teof:   db "end of file after the last record$"
tsize:  db "compute file size = 300$"
trr1:   db "random read record 200$"
trr2:   db "random read record 5$"
trrseq: db "sequential read after random read$"
tsetr:  db "set random record$"
trw:    db "random write record 400$"
tsize2: db "file size after random write = 401$"
thole:  db "random read of a hole returns 1$"
tnoext: db "random read of a missing extent returns 4$"
trr3:   db "random read record 400$"
tzf:    db "write random with zero fill, record 1001$"
tzf2:   db "zero-filled record 1000 reads as zeros$"
tclose: db "close after random writes$"
tsearch: db "search first *.DAT$"
tren:   db "rename TEST.DAT to TEST2.DAT$"
tren2:  db "old name gone$"
tren3:  db "new name opens$"
tattr:  db "set file attributes (SYS)$"
tdel:   db "delete file$"
tdel2:  db "deleted file does not open$"
tfree:  db "all blocks freed again$"
tuser:  db "set/get user code$"
tuser2: db "user 5 file invisible in user 0$"
tuser3: db "user 5 file visible in user 5$"
fname:  db 0,"TEST    DAT"
newname: db 0,"TEST2   DAT"
wfcb:   db 0,"????????DAT",0,0,0,0
        ds 20,0
fails:  db 0
ok:     db 0
bada:   db 0
disk:   db 0
recno:  dw 0
free0:  dw 0
fcb:    ds 36,0
buf:    ds 128,0
        ds 64,0
stack:
