; toy8 demo ROM for machines/toy.yaml — exercises every bus path of the framework.
; console: memory-mapped at F000h (status) / F001h (data); timer ack: port 10h;
; bank select: port 30h (window 4000h-40FFh); debug latch: posted port 20h.
ORG 0
        JMP start
ORG 8                   ; interrupt entry
        INC [8000h]     ; tick counter in RAM
        IN A,(10h)      ; acknowledge the timer
        RETI
start:  LDI A,48h       ; "HELLO\r\n"
        ST [0F001h],A
        LDI A,45h
        ST [0F001h],A
        LDI A,4Ch
        ST [0F001h],A
        ST [0F001h],A
        LDI A,4Fh
        ST [0F001h],A
        LDI A,0Dh
        ST [0F001h],A
        LDI A,0Ah
        ST [0F001h],A
        LDI A,2         ; select bank 2 of the data ROM, print its first byte
        OUT (30h),A
        LD A,[4000h]
        ST [0F001h],A
        LDI A,50h       ; posted writes "PW" to the debug latch
        OUT (20h),A
        LDI A,57h
        OUT (20h),A
        EI
loop:   LD A,[0F000h]   ; console status: bit 0 = key waiting
        CMP A,3
        JNZ ticks
        LD A,[0F001h]   ; echo the key
        ST [0F001h],A
ticks:  LD A,[8000h]
        CMP A,3Ch       ; 60 ticks = 1 s
        JNZ loop
        LDI A,54h       ; "T"
        ST [0F001h],A
idle:   HLT
        JMP idle
