/*
 * auth.h - bearer tokens: a file of "NAME ROLE TOKEN" lines, read at
 * start and on SIGHUP. The file must be a regular file of mode 0600 (no
 * group or other bits) owned by the server's user or root; otherwise
 * phmatchd refuses it. Tokens are kept only as SHA-256 digests and are
 * compared in constant time against every entry.
 *
 * A svc_tokens is immutable once loaded and may be read by any thread.
 */
#ifndef SVC_AUTH_H
#define SVC_AUTH_H

#include <stddef.h>
#include <stdint.h>

typedef enum svc_role {
    ROLE_NONE = 0,   /* health probes: no token needed */
    ROLE_LOOKUP = 1, /* hash, match, lookup, stats, metrics */
    ROLE_ADMIN = 2,  /* all of lookup, plus index changes */
} svc_role;

#define AUTH_NAME_MAX 64   /* token names, NUL included */
#define AUTH_TOKEN_MIN 16  /* shortest token accepted in the file */
#define AUTH_TOKEN_MAX 512

typedef struct svc_token {
    char name[AUTH_NAME_MAX];
    svc_role role;
    uint8_t digest[32];
} svc_token;

typedef struct svc_tokens {
    size_t count;
    svc_token tok[];
} svc_tokens;

/* Reads the token file. Returns 0 with *out (free with tokens_free), or
 * -1 with the reason in err ("'f' is accessible by group or others (mode
 * 0644): chmod 600 it", "'f' line 3: unknown role 'x'"). */
int tokens_load(const char *path, svc_tokens **out, char *err, size_t errlen);

/* Parses the text of a token file (len bytes, need not end in NUL), as
 * tokens_load does after its checks of the file; `path` names it in
 * errors. Returns 0 with *out, or -1 with the reason in err. */
int tokens_parse(const char *text, size_t len, const char *path, svc_tokens **out,
                 char *err, size_t errlen);

void tokens_free(svc_tokens *t);

/* Finds the token `tok` (len bytes). Every entry is compared, in constant
 * time. Returns the entry or NULL. */
const svc_token *tokens_find(const svc_tokens *t, const char *tok, size_t len);

/* Extracts the token from an Authorization header value "Bearer TOKEN"
 * (scheme case-insensitive). Returns 0 and sets *tok, *len, or -1. */
int auth_parse_bearer(const char *header, const char **tok, size_t *len);

const char *role_name(svc_role r);

/* What authenticate a request comes to. */
typedef enum auth_outcome {
    AUTH_OK = 0,
    AUTH_MALFORMED, /* an Authorization header that is not "Bearer TOKEN" */
    AUTH_UNKNOWN,   /* a token not in the file */
    AUTH_MISSING,   /* no token where one is required */
    AUTH_NO_TOKENS, /* a token is required but no token file is configured */
    AUTH_FORBIDDEN, /* a known token or the socket's role, below `need` */
} auth_outcome;

/* Who may do what (docs/SERVICE.md): an endpoint of role ROLE_NONE is
 * open; every TCP request needs a token; on the Unix socket a request
 * without a token is admin unless `unix_token_required`, and a token that
 * is sent is checked when there is a token file. `authorization` is the
 * header's value or NULL. Sets *role and `who` (the token's name, "unix"
 * or "-") whenever they are known, also with AUTH_FORBIDDEN. */
auth_outcome auth_decide(const svc_tokens *tokens, int over_tcp, int unix_token_required,
                         const char *authorization, svc_role need, svc_role *role,
                         char who[AUTH_NAME_MAX]);

#endif /* SVC_AUTH_H */
