/* error.c - status codes to text: one table, so descriptions and reason
 * codes cannot drift apart. */
#include "phmatch.h"

typedef struct status_text {
    int code;
    const char *reason;      /* stable, machine-readable */
    const char *description; /* for people */
} status_text;

static const status_text status_table[] = {
    { PHM_OK, "ok", "success" },
    { PHM_WARN_RECOVERED, "recovered", "corrupt data, decoder recovered" },
    { PHM_ERR_NOMEM, "out_of_memory", "out of memory" },
    { PHM_ERR_INVALID, "invalid_argument", "invalid argument" },
    { PHM_ERR_NOT_FOUND, "not_found", "no such file" },
    { PHM_ERR_UNREADABLE, "unreadable", "cannot read" },
    { PHM_ERR_UNSUPPORTED, "unsupported_format", "unsupported format" },
    { PHM_ERR_CORRUPT, "corrupt", "corrupt or truncated data" },
    { PHM_ERR_TOO_LARGE, "too_large", "image or file over the size limit" },
    { PHM_ERR_TOO_SMALL, "too_small", "image smaller than 5x5 has no PDQ hash" },
    { PHM_ERR_BAD_HASH, "bad_hash", "malformed hash" },
    { PHM_ERR_IS_DIR, "is_directory", "is a directory" },
    { PHM_ERR_INTERNAL, "internal", "internal error" },
    { PHM_ERR_INDEX, "index_error", "index storage error" },
    { PHM_ERR_INDEX_VERSION, "index_version", "index format version not supported" },
    { PHM_ERR_FULL, "index_full", "index map full" },
    { PHM_ERR_READONLY, "read_only", "index opened read-only" },
    { PHM_ERR_INDEX_TRUNCATED, "index_truncated", "index file truncated" },
};

static const status_text *lookup(int status)
{
    for (size_t i = 0; i < sizeof status_table / sizeof status_table[0]; i++)
        if (status_table[i].code == status)
            return &status_table[i];
    return NULL;
}

const char *phm_strerror(int status)
{
    const status_text *t = lookup(status);
    return t ? t->description : "unknown error";
}

const char *phm_reason(int status)
{
    const status_text *t = lookup(status);
    return t ? t->reason : "unknown";
}

const char *phm_version(void)
{
    return PHM_VERSION_STRING;
}
