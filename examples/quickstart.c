/*
 * quickstart - the README's quick start as a program.
 *
 *   quickstart FILE [TENSOR]
 *
 * Opens FILE, lists its tensors, then reads one F32 tensor (TENSOR, or the
 * first F32 tensor with elements): in place when it is aligned, else copied.
 */
#include <safetensors.h>

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    st_file *f;
    st_error err;
    const st_tensor *t = NULL;
    const float *x;
    float *copy = NULL;
    uint64_t i, n;
    st_status s;

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: quickstart FILE [TENSOR]\n");
        return 2;
    }

    /* --- the quick start ------------------------------------------------ */
    if (st_open_path(&f, argv[1], NULL, &err) != ST_OK) {
        fprintf(stderr, "%s: %s\n", argv[1], err.message);
        return 1;
    }
    for (i = 0; i < st_tensor_count(f); i++) {
        const st_tensor *ti = st_tensor_at(f, i);
        printf("%-48s %-5s %llu bytes\n", ti->name, st_dtype_name(ti->dtype),
               (unsigned long long)ti->nbytes);
    }
    /* ------------------------------------------------------------------- */

    if (argc == 3) {
        t = st_tensor_find(f, argv[2]);
        if (!t) {
            fprintf(stderr, "%s: no tensor named '%s'\n", argv[1], argv[2]);
            st_close(f);
            return 1;
        }
    } else {
        for (i = 0; i < st_tensor_count(f) && !t; i++)
            if (st_tensor_at(f, i)->dtype == ST_F32 && st_tensor_at(f, i)->numel > 0)
                t = st_tensor_at(f, i);
        if (!t) {
            printf("no F32 tensor with elements to read\n");
            st_close(f);
            return 0;
        }
    }

    /* Zero copy when the dtype matches and the data is aligned for float. */
    s = st_tensor_as_f32(t, &x);
    if (s == ST_E_MISALIGNED) {
        /* Unpadded files put tensors anywhere: copy the bytes out instead. The
         * bytes are little-endian, which is what float is on this host (a
         * big-endian host gets ST_E_BYTE_ORDER above and is not handled here). */
        copy = (float *)malloc(t->nbytes ? (size_t)t->nbytes : 1);
        if (!copy) {
            fprintf(stderr, "out of memory\n");
            st_close(f);
            return 1;
        }
        s = st_tensor_copy(t, 0, copy, t->nbytes);
        x = copy;
    }
    if (s != ST_OK) {
        fprintf(stderr, "%s: cannot read '%s' as F32: %s\n", argv[1], t->name,
                st_status_message(s));
        free(copy);
        st_close(f);
        return 1;
    }
    n = t->numel < 8 ? t->numel : 8;
    printf("%s (%s):", t->name, copy ? "copied" : "zero copy");
    /* cppcheck-suppress knownConditionTrueFalse ; false positive of cppcheck 2.10:
     * it takes numel <= 0 from the search loop, which only picks numel > 0 */
    for (i = 0; i < n; i++) printf(" %g", (double)x[i]);
    /* cppcheck-suppress knownConditionTrueFalse ; the same false positive */
    printf("%s\n", t->numel > n ? " ..." : "");

    free(copy);
    st_close(f);
    return 0;
}
