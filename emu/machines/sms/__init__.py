"""The Sega Master System's own code: the console's glue around two reusable chips.

The chips are leaves in emu/devices/ (sega_vdp: the 315-5124 VDP, sn76489: the
PSG) and know nothing of this package; here is what only the SMS board has,
as MAME keeps it in src/mame/sega/sms.cpp:

    state   the board's arrays (``Board``) and the slots of its int64 ``sys`` array
    mapper  the Sega mapper: Z80 page tables from the 0xFFFC-0xFFFF registers
    ports   I/O port decoding (A7/A6/A0) and the joypad ports
    frame   the compiled frame loop (262 lines of 228 Z80 cycles)
    board   the machine's device (``type: emu.machines.sms.board:SmsBoard``)
    cart    the cartridge loader (header and checksum checks)

Imports run one way (tests/test_layout.py): board -> frame -> ports and mapper
-> state, and from any of them to the chips.  machines/sms.yaml wires it together.
"""
