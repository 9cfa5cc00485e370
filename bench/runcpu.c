/*
 * runcpu - CPU and wall time of a command, to the microsecond.
 *
 *     runcpu [-f LISTFILE] [--] COMMAND [ARG...]
 *
 * Runs COMMAND ARG... once, or with -f once per line of LISTFILE with that
 * line appended as the last argument (as `xargs -n 1` would, one run after
 * the other). The command's standard output goes to /dev/null; its standard
 * error is passed through. Prints one tab-separated line:
 *
 *     runs  user_s  sys_s  wall_s  maxrss_kb
 *
 * user_s and sys_s are summed over the runs from wait4()'s resource usage of
 * each child (and so include its threads and exec start-up), wall_s is the
 * elapsed time of all runs, maxrss_kb the largest peak resident size of one
 * run. /usr/bin/time prints only hundredths, too coarse for one small file.
 *
 * Exit status: 0 when every run exited 0; 1 otherwise (the failing command is
 * named on stderr, and no timing line is printed); 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct totals {
    double user_s, sys_s;
    long maxrss_kb;
    unsigned long runs;
} totals;

static double tv_s(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec * 1e-6;
}

/* Runs argv with stdout on /dev/null and adds its usage to `t`. */
static int run_one(char **argv, totals *t)
{
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "runcpu: cannot fork: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
            _exit(126);
        close(fd);
        execvp(argv[0], argv);
        fprintf(stderr, "runcpu: cannot run '%s': %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int st;
    struct rusage ru;
    pid_t r;
    while ((r = wait4(pid, &st, 0, &ru)) < 0 && errno == EINTR)
        ;
    if (r < 0) {
        fprintf(stderr, "runcpu: cannot wait for '%s': %s\n", argv[0], strerror(errno));
        return -1;
    }
    t->user_s += tv_s(ru.ru_utime);
    t->sys_s += tv_s(ru.ru_stime);
    if (ru.ru_maxrss > t->maxrss_kb)
        t->maxrss_kb = ru.ru_maxrss;
    t->runs++;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    if (WIFEXITED(st))
        fprintf(stderr, "runcpu: '%s' exited with status %d\n", argv[0], WEXITSTATUS(st));
    else
        fprintf(stderr, "runcpu: '%s' killed by signal %d\n", argv[0],
                WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    return -1;
}

static int usage(void)
{
    fputs("usage: runcpu [-f LISTFILE] [--] COMMAND [ARG...]\n"
          "  prints: runs user_s sys_s wall_s maxrss_kb (command stdout discarded)\n"
          "  -f LISTFILE  run once per line, the line appended as the last argument\n",
          stderr);
    return 2;
}

int main(int argc, char **argv)
{
    const char *list = NULL;
    int argi = 1;
    if (argi + 1 < argc && strcmp(argv[argi], "-f") == 0) {
        list = argv[argi + 1];
        argi += 2;
    }
    if (argi < argc && strcmp(argv[argi], "--") == 0)
        argi++;
    if (argi >= argc || argv[argi][0] == '-')
        return usage();

    int nargs = argc - argi;
    char **cmd = calloc((size_t)nargs + 2, sizeof *cmd);
    if (!cmd) {
        fprintf(stderr, "runcpu: out of memory\n");
        return 1;
    }
    memcpy(cmd, argv + argi, (size_t)nargs * sizeof *cmd);

    totals t = {0};
    int rc = 0;
    struct timespec w0, w1;
    clock_gettime(CLOCK_MONOTONIC, &w0);
    if (!list) {
        rc = run_one(cmd, &t);
    } else {
        FILE *f = fopen(list, "r");
        if (!f) {
            fprintf(stderr, "runcpu: cannot open '%s': %s\n", list, strerror(errno));
            free(cmd);
            return 1;
        }
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        while (rc == 0 && (n = getline(&line, &cap, f)) > 0) {
            if (line[n - 1] == '\n')
                line[--n] = '\0';
            if (n == 0)
                continue;
            cmd[nargs] = line;
            rc = run_one(cmd, &t);
        }
        if (rc == 0 && ferror(f)) {
            fprintf(stderr, "runcpu: cannot read '%s'\n", list);
            rc = -1;
        }
        free(line);
        fclose(f);
    }
    clock_gettime(CLOCK_MONOTONIC, &w1);
    free(cmd);
    if (rc != 0)
        return 1;
    double wall = (double)(w1.tv_sec - w0.tv_sec) + (double)(w1.tv_nsec - w0.tv_nsec) * 1e-9;
    printf("%lu\t%.6f\t%.6f\t%.6f\t%ld\n", t.runs, t.user_s, t.sys_s, wall, t.maxrss_kb);
    return 0;
}
