/* worker.h - library-internal: a helper thread and the mutex and condition
 * variable it shares with the thread that started it (a hash list's
 * read-ahead, a first import's plan, the base written ahead of a commit). */
#ifndef PHM_WORKER_H
#define PHM_WORKER_H

#include <pthread.h>

/* Makes *mu and *cv and starts fn(arg) as *thread. 0, or -1 with nothing
 * made (the caller goes on without the thread). */
static inline int phm__worker_start(pthread_t *thread, pthread_mutex_t *mu, pthread_cond_t *cv,
                                    void *(*fn)(void *), void *arg)
{
    if (pthread_mutex_init(mu, NULL))
        return -1;
    if (pthread_cond_init(cv, NULL)) {
        pthread_mutex_destroy(mu);
        return -1;
    }
    if (pthread_create(thread, NULL, fn, arg)) {
        pthread_cond_destroy(cv);
        pthread_mutex_destroy(mu);
        return -1;
    }
    return 0;
}

/* Waits for the thread (told to stop by the caller) and undoes
 * phm__worker_start. */
static inline void phm__worker_join(pthread_t thread, pthread_mutex_t *mu, pthread_cond_t *cv)
{
    pthread_join(thread, NULL);
    pthread_cond_destroy(cv);
    pthread_mutex_destroy(mu);
}

#endif
