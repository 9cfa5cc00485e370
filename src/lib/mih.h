/* mih.h - multi-index hashing: exact Hamming radius search over an array
 * of PDQ hashes.
 *
 * Layout. The 256 bits are cut into MIH_CHUNKS = 8 chunks of 32 bits (the
 * 32-bit halves of the four 64-bit words), each chunk into two 16-bit
 * halves: 16 tables in all. Table 2c + e maps each value of half e of
 * chunk c to the slots (positions in the hash array) having that value, in
 * counting-sort form: offsets[65537] and a postings area of 6n bytes where
 * the run of value v (entries offsets[v] .. offsets[v+1], `len` of them)
 * starts at byte 6 * offsets[v] and holds first the len partners (16-bit:
 * the other half of the same chunk), then the len slots (32-bit, little-
 * endian, 2-byte aligned), slots ascending. The search filters a run on
 * the partners alone, a sequential read of 2 bytes per posting, and reads
 * the slot beside it and the hash only for the few that pass.
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
 * and hashes are fetched at random. Thresholds are planned per query by a cost model;
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

/* Bytes per posting: a 16-bit partner and a 32-bit slot. */
#define MIH_POSTING_BYTES 6

/* Bytes of one table's offsets array. */
#define MIH_OFFSETS_BYTES ((size_t)(MIH_VALUES + 1) * sizeof(uint32_t))

typedef struct mih_view {
    const phm_pdq *hashes;            /* n, slot order */
    size_t n;
    int has_tables;                   /* 0: scan only */
    const uint32_t *offsets[MIH_TABLES]; /* MIH_VALUES + 1 each */
    const uint8_t *postings[MIH_TABLES]; /* MIH_POSTING_BYTES * n each */
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

/* Where the partners and the slots of the run [lo, hi) start. */
static inline const uint16_t *mih_run_partners(const uint8_t *postings,
                                               uint32_t lo)
{
    return (const uint16_t *)(const void *)(postings + (size_t)MIH_POSTING_BYTES * lo);
}
static inline const uint8_t *mih_run_slots(const uint8_t *postings,
                                           uint32_t lo, uint32_t hi)
{
    return postings + (size_t)MIH_POSTING_BYTES * lo + 2 * (size_t)(hi - lo);
}
static inline uint32_t mih_load32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* Scratch for mih_build_table: mih_build_scratch_bytes(n) bytes. */
size_t mih_build_scratch_bytes(size_t n);

/* Builds table i by counting sort: slots ascend within each value.
 * offsets holds MIH_VALUES + 1 entries, postings MIH_POSTING_BYTES * n
 * bytes, `scratch` mih_build_scratch_bytes(n) bytes, 8-byte aligned. */
void mih_build_table(const phm_pdq *hashes, size_t n, unsigned i,
                     uint32_t *offsets, uint8_t *postings, void *scratch);

/* Checks table i of v: offsets non-decreasing from 0 to n, each slot once,
 * under its own value, with its own partner. Returns 0 if sound, else -1
 * and a description in `why`. `seen` is scratch of (n + 7) / 8 bytes. */
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
} mih_scratch;

void mih_scratch_free(mih_scratch *s);

/* Makes room for `more` hits past nhits; PHM_OK or PHM_ERR_NOMEM. */
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

#endif
