; vdptest.sms -- a fixed VDP picture (see README.md for the exact pattern):
;  * background: name table cell (col, row) = solid tile 1 + (col + row) mod 15,
;    i.e. diagonal stripes in background colours 1-15
;  * scroll: R8 (horizontal) = 12, R9 (vertical) = 20
;  * sprites 0-9 on lines 150-157 at x = 16 + 20 i (solid tile 1 + i): the
;    8-per-line limit hides sprites 8 and 9
;  * sprite 10 at (200, 40) tile 11 and sprite 11 at (204, 44) tile 12 overlap
;    (collision; sprite 10 is drawn on top)
    include "common.inc"

main:
    ld hl, palette
    call load_cram
    call solid_tiles
    ; name table
    ld de, 0x3800
    call vram_write
    ld e, 0                 ; (row) mod 15
    ld d, 28
nt_row:
    ld a, e
    ld b, 32
nt_col:
    push af
    inc a
    out (VDP_DATA), a
    xor a
    out (VDP_DATA), a
    pop af
    inc a
    cp 15
    jr nz, nt_ok
    xor a
nt_ok:
    djnz nt_col
    ld a, e
    inc a
    cp 15
    jr nz, nt_ok2
    xor a
nt_ok2:
    ld e, a
    dec d
    jr nz, nt_row
    ; sprite attribute table
    ld hl, sat_y
    ld de, 0x3F00
    ld bc, 13
    call copy_vram
    ld hl, sat_xn
    ld de, 0x3F80
    ld bc, 24
    call copy_vram
    ; scroll
    ld a, 12
    ld b, 8
    call set_reg
    ld a, 20
    ld b, 9
    call set_reg
    call display_on
forever:
    halt
    jr forever

palette:                    ; background 0-15, sprites 16-31 (00BBGGRR)
    db 0x00, 0x03, 0x0C, 0x30, 0x0F, 0x33, 0x3C, 0x3F
    db 0x01, 0x04, 0x10, 0x05, 0x11, 0x14, 0x15, 0x2A
    db 0x00, 0x02, 0x08, 0x20, 0x0A, 0x22, 0x28, 0x2A
    db 0x07, 0x0D, 0x31, 0x1F, 0x37, 0x3D, 0x06, 0x19
sat_y:
    db 149, 149, 149, 149, 149, 149, 149, 149, 149, 149, 39, 43, 0xD0
sat_xn:
    db 16, 1, 36, 2, 56, 3, 76, 4, 96, 5, 116, 6, 136, 7, 156, 8, 176, 9, 196, 10
    db 200, 11, 204, 12

    include "header.inc"
