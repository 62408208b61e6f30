/* The file system on the boot disk, from LBA FS_LBA: a superblock ("EMUFS1"),
 * a directory of FS_FILES 32-byte entries (name, size), and for slot i a fixed
 * extent of FS_EXTENT sectors.  Files are read and written whole. */
#include "kernel.h"

#define FS_LBA 1024
#define FS_FILES 32
#define FS_DIRSECT (FS_FILES * 32 / 512)
#define FS_EXTENT 28
#define FS_DATA (FS_LBA + 1 + FS_DIRSECT)
int ata_read(u32 lba, void *buf);
int ata_write(u32 lba, const void *buf);

struct dirent { char name[FS_NAME]; u32 size, pad[1]; };
static struct dirent dir[FS_FILES];
static int mounted;

void fs_init(void)
{
    static char sb[512];
    if (ata_read(FS_LBA, sb) || memcmp(sb, "EMUFS1", 6)) {
        kprintf("fs: no file system at LBA %u\n", FS_LBA);
        return;
    }
    for (int i = 0; i < FS_DIRSECT; i++)
        if (ata_read(FS_LBA + 1 + i, (char *)dir + i * 512)) {
            kprintf("fs: cannot read the directory\n");
            return;
        }
    int n = 0;
    for (int i = 0; i < FS_FILES; i++) {
        dir[i].name[FS_NAME - 1] = 0;
        if (dir[i].size > FS_MAX) dir[i].size = FS_MAX;    /* a damaged entry stays bounded */
        n += dir[i].name[0] != 0;
    }
    mounted = 1;
    kprintf("fs: %u files\n", n);
}

static int lookup(const char *name)
{
    for (int i = 0; i < FS_FILES; i++)
        if (dir[i].name[0] && !strcmp(dir[i].name, name)) return i;
    return -1;
}

static int save_dir(void)
{
    for (int i = 0; i < FS_DIRSECT; i++)
        if (ata_write(FS_LBA + 1 + i, (char *)dir + i * 512)) return -1;
    return 0;
}

int fs_read(const char *name, void *buf, u32 max)
{
    static char sect[512];
    int i = mounted ? lookup(name) : -1;
    if (i < 0) return -1;
    u32 n = dir[i].size < max ? dir[i].size : max;
    for (u32 off = 0; off < n; off += 512) {
        if (ata_read(FS_DATA + i * FS_EXTENT + off / 512, sect)) return -1;
        memcpy((char *)buf + off, sect, n - off < 512 ? n - off : 512);
    }
    return n;
}

int fs_write(const char *name, const void *buf, u32 len)
{
    static char sect[512];
    if (!mounted || !name[0] || strlen(name) >= FS_NAME || len > FS_MAX) return -1;
    int i = lookup(name);
    for (int j = 0; i < 0 && j < FS_FILES; j++)
        if (!dir[j].name[0]) i = j;
    if (i < 0) return -1;
    for (u32 off = 0; off < len; off += 512) {
        memset(sect, 0, 512);
        memcpy(sect, (const char *)buf + off, len - off < 512 ? len - off : 512);
        if (ata_write(FS_DATA + i * FS_EXTENT + off / 512, sect)) return -1;
    }
    memset(dir[i].name, 0, FS_NAME);
    memcpy(dir[i].name, name, strlen(name));
    dir[i].size = len;
    return save_dir() ? -1 : (int)len;
}

int fs_remove(const char *name)
{
    int i = mounted ? lookup(name) : -1;
    if (i < 0) return -1;
    memset(&dir[i], 0, sizeof dir[i]);
    return save_dir();
}

int fs_list(struct sbuf *b)
{
    if (!mounted) return -1;
    for (int i = 0; i < FS_FILES; i++)
        if (dir[i].name[0]) sbprintf(b, "%6u %s\n", dir[i].size, dir[i].name);
    return 0;
}
