/* Memory: free physical pages (E820 type 1 RAM between the kernel's end and
 * KERNEL_MAP) on a stack; the kernel's identity map of the first KERNEL_MAP
 * bytes (supervisor only) shared by every page directory; user mappings. */
#include "kernel.h"
#include "arch/priv.h"

extern char _kernel_end[];
#define NPAGES (KERNEL_MAP / PAGE)
static u32 free_stack[NPAGES];
static u32 nfree;
static u8 refs[NPAGES];              /* mappings of each page (copy-on-write sharing) */
static u32 kernel_tables[KERNEL_MAP / (4u << 20)][1024] __attribute__((aligned(4096)));
static u32 kernel_dir[1024] __attribute__((aligned(4096)));
u32 *kernel_pd = kernel_dir;
#define KPDES (KERNEL_MAP >> 22)

struct e820 { u64 base, len; u32 type, pad; };
static u32 bootinfo_copy[2];
static struct e820 map[32];

void mm_init(u32 bootinfo)
{
    u32 *bi = (u32 *)bootinfo;
    bootinfo_copy[0] = bi[0] > 32 ? 32 : bi[0];
    bootinfo_copy[1] = bi[1];
    memcpy(map, bi + 2, bootinfo_copy[0] * sizeof *map);
    u32 lo = ((u32)_kernel_end + PAGE - 1) & ~(PAGE - 1);
    for (u32 i = 0; i < bootinfo_copy[0]; i++) {
        if (map[i].type != 1 || map[i].base >= KERNEL_MAP) continue;
        u64 s = (map[i].base + PAGE - 1) & ~(u64)(PAGE - 1);
        u64 e = (map[i].base + map[i].len) & ~(u64)(PAGE - 1);
        if (e > KERNEL_MAP) e = KERNEL_MAP;
        for (u64 a = s; a < e; a += PAGE)
            if (a >= lo) free_stack[nfree++] = (u32)a;
    }
    if (!nfree) panic("no free memory above the kernel (E820: %u entries)", bootinfo_copy[0]);
    for (u32 t = 0; t < KPDES; t++) {
        for (u32 i = 0; i < 1024; i++)
            priv_set_pte(&kernel_tables[t][i], (t << 22 | i << 12) | PTE_P | PTE_W, 0);
        priv_set_pte(&kernel_dir[t], (u32)kernel_tables[t] | PTE_P | PTE_W, 0);
    }
    priv_enable_paging(kernel_dir);
}

void mm_print(struct sbuf *b)
{
    sbprintf(b, "E820 memory map (%u entries, boot drive %x):\n", bootinfo_copy[0], bootinfo_copy[1]);
    for (u32 i = 0; i < bootinfo_copy[0]; i++)
        sbprintf(b, "  %08x%08x %08x%08x type %u\n", (u32)(map[i].base >> 32), (u32)map[i].base,
                (u32)(map[i].len >> 32), (u32)map[i].len, map[i].type);
    sbprintf(b, "free pages: %u (%u KiB)\n", nfree, nfree * 4);
}

u32 page_alloc(void)
{
    u32 fl = priv_irq_save();
    u32 pa = nfree ? free_stack[--nfree] : 0;
    if (pa) refs[pa / PAGE] = 1;
    priv_irq_restore(fl);
    if (pa) memset((void *)pa, 0, PAGE);
    return pa;
}

void page_free(u32 pa)
{
    u32 fl = priv_irq_save();
    if (!refs[pa / PAGE]) panic("page %08x freed twice", pa);
    if (!--refs[pa / PAGE]) free_stack[nfree++] = pa;
    priv_irq_restore(fl);
}

/* a copy of pd's user mappings: writable pages become read-only and shared
 * (PTE_COW) in both, until a write fault gives the writer its own copy */
u32 *pd_fork(u32 *pd)
{
    u32 *child = pd_create();
    if (!child) return NULL;
    for (u32 i = KPDES; i < 1024; i++) {
        if (!(pd[i] & PTE_P)) continue;
        u32 *pt = (u32 *)(pd[i] & ~0xFFFu), *npt = (u32 *)page_alloc();
        if (!npt) { pd_destroy(child); return NULL; }
        for (u32 j = 0; j < 1024; j++) {
            u32 e = pt[j];
            if (!(e & PTE_P)) continue;
            if (e & PTE_W) {
                e = (e & ~PTE_W) | PTE_COW;
                priv_set_pte(&pt[j], e, i << 22 | j << 12);
            }
            refs[e / PAGE]++;
            priv_set_pte(&npt[j], e, 0);
        }
        priv_set_pte(&child[i], (u32)npt | (pd[i] & 0xFFF), 0);
    }
    return child;
}

/* a write to va hit a copy-on-write page: 1 resolved, 0 not such a page, -1 no memory */
int cow_fault(u32 *pd, u32 va)
{
    u32 pte = pd_lookup(pd, va);
    if (!(pte & PTE_P) || !(pte & PTE_COW)) return 0;
    u32 old = pte & ~0xFFFu, pa = old;
    if (refs[old / PAGE] > 1) {                 /* still shared: copy */
        if (!(pa = page_alloc())) return -1;
        memcpy((void *)pa, (void *)old, PAGE);
        page_free(old);
    }
    u32 *pt = (u32 *)(pd[va >> 22] & ~0xFFFu);
    priv_set_pte(&pt[(va >> 12) & 1023], pa | (pte & 0xFFF & ~PTE_COW) | PTE_W, va & ~0xFFFu);
    return 1;
}

u32 pages_free(void) { return nfree; }

u32 *pd_create(void)
{
    u32 *pd = (u32 *)page_alloc();
    if (!pd) return NULL;
    for (u32 i = 0; i < KPDES; i++)
        priv_set_pte(&pd[i], kernel_dir[i], 0);
    return pd;
}

void pd_destroy(u32 *pd)
{
    for (u32 i = KPDES; i < 1024; i++) {
        if (!(pd[i] & PTE_P)) continue;
        u32 *pt = (u32 *)(pd[i] & ~0xFFFu);
        for (u32 j = 0; j < 1024; j++)
            if (pt[j] & PTE_P) page_free(pt[j] & ~0xFFFu);
        page_free((u32)pt);
    }
    page_free((u32)pd);
}

int pd_map(u32 *pd, u32 va, u32 pa, u32 flags)
{
    u32 *pde = &pd[va >> 22];
    if (!(*pde & PTE_P)) {
        u32 pt = page_alloc();
        if (!pt) return -1;
        priv_set_pte(pde, pt | PTE_P | PTE_W | PTE_U, va);
    }
    u32 *pt = (u32 *)(*pde & ~0xFFFu);
    priv_set_pte(&pt[(va >> 12) & 1023], pa | flags | PTE_P, va);
    return 0;
}

u32 pd_lookup(u32 *pd, u32 va)
{
    u32 pde = pd[va >> 22];
    if (!(pde & PTE_P)) return 0;
    return ((u32 *)(pde & ~0xFFFu))[(va >> 12) & 1023];
}
