/* Nanobenchmarks for the VMM comparison: each prints its count and time.
 * "bench" runs all; "bench NAME" one of them; "bench NAME N" with N rounds. */
#include "ulib.h"

static u32 dummy;
static void __attribute__((noinline)) callee(void) { dummy++; __asm__ volatile(""); }

static void skip_div(struct uctx *c) { c->eip += 2; }   /* past "div %ecx" (F7 F1) */

static int has_tsc;

static u64 rdtsc(void)
{
    u32 lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (u64)hi << 32 | lo;
}

static void run(const char *name, u32 n)
{
    u64 c0 = has_tsc ? rdtsc() : 0;
    u32 t0 = time_us();
    if (!strcmp(name, "syscall"))
        for (u32 i = 0; i < n; i++) getpid();
    else if (!strcmp(name, "inout")) sys(SYS_BENCH, BENCH_INOUT, n, 0);
    else if (!strcmp(name, "cr3")) sys(SYS_BENCH, BENCH_CR3, n, 0);
    else if (!strcmp(name, "pte")) sys(SYS_BENCH, BENCH_PTE, n, 0);
    else if (!strcmp(name, "pagefault")) {
        u8 *heap = sbrk(n * PAGE);
        for (u32 i = 0; i < n; i++) heap[i * PAGE] = 1;        /* each a demand-zero fault */
        (void)sbrk(-(int)(n * PAGE));
    } else if (!strcmp(name, "divzero")) {
        on_fault(skip_div);
        for (u32 i = 0; i < n; i++)
            __asm__ volatile("div %%ecx" : : "a"(1), "d"(0), "c"(0));
        on_fault(0);
    } else if (!strcmp(name, "callret"))
        for (u32 i = 0; i < n; i++) callee();
    else if (!strcmp(name, "spawn"))
        for (u32 i = 0; i < n; i++) wait(spawn("true", ""), 0, 0);
    else if (!strcmp(name, "forkexec"))
        for (u32 i = 0; i < n; i++) {
            int pid = fork();
            if (pid == 0) exit(exec("true", ""));
            wait(pid, 0, 0);
        }
    else if (!strcmp(name, "compute")) {
        volatile u32 x = 1;
        for (u32 i = 0; i < n; i++) x = x * 1103515245 + 12345;
    } else {
        printf("bench: no benchmark %s\n", name);
        return;
    }
    u32 t = time_us() - t0;
    printf("bench %s: %u in %u us, %u ns each", name, n, t, t / n * 1000 + t % n * 1000 / n);
    if (has_tsc) {
        u32 c = (u32)(rdtsc() - c0);                 /* up to 4G cycles per run */
        printf(", %u TSC cycles, %u each", c, c / n);
    }
    printf("\n");
}

static const struct { const char *name; u32 n; } all[] = {
    {"syscall", 2000}, {"inout", 2000}, {"cr3", 1000}, {"pte", 1000}, {"pagefault", 200},
    {"divzero", 500}, {"callret", 20000}, {"spawn", 20}, {"forkexec", 20},
    {"compute", 100000}};

int main(const char *arg)
{
    char name[16];
    int i = 0;
    has_tsc = sys(SYS_CPUINFO, 0, 0, 0) & 4;
    while (arg[i] && arg[i] != ' ' && i < 15) name[i] = arg[i], i++;
    name[i] = 0;
    int n = arg[i] == ' ' ? atoi(arg + i + 1) : 0;
    for (u32 k = 0; k < sizeof all / sizeof *all; k++)
        if (!*name || !strcmp(name, all[k].name)) {
            run(all[k].name, n > 0 ? (u32)n : all[k].n);
            if (*name) return 0;
        }
    if (*name) { printf("bench: no benchmark %s\n", name); return 1; }
    return 0;
}
