; input.sms -- shows the state of both joypads, RESET and PAUSE.
; Every frame, bit b of W = (~port 0xDC) | (~port 0xDD & 0x1F) << 8, and for
; b = 13 the parity of the PAUSE (NMI) count, is drawn as a 2x2-tile box at
; column 2 + 4 (b mod 7), row 4 + 4 (b div 7): tile 2 (green) when set, tile 1
; (dark grey) when clear.  Bits: 0-5 pad 1 up/down/left/right/1/2, 6-7 pad 2
; up/down, 8-11 pad 2 left/right/1/2, 12 RESET, 13 PAUSE toggled.
    include "common.inc"

main:
    ld hl, palette
    call load_cram
    call solid_tiles
    call display_on
loop:
    halt
    in a, (PAD1)
    cpl
    ld l, a
    in a, (PAD2)
    cpl
    and 0x1F
    ld h, a
    ld a, (paused)
    and 1
    jr z, no_pause
    set 5, h
no_pause:
    ld iy, box_addr
    ld b, 14
box_loop:
    srl h
    rr l                    ; carry = this bit
    ld a, 1
    adc a, 0
    ld c, a                 ; tile 1 or 2
    ld e, (iy+0)
    ld d, (iy+1)
    inc iy
    inc iy
    call put2x2
    djnz box_loop
    jr loop

put2x2:                     ; tile C into the 2x2 cells at name table address DE
    call vram_write
    call put2
    ld a, e
    add a, 64
    ld e, a
    ld a, d
    adc a, 0
    ld d, a
    call vram_write
put2:
    ld a, c
    out (VDP_DATA), a
    xor a
    out (VDP_DATA), a
    ld a, c
    out (VDP_DATA), a
    xor a
    out (VDP_DATA), a
    ret

palette:
    db 0x00, 0x15, 0x0C, 0x3F, 0x00, 0x00, 0x00, 0x00
    db 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00
    db 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00
    db 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00
box_addr:
    dw 0x3904, 0x390C, 0x3914, 0x391C, 0x3924, 0x392C, 0x3934
    dw 0x3A04, 0x3A0C, 0x3A14, 0x3A1C, 0x3A24, 0x3A2C, 0x3A34

    include "header.inc"
