/* upper: standard input to standard output in capitals. */
#include "ulib.h"

int main(const char *arg)
{
    char buf[256];
    int n;
    while ((n = read(buf, sizeof buf)) > 0) {
        for (int i = 0; i < n; i++)
            if (buf[i] >= 'a' && buf[i] <= 'z') buf[i] -= 32;
        write(buf, n);
    }
    return 0;
}
