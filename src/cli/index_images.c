/* index_images.c - `phmatch index add --images [--augment]`: each image
 * found under the paths (walked by inputs.c, in `phmatch hash`'s order)
 * becomes one entry, its id the path as given, with its PDQ hash and,
 * augmenting, the hashes of its edits as stored variants (phm_augment). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "index_images.h"
#include "inputs.h"

int index_images_parse_set(const char *list, int *codes, size_t cap)
{
    size_t n = 0;
    const char *p = list;
    while (p && *p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char name[32];
        int code = 0;
        if (len && len < sizeof name) {
            memcpy(name, p, len);
            name[len] = '\0';
            if (strcmp(name, "default") == 0) {
                int d[PHM_INDEX_MAX_VARIANTS];
                size_t nd = phm_augment_default(d, PHM_INDEX_MAX_VARIANTS);
                for (size_t i = 0; i < nd; i++) {
                    int dup = 0;
                    for (size_t j = 0; j < n; j++)
                        dup |= codes[j] == d[i];
                    if (!dup && n < cap)
                        codes[n++] = d[i];
                }
                p = end ? end + 1 : NULL;
                continue;
            }
            code = phm_known_variant_code(name);
        }
        if (!code) {
            cli_error("unknown variant '%.*s' (expected names such as crop10-c, "
                      "rot+5-crop: docs/ROBUST.md)", (int)(len < 64 ? len : 64), p);
            return -1;
        }
        for (size_t j = 0; j < n; j++)
            if (codes[j] == code) {
                cli_error("variant '%s' is given twice", name);
                return -1;
            }
        if (n == cap) {
            cli_error("more than %zu variants", cap);
            return -1;
        }
        codes[n++] = code;
        p = end ? end + 1 : NULL;
    }
    return (int)n;
}

/* One image: decoded, hashed, augmented and added. Returns 0 added, 1 a
 * bad file (reported), or a negative exit status after a message. */
static int add_one(const index_images_options *o, phm_index_txn *txn,
                   phm_decoder *dec, phm_hasher *h, const char *path,
                   index_images_counts *c)
{
    char err[PHM_ERRMSG_MAX];
    phm_pdq_result r;
    phm_entry *e = calloc(1, sizeof *e);
    if (!e)
        goto fatal;
    /* the reference hash, and a picture with transparency's variants
     * made from it as a viewer sees it (phm_hash_known_file) */
    int rc = phm_hash_known_file(dec, h, path, o->codes, o->ncodes, PHM_AUGMENT_MIN_DISTANCE,
                                 &r, e->variants, &e->nvariants, err, sizeof err);
    if (rc == PHM_WARN_RECOVERED) {
        cli_error("warning: %s", err);
        rc = PHM_OK;
    }
    if (rc != PHM_OK) {
        free(e);
        if (rc == PHM_ERR_NOMEM)
            goto fatal;
        /* the decoder's message as it is; a hash's or an augmentation's
         * failure as phmatch's own */
        if (rc == PHM_ERR_UNSUPPORTED || rc == PHM_ERR_CORRUPT || rc == PHM_ERR_TOO_LARGE ||
            rc == PHM_ERR_NOT_FOUND || rc == PHM_ERR_UNREADABLE || rc == PHM_ERR_IS_DIR)
            fprintf(stderr, "%s\n", err);
        else
            cli_error("%s", err);
        return 1;
    }
    e->source = o->source;
    e->id = path;
    e->category = o->category;
    e->note = o->note;
    e->signals = PHM_SIG_PDQ;
    e->quality = r.quality;
    e->pdq = r.hash[0];
    rc = phm_index_add(txn, e, err, sizeof err);
    size_t nv = e->nvariants;
    free(e);
    if (rc == PHM_ERR_INVALID) { /* a path too long or with control bytes */
        fputs("phmatch: cannot add '", stderr);
        cli_put_quoted(stderr, path);
        fputs("': ", stderr);
        cli_put_quoted(stderr, err);
        fputc('\n', stderr);
        return 1;
    }
    if (rc != PHM_OK) {
        cli_error("%s", err);
        return rc == PHM_ERR_NOMEM ? -CLI_EXIT_FATAL : -CLI_EXIT_PARTIAL;
    }
    c->images++;
    c->variants += nv;
    return 0;
fatal:
    cli_error("out of memory");
    return -CLI_EXIT_FATAL;
}

int index_images_add(const index_images_options *o, phm_index_txn *txn,
                     index_images_counts *c)
{
    char err[PHM_ERRMSG_MAX];
    input_spec *specs = calloc((size_t)o->npaths + 1, sizeof *specs);
    input_source *in = NULL;
    phm_decoder *dec = NULL;
    phm_hasher *h = NULL;
    int status = CLI_EXIT_FATAL;
    memset(c, 0, sizeof *c);
    if (!specs || phm_decoder_new(&dec, NULL) != PHM_OK ||
        phm_hasher_new(&h, PHM_SIMD_AUTO) != PHM_OK) {
        cli_error("out of memory");
        goto out;
    }
    for (int i = 0; i < o->npaths; i++)
        specs[i] = (input_spec){ INPUT_PATH, o->paths[i] };
    input_options io = { .specs = specs, .nspecs = (size_t)o->npaths };
    int rc = input_open(&in, &io, err, sizeof err);
    if (rc != PHM_OK) {
        cli_error("%s", err);
        status = rc == PHM_ERR_NOMEM ? CLI_EXIT_FATAL : CLI_EXIT_PARTIAL;
        goto out;
    }
    input_item item;
    while ((rc = input_next(in, &item, err, sizeof err)) == 1) {
        if (item.status != PHM_OK) {
            cli_error("cannot read '%s': %s", item.path,
                      item.message ? item.message : phm_strerror(item.status));
            c->bad++;
            continue;
        }
        int r1 = add_one(o, txn, dec, h, item.path, c);
        if (r1 < 0) {
            status = -r1;
            goto out;
        }
        c->bad += (uint64_t)r1;
    }
    if (rc < 0) {
        cli_error("%s", err);
        status = rc == PHM_ERR_NOMEM ? CLI_EXIT_FATAL : CLI_EXIT_PARTIAL;
        goto out;
    }
    status = CLI_EXIT_OK;
out:
    input_close(in);
    phm_hasher_free(h);
    phm_decoder_free(dec);
    free(specs);
    return status;
}
