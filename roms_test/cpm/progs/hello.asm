; HELLO.COM - print a greeting through BDOS function 9 and return.
        org 100h
        ld de,msg
        ld c,9
        call 5
        ret
msg:    db "Hello, world from CP/M!\r\n$"
