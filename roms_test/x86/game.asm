; game.img — Snake for machines/pc.yaml (1.44M floppy, 80x25 colour text).
;
; The boot sector loads the rest of the game (sectors 2..) to 0000:7E00 with
; INT 13h AH=02h and jumps to it.  Keys come from INT 16h, the pace from the
; BIOS tick counter (INT 1Ah AH=00h): the snake moves every 2 ticks (9 a second).
;
; Screen: row 0 title bar " SNAKE  Score: 0000 ..." (attribute 1Fh); a wall of
; B1h characters (attribute 03h) around rows 1..24; head 02h (0Eh), body FEh
; (0Ah), food 04h (0Ch).  The snake starts with its head at row 12, column 39,
; three body cells to its left, moving right.
; Keys: arrows or W/A/S/D steer, P pauses, Space starts / restarts.
; Debug console (port E9h): "SNAKE READY" on the start screen, "SNAKE START"
; when play begins, "SNAKE OVER <score>" when the snake crashes.

        cpu     8086
        bits    16
        org     0x7C00

%include "boot.inc"

RING_SEG        equ 0x1000              ; snake body ring buffer: 2000 words
RING_LEN        equ 2000
ROW_TOP         equ 1                   ; wall rows / columns
ROW_BOT         equ 24
COL_LEFT        equ 0
COL_RIGHT       equ 79
CH_WALL         equ 0xB1
AT_WALL         equ 0x03
CH_HEAD         equ 0x02
AT_HEAD         equ 0x0E
CH_BODY         equ 0xFE
AT_BODY         equ 0x0A
CH_FOOD         equ 0x04
AT_FOOD         equ 0x0C

boot:
        BOOT_SETUP
        mov     [drive], dl
        mov     si, 3                   ; tries
.load:  mov     ax, 0x0200 + GAME_SECTORS
        mov     cx, 0x0002
        mov     dh, 0
        mov     dl, [drive]
        mov     bx, 0x7E00
        int     0x13
        jnc     game
        xor     ax, ax
        int     0x13
        dec     si
        jnz     .load
        mov     si, msg_loadfail
.e:     lodsb
        or      al, al
        jz      .h
        mov     ah, 0x0E
        mov     bx, 7
        int     0x10
        jmp     .e
.h:     hlt
        jmp     .h

drive:          db 0
msg_loadfail:   db "Snake: cannot load the game sectors", 0

        times 510 - ($ - $$) db 0
        dw      0xAA55

; ===========================================================================
game:
        mov     ax, 0x0003
        int     0x10
        mov     ah, 0x01                ; hide the cursor
        mov     cx, 0x2000
        int     0x10
        mov     ax, 0xB800
        mov     es, ax

new_game:
        call    draw_field
        mov     dx, 0x0C1E              ; row 12, column 30
        mov     si, msg_start
        mov     ah, 0x0F
        call    write_at
        mov     si, dbg_ready
        call    puts
.wait:  xor     ah, ah
        int     0x16
        cmp     al, ' '
        jne     .wait
        ; seed the random numbers from the clock
        xor     ah, ah
        int     0x1A
        mov     [seed], dx
        call    draw_field              ; removes the message
        call    init_snake
        call    place_food
        mov     si, dbg_start
        call    puts
        xor     ah, ah
        int     0x1A
        mov     [last_tick], dx

main_loop:
        mov     ah, 0x01
        int     0x16
        jz      .nokey
        xor     ah, ah
        int     0x16
        call    handle_key
        jmp     main_loop
.nokey: xor     ah, ah
        int     0x1A
        mov     ax, dx
        sub     ax, [last_tick]
        cmp     ax, 2
        jae     .step
        sti
        hlt
        jmp     main_loop
.step:  mov     [last_tick], dx
        call    sound_off
        cmp     byte [paused], 0
        jne     main_loop
        call    step
        jnc     main_loop
        ; crashed
        mov     dx, 0x0C1A
        mov     si, msg_over
        mov     ah, 0x4F
        call    write_at
        mov     si, dbg_over
        call    puts
        mov     ax, [score]
        call    debug_dec
        mov     al, 10
        out     0xE9, al
