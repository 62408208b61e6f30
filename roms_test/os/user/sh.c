/* The shell: reads a line (echoing, with backspace), runs a built-in or a
 * program; "prog args &" runs it in the background. */
#include "ulib.h"

static char line[128];
static char file[FS_MAX];

/* echo TEXT > FILE, echo TEXT >> FILE */
static void echo(char *text)
{
    char *gt = text;
    while (*gt && *gt != '>') gt++;
    if (!*gt) { printf("%s\n", text); return; }
    int append = gt[1] == '>';
    char *name = gt + 1 + append;
    while (*name == ' ') name++;
    char *e = gt;
    while (e > text && e[-1] == ' ') e--;
    *e = 0;
    int n = 0;
    if (append && (n = fread(name, file, sizeof file)) < 0) n = 0;
    int len = strlen(text);
    if (!*name || n + len + 1 > (int)sizeof file) { puts("echo: cannot write there\n"); return; }
    memcpy(file + n, text, len);
    file[n + len] = '\n';
    if (fwrite(name, file, n + len + 1) < 0) printf("echo: cannot write %s\n", name);
}

static int readline(void)
{
    static char buf[64];
    static int got, i;                  /* what is left after the last line */
    int n = 0;
    for (;; got = read(buf, sizeof buf), i = 0) {
        while (i < got) {
            char c = buf[i++];
            if (c == '\n') { write("\n", 1); line[n] = 0; return n; }
            if (c == '\b') { if (n) { n--; write("\b \b", 3); } continue; }
            if ((u8)c < ' ' || n == sizeof line - 1) continue;
            line[n++] = c;
            write(&c, 1);
        }
    }
}

static const char *spawn_error(int e)
{
    return e == -2 ? "too many processes" : e == -3 ? "out of memory" : "command not found";
}

static int strchr_(const char *s, char c)
{
    for (; *s; s++)
        if (*s == c) return 1;
    return 0;
}

static char *trim(char *s)
{
    while (*s == ' ') s++;
    int n = strlen(s);
    while (n && s[n - 1] == ' ') s[--n] = 0;
    return s;
}

/* PROG [ARG] | PROG [ARG] ... [> FILE | >> FILE]: programs joined by pipes */
static void pipeline(char *cmdline)
{
    char *stage[4];
    int n = 0;
    struct spawn_io io[4];
    char *gt = cmdline;
    while (*gt && *gt != '>') gt++;
    int redirect = *gt == '>', append = redirect && gt[1] == '>';
    char *file = redirect ? trim(gt + 1 + append) : "";
    *gt = 0;
    for (char *p = cmdline;; p++) {
        char *start = p;
        while (*p && *p != '|') p++;
        int end = !*p;
        *p = 0;
        if (n == 4) { puts("sh: at most 4 programs in a pipeline\n"); return; }
        stage[n++] = trim(start);
        if (end) break;
    }
    if (redirect && (!*file || strchr_(file, '>') || strchr_(file, '|'))) {
        puts("sh: one file name after > or >>\n");
        return;
    }
    for (int i = 0; i < n; i++) {
        if (!*stage[i]) { puts("sh: empty command in a pipeline\n"); return; }
        io[i].in = io[i].out = -1;
        io[i].append = 0;
        io[i].file[0] = 0;
    }
    if (*file) {
        if (strlen(file) >= sizeof io[0].file) { puts("sh: file name too long\n"); return; }
        memcpy(io[n - 1].file, file, strlen(file) + 1);
        io[n - 1].append = append;
    }
    int pipes[3], pids[4], np = 0;
    for (int i = 0; i + 1 < n; i++) {
        if ((pipes[i] = pipe()) < 0) { puts("sh: no free pipe\n"); n = i + 1; break; }
        np++;
        io[i].out = io[i + 1].in = pipes[i];
    }
    for (int i = 0; i < n; i++) {
        char *arg = stage[i];
        while (*arg && *arg != ' ') arg++;
        if (*arg) *arg++ = 0;
        pids[i] = spawn_io(stage[i], trim(arg), &io[i]);
        if (pids[i] < 0) printf("%s: %s\n", stage[i], spawn_error(pids[i]));
    }
    for (int i = 0; i < np; i++) pclose(pipes[i]);
    for (int i = 0; i < n; i++)
        if (pids[i] > 0) {
            int code = wait(pids[i], 0, 0);
            if (code) printf("[%s exit %d]\n", stage[i], code);
        }
}

