/* Standalone driver for the fuzz target: runs every file named on the command
 * line (directories are walked one level) through LLVMFuzzerTestOneInput, so
 * the target builds and runs without libFuzzer (e.g. under gcc sanitizers).
 * Files whose name starts with "ST_" (tests/regress/) also carry the expected
 * status: "ST_E_JSON.unclosed.bin" must fail with ST_E_JSON, "ST_OK.x.bin" must
 * open. Prints "replay: N passed, M failed". */
#include <safetensors.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static int passed, failed;

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    unsigned char *b = NULL;
    size_t cap = 0, len = 0, r;
    if (!fp) return NULL;
    do {
        if (len == cap) {
            unsigned char *nb = realloc(b, cap ? cap * 2 : 4096);
            if (!nb) { free(b); fclose(fp); return NULL; }
            b = nb;
            cap = cap ? cap * 2 : 4096;
        }
        r = fread(b + len, 1, cap - len, fp);
        len += r;
    } while (r > 0);
    fclose(fp);
    *n = len;
    return b;
}

static int expected_status(const char *base)
{
    int s;
    for (s = 0; s < 64; s++) {
        const char *name = st_status_name(s);
        size_t l = strlen(name);
        if (strncmp(base, name, l) == 0 && base[l] == '.') return s;
    }
    return -1;
}

static void run_file(const char *path)
{
    size_t n = 0;
    unsigned char *b = slurp(path, &n);
    const char *base = strrchr(path, '/');
    int want;
    base = base ? base + 1 : path;
    if (!b) { fprintf(stderr, "replay: cannot read %s\n", path); failed++; return; }
    LLVMFuzzerTestOneInput(b, n); /* crashes abort the run */
    want = strncmp(base, "ST_", 3) == 0 ? expected_status(base) : -2;
    if (want == -1) {
        fprintf(stderr, "replay: %s: unknown status in file name\n", path);
        failed++;
    } else if (want >= 0) {
        st_open_options o = ST_OPEN_OPTIONS_INIT;
        st_file *f = NULL;
        st_error e;
        st_status s = ST_E_INVALID_ARGUMENT;
        if (n >= 3) {
            o.flags = b[0] & (ST_LENIENT_TRAILING_BYTES | ST_LENIENT_NUL_PADDING);
            if (b[0] & 0x80) o.max_header_size = 1 + (((uint64_t)b[1] << 8) | b[2]);
            s = st_open_memory(&f, n > 3 ? b + 3 : NULL, n - 3, &o, &e);
            st_close(f);
        }
        if ((int)s != want) {
            fprintf(stderr, "replay: %s: expected %s, got %s (%s)\n", path, st_status_name(want),
                    st_status_name(s), s == ST_OK ? "" : e.message);
            failed++;
        } else {
            passed++;
        }
    } else {
        passed++;
    }
    free(b);
}

int main(int argc, char **argv)
{
    int i;
    for (i = 1; i < argc; i++) {
        struct stat sb;
        if (stat(argv[i], &sb) == 0 && S_ISDIR(sb.st_mode)) {
            DIR *d = opendir(argv[i]);
            struct dirent *de;
            if (!d) { failed++; continue; }
            while ((de = readdir(d)) != NULL) {
                char path[4096];
                if (de->d_name[0] == '.') continue;
                snprintf(path, sizeof path, "%s/%s", argv[i], de->d_name);
                run_file(path);
            }
            closedir(d);
        } else {
            run_file(argv[i]);
        }
    }
    printf("replay: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
