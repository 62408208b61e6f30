/* Does nothing, successfully (the fork/exec loop's child). */
int main(const char *arg) { return 0; }
