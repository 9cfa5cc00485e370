/*
 * route.h - which endpoint a request is for, from its method and
 * undecoded path, and whether its Content-Type suits the endpoint. Pure
 * functions on plain strings (fuzzed by tests/fuzz/fuzz_request.c); the
 * table is in route.c.
 */
#ifndef SVC_ROUTE_H
#define SVC_ROUTE_H

#include <stddef.h>

#include "server.h"

typedef enum route_result {
    ROUTE_FOUND,      /* *route set, the '*' segments decoded into args */
    ROUTE_BAD_ESCAPE, /* *route set; a '*' segment has a malformed escape */
    ROUTE_NO_METHOD,  /* the path exists for other methods: `allow` lists them */
    ROUTE_NOT_FOUND,
    ROUTE_TOO_LONG,   /* *route set; a '*' segment decodes to PATH_ARG_MAX bytes or more */
} route_result;

/* Longest `allow` list route_find writes. */
#define ROUTE_ALLOW_MAX 64

route_result route_find(const char *method, const char *url, const svc_route **route,
                        char args[PATH_ARGS][PATH_ARG_MAX], char allow[ROUTE_ALLOW_MAX]);

/* NULL if `content_type` (may be NULL) suits the route's body, else the
 * message of the 415 answer. */
const char *route_check_type(const svc_route *route, const char *content_type);

/* 1 for HMA endpoints that HMA lets fetch a ?url= (refused with 400
 * before the body is read: phmatchd never fetches URLs). */
int route_refuses_url(const svc_route *route);
/* 1 for HMA 2's endpoints (/status, /m/..., /h/hash, /c/...): their
 * errors take HMA's shape, {"message": ...} (docs/SERVICE.md). */
int route_is_hma(const svc_route *route);
/* 1 if the route's multipart body may be a `video` field (HMA's bank
 * content), else 0. */
int route_takes_video(const svc_route *route);
/* 1 if the route reads or writes the index; 0 for hashing, comparing
 * given hashes and the health endpoints, which check it themselves. */
int route_uses_index(const svc_route *route);

#endif /* SVC_ROUTE_H */
