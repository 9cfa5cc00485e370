/* index_stats.c - the names of phm_index_stats's fields, so that every
 * front-end reports them alike (phmatch index stats, GET /v1/index). */
#include "phmatch.h"

#include <stddef.h>

#define U64(f) { #f, offsetof(phm_index_stats, f), 0 }
#define I64(f) { #f, offsetof(phm_index_stats, f), 1 }

static const struct {
    const char *name;
    size_t offset;
    int kind; /* 0 uint64_t, 1 int64_t, 2 uint32_t */
} fields[] = {
    { "format_version", offsetof(phm_index_stats, format_version), 2 },
    U64(entries),
    U64(pdq_entries),
    U64(video_entries),
    U64(video_frames),
    U64(video_hashes),
    U64(variant_entries),
    U64(variant_hashes),
    U64(digests),
    U64(sources),
    U64(base_entries),
    U64(delta_entries),
    U64(dead_entries),
    U64(generation),
    U64(file_bytes),
    U64(used_bytes),
    U64(map_bytes),
    I64(created),
    I64(compacted),
};

const char *phm_index_stats_field(const phm_index_stats *st, size_t i, int64_t *value)
{
    if (i >= sizeof fields / sizeof fields[0])
        return NULL;
    if (st && value) {
        const unsigned char *p = (const unsigned char *)st + fields[i].offset;
        switch (fields[i].kind) {
        case 0: {
            uint64_t v = *(const uint64_t *)(const void *)p;
            *value = v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
            break;
        }
        case 1:
            *value = *(const int64_t *)(const void *)p;
            break;
        default:
            *value = *(const uint32_t *)(const void *)p;
            break;
        }
    }
    return fields[i].name;
}
