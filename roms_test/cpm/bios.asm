        include 'layout.inc'
; BIOS for the `cpm` machine: paravirtual console (ports 00/01) and block
; device (base 10h), four ibm-3740 drives A-D (8" SSSD, skew 6).
        org BIOSBASE
        jp boot                 ; 00 cold boot
wbootv: jp wboot                ; 03 warm boot
        jp const                ; 06
        jp conin                ; 09
        jp conout               ; 0C
        jp list                 ; 0F
        jp punch                ; 12
        jp reader               ; 15
        jp home                 ; 18
        jp seldsk               ; 1B
        jp settrk               ; 1E
        jp setsec               ; 21
        jp setdma               ; 24
        jp read                 ; 27
        jp write                ; 2A
        jp listst               ; 2D
        jp sectran              ; 30

NDISKS: equ 4
SPT:    equ 26

boot:   out (ROMOFF_P),a        ; boot ROM overlay off: 0000-00FF is RAM now
        ld sp,0
        ld hl,signon
        call bprint
        xor a
        ld (3),a                ; IOBYTE
        ld (4),a                ; user 0, drive A
        ld hl,CCPBASE           ; cold start: CCP+0
        jr gocpm

wboot:  ld sp,0
        xor a                   ; reload CCP + BDOS from track 0 (no skew)
        out (BLKDRV),a
        out (BLKLBA),a
        out (BLKLBA+1),a
        out (BLKLBA+2),a
        out (BLKLBA+3),a
        out (BLKDMA),a
        out (BLKDMA+2),a
        ld a,CCPBASE>>8
        out (BLKDMA+1),a
        ld a,CCPSECS
        out (BLKCNT),a
        ld a,1
        out (BLKCMD),a
        in a,(BLKCMD)
        or a
        jr z,wbok
        ld hl,wberr
        call bprint
        call conin
        jr wboot
wbok:   ld a,(4)                ; drive beyond the last one? use A:
        and 0Fh
        cp NDISKS
        jr c,wb2
        ld a,(4)
        and 0F0h
        ld (4),a
wb2:    ld hl,CCPBASE+3
gocpm:  push hl
        ld a,0C3h
        ld (0),a
        ld hl,wbootv
        ld (1),hl
        ld (5),a
        ld hl,BDOSENT
        ld (6),hl
        ld bc,80h
        call setdma
        ld a,(4)
        ld c,a
        ret                     ; -> CCP

bprint: ld a,(hl)
        or a
        ret z
        out (CONDAT_P),a
        inc hl
        jr bprint

const:  in a,(CONST_P)
        and 1
        ret z
        ld a,0FFh
        ret
conin:  in a,(CONST_P)
        and 1
        jr z,conin
        in a,(CONDAT_P)
        and 7Fh
        ret
conout: ld a,c
        out (CONDAT_P),a
        ret
list:                           ; no printer/punch: output is discarded
punch:  ret
listst: ld a,0FFh               ; the (absent) printer is always ready
        ret
reader: ld a,1Ah                ; no reader: always end of file
        ret

home:   ld bc,0
settrk: ld (track),bc
        ret
setsec: ld (sector),bc
        ret
setdma: ld (dmaadr),bc
        ret

; C = drive; E bit 0 = 0 on the first select since reset -> check medium
seldsk: ld hl,0
        ld a,c
        cp NDISKS
        ret nc
        bit 0,e
        jr nz,sel2
        out (BLKDRV),a
        ld a,3
        out (BLKCMD),a
        in a,(BLKCMD)
        or a
        ret nz                  ; no medium: select error
        ld a,c
sel2:   ld (drive),a
        ld l,a                  ; HL = dph0 + 16*drive
        add hl,hl
        add hl,hl
        add hl,hl
        add hl,hl
        ld de,dph0
        add hl,de
        ret

read:   ld a,1
        jr dskio
write:  ld a,2
dskio:  push af
        ld a,(drive)
        out (BLKDRV),a
        ld de,(track)           ; LBA = track*26 + sector-1
        ld hl,0
        ld bc,SPT
dsk1:   ld a,d
        or e
        jr z,dsk2
        add hl,bc
        dec de
        jr dsk1
dsk2:   ld de,(sector)
        add hl,de
        dec hl
        ld c,BLKLBA
        out (c),l
        inc c
        out (c),h
        inc c
        xor a
        out (c),a
        inc c
        out (c),a
        ld hl,(dmaadr)
        inc c
        out (c),l
        inc c
        out (c),h
        inc c
        out (c),a
        inc c
        inc a
        out (c),a               ; count 1
        pop af
        out (BLKCMD),a
        in a,(BLKCMD)
        or a
        ret z
        ld a,1                  ; any controller error: 1
        ret

; BC = logical sector (0-based), DE = table -> HL = physical sector
sectran: ld a,d
        or e
        jr nz,st2
        ld h,b
        ld l,c
        inc hl
        ret
st2:    ex de,hl
        add hl,bc
        ld l,(hl)
        ld h,0
        ret

signon: db "\r\n64K CP/M 2.2 compatible system (emu project BDOS/CCP/BIOS)\r\n",0
wberr:  db "\r\nWBOOT: read error, press a key to retry\r\n",0

track:  dw 0
sector: dw 1
dmaadr: dw 80h
drive:  db 0

; disk parameter headers: XLT, 3 scratch words, DIRBUF, DPB, CSV, ALV
dph0:   dw skew,0,0,0,dirbuf,dpb,csv0,alv0
        dw skew,0,0,0,dirbuf,dpb,csv1,alv1
        dw skew,0,0,0,dirbuf,dpb,csv2,alv2
        dw skew,0,0,0,dirbuf,dpb,csv3,alv3
; ibm-3740: SPT 26, BSH 3, BLM 7, EXM 0, DSM 242, DRM 63, AL0 C0, AL1 0,
; CKS 16, OFF 2
dpb:    dw 26
        db 3,7,0
        dw 242,63
        db 0C0h,0
        dw 16,2
skew:   db 1,7,13,19,25,5,11,17,23,3,9,15,21
        db 2,8,14,20,26,6,12,18,24,4,10,16,22
biosend:
        ds SYSEND-$,0           ; pad the image to the end of track 1

; uninitialised RAM above the image
dirbuf: equ BIOSRAM             ; 128
alv0:   equ dirbuf+128          ; 31 bytes each (DSM/8+1)
alv1:   equ alv0+31
alv2:   equ alv1+31
alv3:   equ alv2+31
csv0:   equ alv3+31             ; 16 bytes each (CKS)
csv1:   equ csv0+16
csv2:   equ csv1+16
csv3:   equ csv2+16
biosramend: equ csv3+16         ; FF3C; BIOS stack grows down from 0000
