; game.sms -- Snake.  Pad 1 steers; eating food (red) grows the snake by 2,
; adds 1 to the score (top left) and beeps; running into a wall or the snake
; plays a noise burst and restarts the game after 90 frames.
; Field: name table rows 1-23; walls on rows 1 and 23 and columns 0 and 31.
; Tiles: 1 empty (dark blue), 2 snake (green), 3 wall (grey), 4 food (red),
; 16-25 digits.  The snake moves one cell every 8 frames; it starts 3 cells
; long at columns 8-10 of row 12 heading right.  Food positions come from a
; 16-bit Galois LFSR (taps 0xB400) seeded with 0xACE1 at power-on.
    include "common.inc"

dir: equ 0xC010             ; 0 up, 1 down, 2 left, 3 right
head: equ 0xC011
tail: equ 0xC012
grow: equ 0xC013
score: equ 0xC014
tick: equ 0xC015
rng: equ 0xC016
dead: equ 0xC018
snd: equ 0xC019
ate: equ 0xC01A
grid: equ 0xC100            ; 32 x 24 cells: 0 free, 1 wall/snake, 2 food
bodyx: equ 0xC400
bodyy: equ 0xC500

main:
    ld hl, palette
    call load_cram
    call solid_tiles
    call font_tiles
    ld hl, 0xACE1
    ld (rng), hl
    call new_game
    call display_on
loop:
    halt
    call game_frame
    jr loop

; ---- one frame ------------------------------------------------------------
game_frame:
    ld a, (dead)
    or a
    jr z, alive
    dec a
    ld (dead), a
    ret nz
    jp new_game
alive:
    ld a, (snd)
    or a
    jr z, no_snd
    dec a
    ld (snd), a
    jr nz, no_snd
    ld a, 0x9F
    out (PSG), a
no_snd:
    ; steer: the first pressed direction that is not a reversal
    in a, (PAD1)
    cpl
    ld b, 0
steer:
    rrca
    jr nc, steer_next
    ld c, a
    ld a, (dir)
    xor b
    cp 1                    ; reversal?
    ld a, c
    jr z, steer_next
    ld a, b
    ld (dir), a
    jr steer_done
steer_next:
    inc b
    bit 2, b
    jr z, steer
steer_done:
    ld a, (tick)
    dec a
    ld (tick), a
    ret nz
    ld a, 8
    ld (tick), a
    ; new head position -> E = x, D = y
    ld a, (head)
    ld l, a
    ld h, bodyx >> 8
    ld e, (hl)
    ld h, bodyy >> 8
    ld d, (hl)
    ld a, (dir)
    or a
    jr nz, not_up
    dec d
    jr moved
not_up:
    dec a
    jr nz, not_down
    inc d
    jr moved
not_down:
    dec a
    jr nz, not_left
    dec e
    jr moved
not_left:
    inc e
moved:
    call cell_addr          ; HL = grid cell of (E, D)
    ld a, (hl)
    cp 1
    jr nz, no_crash
    ; crash: noise burst, restart later
    ld a, 0xE4
    out (PSG), a
    ld a, 0xF0
    out (PSG), a
    ld a, 90
    ld (dead), a
    ret
no_crash:
    xor a
    ld (ate), a
    ld a, (hl)
    cp 2
    jr nz, no_food
    ld a, 1
    ld (ate), a
    ld a, (grow)
    add a, 2
    ld (grow), a
    ld a, (score)
    inc a
    ld (score), a
    ld hl, 150              ; beep
    xor a
    call psg_tone
    ld a, 6
    ld (snd), a
    call cell_addr
no_food:
    ld (hl), 1
    ld a, 2
    call put_tile
    ld a, (head)
    inc a
    ld (head), a
    ld l, a
    ld h, bodyx >> 8
    ld (hl), e
    ld h, bodyy >> 8
    ld (hl), d
    ld a, (grow)
    or a
    jr z, move_tail
    dec a
    ld (grow), a
    jr tail_done
move_tail:
    ld a, (tail)
    ld l, a
    inc a
    ld (tail), a
    ld h, bodyx >> 8
    ld e, (hl)
    ld h, bodyy >> 8
    ld d, (hl)
    call cell_addr
    ld (hl), 0
    ld a, 1
    call put_tile
tail_done:
    ld a, (ate)
    or a
    ret z
    call place_food
    jp draw_score

; ---- helpers ----------------------------------------------------------------
cell_addr:                  ; HL = grid + D * 32 + E
    ld l, d
    ld h, 0
    add hl, hl
    add hl, hl
    add hl, hl
    add hl, hl
    add hl, hl
    ld a, l
    or e
    ld l, a
    ld a, h
    add a, grid >> 8
    ld h, a
    ret

random:                     ; A = next LFSR byte
    ld hl, (rng)
    srl h
    rr l
    jr nc, rnd_ok
    ld a, h
    xor 0xB4
    ld h, a
rnd_ok:
    ld (rng), hl
    ld a, l
    ret

place_food:
    call random
    and 31
    ld e, a
    call random
    and 31
    ld d, a
    cp 2
    jr c, place_food
    cp 23
    jr nc, place_food
    ld a, e
    or a
    jr z, place_food
    cp 31
    jr z, place_food
    call cell_addr
    ld a, (hl)
    or a
    jr nz, place_food
    ld (hl), 2
    ld a, 4
    jp put_tile

draw_score:                 ; three digits at row 0, columns 1-3
    ld a, (score)
    ld d, 0
    ld e, 1
    ld b, 16
hundreds:
    cp 100
    jr c, h_done
    sub 100
    inc b
    jr hundreds
h_done:
    ld c, a
    ld a, b
    call put_tile
    ld a, c
    inc e
    ld b, 16
tens:
    cp 10
    jr c, t_done
    sub 10
    inc b
    jr tens
t_done:
    ld c, a
    ld a, b
    call put_tile
    inc e
    ld a, c
    add a, 16
    jp put_tile

new_game:
    call psg_silence
    ; clear the grid, draw the field
    ld d, 1
ng_row:
    ld e, 0
ng_col:
    call cell_addr
    ld a, d
    cp 1
    jr z, ng_wall
    cp 23
    jr z, ng_wall
    ld a, e
    or a
    jr z, ng_wall
    cp 31
    jr z, ng_wall
    ld (hl), 0
    ld a, 1
    jr ng_put
ng_wall:
    ld (hl), 1
    ld a, 3
ng_put:
    call put_tile
    inc e
    bit 5, e
    jr z, ng_col
    inc d
    ld a, d
    cp 24
    jr nz, ng_row
    ; the snake: cells (8..10, 12), tail index 0, head index 2
    xor a
    ld (tail), a
    ld a, 2
    ld (head), a
    ld d, 12
    ld e, 8
    ld b, 0
ng_snake:
    ld l, b
    ld h, bodyx >> 8
    ld (hl), e
    ld h, bodyy >> 8
    ld (hl), d
    call cell_addr
    ld (hl), 1
    ld a, 2
    call put_tile
    inc e
    inc b
    ld a, b
    cp 3
    jr nz, ng_snake
    ld a, 3
    ld (dir), a
    ld a, 8
    ld (tick), a
    xor a
    ld (score), a
    ld (grow), a
    ld (dead), a
    ld (snd), a
    call place_food
    jp draw_score

palette:
    db 0x00, 0x10, 0x08, 0x2A, 0x03, 0x00, 0x00, 0x00
    db 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3F
    db 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00
    db 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00

    include "header.inc"
