/* mih.h - multi-index hashing: exact Hamming radius search over an array
 * of PDQ hashes.
 *
 * Layout. The 256 bits are cut into MIH_CHUNKS = 8 chunks of 32 bits (the
 * 32-bit halves of the four 64-bit words), each chunk into two 16-bit
 * halves: 16 tables in all. Table 2c + e maps each value of half e of
 * chunk c to the slots (positions in the hash array) having that value, in
 * counting-sort form, slots ascending within a value (a "bucket"). A table
 * is a directory and an area:
 *   - directory, MIH_DIR_BYTES: 65537 pairs u32 (offset, zeros): bucket v
 *     holds the postings offsets[v] .. offsets[v+1], and zeros[v] is the
 *     number of zero bits of the high-part vector before bucket v;
 *   - area, mih_area_bytes(n, dir): for each bucket [lo, hi) at byte 4lo,
 *     its partners u16[hi - lo] (the other half of the same chunk), then
 *     its lows u16[hi - lo] (slot & 0xffff), so that a probe reads one
 *     run; then, 8-byte aligned, the
 *     slots' high parts (slot >> 16) as a unary bit vector of u64 words
 *     (bit k is bit k % 64 of word k / 64): for each posting in bucket
 *     order, (high - the previous posting's high in its bucket, from 0)
 *     zero bits then a one bit. Bucket v's bits start at offsets[v] +
 *     zeros[v]; its posting j has high part (position of its (j+1)-th one
 *     bit from that start) - j. Bits past the last bucket are 0.
 * About 4.25 bytes per posting: the search filters a bucket on the
 * partners alone, a sequential read of 2 bytes per posting, and reads the
 * low part, the high part (popcounts over the bucket's few words) and the
 * hash only for the few that pass.
 *
 * Search: the generalised pigeonhole principle, applied twice. Give chunk
 * c a threshold T_c >= -1 with sum(T_c + 1) >= r + 1: any hash within r of
 * the query is within T_c of it on some chunk c (else its distance would
 * be at least sum(T_c + 1) > r). Within that chunk, give the halves
 * thresholds t_0 + t_1 >= T_c - 1 (the same argument, inside 32 bits): one
 * half is within its t_e. So probing every 16-bit value within t_e of the
 * query's half e, keeping postings whose chunk is within T_c of the
 * query's chunk (a probe at distance d keeps partners within T_c - d),
 * and checking those candidates in full finds every hash
 * within r: the search is exact.
 *
 * At radius 31: T_c = 3 and t = 1 on every chunk, 8 x 2 x 17 = 272 probes.
 * A random posting passes the chunk filter with probability ~1%, so
 * almost all the work is a sequential read of runs of partners; few slots
 * and hashes are decoded and fetched at random. Thresholds are planned per query by a cost model;
 * when probing would cost more than a linear scan, the scan runs instead
 * (same result).
 *
 * The arrays are read-only here: they live in the LMDB memory map (the
 * compacted base) or in memory (the delta). Not installed. */
#ifndef PHM_MIH_H
#define PHM_MIH_H

#include <stddef.h>
#include <stdint.h>

#include "hamming.h"
#include "phmatch.h"

#define MIH_CHUNKS 8
#define MIH_TABLES 16
#define MIH_HALF_BITS 16
#define MIH_VALUES 65536u
/* Below this many hashes there are no tables: a scan is as fast. */
#define MIH_MIN_ENTRIES 2048
/* Largest array the structure indexes (slots are 32-bit). */
#define MIH_MAX_ENTRIES 0xfffffff0u

/* Bytes of one table's directory: offsets and zeros, u32[65537] each. */
#define MIH_DIR_BYTES ((size_t)2 * (MIH_VALUES + 1) * sizeof(uint32_t))

typedef struct mih_view {
    const phm_pdq *hashes;            /* n, slot order */
    size_t n;
    int has_tables;                   /* 0: scan only */
    const uint32_t *offsets[MIH_TABLES]; /* directories, MIH_DIR_BYTES each */
    const uint8_t *postings[MIH_TABLES]; /* areas, mih_area_bytes each, 8-aligned */
} mih_view;

/* Chunk c (0..7) of h: bits 32c .. 32c + 31. */
static inline uint32_t mih_chunk(const phm_pdq *h, unsigned c)
{
    return (uint32_t)(h->w[c >> 1] >> ((c & 1) * 32));
}

/* The value table i (0..15) files h under. */
static inline uint32_t mih_key(const phm_pdq *h, unsigned i)
{
    return (mih_chunk(h, i >> 1) >> ((i & 1) * 16)) & 0xffffu;
}

