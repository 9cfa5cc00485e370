/* query.c - query arguments, from undecoded values (see query.h). */
#include "query.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "text.h"

int args_text(const svc_args *a, const char *name, char *out, size_t outlen)
{
    const char *v = a->get(a->ctx, name);
    if (!v)
        return 0;
    return pct_decode(v, strlen(v), 1, out, outlen) ? -1 : 1;
}

int args_bool(const svc_args *a, const char *name, int *out)
{
    char v[16];
    int r = args_text(a, name, v, sizeof v);
    *out = 0;
    if (r == 0)
        return 0;
    if (r > 0) {
        if (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes")) {
            *out = 1;
            return 0;
        }
        if (!strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no") || !*v)
            return 0;
    }
    return -1;
}

int args_int(const svc_args *a, const char *name, long min, long max, long def, long *out)
{
    char v[24], *end;
    int r = args_text(a, name, v, sizeof v);
    *out = def;
    if (r == 0)
        return 0;
    if (r > 0 && v[0] >= '0' && v[0] <= '9') {
        errno = 0;
        long x = strtol(v, &end, 10);
        if (!errno && !*end && x >= min && x <= max) {
            *out = x;
            return 0;
        }
    }
    return -1;
}

int args_digests(const svc_args *a, unsigned *mask)
{
    char list[64];
    int r = args_text(a, "digest", list, sizeof list);
    *mask = 0;
    if (r == 0)
        return 0;
    if (r < 0)
        return -1;
    return phm_digest_parse_list(list, mask, NULL, 0) == PHM_OK ? 0 : -1;
}

int args_hma_signal(const svc_args *a, phm_pdq *hash, const char **code, const char **msg)
{
    char type[16], hex[PHM_PDQ_HEX_LEN + 2];

    *code = "bad_request";
    if (args_text(a, "url", hex, sizeof hex) != 0) {
        *msg = "?url= is not supported: phmatchd fetches nothing; POST the photo instead";
        return -1;
    }
    if (args_text(a, "signal_type", type, sizeof type) != 1 || strcmp(type, "pdq") != 0) {
        *msg = "signal_type must be pdq";
        return -1;
    }
    if (args_text(a, "signal", hex, sizeof hex) != 1 ||
        phm_pdq_from_hex(hex, strlen(hex), hash) != PHM_OK) {
        *code = "bad_hash";
        *msg = "signal must be a PDQ hash of 64 hex digits";
        return -1;
    }
    return 0;
}
