/* runtime.c - publishing reloaded settings to request threads without a
 * lock (see server.h, svc_live), and the clock. */
#include <stdlib.h>
#include <time.h>

#include "server.h"

void runtime_free(svc_runtime *rt)
{
    if (!rt)
        return;
    config_free(&rt->cfg);
    tokens_free(rt->tokens);
    free(rt);
}

void live_init(svc_live *l, svc_runtime *first)
{
    atomic_init(&l->current, 0);
    for (int i = 0; i < RUNTIME_SLOTS; i++) {
        atomic_init(&l->refs[i], 0);
        l->slot[i] = NULL;
    }
    l->slot[0] = first;
}

/* A reader counts itself in the slot it saw as current, then checks that
 * the slot is still current. The writer fills only a slot that is not
 * current and has no readers, and makes it current afterwards (sequentially
 * consistent atomics order the two). A reader that counted itself in a
 * slot being refilled sees that it is no longer current, and backs off
 * without reading it. */
static int slots_acquire(atomic_int *current, atomic_int *refs)
{
    for (;;) {
        int i = atomic_load(current);
        atomic_fetch_add(&refs[i], 1);
        if (atomic_load(current) == i)
            return i;
        atomic_fetch_sub(&refs[i], 1);
    }
}

/* A slot the writer may fill: not current, no reader. -1 if none. */
static int slots_free(atomic_int *current, atomic_int *refs, int n)
{
    int cur = atomic_load(current);
    for (int j = 0; j < n; j++)
        if (j != cur && atomic_load(&refs[j]) == 0)
            return j;
    return -1;
}

const svc_runtime *live_acquire(svc_live *l, int *slot)
{
    *slot = slots_acquire(&l->current, l->refs);
    return l->slot[*slot];
}

void live_release(svc_live *l, int slot)
{
    atomic_fetch_sub(&l->refs[slot], 1);
}

int live_publish(svc_live *l, svc_runtime *rt)
{
    int j = slots_free(&l->current, l->refs, RUNTIME_SLOTS);
    if (j < 0)
        return -1;
    runtime_free(l->slot[j]);
    l->slot[j] = rt;
    atomic_store(&l->current, j);
    return 0;
}

void live_free(svc_live *l)
{
    for (int i = 0; i < RUNTIME_SLOTS; i++) {
        runtime_free(l->slot[i]);
        l->slot[i] = NULL;
    }
}

/* ---- the index in use: the same slots for phm_index handles ---------- */

void index_init(svc_indexes *x, phm_index *first)
{
    atomic_init(&x->current, 0);
    for (int i = 0; i < INDEX_SLOTS; i++) {
        atomic_init(&x->refs[i], 0);
        x->slot[i] = NULL;
    }
    x->slot[0] = first;
}

int index_acquire(svc_indexes *x, phm_index **idx)
{
    int i = slots_acquire(&x->current, x->refs);
    *idx = x->slot[i];
    return i;
}

void index_release(svc_indexes *x, int slot)
{
    atomic_fetch_sub(&x->refs[slot], 1);
}

int index_publish(svc_indexes *x, phm_index *idx)
{
    int j = slots_free(&x->current, x->refs, INDEX_SLOTS);
    if (j < 0)
        return -1;
    phm_index_close(x->slot[j]);
    x->slot[j] = idx;
    atomic_store(&x->current, j);
    return 0;
}

int index_reap(svc_indexes *x)
{
    int cur = atomic_load(&x->current), open = 0;
    for (int j = 0; j < INDEX_SLOTS; j++) {
        if (j == cur || !x->slot[j])
            continue;
        if (atomic_load(&x->refs[j]) != 0) {
            open++;
            continue;
        }
        phm_index_close(x->slot[j]);
        x->slot[j] = NULL;
    }
    return open;
}

void index_free(svc_indexes *x)
{
    for (int i = 0; i < INDEX_SLOTS; i++) {
        phm_index_close(x->slot[i]);
        x->slot[i] = NULL;
    }
}

double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

uint64_t now_micros(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
