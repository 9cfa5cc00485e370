/* route.c - the routing table and its matching (see route.h). */
#include "route.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "json_body.h"
#include "text.h"

static const svc_route routes[] = {
    { "POST", "/v1/hash", EP_HASH, ROLE_LOOKUP, BODY_IMAGE, handle_hash },
    { "POST", "/v1/match", EP_MATCH, ROLE_LOOKUP, BODY_MEDIA, handle_match },
    { "POST", "/v1/lookup", EP_LOOKUP, ROLE_LOOKUP, BODY_JSON, handle_lookup },
    { "GET", "/v1/index", EP_INDEX_STATS, ROLE_LOOKUP, BODY_NONE, handle_index_stats },
    { "POST", "/v1/index/entries", EP_INDEX_ADD, ROLE_ADMIN, BODY_LIST, handle_index_add },
    { "DELETE", "/v1/index/entries/*/*", EP_INDEX_DELETE_ENTRY, ROLE_ADMIN, BODY_NONE,
      handle_index_delete_entry },
    { "DELETE", "/v1/index/sources/*", EP_INDEX_DELETE_SOURCE, ROLE_ADMIN, BODY_NONE,
      handle_index_delete_source },
    /* governance (handlers_governance.c) */
    { "GET", "/v1/index/sources", EP_INDEX_GOVERNANCE, ROLE_ADMIN, BODY_NONE,
      handle_gov_sources },
    { "GET", "/v1/index/sources/*", EP_INDEX_GOVERNANCE, ROLE_ADMIN, BODY_NONE,
      handle_gov_source_get },
    { "PUT", "/v1/index/sources/*", EP_INDEX_GOVERNANCE, ROLE_ADMIN, BODY_JSON,
      handle_gov_source_put },
    { "GET", "/v1/index/quarantine", EP_INDEX_GOVERNANCE, ROLE_ADMIN, BODY_NONE,
      handle_gov_quarantine },
    { "DELETE", "/v1/index/quarantine/*/*", EP_INDEX_GOVERNANCE, ROLE_ADMIN, BODY_NONE,
      handle_gov_quarantine_release },
    { "GET", "/v1/index/disabled", EP_INDEX_GOVERNANCE, ROLE_ADMIN, BODY_NONE,
      handle_gov_disabled },
    { "PUT", "/v1/index/disabled/*/*", EP_INDEX_GOVERNANCE, ROLE_ADMIN, BODY_NONE,
      handle_gov_disable },
    { "DELETE", "/v1/index/disabled/*/*", EP_INDEX_GOVERNANCE, ROLE_ADMIN, BODY_NONE,
      handle_gov_enable },
    { "GET", "/healthz", EP_HEALTHZ, ROLE_NONE, BODY_NONE, handle_healthz },
    { "GET", "/readyz", EP_READYZ, ROLE_NONE, BODY_NONE, handle_readyz },
    { "GET", "/metrics", EP_METRICS, ROLE_LOOKUP, BODY_NONE, handle_metrics },
    { "GET", "/m/lookup", EP_HMA_LOOKUP, ROLE_LOOKUP, BODY_NONE, handle_hma_lookup },
    { "POST", "/m/lookup", EP_HMA_LOOKUP, ROLE_LOOKUP, BODY_MULTIPART,
      handle_hma_lookup_post },
    { "POST", "/h/hash", EP_HMA_HASH, ROLE_LOOKUP, BODY_MULTIPART, handle_hma_hash },
    /* HMA 2 (handlers_hma.c, handlers_hma_curation.c) */
    { "GET", "/status", EP_READYZ, ROLE_NONE, BODY_NONE, handle_hma_status },
    { "GET", "/m/raw_lookup", EP_HMA_LOOKUP, ROLE_LOOKUP, BODY_NONE, handle_hma_raw_lookup },
    { "GET", "/m/index/status", EP_HMA_LOOKUP, ROLE_LOOKUP, BODY_NONE,
      handle_hma_index_status },
    { "POST", "/m/compare", EP_HMA_LOOKUP, ROLE_LOOKUP, BODY_JSON, handle_hma_compare },
    { "GET", "/c/banks", EP_HMA_CURATION, ROLE_ADMIN, BODY_NONE, handle_hma_banks },
    { "POST", "/c/banks", EP_HMA_CURATION, ROLE_ADMIN, BODY_JSON, handle_hma_bank_create },
    { "GET", "/c/bank/*", EP_HMA_CURATION, ROLE_ADMIN, BODY_NONE, handle_hma_bank_get },
    { "PUT", "/c/bank/*", EP_HMA_CURATION, ROLE_ADMIN, BODY_JSON, handle_hma_bank_put },
    { "DELETE", "/c/bank/*", EP_HMA_CURATION, ROLE_ADMIN, BODY_NONE, handle_hma_bank_delete },
    { "POST", "/c/bank/*/content", EP_HMA_CURATION, ROLE_ADMIN, BODY_MULTIPART,
      handle_hma_content_add },
    { "GET", "/c/bank/*/content/*", EP_HMA_CURATION, ROLE_ADMIN, BODY_NONE,
      handle_hma_content_get },
    { "PUT", "/c/bank/*/content/*", EP_HMA_CURATION, ROLE_ADMIN, BODY_JSON,
      handle_hma_content_put },
    { "DELETE", "/c/bank/*/content/*", EP_HMA_CURATION, ROLE_ADMIN, BODY_NONE,
      handle_hma_content_delete },
    { "POST", "/c/bank/*/signal", EP_HMA_CURATION, ROLE_ADMIN, BODY_JSON,
      handle_hma_signal_add },
};
#define NROUTES (sizeof routes / sizeof routes[0])

