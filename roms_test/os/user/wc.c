/* wc: lines, words and bytes of standard input. */
#include "ulib.h"

int main(const char *arg)
{
    char buf[256];
    u32 lines = 0, words = 0, bytes = 0;
    int n, inword = 0;
    while ((n = read(buf, sizeof buf)) > 0)
        for (int i = 0; i < n; i++) {
            char c = buf[i];
            bytes++;
            lines += c == '\n';
            int space = c == ' ' || c == '\n' || c == '\t';
            words += !space && !inword;
            inword = !space;
        }
    printf("%u %u %u\n", lines, words, bytes);
    return 0;
}
