/*
 * mkknown - add the PDQ hashes of images to a known-material index, for
 * the demo and the match tests (a stand-in for hashing with
 * `phmatch hash -f pdq` and importing the list).
 *
 *     mkknown [-s SOURCE] [-c CATEGORY] DB IMAGE...
 *
 * Creates DB if it does not exist. Each IMAGE is hashed in full mode and
 * stored as entry (SOURCE, NAME) with its quality, category CATEGORY and
 * the note "file NAME.EXT", where NAME is the file name without its
 * extension. An argument NAME=HEX instead stores the 64-hex-digit PDQ hash
 * HEX as entry (SOURCE, NAME), quality unknown. Defaults: source "demo",
 * category "sample". All adds are one transaction: either every image is
 * stored or none.
 *
 * Exit status: 0 success, 1 an image or the index failed (message on
 * stderr; nothing stored), 2 usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phmatch.h"

static const char usage_text[] =
    "usage: mkknown [-s SOURCE] [-c CATEGORY] DB IMAGE|NAME=HEX...\n";

int main(int argc, char **argv)
{
    const char *source = "demo", *category = "sample";
    char err[PHM_ERRMSG_MAX];
    int i = 1, status = 1;

    for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
        if (strcmp(argv[i], "-s") == 0)
            source = argv[i + 1];
        else if (strcmp(argv[i], "-c") == 0)
            category = argv[i + 1];
        else
            break;
    }
    if (argc - i < 2 || argv[i][0] == '-') {
        fputs(usage_text, stderr);
        return 2;
    }
    const char *db = argv[i++];

    phm_index *idx = NULL;
    phm_index_txn *txn = NULL;
    phm_decoder *dec = NULL;
    phm_hasher *h = NULL;
    phm_index_counts counts;
    if (phm_decoder_new(&dec, NULL) || phm_hasher_new(&h, PHM_SIMD_AUTO)) {
        fprintf(stderr, "mkknown: out of memory\n");
        goto out;
    }
    if (phm_index_open(&idx, db, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err,
                       sizeof err) ||
        phm_index_txn_begin(idx, &txn, err, sizeof err)) {
        fprintf(stderr, "mkknown: %s\n", err);
        goto out;
    }
    for (; i < argc; i++) {
        phm_pdq_result r;
        char name[PHM_INDEX_MAX_ID + 1], note[PHM_INDEX_MAX_NOTE + 1];
        const char *base = strrchr(argv[i], '/');
        base = base ? base + 1 : argv[i];
        const char *dot = strrchr(base, '.');
        int n = (int)(dot && dot != base ? (size_t)(dot - base) : strlen(base));
        snprintf(name, sizeof name, "%.*s", n, base);
        snprintf(note, sizeof note, "file %s", base);
        const char *eq = strchr(argv[i], '=');
        int rc;
        if (eq && strlen(eq + 1) == PHM_PDQ_HEX_LEN) {
            snprintf(name, sizeof name, "%.*s", (int)(eq - argv[i]), argv[i]);
            snprintf(note, sizeof note, "hash");
            rc = phm_pdq_from_hex(eq + 1, PHM_PDQ_HEX_LEN, &r.hash[0]);
            r.quality = -1;
            if (rc)
                snprintf(err, sizeof err, "malformed hash in '%s'", argv[i]);
        } else {
            rc = phm_hash_file(dec, h, argv[i], PHM_MODE_FULL, 0, &r, NULL,
                               err, sizeof err);
        }
        if (rc != PHM_OK) {
            fprintf(stderr, "mkknown: %s\n", err);
            goto out;
        }
        phm_entry e = { .source = source, .id = name, .category = category,
                        .note = note, .signals = PHM_SIG_PDQ,
                        .quality = r.quality, .pdq = r.hash[0] };
        if (phm_index_add(txn, &e, err, sizeof err)) {
            fprintf(stderr, "mkknown: '%s': %s\n", argv[i], err);
            goto out;
        }
    }
    phm_index_txn *t = txn;
    txn = NULL; /* commit frees it, on error too */
    if (phm_index_txn_commit(t, &counts, err, sizeof err)) {
        fprintf(stderr, "mkknown: %s\n", err);
        goto out;
    }
    printf("mkknown: %s: %llu added, %llu updated, %llu unchanged\n", db,
           (unsigned long long)counts.added, (unsigned long long)counts.updated,
           (unsigned long long)counts.unchanged);
    status = 0;
out:
    phm_index_txn_abort(txn);
    phm_index_close(idx);
    phm_hasher_free(h);
    phm_decoder_free(dec);
    return status;
}
