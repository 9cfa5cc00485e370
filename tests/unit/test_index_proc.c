/* test_index_proc.c - the index across processes and threads: a reader
 * that keeps the index open sees another process's commits within a
 * second; an import killed with SIGKILL, even mid-commit, leaves the index
 * at its last commit and verify passes; searcher threads run while the
 * main thread writes. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>

#include "index_util.h"
#include "tap.h"

static char dir[512];
static char err[PHM_ERRMSG_MAX];

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static int add_range(phm_index *idx, const char *source, uint64_t seed, int from, int to)
{
    phm_index_txn *t;
    char e2[PHM_ERRMSG_MAX];
    if (phm_index_txn_begin(idx, &t, e2, sizeof e2))
        return -1;
    rng g = { seed };
    for (int i = from; i < to; i++) {
        char id[32];
        snprintf(id, sizeof id, "%d", i);
        phm_pdq h = rng_hash(&g);
        phm_entry e = { .source = source, .id = id, .signals = PHM_SIG_PDQ,
                        .quality = 70, .pdq = h };
        if (phm_index_add(t, &e, e2, sizeof e2)) {
            phm_index_txn_abort(t);
            return -1;
        }
    }
    return phm_index_txn_commit(t, NULL, e2, sizeof e2) ? -1 : 0;
}

/* Polls with one open searcher until `q` is found at distance 0 (want = 1)
 * or no longer found (want = 0). Returns seconds taken, or -1. */
static double wait_for(phm_searcher *s, const phm_pdq *q, int want, double limit)
{
    double t0 = now();
    while (now() - t0 < limit) {
        const phm_match *m;
        size_t n;
        if (phm_search_radius(s, q, 0, &m, &n, err, sizeof err))
            return -1;
        if ((n > 0) == want)
            return now() - t0;
        sleep_ms(5);
    }
    return -1;
}

static void test_live_update(void)
{
    char path[600];
    snprintf(path, sizeof path, "%s/live.phmi", dir);
    phm_index *idx;
    IS_INT(phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_OK, "create");
    IS_INT(add_range(idx, "base", 1, 0, 5000), 0, "5000 entries");
    IS_INT(phm_index_compact(idx, err, sizeof err), PHM_OK, "compact");
    phm_searcher *s;
    IS_INT(phm_searcher_new(idx, &s, err, sizeof err), PHM_OK, "searcher");
    rng g = { 99 };
    phm_pdq h = rng_hash(&g);
    const phm_match *m;
    size_t n;
    IS_INT(phm_search_radius(s, &h, 0, &m, &n, err, sizeof err), PHM_OK, "search before");
    IS_INT(n, 0, "not there yet");

    for (int round = 0; round < 2; round++) {
        /* round 0: the child adds h; round 1: the child removes it */
        pid_t pid = fork();
        if (pid == 0) {
            /* never touch the parent's handle in the child */
            phm_index *c;
            char e2[PHM_ERRMSG_MAX];
            if (phm_index_open(&c, path, 0, 0, PHM_SIMD_AUTO, e2, sizeof e2))
                _exit(2);
            phm_index_txn *t;
            if (phm_index_txn_begin(c, &t, e2, sizeof e2))
                _exit(3);
            int rc;
            if (round == 0) {
                phm_entry e = { .source = "live", .id = "1", .signals = PHM_SIG_PDQ,
                                .quality = 90, .pdq = h };
                rc = phm_index_add(t, &e, e2, sizeof e2);
            } else {
                rc = phm_index_remove(t, "live", "1", NULL, e2, sizeof e2);
            }
            if (rc || phm_index_txn_commit(t, NULL, e2, sizeof e2))
                _exit(4);
            phm_index_close(c);
            _exit(0);
        }
        int status = -1;
        waitpid(pid, &status, 0);
        IS_INT(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0, "child %s and committed",
               round ? "removed" : "added");
        double took = wait_for(s, &h, round == 0, 1.0);
        OK(took >= 0 && took < 1.0, "the open searcher sees the %s within 1 s (%.3f s)",
           round ? "removal" : "addition", took);
    }
    /* and a commit made while the parent searches in a loop */
    phm_pdq h2 = rng_hash(&g);
    pid_t pid = fork();
    if (pid == 0) {
        sleep_ms(100);
        phm_index *c;
        char e2[PHM_ERRMSG_MAX];
        if (phm_index_open(&c, path, 0, 0, PHM_SIMD_AUTO, e2, sizeof e2))
            _exit(2);
        phm_index_txn *t;
        phm_entry e = { .source = "live", .id = "2", .signals = PHM_SIG_PDQ,
                        .quality = 90, .pdq = h2 };
        if (phm_index_txn_begin(c, &t, e2, sizeof e2) || phm_index_add(t, &e, e2, sizeof e2) ||
            phm_index_txn_commit(t, NULL, e2, sizeof e2))
            _exit(3);
        phm_index_close(c);
        _exit(0);
    }
    double took = wait_for(s, &h2, 1, 5.0);
    int status = -1;
    waitpid(pid, &status, 0);
    IS_INT(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0, "concurrent child committed");
    OK(took >= 0, "seen while searching continuously (after %.3f s)", took);
    phm_searcher_free(s);
    IS_INT(phm_index_verify(idx, err, sizeof err), PHM_OK, "verify: %s", err);
    phm_index_close(idx);
}

static uint64_t entry_count(const char *path, int *verified)
{
    phm_index *idx;
    phm_index_stats st = { 0 };
    *verified = 0;
    if (phm_index_open(&idx, path, 0, 0, PHM_SIMD_AUTO, err, sizeof err))
        return (uint64_t)-1;
    *verified = phm_index_verify(idx, err, sizeof err) == PHM_OK;
    phm_index_get_stats(idx, &st, err, sizeof err);
    phm_index_close(idx);
    return st.entries;
}

