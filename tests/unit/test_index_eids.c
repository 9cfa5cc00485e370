/* test_index_eids.c - the coding of the base's entry numbers ('E' blob,
 * index format 6, src/lib/index_eids.c): every slot and every run read
 * back against the plain array it was made from (runs found by a linear
 * scan), and every one-bit flip of a coded blob either refused by its
 * checks or seen as other numbers (the coding is canonical); reads of the
 * damaged blobs stay inside them (the ASan build). */
#include <stdlib.h>
#include <string.h>

#include "index_internal.h"
#include "tap.h"

static uint64_t rng_state = 88172645463325252ull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Patterns of ascending numbers below 2^32. */
static size_t make(int kind, size_t n, uint64_t *e)
{
    uint64_t v = 1 + rnd() % 1000;
    for (size_t i = 0; i < n; i++) {
        switch (kind) {
        case 0: v += i ? 1 : 0; break;                                  /* consecutive */
        case 1: v += i && rnd() % 4 ? (rnd() % 3 ? 1 : 0) : 0; break;   /* variants */
        case 2: v += i ? rnd() % 5000 : 0; break;                       /* removals */
        case 3: v += i && rnd() % 50 == 0 ? rnd() % 100000000 : (i ? 1 : 0); break; /* gaps */
        case 4: break;                                                  /* one video */
        default: v = 0xffffffffu - (n - i) / 3; break;                  /* the top */
        }
        if (v > 0xffffffffu)
            v = 0xffffffffu;
        e[i] = v;
    }
    return n;
}

/* Linear reference of a run. */
static size_t ref_run(const uint64_t *e, size_t n, uint64_t eid, size_t *first)
{
    size_t i = 0;
    while (i < n && e[i] < eid)
        i++;
    *first = i;
    size_t c = 0;
    while (i + c < n && e[i + c] == eid)
        c++;
    return c;
}

static int same_numbers(const void *blob, const uint64_t *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (idx_base_eid(blob, i) != e[i])
            return 0;
    return 1;
}

static void test_round_trips(void)
{
    static const size_t sizes[] = { 1, 2, 63, 64, 65, 127, 128, 129, 1000, 4099 };
    for (int kind = 0; kind < 6; kind++) {
        for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
            size_t n = sizes[si];
            uint64_t *e = malloc(n * sizeof *e);
            make(kind, n, e);
            size_t bytes = idx_eids_bytes(e, n);
            uint8_t *b = malloc(bytes);
            memset(b, 0xa5, bytes);
            idx_eids_encode(e, n, b);
            char why[160] = "";
            int ok = idx_eids_size_ok(b, bytes, n) && !idx_eids_size_ok(b, bytes + 8, n) &&
                     !idx_eids_size_ok(b, bytes - 8, n) && !idx_eids_size_ok(b, bytes, n + 1) &&
                     idx_eids_check(b, n, why, sizeof why) == 0;
            OK(ok, "kind %d, %zu numbers: %zu bytes, sizes and coding checked %s", kind, n,
               bytes, why);
            OK(same_numbers(b, e, n), "kind %d, %zu numbers: each slot's number", kind, n);
            size_t bad = 0;
            for (size_t i = 0; i < n + 3; i++) {
                uint64_t eid = i < n ? e[i] : i == n ? 0 : i == n + 1 ? e[n - 1] + 1 : e[0] - 1;
                if (i < n && i && rnd() % 2)
                    eid = e[i] - 1; /* often absent */
                size_t f1, f2, c1 = idx_base_run(b, n, eid, &f1), c2 = ref_run(e, n, eid, &f2);
                if (c1 != c2 || (c1 && f1 != f2))
                    bad++;
            }
            IS_INT(bad, 0, "kind %d, %zu numbers: runs as a linear scan finds them", kind, n);
            free(b);
            free(e);
        }
    }
}

/* Widths: consecutive numbers take 6 bits a slot, one entry's slots 0. */
static void test_sizes(void)
{
    enum { N = 64000 };
    uint64_t *e = malloc(N * sizeof *e);
    make(0, N, e);
    size_t bytes = idx_eids_bytes(e, N);
    OK(bytes == 8 + 8 * (N / 64 + 1) + 8 * 6 * (N / 64), "consecutive: %zu bytes (%.3f a slot)",
       bytes, (double)bytes / N);
    make(4, N, e);
    bytes = idx_eids_bytes(e, N);
    OK(bytes == 8 + 8 * (N / 64 + 1), "one video: %zu bytes", bytes);
    free(e);
}

static void test_flips(void)
{
    enum { N = 300 };
    for (int kind = 0; kind < 6; kind++) {
        uint64_t e[N];
        make(kind, N, e);
        size_t bytes = idx_eids_bytes(e, N), silent = 0, tried = 0;
        uint8_t *b = malloc(bytes), *c = malloc(bytes);
        idx_eids_encode(e, N, b);
        for (size_t bit = 0; bit < 8 * bytes; bit++) {
            memcpy(c, b, bytes);
            c[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            tried++;
            char why[160];
            if (!idx_eids_size_ok(c, bytes, N) || idx_eids_check(c, N, why, sizeof why))
                continue;
            /* accepted: must read as other numbers (and stay inside) */
            if (same_numbers(c, e, N))
                silent++;
            size_t f;
            (void)idx_base_run(c, N, e[N / 2], &f);
        }
        IS_INT(silent, 0, "kind %d: every one of %zu one-bit flips refused or changes numbers",
               kind, tried);
        free(b);
        free(c);
    }
}

int main(void)
{
    test_round_trips();
    test_sizes();
    test_flips();
    return tap_done();
}
