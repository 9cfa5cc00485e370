/* hashlist_check.c - the import checks of an entry read from a hash list
 * (phm_hashlist_options.check_hashes and .min_quality; docs/HASHLISTS.md,
 * "Validation"): hashes that no image gives, and quality below the
 * source's minimum, are errors of their record. */
#include "hamming.h"
#include "hashlist_internal.h"

#include <string.h>

/* Without POPCNT in the portable build __builtin_popcountll is a library
 * call, 6 % of a bulk import's reading: the bit trick instead. */
static int bits_set(const phm_pdq *h)
{
    unsigned n = 0;
    for (int w = 0; w < 4; w++)
        n += ham_popcount64_swar(h->w[w]);
    return (int)n;
}

/* Whether all n bytes of p are `v`. */
static int all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v)
            return 0;
    return 1;
}

int hl_check_entry(phm_hashlist_reader *r, const phm_entry *e, char *err, size_t errlen)
{
    if (r->opt.min_quality > 0 && e->quality >= 0 && e->quality < r->opt.min_quality)
        return HL_LINE_ERR("quality %d is below the minimum %d", e->quality,
                           r->opt.min_quality);
    if (!r->opt.check_hashes)
        return 0;
    if (e->signals & PHM_SIG_PDQ) {
        int n = bits_set(&e->pdq);
        if (n == 0)
            return HL_LINE_ERR("PDQ hash is all zero (a truncated or empty value)");
        if (n == 256)
            return HL_LINE_ERR("PDQ hash is all one bits");
        if (n < PHM_HASHLIST_PDQ_MIN_BITS || n > PHM_HASHLIST_PDQ_MAX_BITS)
            return HL_LINE_ERR("PDQ hash sets %d of its 256 bits: a real one sets %d..%d "
                               "(PDQ thresholds at the median)",
                               n, PHM_HASHLIST_PDQ_MIN_BITS, PHM_HASHLIST_PDQ_MAX_BITS);
    }
    for (size_t d = 0; d < HL_NDIGESTS; d++) {
        if (!(e->signals & hl_digests[d].sig))
            continue;
        const uint8_t *p = hl_digest_bytes((phm_entry *)e, d);
        if (all_bytes(p, hl_digests[d].size, 0) || all_bytes(p, hl_digests[d].size, 0xff))
            return HL_LINE_ERR("%s is all %s bits", hl_digests[d].name,
                               p[0] ? "one" : "zero");
    }
    return 0;
}
