/* Processes: ring-3 programs each in its own page directory with its own
 * kernel stack, round-robin on every PIT tick.  A context switch happens only
 * on the way out of a trap: trap() returns the frame to resume.  The kernel
 * itself is not preemptible (interrupt gates keep IF clear inside it); when
 * nothing is runnable the boot context idles in HLT.  A blocking system call
 * backs EIP up over its int 0x80 and is re-executed when woken. */
#include "kernel.h"
#include "arch/priv.h"
#include "syscall.h"

#define NPROC 16
#define KSTACK 8192
#define USTACK_PAGES 4
enum { UNUSED, RUNNABLE, BLOCK_INPUT, BLOCK_WAIT, BLOCK_SLEEP, ZOMBIE };
static const char *const state_names[] = {"unused", "run", "input", "wait", "sleep", "zombie"};

struct proc {
    int pid, state, parent, code, waitfor;
    u32 wake, brk, handler, in_handler;
    int in, out;                     /* standard input/output: -1 the console, else a pipe */
    char outfile[FS_NAME];           /* standard output appends to this file if set */
    u32 *pd;
    struct trapframe *frame;
    char name[16];
    u8 kstack[KSTACK] __attribute__((aligned(16)));
};
static struct proc procs[NPROC];
static int cur = -1;                 /* -1: the idle context */
static struct trapframe *idle_frame;
static int next_pid = 1;
static int foreground;               /* the program the shell waits for: Ctrl-C ends it */

#define NPIPE 8
#define PIPESZ 1024
struct pipe { int readers, writers; u32 head, tail; char buf[PIPESZ]; };
static struct pipe pipes[NPIPE];     /* free when both counts are 0 */
static char filebuf[FS_MAX];

static void io_hold(struct proc *p)
{
    if (p->in >= 0) pipes[p->in].readers++;
    if (p->out >= 0) pipes[p->out].writers++;
}

static void io_release(struct proc *p)
{
    if (p->in >= 0) pipes[p->in].readers--;
    if (p->out >= 0) pipes[p->out].writers--;
    p->in = p->out = -1;
    proc_wakeup_input();             /* a reader may see EOF now, a writer EPIPE */
}

int proc_current(void) { return cur >= 0 ? procs[cur].pid : 0; }

static struct proc *find(int pid)
{
    for (int i = 0; i < NPROC; i++)
        if (procs[i].state != UNUSED && procs[i].pid == pid) return &procs[i];
    return NULL;
}

/* a new address space with program name and its argument: 0, or < 0 */
static int load(const char *name, const char *arg, u32 **pdp, u32 *brk)
{
    const struct prog *pg = progs;
    while (pg->name && strcmp(pg->name, name)) pg++;
    if (!pg->name) return -1;
    u32 *pd = pd_create();
    if (!pd) return -3;
    u32 size = pg->end - pg->start, top = 0;
    for (u32 off = 0; off < size; off += PAGE) {
        u32 pa = page_alloc();
        if (!pa) goto nomem;
        if (pd_map(pd, USER_BASE + off, pa, PTE_U | PTE_W)) { page_free(pa); goto nomem; }
        memcpy((void *)pa, pg->start + off, size - off < PAGE ? size - off : PAGE);
    }
    for (int i = 1; i <= USTACK_PAGES; i++) {
        u32 pa = page_alloc();
        if (!pa) goto nomem;
        if (pd_map(pd, USER_STACK_TOP - i * PAGE, pa, PTE_U | PTE_W)) { page_free(pa); goto nomem; }
        if (i == 1) top = pa + PAGE;
    }
    /* the argument string at the stack top, then (fake return, pointer) for main */
    char *s = (char *)(top - 256);
    u32 n = arg ? strlen(arg) : 0;
    if (n > 255) n = 255;
    memcpy(s, arg ? arg : "", n);
    s[n] = 0;
    u32 *sp = (u32 *)(top - 256 - 8);
    sp[0] = 0;
    sp[1] = USER_STACK_TOP - 256;
    *pdp = pd;
    *brk = USER_BASE + ((size + PAGE - 1) & ~(PAGE - 1));
    return 0;
nomem:
    pd_destroy(pd);
    return -3;
}

static void start_frame(struct trapframe *f)
{
    memset(f, 0, sizeof *f);
    f->ds = f->es = f->fs = f->gs = f->ss = SEL_UDATA;
    f->cs = SEL_UCODE;
    f->eip = USER_BASE;
    f->esp = USER_STACK_TOP - 256 - 8;
    f->eflags = 0x202;
}