/* Matches the undecoded path against a pattern, decoding the '*'
 * segments into args when given. 1 match, 0 no match, -1 malformed
 * escape, -2 a segment too long for args. */
static int match_pattern(const char *pat, const char *url,
                         char (*args)[PATH_ARG_MAX])
{
    int arg = 0;
    for (;;) {
        if (*pat != '/' || *url != '/')
            return 0;
        pat++;
        url++;
        size_t pl = strcspn(pat, "/"), ul = strcspn(url, "/");
        if (pl == 1 && *pat == '*') {
            if (ul == 0 || arg >= PATH_ARGS)
                return 0;
            size_t escapes = 0;
            for (size_t k = 0; k < ul; k++)
                escapes += url[k] == '%';
            if (args && ul - (escapes * 2 < ul ? escapes * 2 : ul) >= PATH_ARG_MAX)
                return -2;
            if (args && pct_decode(url, ul, 0, args[arg], PATH_ARG_MAX))
                return -1;
            arg++;
        } else if (pl != ul || memcmp(pat, url, pl) != 0) {
            return 0;
        }
        pat += pl;
        url += ul;
        if (!*pat || !*url)
            return !*pat && !*url;
    }
}

route_result route_find(const char *method, const char *url, const svc_route **route,
                        char args[PATH_ARGS][PATH_ARG_MAX], char allow[ROUTE_ALLOW_MAX])
{
    int path_known = 0;

    *route = NULL;
    allow[0] = '\0';
    for (size_t i = 0; i < NROUTES; i++) {
        if (match_pattern(routes[i].pattern, url, NULL) == 0)
            continue;
        path_known = 1;
        if (strcmp(routes[i].method, method) == 0) {
            *route = &routes[i];
            int m = match_pattern(routes[i].pattern, url, args);
            return m == -2 ? ROUTE_TOO_LONG : m < 0 ? ROUTE_BAD_ESCAPE : ROUTE_FOUND;
        }
        size_t n = strlen(allow);
        snprintf(allow + n, ROUTE_ALLOW_MAX - n, "%s%s", n ? ", " : "", routes[i].method);
    }
    return path_known ? ROUTE_NO_METHOD : ROUTE_NOT_FOUND;
}

int route_refuses_url(const svc_route *route)
{
    return route && (route->handler == handle_hma_lookup ||
                     route->handler == handle_hma_lookup_post ||
                     route->handler == handle_hma_hash ||
                     route->handler == handle_hma_content_add);
}

int route_is_hma(const svc_route *route)
{
    return route && (route->endpoint == EP_HMA_LOOKUP || route->endpoint == EP_HMA_HASH ||
                     route->endpoint == EP_HMA_CURATION ||
                     route->handler == handle_hma_status);
}

int route_takes_video(const svc_route *route)
{
    return route && route->handler == handle_hma_content_add;
}

int route_uses_index(const svc_route *route)
{
    if (!route)
        return 0;
    switch (route->endpoint) {
    case EP_HASH:
    case EP_HMA_HASH:
    case EP_HEALTHZ:
    case EP_READYZ:
    case EP_METRICS:
        return 0;
    default:
        return route->handler != handle_hma_compare;
    }
}

const char *route_check_type(const svc_route *route, const char *ct)
{
    switch (route->body) {
    case BODY_IMAGE:
        if (ct && !content_type_is(ct, "application/octet-stream") &&
            strncasecmp(ct, "image/", 6) != 0)
            return "send the image bytes as application/octet-stream or image/*";
        return NULL;
    case BODY_MEDIA:
        if (ct && !content_type_is(ct, "application/octet-stream") &&
            strncasecmp(ct, "image/", 6) != 0 && strncasecmp(ct, "video/", 6) != 0 &&
            !content_type_is(ct, "text/plain"))
            return "send the image or video bytes as application/octet-stream, "
                   "image/* or video/* (a vPDQ hash file as text/plain)";
        return NULL;
    case BODY_JSON:
        return content_type_is(ct, "application/json") ? NULL
                                                       : "the body must be application/json";
    case BODY_LIST: {
        phm_hashlist_format fmt;
        int json;
        return entries_body_type(ct, &fmt, &json) == 0
                   ? NULL
                   : "the body must be application/json entries or a hash list "
                     "(application/x-ndjson, text/csv, text/tab-separated-values, "
                     "text/plain, application/xml)";
    }
    case BODY_MULTIPART:
        return content_type_is(ct, "multipart/form-data")
                   ? NULL
                   : "the body must be multipart/form-data with a 'photo' field";
    case BODY_NONE:
        break;
    }
    return NULL;
}
