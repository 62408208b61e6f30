; cpmboot.rom - 256-byte boot ROM for the `cpm` machine.
; Runs from the read-only overlay at 0000-00FF.  Loads the 52 sectors of the
; two system tracks of drive 0 (LBA 0..51 = track 0 sector 1 .. track 1
; sector 26, no skew) to CCPBASE and jumps to the BIOS cold-boot entry, which
; removes the overlay (OUT (20h)) as its first instruction.
        include 'layout.inc'
        org 0
        di
        ld sp,0                 ; stack in RAM below 10000h (not the overlay)
        xor a
        out (BLKDRV),a          ; drive 0
        ld a,3                  ; query: is there a medium?
        out (BLKCMD),a
        in a,(BLKCMD)
        or a
        jr nz,nodisk
        xor a
        out (BLKLBA),a
        out (BLKLBA+1),a
        out (BLKLBA+2),a
        out (BLKLBA+3),a
        out (BLKDMA),a
        out (BLKDMA+2),a
        ld a,CCPBASE>>8
        out (BLKDMA+1),a
        ld a,SYSSECS
        out (BLKCNT),a
        ld a,1                  ; read
        out (BLKCMD),a
        in a,(BLKCMD)
        or a
        jr nz,rderr
        ld a,(BIOSBASE)         ; a BIOS jump table must start with JP
        cp 0C3h
        jp z,BIOSBASE
        ld hl,msgnosys
        jr fail
nodisk: ld hl,msgnodisk
        jr fail
rderr:  ld hl,msgrderr
fail:   ld a,(hl)
        or a
        jr z,stop
        out (CONDAT_P),a
        inc hl
        jr fail
stop:   halt
        jr stop
msgnodisk: db "\r\nBOOT: no disk in drive A\r\n",0
msgrderr:  db "\r\nBOOT: read error on system tracks\r\n",0
msgnosys:  db "\r\nBOOT: no system on disk A\r\n",0
        ds 256-$,0FFh
