/* The hashes the index fixtures are made of (mkfixture.c, run with an
 * old build), shared with the tests that check an upgraded file against
 * them (tests/unit/test_index_upgrade.c). */
#ifndef PHM_FIXTURE_HASHES_H
#define PHM_FIXTURE_HASHES_H

#include <stdint.h>

#include "phmatch.h"

static inline phm_pdq hash_of(uint64_t seed)
{
    phm_pdq h;
    for (int w = 0; w < 4; w++) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        h.w[w] = seed ^ (seed >> 29);
    }
    return h;
}

/* A hash of few set bits (the file stays small gzip'd), distinct for
 * distinct i. */
static inline phm_pdq sparse_hash(uint64_t i)
{
    phm_pdq h;
    h.w[0] = i;
    h.w[1] = UINT64_C(0x00ff00ff00000000);
    h.w[2] = i << 32;
    h.w[3] = UINT64_C(0x8000000000000001);
    return h;
}

#endif