.over:  xor     ah, ah
        int     0x16
        cmp     al, ' '
        jne     .over
        jmp     new_game

; AX = key from INT 16h
handle_key:
        mov     bl, 3
        cmp     ah, 0x48
        je      .turn
        cmp     al, 'w'
        je      .turn
        mov     bl, 1
        cmp     ah, 0x50
        je      .turn
        cmp     al, 's'
        je      .turn
        mov     bl, 2
        cmp     ah, 0x4B
        je      .turn
        cmp     al, 'a'
        je      .turn
        mov     bl, 0
        cmp     ah, 0x4D
        je      .turn
        cmp     al, 'd'
        je      .turn
        cmp     al, 'p'
        jne     .r
        xor     byte [paused], 1
.r:     ret
.turn:  mov     al, [dir]               ; no reversing into the body
        xor     al, 2
        cmp     al, bl
        je      .r
        mov     [next_dir], bl
        ret

; the snake moves one cell; CF=1 when it crashed
step:
        mov     al, [next_dir]
        mov     [dir], al
        mov     dx, [head_pos]          ; DH row, DL column
        cmp     al, 0
        jne     .d1
        inc     dl
.d1:    cmp     al, 1
        jne     .d2
        inc     dh
.d2:    cmp     al, 2
        jne     .d3
        dec     dl
.d3:    cmp     al, 3
        jne     .d4
        dec     dh
.d4:    call    cell_offset
        mov     al, [es:di]
        cmp     al, CH_FOOD
        je      .eat
        cmp     al, ' '
        je      .move
        stc                             ; wall or body
        ret
.eat:   add     word [grow], 3
        inc     word [score]
        call    show_score
        call    sound_on
        push    dx
        call    .advance
        call    place_food
        pop     dx
        clc
        ret
.move:  call    .advance
        clc
        ret
.advance:                               ; DX new head position
        push    dx
        mov     dx, [head_pos]          ; old head becomes body
        call    cell_offset
        mov     word [es:di], (AT_BODY << 8) | CH_BODY
        pop     dx
        mov     [head_pos], dx
        call    cell_offset
        mov     word [es:di], (AT_HEAD << 8) | CH_HEAD
        mov     bx, [head_idx]
        call    ring_next
        mov     [head_idx], bx
        call    ring_store
        cmp     word [grow], 0
        je      .tail
        dec     word [grow]
        ret
.tail:  mov     bx, [tail_idx]
        call    ring_load               ; DX = tail position
        call    cell_offset
        mov     word [es:di], 0x0720
        call    ring_next
        mov     [tail_idx], bx
        ret

ring_next:                              ; BX = index -> next index
        inc     bx
        cmp     bx, RING_LEN
        jb      .r
        xor     bx, bx
.r:     ret

ring_store:                             ; ring[BX] = DX
        push    ds
        push    bx
        mov     ax, RING_SEG
        mov     ds, ax
        shl     bx, 1
        mov     [bx], dx
        pop     bx
        pop     ds
        ret

ring_load:                              ; DX = ring[BX]
        push    ds
        push    bx
        mov     ax, RING_SEG
        mov     ds, ax
        shl     bx, 1
        mov     dx, [bx]
        pop     bx
        pop     ds
        ret

cell_offset:                            ; DH row, DL column -> DI
        push    ax
        mov     al, dh
        mov     ah, 80
        mul     ah
        add     al, dl
        adc     ah, 0
        shl     ax, 1
        mov     di, ax
        pop     ax
        ret

init_snake:
        xor     ax, ax
        mov     [score], ax
        mov     [grow], ax
        mov     [paused], al
        mov     [dir], al
        mov     [next_dir], al
        mov     [tail_idx], ax
        mov     dx, 0x0C24              ; row 12, columns 36..39
        xor     bx, bx
.b:     call    ring_store
        call    cell_offset
        mov     word [es:di], (AT_BODY << 8) | CH_BODY
        inc     dl
        inc     bx
        cmp     bx, 4
        jb      .b
        dec     bx
        dec     dl
        mov     [head_idx], bx
        mov     [head_pos], dx
        call    cell_offset
        mov     word [es:di], (AT_HEAD << 8) | CH_HEAD
        call    show_score
        ret

