; sound.sms -- steps through the PSG channels.  Step k (k = 0, 1, 2, ...)
; starts when the frame counter reaches 16 k and lasts 16 frames; all channels
; are silenced, then channel k mod 4 plays at attenuation 0:
;   tone channels 0-2: note k mod 8 of the C major scale C4 D E F G A B C5,
;     periods N = 427 380 339 320 285 254 226 214 (f = 3579545 / (32 N))
;   channel 3 (noise, rate 0 = N 0x10): periodic when (k div 4) is even,
;     white when odd.
; The background colour (CRAM 0) shows the channel: red, green, blue, white.
    include "common.inc"

step: equ 0xC002

main:
    call display_on
    xor a
    ld (step), a
    call play_step
loop:
    halt
    ld a, (frame)
    and 15
    jr nz, loop
    ld a, (step)
    inc a
    ld (step), a
    call play_step
    jr loop

play_step:
    call psg_silence
    ld a, (step)
    and 3
    ld c, a
    ; background colour
    xor a
    out (VDP_CTRL), a
    ld a, 0xC0
    out (VDP_CTRL), a
    ld hl, colours
    ld e, c
    ld d, 0
    add hl, de
    ld a, (hl)
    out (VDP_DATA), a
    ld a, c
    cp 3
    jr z, noise
    ld a, (step)
    and 7
    add a, a
    ld e, a
    ld d, 0
    ld hl, scale
    add hl, de
    ld e, (hl)
    inc hl
    ld d, (hl)
    ex de, hl
    ld a, c
    jp psg_tone
noise:
    ld a, (step)
    and 4                   ; (k div 4) odd -> bit 2 = white
    or 0xE0
    out (PSG), a
    ld a, 0xF0              ; channel 3 attenuation 0
    out (PSG), a
    ret

scale:
    dw 427, 380, 339, 320, 285, 254, 226, 214
colours:
    db 0x03, 0x0C, 0x30, 0x3F

    include "header.inc"
