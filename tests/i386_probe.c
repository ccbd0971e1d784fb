/* make check-m32 builds this with gcc -m32 and runs it to learn whether the
 * kernel runs i386 programs or they need qemu-i386 (tests/i386_runner.sh). */
#include <stdio.h>

int main(void)
{
    /* a 64-bit build by mistake must not pass for an i386 one */
    if (sizeof(void *) != 4) {
        puts("not an i386 program");
        return 1;
    }
    puts("i386 ok");
    return 0;
}
