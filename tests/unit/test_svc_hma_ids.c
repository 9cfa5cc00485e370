/*
 * test_svc_hma_ids.c - phmatchd's choice of a new HMA content id
 * (hma_content_id_pick, handlers_hma_curation.c) on a real index: the
 * counter's next id, ids an entry of the bank already has skipped, and a
 * lookup that fails (not "no such entry") an error naming the bank, never
 * an id taken as free (whose add would replace a content).
 * The failure is injected: this program is linked with
 * -Wl,--wrap=phm_searcher_find (its rule in the Makefile), so the
 * daemon's calls come here and go on to the library's function unless
 * `fail_find` is set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hma.h"
#include "index_util.h"
#include "phmatch.h"
#include "tap.h"

int __real_phm_searcher_find(phm_searcher *s, const char *source, const char *id,
                             uint64_t *entry, char *err, size_t errlen);
int __wrap_phm_searcher_find(phm_searcher *s, const char *source, const char *id,
                             uint64_t *entry, char *err, size_t errlen);

static int fail_find;  /* the status the next lookups return; 0: the library's */
static int find_calls; /* lookups made */

int __wrap_phm_searcher_find(phm_searcher *s, const char *source, const char *id,
                             uint64_t *entry, char *err, size_t errlen)
{
    find_calls++;
    if (!fail_find)
        return __real_phm_searcher_find(s, source, id, entry, err, errlen);
    if (fail_find == PHM_ERR_INDEX)
        snprintf(err, errlen, "cannot read index 'x': Input/output error");
    else if (errlen)
        err[0] = '\0'; /* as phm_searcher_find's PHM_ERR_INVALID */
    return fail_find;
}

static int add(phm_index *idx, const char *source, const char *id)
{
    char err[PHM_ERRMSG_MAX];
    phm_index_txn *txn;
    phm_entry e;
    memset(&e, 0, sizeof e);
    e.signals = PHM_SIG_PDQ;
    e.source = source;
    e.id = id;
    e.quality = 100;
    memset(&e.pdq, 0x5a, sizeof e.pdq);
    int rc = phm_index_txn_begin(idx, &txn, err, sizeof err);
    if (!rc && (rc = phm_index_add(txn, &e, err, sizeof err)) != PHM_OK)
        phm_index_txn_abort(txn);
    else if (!rc)
        rc = phm_index_txn_commit(txn, NULL, err, sizeof err);
    if (rc)
        printf("# %s\n", err);
    return rc;
}

/* One pick in a transaction of its own (aborted: the counter does not
 * move), its status; *cid and id as the pick left them. */
static int pick(phm_index *idx, phm_searcher *s, const char *bank, uint64_t *cid, char *id,
                size_t idlen, char *err, size_t errlen)
{
    phm_index_txn *txn;
    int rc = phm_index_txn_begin(idx, &txn, err, errlen);
    if (rc)
        return rc;
    *cid = 0;
    id[0] = '\0';
    rc = hma_content_id_pick(txn, s, bank, cid, id, idlen, err, errlen);
    phm_searcher_release(s);
    phm_index_txn_abort(txn);
    return rc;
}

int main(void)
{
    char dir[256], path[300], err[PHM_ERRMSG_MAX], id[32];
    uint64_t cid;
    scratch_dir(dir, sizeof dir, "hma-ids");
    snprintf(path, sizeof path, "%s/h.phmi", dir);
    phm_index *idx = NULL;
    phm_searcher *s = NULL;
    if (phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err) ||
        phm_searcher_new(idx, &s, err, sizeof err)) {
        printf("# %s\n", err);
        return 2;
    }

    IS_INT(pick(idx, s, "bank", &cid, id, sizeof id, err, sizeof err), PHM_OK,
           "an empty bank: an id");
    OK(cid == 1 && strcmp(id, "1") == 0, "... the counter's first, 1 (%llu, '%s')",
       (unsigned long long)cid, id);

    /* entries imported under the decimal ids 1 and 2 */
    if (add(idx, "bank", "1") || add(idx, "bank", "2") || add(idx, "other", "3"))
        return 2;
    IS_INT(pick(idx, s, "bank", &cid, id, sizeof id, err, sizeof err), PHM_OK,
           "ids 1 and 2 taken: an id");
    OK(cid == 3 && strcmp(id, "3") == 0, "... 3, past them (%llu)", (unsigned long long)cid);

    /* the lookup fails: an error naming the bank and the id, not id 1 */
    fail_find = PHM_ERR_INDEX;
    find_calls = 0;
    int rc = pick(idx, s, "bank", &cid, id, sizeof id, err, sizeof err);
    IS_INT(rc, PHM_ERR_INDEX, "a lookup error (I/O) is an error, not a free id");
    OK(strstr(err, "bank 'bank'") && strstr(err, "content id 1 is free") &&
           strstr(err, "Input/output error"),
       "... the message names the bank, the id and the cause: %s", err);
    IS_INT(find_calls, 1, "... after one lookup");

    /* any status but "no such entry" is not free (here one without a message) */
    fail_find = PHM_ERR_INVALID;
    rc = pick(idx, s, "bank", &cid, id, sizeof id, err, sizeof err);
    IS_INT(rc, PHM_ERR_INDEX, "a lookup's PHM_ERR_INVALID is an index error (HTTP 500)");
    OK(strstr(err, "bank 'bank'") && strstr(err, phm_reason(PHM_ERR_INVALID)),
       "... named with the status's reason: %s", err);

    /* the library's own lookup again: the transaction's counter never moved */
    fail_find = 0;
    IS_INT(pick(idx, s, "bank", &cid, id, sizeof id, err, sizeof err), PHM_OK,
           "the real lookup again");
    OK(cid == 3, "... 3 again (%llu)", (unsigned long long)cid);

    phm_searcher_free(s);
    phm_index_close(idx);
    scratch_done(dir);
    return tap_done();
}
