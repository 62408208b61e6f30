/* System call numbers (int 0x80: EAX = number, EBX, ECX, EDX = arguments, EAX = result) */
#define SYS_EXIT 0      /* (code) */
#define SYS_WRITE 1     /* (buf, len) to the consoles */
#define SYS_READ 2      /* (buf, len): blocks until a byte is typed; returns bytes read */
#define SYS_GETPID 3
#define SYS_YIELD 4
#define SYS_SPAWN 5     /* (name, arg string, struct spawn_io * or 0) -> pid, < 0 on error */
#define SYS_WAIT 6      /* (pid or -1, flags, &pid) -> exit code; -1, pid untouched: none */
#define WNOHANG 1       /* SYS_WAIT: do not block */
#define SYS_KILL 7      /* (pid) */
#define SYS_PS 8        /* (buf, max) -> length: the process table as text */
#define SYS_TICKS 9     /* PIT ticks since boot (HZ per second) */
#define SYS_SLEEP 10    /* (ticks) */
#define SYS_MEMINFO 11  /* (buf, max) -> length: E820 map and free pages */
#define SYS_PROGS 12    /* (buf, max) -> length: the built-in programs */
#define SYS_KFAULT 13   /* (address): the kernel reads it (tests the panic path) */
#define SYS_SBRK 14     /* (increment) -> old break; heap pages are demand-zero */
#define SYS_HANDLER 15  /* (function or 0): where the process's faults go (struct uctx *) */
#define SYS_RESUME 16   /* (struct uctx *): return from that handler */
#define SYS_TIME 17     /* microseconds since boot */
#define SYS_BENCH 18    /* (op, n): n kernel-side operations (BENCH_*) */
#define BENCH_INOUT 1   /* IN from port 61h */
#define BENCH_CR3 2     /* MOV CR3 (kernel directory, then the process's) */
#define BENCH_PTE 3     /* rewrite a user PTE (and INVLPG) */
#define SYS_FREAD 19    /* (name, buf, max) -> bytes: a whole file */
#define SYS_FWRITE 20   /* (name, buf, len): create or replace a file */
#define SYS_FREMOVE 21  /* (name) */
#define SYS_FLIST 22    /* (buf, max) -> length: the directory; -1 without a file system */
#define SYS_FORK 23     /* -> child pid in the parent, 0 in the child (copy-on-write) */
#define SYS_EXEC 24     /* (name, arg string): replace the program; returns only on error */
#define SYS_PIPE 25     /* -> pipe number; the caller holds both ends until SYS_PCLOSE */
#define SYS_PCLOSE 26   /* (pipe): drop the caller's ends (after spawning its users) */
#define SYS_CPUINFO 27  /* -> bit 0 INVLPG, 1 CPUID, 2 TSC (RDTSC usable) */

/* a spawned program's standard input and output (-1: the parent's) */
struct spawn_io { int in, out, append; char file[24]; };   /* file: output to it */

/* what a fault handler gets (on the user stack) and may change */
struct uctx {
    unsigned vector, err, cr2;
    unsigned eip, esp, eflags, eax, ebx, ecx, edx, esi, edi, ebp;
};
