/* The few C library functions the kernel uses (also linked into user programs). */
#include "kernel.h"

void *memset(void *d, int c, size_t n)
{
    u32 v = (u8)c * 0x01010101u;
    void *p = d;
    size_t w = n / 4;
    __asm__ volatile("rep stosl" : "+D"(p), "+c"(w) : "a"(v) : "memory");
    w = n & 3;
    __asm__ volatile("rep stosb" : "+D"(p), "+c"(w) : "a"(v) : "memory");
    return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
    void *p = d;
    size_t w = n / 4;
    __asm__ volatile("rep movsl" : "+D"(p), "+S"(s), "+c"(w) : : "memory");
    w = n & 3;
    __asm__ volatile("rep movsb" : "+D"(p), "+S"(s), "+c"(w) : : "memory");
    return d;
}

void *memmove(void *d, const void *s, size_t n)
{
    u8 *p = d;
    const u8 *q = s;
    if (p < q) while (n--) *p++ = *q++;
    else while (n--) p[n] = q[n];
    return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const u8 *p = a, *q = b;
    for (; n; n--, p++, q++)
        if (*p != *q) return *p - *q;
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b) a++, b++;
    return (u8)*a - (u8)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++)
        if (*a != *b || !*a) return (u8)*a - (u8)*b;
    return 0;
}

/* %d %u %x %s %c %p %%, with optional - or 0 flag and width */
int vsnprintf(char *buf, size_t n, const char *fmt, va_list ap)
{
    size_t o = 0;
#define PUT(c) do { if (o + 1 < n) buf[o] = (c); o++; } while (0)
    for (; *fmt; fmt++) {
        if (*fmt != '%') { PUT(*fmt); continue; }
        fmt++;
        char pad = ' ';
        int width = 0, left = 0;
        if (*fmt == '-') left = 1, fmt++;
        if (*fmt == '0') pad = '0', fmt++;
        while (*fmt >= '0' && *fmt <= '9') width = width * 10 + *fmt++ - '0';
        char tmp[12];
        int len = 0, neg = 0;
        const char *str = tmp;
        switch (*fmt) {
        case 'd': case 'u': case 'x': case 'p': {
            u32 v = va_arg(ap, u32);
            u32 base = (*fmt == 'x' || *fmt == 'p') ? 16 : 10;
            if (*fmt == 'd' && (int)v < 0) neg = 1, v = -v;
            do tmp[11 - len++] = "0123456789abcdef"[v % base]; while (v /= base);
            str = tmp + 12 - len;
            break;
        }
        case 's': str = va_arg(ap, const char *); if (!str) str = "(null)"; len = strlen(str); break;
        case 'c': tmp[0] = (char)va_arg(ap, int); len = 1; break;
        case '%': tmp[0] = '%'; len = 1; break;
        default: tmp[0] = '?'; len = 1; if (!*fmt) fmt--; break;
        }
        if (neg && pad == '0') PUT('-');
        for (int i = len + neg; !left && i < width; i++) PUT(pad);
        if (neg && pad != '0') PUT('-');
        for (int i = 0; i < len; i++) PUT(str[i]);
        for (int i = len + neg; left && i < width; i++) PUT(' ');
    }
    if (n) buf[o < n ? o : n - 1] = 0;
    return o;
#undef PUT
}

void sbprintf(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->n, b->max - b->n, fmt, ap);
    va_end(ap);
    b->n += (u32)n < b->max - b->n ? (u32)n : b->max - b->n - (b->max > b->n);
}

int snprintf(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    return r;
}
