/* progress.c - the progress line (see progress.h). */
#include "progress.h"

#include <stdlib.h>
#include <time.h>

#define REDRAW_SECONDS 0.25

struct progress {
    FILE *fp;
    int enabled;
    int shown;       /* a line is on the screen */
    double start;
    double last;     /* time of the last draw */
    uint64_t before; /* inputs done before this run (--resume) */
};

double progress_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

progress *progress_new(FILE *fp, int enabled)
{
    progress *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->fp = fp;
    p->enabled = enabled;
    p->start = progress_now();
    p->last = p->start;
    return p;
}

void progress_free(progress *p)
{
    if (p)
        progress_clear(p);
    free(p);
}

void progress_set_done_before(progress *p, uint64_t n)
{
    if (p)
        p->before = n;
}

void progress_clear(progress *p)
{
    if (!p || !p->shown)
        return;
    fputs("\r\033[K", p->fp);
    fflush(p->fp);
    p->shown = 0;
}

void progress_update(progress *p, uint64_t done, uint64_t total,
                     int total_known, uint64_t bytes)
{
    if (!p || !p->enabled)
        return;
    double now = progress_now();
    if (now - p->last < REDRAW_SECONDS)
        return;
    p->last = now;

    double elapsed = now - p->start;
    uint64_t now_done = done > p->before ? done - p->before : 0;
    double rate = elapsed > 0 ? (double)now_done / elapsed : 0;
    double mbps = elapsed > 0 ? (double)bytes / elapsed / 1e6 : 0;
    fprintf(p->fp, "\r%llu/%llu%s files  %.1f files/s  %.1f MB/s",
            (unsigned long long)done, (unsigned long long)total,
            total_known ? "" : "+", rate, mbps);
    if (total_known && rate > 0 && total >= done) {
        double eta = (double)(total - done) / rate;
        unsigned long long s = (unsigned long long)(eta + 0.5);
        if (s >= 3600)
            fprintf(p->fp, "  ETA %llu:%02llu:%02llu", s / 3600, s / 60 % 60,
                    s % 60);
        else
            fprintf(p->fp, "  ETA %llu:%02llu", s / 60, s % 60);
    }
    fputs("\033[K", p->fp);
    fflush(p->fp);
    p->shown = 1;
}