place_food:                             ; a random empty cell inside the walls
        call    random
        xor     dx, dx
        mov     bx, ROW_BOT - ROW_TOP - 1
        div     bx
        mov     cl, dl
        add     cl, ROW_TOP + 1         ; row
        call    random
        xor     dx, dx
        mov     bx, COL_RIGHT - COL_LEFT - 1
        div     bx
        add     dl, COL_LEFT + 1        ; column
        mov     dh, cl
        call    cell_offset
        cmp     byte [es:di], ' '
        jne     place_food
        mov     word [es:di], (AT_FOOD << 8) | CH_FOOD
        ret

random:                                 ; AX = next 16-bit LCG value (high bits mixed down)
        mov     ax, [seed]
        mov     dx, 25173
        mul     dx
        add     ax, 13849
        mov     [seed], ax
        mov     dl, ah
        mov     ah, al
        mov     al, dl
        ret

draw_field:
        xor     di, di                  ; title bar
        mov     ax, 0x1F20
        mov     cx, 80
        rep     stosw
        mov     dx, 0x0000
        mov     si, msg_title
        mov     ah, 0x1F
        call    write_at
        mov     di, 160                 ; rows 1..24: walls and empty floor
        mov     bl, ROW_TOP
.row:   mov     ax, (AT_WALL << 8) | CH_WALL
        cmp     bl, ROW_TOP
        je      .full
        cmp     bl, ROW_BOT
        je      .full
        stosw
        mov     ax, 0x0720
        mov     cx, 78
        rep     stosw
        mov     ax, (AT_WALL << 8) | CH_WALL
        stosw
        jmp     .next
.full:  mov     cx, 80
        rep     stosw
.next:  inc     bl
        cmp     bl, ROW_BOT
        jbe     .row
        call    show_score
        ret

show_score:                             ; 4 digits at row 0, column 15
        push    dx
        mov     ax, [score]
        mov     di, 2 * 18
        mov     bx, 10
        mov     cx, 4
.d:     xor     dx, dx
        div     bx
        add     dl, '0'
        mov     dh, 0x1F
        mov     [es:di], dx
        sub     di, 2
        loop    .d
        pop     dx
        ret

write_at:                               ; DS:SI text at DH row, DL column, attribute AH
        call    cell_offset
.l:     lodsb
        or      al, al
        jz      .r
        stosw
        jmp     .l
.r:     ret

%include "debugcon.inc"                ; puts: DS:SI to the debug console

debug_dec:                              ; AX
        mov     bx, 10
        xor     cx, cx
.a:     xor     dx, dx
        div     bx
        push    dx
        inc     cx
        or      ax, ax
        jnz     .a
.b:     pop     ax
        add     al, '0'
        out     0xE9, al
        loop    .b
        ret

sound_on:                               ; a click while eating: PIT channel 2 at ~1 kHz
        mov     al, 0xB6
        out     0x43, al
        mov     ax, 1193
        out     0x42, al
        mov     al, ah
        out     0x42, al
        in      al, 0x61
        or      al, 3
        out     0x61, al
        ret

sound_off:
        in      al, 0x61
        and     al, 0xFC
        out     0x61, al
        ret

msg_title:      db " SNAKE  Score: 0000   arrows/WASD steer, P pause, Space restart", 0
msg_start:      db " Press SPACE to start ", 0
msg_over:       db " GAME OVER - press SPACE ", 0
dbg_ready:      db "SNAKE READY", 10, 0
dbg_start:      db "SNAKE START", 10, 0
dbg_over:       db "SNAKE OVER ", 0

seed:           dw 1
last_tick:      dw 0
score:          dw 0
grow:           dw 0
head_pos:       dw 0
head_idx:       dw 0
tail_idx:       dw 0
dir:            db 0
next_dir:       db 0
paused:         db 0

game_end:
GAME_SECTORS    equ (game_end - game + 511) / 512
        times (GAME_SECTORS * 512) - (game_end - game) db 0
