/* echo TEXT: the text and a newline to standard output. */
#include "ulib.h"

int main(const char *arg)
{
    printf("%s\n", arg);
    return 0;
}
