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
const svc_runtime *live_acquire(svc_live *l, int *slot)
{
    for (;;) {
        int i = atomic_load(&l->current);
        atomic_fetch_add(&l->refs[i], 1);
        if (atomic_load(&l->current) == i) {
            *slot = i;
            return l->slot[i];
        }
        atomic_fetch_sub(&l->refs[i], 1);
    }
}

void live_release(svc_live *l, int slot)
{
    atomic_fetch_sub(&l->refs[slot], 1);
}

int live_publish(svc_live *l, svc_runtime *rt)
{
    int cur = atomic_load(&l->current);
    for (int j = 0; j < RUNTIME_SLOTS; j++) {
        if (j == cur || atomic_load(&l->refs[j]) != 0)
            continue;
        runtime_free(l->slot[j]);
        l->slot[j] = rt;
        atomic_store(&l->current, j);
        return 0;
    }
    return -1;
}

void live_free(svc_live *l)
{
    for (int i = 0; i < RUNTIME_SLOTS; i++) {
        runtime_free(l->slot[i]);
        l->slot[i] = NULL;
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