/* Whether n hashes get tables. */
static inline int mih_wants_tables(size_t n)
{
    return n >= MIH_MIN_ENTRIES;
}

/* A directory's offset and zeros of value v (0..MIH_VALUES): pairs, so
 * that a probe reads one cache line. */
static inline uint32_t mih_off(const uint32_t *dir, size_t v)
{
    return dir[2 * v];
}
static inline uint32_t mih_zero(const uint32_t *dir, size_t v)
{
    return dir[2 * v + 1];
}

/* Byte offset of the bit vector in an area of n postings. */
static inline size_t mih_bits_at(size_t n)
{
    return (4 * n + 7) & ~(size_t)7;
}

/* Words of the bit vector: n ones and zeros[MIH_VALUES] zeros. */
static inline size_t mih_bit_words(size_t n, const uint32_t *dir)
{
    return (size_t)(((uint64_t)n + mih_zero(dir, MIH_VALUES) + 63) / 64);
}

/* Bytes of a table's area. */
static inline size_t mih_area_bytes(size_t n, const uint32_t *dir)
{
    return mih_bits_at(n) + 8 * mih_bit_words(n, dir);
}

/* Scratch for mih_fill_table: mih_build_scratch_bytes(n) bytes. */
size_t mih_build_scratch_bytes(size_t n);

/* First step of building table i: fills its directory `dir`
 * (MIH_DIR_BYTES, 4-byte aligned) by counting; the area then takes
 * mih_area_bytes(n, dir) bytes. */
void mih_plan_table(const phm_pdq *hashes, size_t n, unsigned i, uint32_t *dir);

/* The last step of mih_plan_table, for a directory counted elsewhere
 * (index_plan.c): each value's count and last high part (of n hashes)
 * become the sums before it, then the totals. */
void mih_plan_sums(uint32_t *dir, size_t n);

/* Second step: writes the area of table i (planned in `dir`), every byte,
 * at `area` (8-byte aligned); `scratch` mih_build_scratch_bytes(n) bytes,
 * 8-byte aligned. Several tables may be filled at once on different
 * threads. */
void mih_fill_table(const phm_pdq *hashes, size_t n, unsigned i, const uint32_t *dir,
                    uint8_t *area, void *scratch);

/* mih_fill_table in steps, so that two threads can fill one table's area
 * (index_build.c fills LMDB's reserved space so):
 *   - mih_fill_clear: zeroes the area's padding and bit vector;
 *   - mih_fill_scatter(..., half, halves): the first pass, from the hashes
 *     into `scratch` (mih_build_scratch_bytes(n), 8-byte aligned; the area
 *     not touched): of halves = 2, half 0 takes slots [0, n/2) and half 1
 *     the rest, on the same scratch at once; halves = 1: all;
 *   - mih_fill_place(..., part, parts): the second pass for part `part`
 *     of `parts` (high bytes of the values, about n / parts postings
 *     each), from `scratch` into the area, once the first pass is done.
 *     Parts write disjoint bytes but for one word of the bit vector, the
 *     first of the part, which may be the last of the part before: its
 *     bits are returned instead, for the caller to OR into word
 *     mih_fill_edge_word(n, dir, part, parts) of the vector once the parts
 *     are done (a part that returns 0 has none; its edge word may then lie
 *     past the vector). */
void mih_fill_clear(size_t n, const uint32_t *dir, uint8_t *area);
void mih_fill_scatter(const phm_pdq *hashes, size_t n, unsigned i, const uint32_t *dir,
                      void *scratch, unsigned half, unsigned halves);
uint64_t mih_fill_place(size_t n, const uint32_t *dir, uint8_t *area, const void *scratch,
                        unsigned part, unsigned parts);
size_t mih_fill_edge_word(size_t n, const uint32_t *dir, unsigned part, unsigned parts);

/* Checks table i of v: offsets non-decreasing from 0 to n, zeros from 0
 * by at most the largest high part, each slot once, under its own value,
 * with its own partner, its low part and its high part (bit vector: each
 * bucket exactly its postings' ones and ends with one, no bit past the
 * last). Returns 0 if sound, else -1 and a description in `why`. `seen`
 * is scratch of (n + 7) / 8 bytes. The area must have mih_area_bytes. */
int mih_check_table(const mih_view *v, unsigned i, uint8_t *seen, char *why,
                    size_t whylen);