static void test_kill(void)
{
    char path[600];
    snprintf(path, sizeof path, "%s/kill.phmi", dir);
    phm_index *idx;
    IS_INT(phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_OK, "create");
    IS_INT(add_range(idx, "first", 2, 0, 1000), 0, "1000 committed");
    phm_index_close(idx);

    /* A big import killed while adding: nothing of it is stored. */
    int fds[2];
    if (pipe(fds) != 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        phm_index *c;
        phm_index_txn *t;
        char e2[PHM_ERRMSG_MAX];
        if (phm_index_open(&c, path, 0, 0, PHM_SIMD_AUTO, e2, sizeof e2) ||
            phm_index_txn_begin(c, &t, e2, sizeof e2))
            _exit(2);
        rng g = { 3 };
        for (int i = 0;; i++) {
            char id[32];
            snprintf(id, sizeof id, "%d", i);
            phm_pdq h = rng_hash(&g);
            phm_entry e = { .source = "big", .id = id, .signals = PHM_SIG_PDQ,
                            .quality = 70, .pdq = h };
            phm_index_add(t, &e, e2, sizeof e2);
            if (i == 100000 && write(fds[1], "x", 1) != 1)
                _exit(3);
            if (i == 3000000) /* never reached before the kill */
                phm_index_txn_commit(t, NULL, e2, sizeof e2);
        }
    }
    close(fds[1]);
    char ch;
    OK(read(fds[0], &ch, 1) == 1, "child is importing");
    close(fds[0]);
    sleep_ms(50);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    OK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child killed");
    int verified;
    IS_INT(entry_count(path, &verified), 1000, "index at its last commit");
    OK(verified, "verify passes after the kill: %s", verified ? "" : err);

    /* Commits of 20000 in a loop, killed at several moments, some inside
     * a commit (the rebuild of the structures, the writes, the sync). */
    for (int round = 0; round < 4; round++) {
        pid = fork();
        if (pid == 0) {
            phm_index *c;
            char e2[PHM_ERRMSG_MAX];
            if (phm_index_open(&c, path, 0, 0, PHM_SIMD_AUTO, e2, sizeof e2))
                _exit(2);
            for (int b = 0;; b++) {
                char src[32];
                snprintf(src, sizeof src, "loop%d-%d", round, b);
                if (add_range(c, src, (uint64_t)(round * 1000 + b), 0, 20000))
                    _exit(3);
                if (b % 4 == 3)
                    phm_index_compact(c, e2, sizeof e2);
            }
        }
        sleep_ms(150 + 170 * round);
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        uint64_t n = entry_count(path, &verified);
        OK(WIFSIGNALED(status) && n != (uint64_t)-1 && (n - 1000) % 20000 == 0,
           "round %d: killed child left whole commits only (%llu entries)", round,
           (unsigned long long)n);
        OK(verified, "round %d: verify passes: %s", round, verified ? "" : err);
    }
}

/* Searcher threads while the main thread writes. */
typedef struct worker {
    phm_index *idx;
    atomic_int *stop; /* set by the main thread: volatile would be a data race */
    size_t searches, errors;
} worker;

static void *search_loop(void *arg)
{
    worker *w = arg;
    phm_searcher *s;
    char e2[PHM_ERRMSG_MAX];
    if (phm_searcher_new(w->idx, &s, e2, sizeof e2)) {
        w->errors++;
        return NULL;
    }
    rng g = { (uint64_t)(uintptr_t)w };
    while (!atomic_load(w->stop)) {
        phm_pdq q = rng_hash(&g);
        const phm_match *m;
        size_t n;
        if (phm_search_radius(s, &q, 31, &m, &n, e2, sizeof e2) ||
            phm_search_knn(s, &q, 3, 256, &m, &n, e2, sizeof e2) || n != 3)
            w->errors++;
        for (size_t i = 0; i < n; i++) {
            phm_entry e;
            if (phm_searcher_get(s, m[i].entry, &e, e2, sizeof e2))
                w->errors++;
        }
        w->searches++;
    }
    phm_searcher_free(s);
    return NULL;
}

static void test_threads(void)
{
    char path[600];
    snprintf(path, sizeof path, "%s/threads.phmi", dir);
    phm_index *idx;
    IS_INT(phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_OK, "create");
    IS_INT(add_range(idx, "t", 5, 0, 3000), 0, "3000 entries");
    atomic_int stop = 0;
    worker w[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        w[i] = (worker){ idx, &stop, 0, 0 };
        pthread_create(&th[i], NULL, search_loop, &w[i]);
    }
    int bad = 0;
    for (int b = 0; b < 8; b++) {
        char src[32];
        snprintf(src, sizeof src, "w%d", b);
        bad += add_range(idx, src, (uint64_t)(50 + b), 0, 500) != 0;
        if (b == 4)
            bad += phm_index_compact(idx, err, sizeof err) != 0;
    }
    atomic_store(&stop, 1);
    size_t searches = 0, errors = 0;
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        searches += w[i].searches;
        errors += w[i].errors;
    }
    IS_INT(bad, 0, "writes while searching");
    IS_INT(errors, 0, "%zu searches in 3 threads, no errors", searches);
    IS_INT(phm_index_verify(idx, err, sizeof err), PHM_OK, "verify: %s", err);
    phm_index_close(idx);
}

int main(void)
{
    scratch_dir(dir, sizeof dir, "proc");
    test_live_update();
    test_kill();
    test_threads();
    scratch_done(dir);
    return tap_done();
}
