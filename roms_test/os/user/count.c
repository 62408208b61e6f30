/* A compute loop that prints its progress: "count NAME N" runs N rounds,
 * yielding nothing, so only the PIT preempts it. */
#include "ulib.h"

int main(const char *arg)
{
    int rounds = *arg ? atoi(arg) : 5;
    u32 t0 = ticks();
    for (int r = 1; r <= rounds; r++) {
        volatile u32 x = 0;
        for (u32 i = 0; i < 200000; i++) x += i;
        printf("count[%d]: round %d\n", getpid(), r);
    }
    printf("count[%d]: done in %u ticks\n", getpid(), ticks() - t0);
    return 0;
}