/* Per-thread search scratch; grows on demand, freed by mih_scratch_free. */
typedef struct mih_scratch {
    uint32_t *cand; /* posting indexes, then slots */
    size_t cand_cap;
    ham_hit *hits;
    size_t nhits, hits_cap;
    /* statistics of the last search, for benchmarks */
    size_t probes, postings, candidates;
    /* Set by the caller when the arrays may not be in memory (a file's
     * pages after a cold start): each pass of the search then first asks
     * the kernel for the pages it will read (madvise MADV_WILLNEED), so
     * that their reads are in flight together instead of one page fault
     * at a time. Costs about a system call per probe and candidate. */
    int advise;
} mih_scratch;

void mih_scratch_free(mih_scratch *s);

/* Makes room for `more` hits past nhits; PHM_OK or PHM_ERR_NOMEM. Once it
 * returns PHM_OK, s->hits is not NULL (also for more = 0), so that
 * s->hits + s->nhits is defined. */
int mih_hits_reserve(mih_scratch *s, size_t more);

/* Estimated cost (about nanoseconds) of a radius-r search of `v`; sets
 * *use_tables to 1 when probing beats a scan. */
double mih_estimate(const mih_view *v, int r, int *use_tables);

/* Finds every slot of `v` within distance r (0..256) of q and appends
 * {slot, distance} to s->hits, sorted by slot, each slot once. Uses the
 * tables or a scan, whichever the cost model prefers; force_scan = 1
 * always scans. Returns PHM_OK or PHM_ERR_NOMEM. */
int mih_search(const mih_view *v, const ham_kernels *k, const phm_pdq *q,
               int r, int force_scan, mih_scratch *s);

/* Many queries searched together (issue 17): what mih_search finds for
 * each, in two sweeps instead of one query's random reads.
 *
 * One query's probes read one bucket of a table each, and its candidates
 * (about a thousand at 100 M hashes) lie at random in the hash array,
 * nearly each on a page of its own: every read is a cache miss and, in a
 * file mapping's 4 KB pages, often a TLB miss, which prefetching only
 * partly overlaps. mih_batch_probe sorts the probes of a batch by bucket,
 * table by table, so each table is read forward (near-dense at 1 M hashes
 * and a few thousand queries: the hardware streams it); mih_batch_verify
 * compares the candidates in the order of their slots' 64 KB regions of
 * the array, so neighbouring reads share the page-table lines (and often
 * the pages) their walks read. Each query's hits are those mih_search
 * finds, sorted by slot, each slot once. */
typedef struct mih_pair {
    uint32_t slot, query;
} mih_pair;

typedef struct mih_batch {
    mih_pair *pairs, *sorted; /* candidates as found, then by region */
    size_t npairs, pairs_cap;
    uint32_t *count;          /* regions + 1 */
    size_t count_cap;
    ham_hit *hits;            /* hits of query j: hits[qoff[j] .. qoff[j + 1]) */
    size_t hits_cap;
    size_t *qoff;
    size_t qoff_cap;
    /* mih_batch_probe's scratch, kept for the batch's life (a searcher's):
     * one table's probes, as made and sorted by bucket, the buckets'
     * counts, a run's passing postings, a half's masks */
    uint64_t *probes, *psorted;
    size_t probes_cap, psorted_cap;
    uint32_t *pcount;
    uint32_t *run;
    size_t run_cap;
    uint32_t *masks;
    size_t masks_cap;
    /* candidates a query in the last group of a base of each_n hashes at
     * radius each_r: the next group's size */
    double each;
    size_t each_n;
    int each_r;
} mih_batch;

void mih_batch_free(mih_batch *b);

/* Most queries in one batch. */
#define MIH_BATCH_MAX 65536u

/* The tables path of mih_search for queries[0 .. nqueries) at once: b
 * (emptied first) gets their candidates' (slot, query number) pairs, for
 * mih_batch_verify. Queries go in groups; once b holds max_pairs
 * candidates after a group, the rest are left: *done says how many were
 * searched, at least one, or none when v has no tables or the plan for r
 * prefers a scan (mih_estimate): mih_search then. Returns PHM_OK,
 * PHM_ERR_NOMEM, or PHM_ERR_INVALID for nqueries 0 or over MIH_BATCH_MAX
 * or r < 0. */
int mih_batch_probe(mih_batch *b, const mih_view *v, const ham_kernels *k,
                    const phm_pdq *queries, size_t nqueries, int r, size_t max_pairs,
                    size_t *done);

/* Verifies the candidates of queries[0 .. nqueries) against v (the view
 * their candidates came from) at radius r (0..256), into b->hits /
 * b->qoff. PHM_OK, or PHM_ERR_NOMEM (also for nqueries > MIH_BATCH_MAX). */
int mih_batch_verify(mih_batch *b, const mih_view *v, const ham_kernels *k,
                     const phm_pdq *queries, size_t nqueries, int r);

#endif
