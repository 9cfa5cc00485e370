/* args.c - see args.h. */
#include "args.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "phmatch.h"

void args_init(args_parser *p, const char *cmd, int argc, char **argv)
{
    memset(p, 0, sizeof *p);
    p->cmd = cmd;
    p->argc = argc;
    p->argv = argv;
    p->next = 1;
}

const char *args_spelling(const args_parser *p)
{
    return p->spelling;
}

/* Reports "<before>'<option as typed>'<after>" and returns ARGS_ERROR. */
static int bad_option(args_parser *p, const char *before, const char *after)
{
    p->cluster = NULL;
    cli_usage_error(p->cmd, "%s'%s'%s", before, p->spelling, after);
    return ARGS_ERROR;
}

static const args_option *find_long(const args_option *opts, const char *name,
                                    size_t len)
{
    for (; opts->key || opts->include; opts++) {
        if (!opts->key) {
            const args_option *o = find_long(opts->include, name, len);
            if (o)
                return o;
        } else if (opts->name && strlen(opts->name) == len &&
                   memcmp(opts->name, name, len) == 0) {
            return opts;
        }
    }
    return NULL;
}

static const args_option *find_short(const args_option *opts, int c)
{
    for (; opts->key || opts->include; opts++) {
        if (!opts->key) {
            const args_option *o = find_short(opts->include, c);
            if (o)
                return o;
        } else if (opts->key == c) {
            return opts;
        }
    }
    return NULL;
}

static int next_long(args_parser *p, const args_option *opts, const char *word,
                     const char **arg)
{
    const char *name = word + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    const args_option *o = find_long(opts, name, len);

    snprintf(p->spelling, sizeof p->spelling, "--%.*s",
             (int)(len < 60 ? len : 60), name);
    if (!o)
        return bad_option(p, "unknown option ", "");
    if (!o->has_arg) {
        if (eq)
            return bad_option(p, "option ", " takes no value");
        return o->key;
    }
    if (eq) {
        *arg = eq + 1;
    } else if (p->next < p->argc) {
        *arg = p->argv[p->next++];
    } else {
        return bad_option(p, "option ", " needs a value");
    }
    return o->key;
}

static int next_short(args_parser *p, const args_option *opts, const char **arg)
{
    unsigned char c = (unsigned char)*p->cluster++;
    const args_option *o = find_short(opts, c);

    if (c >= 0x20 && c < 0x7f)
        snprintf(p->spelling, sizeof p->spelling, "-%c", c);
    else
        snprintf(p->spelling, sizeof p->spelling, "-\\x%02x", c);
    if (!o || !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                           (c >= 'A' && c <= 'Z'))) {
        return bad_option(p, "unknown option ", "");
    }
    if (o->has_arg) {
        if (*p->cluster) {
            *arg = p->cluster;
        } else if (p->next < p->argc) {
            *arg = p->argv[p->next++];
        } else {
            return bad_option(p, "option ", " needs a value");
        }
        p->cluster = NULL;
    } else if (!*p->cluster) {
        p->cluster = NULL;
    }
    return o->key;
}

int args_next(args_parser *p, const args_option *opts, const char **arg)
{
    *arg = NULL;
    if (p->cluster)
        return next_short(p, opts, arg);
    if (p->next >= p->argc)
        return ARGS_END;

    const char *word = p->argv[p->next++];
    if (p->no_options || word[0] != '-' || word[1] == '\0') {
        *arg = word;
        return ARGS_OPERAND;
    }
    if (word[1] == '-') {
        if (word[2] == '\0') {
            p->no_options = 1;
            return args_next(p, opts, arg);
        }
        return next_long(p, opts, word, arg);
    }
    p->cluster = word + 1;
    return next_short(p, opts, arg);
}

int args_parse_u64(const args_parser *p, const char *s, uint64_t min,
                   uint64_t max, int suffixes, uint64_t *out)
{
    const char *why = "not a number";
    uint64_t v = 0;
    int rc;

    if (!s || !(*s >= '0' && *s <= '9'))
        goto bad;
    if (suffixes) {
        rc = phm_size_parse(s, &v);
        why = "expected a number with an optional k, M, G, T (powers of 1000) "
              "or Ki, Mi, Gi, Ti (powers of 1024) suffix";
    } else {
        const char *e = s;
        while (*e >= '0' && *e <= '9')
            e++;
        rc = *e ? PHM_ERR_INVALID : phm_size_parse(s, &v);
    }
    if (rc == PHM_ERR_TOO_LARGE)
        why = "too large";
    if (rc != PHM_OK)
        goto bad;
    if (v < min || v > max) {
        cli_usage_error(p->cmd, "invalid value '%s' for %s: must be %llu..%llu",
                        s, p->spelling, (unsigned long long)min,
                        (unsigned long long)max);
        return -1;
    }
    *out = v;
    return 0;
bad:
    cli_usage_error(p->cmd, "invalid value '%s' for %s: %s", s, p->spelling,
                    why);
    return -1;
}

int args_parse_duration(const args_parser *p, const char *s, double min,
                        double max, double *out)
{
    uint64_t ns = 0;
    int rc = s ? phm_duration_parse(s, &ns) : PHM_ERR_INVALID;
    double v = (double)ns / 1e9;

    if (rc != PHM_OK) {
        cli_usage_error(p->cmd, "invalid value '%s' for %s: %s", s ? s : "", p->spelling,
                        rc == PHM_ERR_TOO_LARGE
                            ? "too large"
                            : "expected seconds, or a number with a unit ms, s, m or h");
        return -1;
    }
    if (v < min || v > max) {
        cli_usage_error(p->cmd, "invalid value '%s' for %s: must be %g..%g seconds",
                        s, p->spelling, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

int args_parse_number(const args_parser *p, const char *s, double min,
                      double max, double *out)
{
    double v = 0, scale = 1;
    size_t i = 0, digits = 0;

    /* By hand: strtod would also take "inf", "nan", hex and exponents, and
     * follows the locale's decimal point. */
    for (; s[i] >= '0' && s[i] <= '9'; i++, digits++)
        v = v * 10 + (s[i] - '0');
    if (s[i] == '.') {
        for (i++; s[i] >= '0' && s[i] <= '9'; i++, digits++) {
            scale /= 10;
            v += (s[i] - '0') * scale;
        }
    }
    if (digits == 0 || s[i] || !(v < 1e300)) {
        cli_usage_error(p->cmd, "invalid value '%s' for %s: not a number", s,
                        p->spelling);
        return -1;
    }
    if (v < min || v > max) {
        cli_usage_error(p->cmd, "invalid value '%s' for %s: must be %g..%g",
                        s, p->spelling, min, max);
        return -1;
    }
    *out = v;
    return 0;
}