static void help(void)
{
    puts("built-ins: help echo [> FILE] ls cat rm ps kill PID mem ticks progs kfault ADDR exit\n"
         "PROG [ARG] [| PROG [ARG]]... [> FILE | >> FILE]: programs and pipes\n"
         "programs (run with NAME [ARG] [&]): ");
    info(SYS_PROGS);
    puts("\n");
}

int main(const char *arg)
{
    (void)arg;
    printf("emu-os shell, pid %d; type help\n", getpid());
    for (;;) {
        int pid, code;
        while (pid = 0, code = wait(-1, WNOHANG, &pid), pid)
            printf("[%d] done, exit %d\n", pid, code);
        puts("$ ");
        readline();
        char *cmd = line;
        while (*cmd == ' ') cmd++;
        if (!*cmd) continue;
        int n = strlen(cmd);
        while (n && cmd[n - 1] == ' ') cmd[--n] = 0;
        int bg = n && cmd[n - 1] == '&';
        if (bg) { cmd[--n] = 0; while (n && cmd[n - 1] == ' ') cmd[--n] = 0; }
        int special = 0;
        for (char *p = cmd; *p; p++) special |= *p == '|' || *p == '>';
        if (special && !(strncmp(cmd, "echo ", 5) == 0 && !strchr_(cmd, '|'))) {
            pipeline(cmd);
            continue;
        }
        char *rest = cmd;
        while (*rest && *rest != ' ') rest++;
        if (*rest) *rest++ = 0;
        while (*rest == ' ') rest++;
        if (!strcmp(cmd, "help")) help();
        else if (!strcmp(cmd, "echo")) echo(rest);
        else if (!strcmp(cmd, "ls")) { if (info(SYS_FLIST) < 0) puts("ls: no file system\n"); }
        else if (!strcmp(cmd, "cat")) {
            int n = fread(rest, file, sizeof file);
            if (n < 0) printf("cat: %s: no such file\n", rest);
            else write(file, n);
        } else if (!strcmp(cmd, "rm")) {
            if (fremove(rest) < 0) printf("rm: %s: no such file\n", rest);
        }
        else if (!strcmp(cmd, "ps")) info(SYS_PS);
        else if (!strcmp(cmd, "mem")) info(SYS_MEMINFO);
        else if (!strcmp(cmd, "ticks")) printf("%u\n", ticks());
        else if (!strcmp(cmd, "progs")) { info(SYS_PROGS); puts("\n"); }
        else if (!strcmp(cmd, "exit")) return 0;
        else if (!strcmp(cmd, "kill")) {
            if (kill(atoi(rest)) < 0) printf("kill: no process %s\n", rest);
        } else if (!strcmp(cmd, "kfault")) {
            u32 a = 0;
            for (char *p = rest; *p; p++) {
                int d = *p >= '0' && *p <= '9' ? *p - '0' : (*p | 32) >= 'a' && (*p | 32) <= 'f' ? (*p | 32) - 'a' + 10 : -1;
                if (d < 0) break;
                a = a * 16 + d;
            }
            sys(SYS_KFAULT, a ? a : 0xFFFFF000u, 0, 0);
        } else {
            pid = spawn(cmd, rest);
            if (pid < 0) { printf("%s: %s\n", cmd, spawn_error(pid)); continue; }
            if (bg) { printf("[%d]\n", pid); continue; }
            code = wait(pid, 0, 0);
            if (code) printf("[exit %d]\n", code);
        }
    }
}
