#include "ulib.h"

int sys(u32 n, u32 a, u32 b, u32 c)
{
    int r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(n), "b"(a), "c"(b), "d"(c) : "memory");
    return r;
}

int write(const void *buf, int n)
{
    int done = 0;
    while (done < n) {
        int r = sys(SYS_WRITE, (u32)buf + done, n - done, 0);
        if (r <= 0) return done ? done : r;
        done += r;
    }
    return done;
}

int info(int sysno)
{
    static char buf[2048];
    int n = sys(sysno, (u32)buf, sizeof buf, 0);
    if (n > 0) write(buf, n);
    return n;
}

void printf(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    write(buf, n < (int)sizeof buf ? n : (int)sizeof buf - 1);
}

void puts(const char *s) { write(s, strlen(s)); }

int atoi(const char *s)
{
    int v = 0, neg = *s == '-';
    if (neg) s++;
    while (*s >= '0' && *s <= '9') v = v * 10 + *s++ - '0';
    return neg ? -v : v;
}

static void (*fault_fn)(struct uctx *);

static void fault_entry(struct uctx *c)
{
    fault_fn(c);
    sys(SYS_RESUME, (u32)c, 0, 0);
}

void on_fault(void (*fn)(struct uctx *))
{
    fault_fn = fn;
    sys(SYS_HANDLER, fn ? (u32)fault_entry : 0, 0, 0);
}
