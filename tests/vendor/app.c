/* A consumer of a vendored libsafetensors (tests/check_vendor.sh): opens FILE,
 * prints the library version and each named tensor's dtype, shape and values
 * (converted to float), one line per tensor. Public API only.
 * Usage: app FILE NAME... */
#include <safetensors.h>

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    st_file *f;
    st_error err;
    int i, rc = 0;
    if (argc < 3) {
        fprintf(stderr, "usage: app FILE NAME...\n");
        return 2;
    }
    if (st_open_path(&f, argv[1], NULL, &err) != ST_OK) {
        fprintf(stderr, "app: %s: %s\n", argv[1], err.message);
        return 1;
    }
    printf("libsafetensors %s, %u tensors\n", st_version_string(), (unsigned)st_tensor_count(f));
    for (i = 2; i < argc; i++) {
        const st_tensor *t = st_tensor_find(f, argv[i]);
        float *v;
        uint64_t k;
        if (t == NULL) {
            fprintf(stderr, "app: no tensor %s\n", argv[i]);
            rc = 1;
            continue;
        }
        v = malloc(t->numel ? (size_t)t->numel * sizeof *v : 1);
        if (v == NULL || st_tensor_to_f32(t, 0, t->numel, v) != ST_OK) {
            fprintf(stderr, "app: %s: cannot convert\n", argv[i]);
            free(v);
            rc = 1;
            continue;
        }
        printf("%s %s [", t->name, st_dtype_name(t->dtype));
        for (k = 0; k < t->rank; k++) printf(k ? ",%llu" : "%llu", (unsigned long long)t->shape[k]);
        printf("]");
        for (k = 0; k < t->numel; k++) printf(" %g", (double)v[k]);
        printf("\n");
        free(v);
    }
    st_close(f);
    return rc;
}
