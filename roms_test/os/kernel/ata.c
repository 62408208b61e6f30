/* ATA PIO driver: the primary master at 1F0h, LBA28, polled (nIEN set). */
#include "kernel.h"
#include "arch/priv.h"

#define ATA 0x1F0
#define ATA_CTRL 0x3F6
#define BSY 0x80
#define DRQ 0x08
#define ERR 0x01
#define DF 0x20

static int ata_wait(int drq)
{
    for (u32 i = 0; i < 1000000; i++) {
        u32 st = priv_inb(ATA + 7);
        if (st & BSY) continue;
        if (st & (ERR | DF)) return -1;
        if (!drq || (st & DRQ)) return 0;
    }
    return -1;
}

static int ata_cmd(u32 lba, u32 cmd)
{
    priv_outb(ATA_CTRL, 0x02);                      /* nIEN: polled */
    if (ata_wait(0)) return -1;
    priv_outb(ATA + 6, 0xE0 | ((lba >> 24) & 0x0F));
    priv_outb(ATA + 2, 1);
    priv_outb(ATA + 3, lba & 0xFF);
    priv_outb(ATA + 4, (lba >> 8) & 0xFF);
    priv_outb(ATA + 5, (lba >> 16) & 0xFF);
    priv_outb(ATA + 7, cmd);
    return 0;
}

int ata_read(u32 lba, void *buf)
{
    if (ata_cmd(lba, 0x20) || ata_wait(1)) return -1;   /* READ SECTORS */
    priv_insw(ATA, buf, 256);
    return 0;
}

int ata_write(u32 lba, const void *buf)
{
    if (ata_cmd(lba, 0x30) || ata_wait(1)) return -1;   /* WRITE SECTORS */
    priv_outsw(ATA, buf, 256);
    if (ata_wait(0)) return -1;
    priv_outb(ATA + 7, 0xE7);                           /* FLUSH CACHE */
    return ata_wait(0);
}