static void set_name(struct proc *p, const char *name)
{
    int l = strlen(name) < 15 ? strlen(name) : 15;
    memset(p->name, 0, sizeof p->name);
    memcpy(p->name, name, l);
}

static struct proc *new_slot(int parent)
{
    for (int i = 0; i < NPROC; i++)
        if (procs[i].state == UNUSED) {
            struct proc *p = &procs[i];
            memset(p, 0, sizeof *p - KSTACK);
            p->pid = next_pid++;
            p->parent = parent;
            p->frame = (struct trapframe *)(p->kstack + KSTACK) - 1;
            p->in = p->out = -1;
            return p;
        }
    return NULL;
}

int proc_spawn(const char *name, int parent, const char *arg)
{
    u32 *pd, brk;
    int r = load(name, arg, &pd, &brk);
    if (r) return r;
    struct proc *p = new_slot(parent);
    if (!p) { pd_destroy(pd); return -2; }
    p->pd = pd;
    p->brk = brk;
    set_name(p, name);
    start_frame(p->frame);
    p->state = RUNNABLE;
    return p->pid;
}

/* end a process: its memory goes now, its slot when the parent waits */
static void proc_end(struct proc *p, int code)
{
    p->code = code;
    io_release(p);
    if (priv_read_cr3() == (u32)p->pd) priv_switch_pd(kernel_pd);
    pd_destroy(p->pd);
    p->pd = NULL;
    p->state = ZOMBIE;
    struct proc *par = find(p->parent);
    for (int i = 0; i < NPROC; i++)
        if (procs[i].state != UNUSED && procs[i].parent == p->pid) {
            procs[i].parent = 0;
            if (procs[i].state == ZOMBIE) procs[i].state = UNUSED;
        }
    if (!par || par->state == ZOMBIE) p->state = UNUSED;
    else if (par->state == BLOCK_WAIT && (par->waitfor == p->pid || par->waitfor == -1))
        par->state = RUNNABLE;
    if (p->pid == foreground) foreground = 0;
    if (!p->parent) {                /* the first shell: start another */
        kprintf("%s[%u] ended (%d): starting a new shell\n", p->name, p->pid, code);
        if (proc_spawn("sh", 0, "") < 0) kprintf("cannot start a shell\n");
    }
}

int proc_interrupt(void)
{
    struct proc *p = foreground ? find(foreground) : NULL;
    if (!p || p->state == ZOMBIE) return 0;
    kprintf("^C\n");
    proc_end(p, 130);
    return 1;
}

struct trapframe *proc_interrupted(struct trapframe *f)
{
    if (cur >= 0 && procs[cur].state != RUNNABLE) return schedule(f);
    return f;
}


#define STACK_MAX (1u << 20)
static int user_ok(u32 va, u32 len, int write);

/* map a zero page at va if it is in the heap or stack: 1 done, 0 not there, -1 no memory */
static int demand_zero(struct proc *p, u32 va)
{
    if (!((va >= USER_BASE && va < p->brk) ||
          (va >= USER_STACK_TOP - STACK_MAX && va < USER_STACK_TOP)))
        return 0;
    u32 pa = page_alloc();
    if (pa && !pd_map(p->pd, va & ~(PAGE - 1), pa, PTE_U | PTE_W)) return 1;
    if (pa) page_free(pa);
    return -1;
}

int proc_fault(struct trapframe *f, const char *what)
{
    struct proc *p = &procs[cur];
    u32 cr2 = priv_read_cr2();
    int dz = f->vector != 14 ? 0 : !(f->err & 1) ? demand_zero(p, cr2) :
             (f->err & 2) ? cow_fault(p->pd, cr2) : 0;
    if (dz > 0) return 1;
    if (dz < 0) {
        kprintf("%s[%u]: out of memory\n", p->name, p->pid);
        proc_end(p, 137);
        return 0;
    }
    if (p->handler && !p->in_handler) {              /* the process's own handler */
        struct uctx c = {f->vector, f->err, cr2, f->eip, f->esp, f->eflags, f->eax, f->ebx,
                         f->ecx, f->edx, f->esi, f->edi, f->ebp};
        u32 sp = (f->esp - sizeof c) & ~3u;
        if (user_ok(sp - 8, sizeof c + 8, 1)) {
            memcpy((void *)sp, &c, sizeof c);
            ((u32 *)sp)[-1] = sp;                    /* the argument */
            ((u32 *)sp)[-2] = 0;                     /* no return address */
            f->esp = sp - 8;
            f->eip = p->handler;
            p->in_handler = 1;
            return 1;
        }
    }
    kprintf("%s[%u]: segmentation fault (%s at eip %08x", p->name, p->pid, what, f->eip);
    if (f->vector == 14) kprintf(", address %08x", cr2);
    kprintf(")\n");
    proc_end(p, 139);
    return 0;
}

