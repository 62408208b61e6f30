/* fork, copy-on-write and exec: four children change a shared variable (each
 * gets its own copy), one has the kernel write into a copy-on-write buffer,
 * the last execs hello; the parent's copies stay as they were. */
#include "ulib.h"

static int shared = 100;
static char buf[64] = "parent's buffer";

int main(const char *arg)
{
    int codes = 0;
    for (int i = 0; i < 4; i++) {
        int pid = fork();
        if (pid < 0) { printf("forktest: fork failed\n"); return 1; }
        if (pid == 0) {
            shared += i + 1;
            printf("forktest child %d: shared=%d\n", i, shared);
            if (i == 2) {
                int n = fread("readme", buf, 7);            /* a kernel write to a COW page */
                buf[n > 0 ? n : 0] = 0;
                printf("forktest child 2: buf='%s'\n", buf);
            }
            if (i == 3) exec("hello", "from exec");
            return i + 1;
        }
        codes = codes * 10 + wait(pid, 0, 0);              /* in order, for the output */
    }
    printf("forktest parent: shared=%d buf='%s' exit codes %d\n", shared, buf, codes);
    return 0;
}
