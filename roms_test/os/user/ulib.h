/* The user programs' library: system calls and formatted output. */
#ifndef ULIB_H
#define ULIB_H
#include "../kernel/kernel.h"
#include "../kernel/syscall.h"
int sys(u32 n, u32 a, u32 b, u32 c);
#define exit(c) sys(SYS_EXIT, (c), 0, 0)
int write(const void *buf, int n);    /* all of it (a pipe may take it in parts) */
#define read(b, n) sys(SYS_READ, (u32)(b), (n), 0)
#define getpid() sys(SYS_GETPID, 0, 0, 0)
#define yield() sys(SYS_YIELD, 0, 0, 0)
#define spawn(name, arg) sys(SYS_SPAWN, (u32)(name), (u32)(arg), 0)
#define spawn_io(name, arg, io) sys(SYS_SPAWN, (u32)(name), (u32)(arg), (u32)(io))
#define pipe() sys(SYS_PIPE, 0, 0, 0)
#define pclose(p) sys(SYS_PCLOSE, (p), 0, 0)
#define wait(pid, flags, pidp) sys(SYS_WAIT, (pid), (flags), (u32)(pidp))
#define kill(pid) sys(SYS_KILL, (pid), 0, 0)
#define ticks() ((u32)sys(SYS_TICKS, 0, 0, 0))
#define sleep(t) sys(SYS_SLEEP, (t), 0, 0)
#define sbrk(n) ((void *)sys(SYS_SBRK, (u32)(n), 0, 0))
#define time_us() ((u32)sys(SYS_TIME, 0, 0, 0))
/* fn gets the fault's registers, may change them; returning resumes there */
void on_fault(void (*fn)(struct uctx *));
#define fread(name, buf, max) sys(SYS_FREAD, (u32)(name), (u32)(buf), (max))
#define fwrite(name, buf, len) sys(SYS_FWRITE, (u32)(name), (u32)(buf), (len))
#define fremove(name) sys(SYS_FREMOVE, (u32)(name), 0, 0)
#define fork() sys(SYS_FORK, 0, 0, 0)
#define exec(name, arg) sys(SYS_EXEC, (u32)(name), (u32)(arg), 0)
int info(int sysno);                  /* SYS_PS/MEMINFO/PROGS/FLIST's text to stdout */
void printf(const char *fmt, ...);
void puts(const char *s);
int atoi(const char *s);
#endif