static int sbrk(struct proc *p, int incr)
{
    u32 old = p->brk, new = old + incr;
    if ((incr > 0 && (new < old || new > USER_STACK_TOP - STACK_MAX)) ||
        (incr < 0 && (new > old || new < USER_BASE)))
        return -1;
    for (u32 a = (new + PAGE - 1) & ~(PAGE - 1); a < old; a += PAGE) {   /* shrinking */
        u32 pte = pd_lookup(p->pd, a);
        if (pte & PTE_P) {
            u32 *e = (u32 *)(p->pd[a >> 22] & ~0xFFFu) + ((a >> 12) & 1023);
            priv_set_pte(e, 0, a);
            page_free(pte & ~0xFFFu);
        }
    }
    p->brk = new;
    return (int)old;
}

static void bench(struct proc *p, u32 op, u32 n)
{
    u32 va = USER_STACK_TOP - PAGE;                  /* the top stack page: always mapped */
    u32 *e = (u32 *)(p->pd[va >> 22] & ~0xFFFu) + ((va >> 12) & 1023);
    for (u32 i = 0; i < n; i++) {
        if (op == BENCH_INOUT) priv_inb(0x61);
        else if (op == BENCH_CR3) { priv_switch_pd(kernel_pd); priv_switch_pd(p->pd); }
        else if (op == BENCH_PTE) priv_set_pte(e, *e ^ PTE_W, va), priv_set_pte(e, *e ^ PTE_W, va);
    }
}

struct trapframe *schedule(struct trapframe *f)
{
    if (cur >= 0) {
        if (procs[cur].state != UNUSED && procs[cur].state != ZOMBIE) procs[cur].frame = f;
    } else
        idle_frame = f;
    int n = -1;
    for (int k = 1; k <= NPROC; k++) {
        int i = (cur + k + NPROC) % NPROC;
        if (procs[i].state == RUNNABLE) { n = i; break; }
    }
    cur = n;
    if (n < 0) {
        priv_switch_pd(kernel_pd);
        return idle_frame;
    }
    priv_set_kernel_stack((u32)(procs[n].kstack + KSTACK));
    if (priv_read_cr3() != (u32)procs[n].pd) priv_switch_pd(procs[n].pd);
    return procs[n].frame;
}

void proc_tick(void)
{
    for (int i = 0; i < NPROC; i++)
        if (procs[i].state == BLOCK_SLEEP && (int)(ticks - procs[i].wake) >= 0)
            procs[i].state = RUNNABLE;
}

void proc_wakeup_input(void)
{
    for (int i = 0; i < NPROC; i++)
        if (procs[i].state == BLOCK_INPUT) procs[i].state = RUNNABLE;
}

/* is [va, va+len) user memory, mapped (and writable if asked)? */
static int user_ok(u32 va, u32 len, int write)
{
    if (va < USER_BASE || va + len < va || va + len > USER_STACK_TOP) return 0;
    for (u32 a = va & ~(PAGE - 1); a < va + len; a += PAGE) {
        u32 pte = pd_lookup(procs[cur].pd, a);
        if ((!(pte & PTE_P) && demand_zero(&procs[cur], a) > 0) ||   /* not touched yet */
            (write && (pte & PTE_COW) && cow_fault(procs[cur].pd, a) > 0))  /* the kernel
                                                            writes past CR0.WP = 0 */
            pte = pd_lookup(procs[cur].pd, a);
        if (!(pte & PTE_P) || !(pte & PTE_U) || (write && !(pte & PTE_W))) return 0;
    }
    return 1;
}

static int user_str(u32 va, char *out, u32 max)
{
    for (u32 i = 0; i < max; i++) {
        if (!user_ok(va + i, 1, 0)) return -1;
        if (!(out[i] = ((char *)va)[i])) return 0;
    }
    return -1;
}

static void ps(struct sbuf *sb)
{
    sbprintf(sb, "  PID  PPID STATE   NAME\n");
    for (int i = 0; i < NPROC; i++)
        if (procs[i].state != UNUSED)
            sbprintf(sb, "%5u %5u %-7s %s\n", procs[i].pid, procs[i].parent,
                    state_names[procs[i].state], procs[i].name);
}

static void block(struct trapframe *f, int state)
{
    procs[cur].state = state;
    f->eip -= 2;                     /* re-execute int 0x80 when woken */
}

