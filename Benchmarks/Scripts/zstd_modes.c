/* How fast libzstd compresses values one at a time, as a store compresses each value alone,
   with and without literal compression and with and without zstd's worker threads.
   The values have the shape of the peer benchmark's rows 3 and 5: 32-byte runs of text
   between 32 random bytes. Used by tools/bench-zstd (docs/performance.md).

   zstd_modes VALUE_BYTES TOTAL_BYTES  prints one line per mode: the median of three passes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zstd.h>
#include <zdict.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static uint64_t next(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: zstd_modes VALUE_BYTES TOTAL_BYTES\n"); return 2; }
    size_t size = strtoull(argv[1], NULL, 10), total = strtoull(argv[2], NULL, 10);
    if (size == 0 || total < size) { fprintf(stderr, "zstd_modes: need 0 < VALUE_BYTES <= TOTAL_BYTES\n"); return 2; }
    size_t count = total / size;
    static const char phrase[] = "\"status\": \"ok\", \"user_id\": 1042, \"region\": \"eu-west\", \"tier\": \"gold\", ";
    size_t plen = sizeof phrase - 1;
    unsigned char *in = malloc(count * size), *out = malloc(ZSTD_compressBound(size));
    if (!in || !out) { fprintf(stderr, "zstd_modes: out of memory\n"); return 1; }
    uint64_t rng = 2;
    for (size_t v = 0; v < count; v++) {
        size_t text = next(&rng) % plen;
        for (size_t j = 0; j < size; j++)
            in[v * size + j] = (j / 32) % 2 == 0 ? (unsigned char)phrase[++text % plen] : (unsigned char)next(&rng);
    }
    static const int modes[][4] = { /* level, workers, raw literals, dictionary */
        {3, 0, 0, 0}, {3, 0, 1, 0}, {2, 0, 1, 0}, {1, 0, 0, 0}, {1, 0, 1, 0}, {3, 2, 1, 0}, {1, 2, 0, 0}, {1, 2, 1, 0},
        {3, 0, 1, 1}, {1, 0, 1, 1}, {-1, 0, 1, 0}, {-3, 0, 1, 0}, {-3, 0, 1, 1},
    };
    /* For small values, a 16 KiB dictionary trained on up to 1,000 of them: the dictionary
       modes ask what a store-trained dictionary would buy in speed and size. */
    size_t samples = count < 1000 ? count : 1000, dictSize = 0;
    unsigned char *dict = malloc(16 << 10);
    size_t *sampleSizes = malloc(samples * sizeof *sampleSizes);
    if (!dict || !sampleSizes) { fprintf(stderr, "zstd_modes: out of memory\n"); return 1; }
    if (size <= (64 << 10)) {
        for (size_t i = 0; i < samples; i++) sampleSizes[i] = size;
        size_t n = ZDICT_trainFromBuffer(dict, 16 << 10, in, sampleSizes, (unsigned)samples);
        if (!ZDICT_isError(n)) dictSize = n;
    }
    printf("%zu values of %zu bytes; median of 3 passes\n", count, size);
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        if (modes[m][3] && dictSize == 0) continue;
        ZSTD_CCtx *c = ZSTD_createCCtx();
        ZSTD_CDict *cdict = modes[m][3] ? ZSTD_createCDict(dict, dictSize, modes[m][0]) : NULL;
        ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, modes[m][0]);
        if (modes[m][1] && (ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_nbWorkers, modes[m][1]))
                            || ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_jobSize, 512 << 10)))) {
            printf("level %d, %d workers: not supported by this libzstd\n", modes[m][0], modes[m][1]);
            ZSTD_freeCCtx(c);
            continue;
        }
        if (modes[m][2]) ZSTD_CCtx_setParameter(c, ZSTD_c_experimentalParam5, 2); /* ZSTD_ps_disable */
        double times[3];
        size_t stored = 0;
        for (int pass = 0; pass < 3; pass++) {
            stored = 0;
            double start = now();
            for (size_t v = 0; v < count; v++) {
                if (cdict) ZSTD_CCtx_refCDict(c, cdict);
                size_t n = ZSTD_compress2(c, out, ZSTD_compressBound(size), in + v * size, size);
                if (ZSTD_isError(n)) { fprintf(stderr, "zstd_modes: %s\n", ZSTD_getErrorName(n)); return 1; }
                stored += n;
            }
            times[pass] = now() - start;
        }
        qsort(times, 3, sizeof times[0], compare);
        double t = times[1];
        printf("level %d, %s, literals %-5s%s  %7.1f MB/s  %8.2f us/value  ratio %.3f\n", modes[m][0],
               modes[m][1] ? "2 workers " : "one thread", modes[m][2] ? "raw" : "coded", cdict ? ", dictionary" : "",
               (double)(count * size) / 1e6 / t, t / (double)count * 1e6, (double)(count * size) / (double)stored);
        ZSTD_freeCDict(cdict);
        ZSTD_freeCCtx(c);
    }
    free(dict);
    free(sampleSizes);
    free(in);
    free(out);
    return 0;
}