struct trapframe *syscall(struct trapframe *f)
{
    if (cur < 0) panic("system call from the idle context");
    struct proc *p = &procs[cur];
    u32 a = f->ebx, b = f->ecx, c = f->edx;
    int r = -1;
    char name[16], arg[256];
    switch (f->eax) {
    case SYS_EXIT: proc_end(p, (int)a); return schedule(f);
    case SYS_WRITE:
        if (!user_ok(a, b, 0)) break;
        if (p->outfile[0]) {                         /* append to the file */
            int n = fs_read(p->outfile, filebuf, sizeof filebuf);
            if (n < 0) n = 0;
            if (n + b > sizeof filebuf) b = sizeof filebuf - n;
            memcpy(filebuf + n, (const char *)a, b);
            r = fs_write(p->outfile, filebuf, n + b) < 0 ? -1 : (int)b;
        } else if (p->out >= 0) {
            struct pipe *q = &pipes[p->out];
            if (!q->readers) break;                  /* nobody will read it */
            u32 room = PIPESZ - (q->head - q->tail);
            if (b && !room) { block(f, BLOCK_INPUT); return schedule(f); }
            if (b > room) b = room;
            for (u32 i = 0; i < b; i++) q->buf[q->head++ % PIPESZ] = ((const char *)a)[i];
            proc_wakeup_input();
            r = b;
        } else {
            console_write((const char *)a, b);
            r = b;
        }
        break;
    case SYS_READ: {
        if (!user_ok(a, b, 1)) break;
        u32 n = 0;
        if (p->in >= 0) {
            struct pipe *q = &pipes[p->in];
            if (b && q->head == q->tail && q->writers) { block(f, BLOCK_INPUT); return schedule(f); }
            while (n < b && q->tail != q->head) ((char *)a)[n++] = q->buf[q->tail++ % PIPESZ];
            if (n) proc_wakeup_input();              /* room for a blocked writer */
            r = n;                                   /* 0: end of file */
            break;
        }
        if (!b) { r = 0; break; }
        int ch = console_getc();
        if (ch < 0) { block(f, BLOCK_INPUT); return schedule(f); }
        while (ch >= 0) {
            ((char *)a)[n++] = (char)ch;
            if (n == b) break;
            ch = console_getc();
        }
        r = n;
        break;
    }
    case SYS_GETPID: r = p->pid; break;
    case SYS_YIELD: f->eax = 0; return schedule(f);
    case SYS_SPAWN: {
        struct spawn_io io = {-1, -1, 0, ""};
        if (user_str(a, name, sizeof name) || (b && user_str(b, arg, sizeof arg))) break;
        if (c) {
            if (!user_ok(c, sizeof io, 0)) break;
            memcpy(&io, (void *)c, sizeof io);
            io.file[FS_NAME - 1] = 0;
            if (io.in < -1 || io.in >= NPIPE || io.out < -1 || io.out >= NPIPE ||
                (io.in >= 0 && !pipes[io.in].readers) || (io.out >= 0 && !pipes[io.out].writers))
                break;
            if (io.file[0] && !io.append && fs_write(io.file, "", 0) < 0) break;
        }
        r = proc_spawn(name, p->pid, b ? arg : "");
        if (r < 0) break;
        struct proc *ch = find(r);
        ch->in = io.in >= 0 ? io.in : p->in;         /* else inherited */
        ch->out = io.out >= 0 ? io.out : io.file[0] ? -1 : p->out;
        memcpy(ch->outfile, io.file[0] || io.out >= 0 ? io.file : p->outfile, FS_NAME);
        io_hold(ch);
        break;
    }
    case SYS_PIPE:
        for (int i = 0; i < NPIPE; i++)
            if (!pipes[i].readers && !pipes[i].writers) {
                memset(&pipes[i], 0, sizeof pipes[i] - PIPESZ);
                pipes[i].readers = pipes[i].writers = 1;     /* the caller's, until PCLOSE */
                r = i;
                break;
            }
        break;
    case SYS_PCLOSE:
        if (a >= NPIPE || !pipes[a].readers || !pipes[a].writers) break;
        pipes[a].readers--;
        pipes[a].writers--;
        proc_wakeup_input();
        r = 0;
        break;
    case SYS_WAIT: {
        struct proc *ch = NULL;
        int any = 0;
        for (int i = 0; i < NPROC; i++) {
            struct proc *q = &procs[i];
            if (q->state == UNUSED || q->parent != p->pid || ((int)a != -1 && q->pid != (int)a))
                continue;
            any = 1;
            if (q->state == ZOMBIE) { ch = q; break; }
        }
        if (!any) break;
        if (!ch && (b & WNOHANG)) break;
        if (!ch) {
            p->waitfor = (int)a;
            if ((int)a > 0 && !p->parent) foreground = (int)a;   /* the first shell waits */
            block(f, BLOCK_WAIT);
            return schedule(f);
        }
        r = ch->code;
        if (c && user_ok(c, 4, 1)) *(u32 *)c = ch->pid;
        ch->state = UNUSED;
        break;
    }
    case SYS_KILL: {
        struct proc *q = find((int)a);
        if (!q || q->state == ZOMBIE) break;
        proc_end(q, 137);
        if (q == p) return schedule(f);
        r = 0;
        break;
    }
    case SYS_PS: case SYS_MEMINFO: case SYS_PROGS: case SYS_FLIST: {
        if (!b || !user_ok(a, b, 1)) break;
        struct sbuf sb = {(char *)a, 0, b};
        sb.p[0] = 0;
        r = 0;
        if (f->eax == SYS_PS) ps(&sb);
        else if (f->eax == SYS_MEMINFO) mm_print(&sb);
        else if (f->eax == SYS_FLIST) r = fs_list(&sb);
        else
            for (const struct prog *pg = progs; pg->name; pg++) sbprintf(&sb, "%s ", pg->name);
        if (!r) r = sb.n;
        break;
    }
    case SYS_TICKS: r = ticks; break;
    case SYS_SLEEP:
        p->wake = ticks + a;
        p->state = BLOCK_SLEEP;
        f->eax = 0;
        return schedule(f);
    case SYS_SBRK: r = sbrk(p, (int)a); break;
    case SYS_HANDLER: p->handler = a; r = 0; break;
    case SYS_RESUME: {
        struct uctx c;
        if (!p->in_handler || !user_ok(a, sizeof c, 0)) break;
        memcpy(&c, (void *)a, sizeof c);
        p->in_handler = 0;
        f->eip = c.eip; f->esp = c.esp;
        f->eflags = (c.eflags & 0xCD5) | 0x202;      /* arithmetic flags, DF; IF on, IOPL 0 */
        f->eax = c.eax; f->ebx = c.ebx; f->ecx = c.ecx; f->edx = c.edx;
        f->esi = c.esi; f->edi = c.edi; f->ebp = c.ebp;
        return f;
    }
    case SYS_TIME: r = time_us(); break;
    case SYS_CPUINFO: r = cpu_features; break;
    case SYS_BENCH:
        if (a < BENCH_INOUT || a > BENCH_PTE) break;
        bench(p, a, b > (1u << 22) ? 1u << 22 : b);
        r = 0;
        break;
    case SYS_FREAD: case SYS_FWRITE: case SYS_FREMOVE: {
        char fname[FS_NAME];
        if (user_str(a, fname, sizeof fname)) break;
        if (f->eax == SYS_FREMOVE) r = fs_remove(fname);
        else if (f->eax == SYS_FREAD) r = user_ok(b, c, 1) ? fs_read(fname, (void *)b, c) : -1;
        else r = user_ok(b, c, 0) ? fs_write(fname, (const void *)b, c) : -1;
        break;
    }
    case SYS_FORK: {
        struct proc *c = new_slot(p->pid);
        if (!c) break;
        if (!(c->pd = pd_fork(p->pd))) { c->state = UNUSED; break; }
        c->brk = p->brk;
        c->handler = p->handler;
        c->in_handler = p->in_handler;
        c->in = p->in;
        c->out = p->out;
        memcpy(c->outfile, p->outfile, FS_NAME);
        io_hold(c);
        memcpy(c->name, p->name, sizeof c->name);
        *c->frame = *f;
        c->frame->eax = 0;
        c->state = RUNNABLE;
        r = c->pid;
        break;
    }
    case SYS_EXEC: {
        u32 *pd, brk;
        if (user_str(a, name, sizeof name) || (b && user_str(b, arg, sizeof arg))) break;
        if (load(name, b ? arg : "", &pd, &brk)) break;
        priv_switch_pd(pd);
        pd_destroy(p->pd);
        p->pd = pd;
        p->brk = brk;
        p->handler = p->in_handler = 0;
        set_name(p, name);
        start_frame(f);                          /* f is the frame at the stack top */
        return f;
    }
    case SYS_KFAULT:                 /* debugging aid: a kernel-mode page fault */
        kprintf("kfault: the kernel reads address %08x\n", a);
        r = *(volatile u32 *)a;
        break;
    }
    f->eax = (u32)r;
    return f;
}
