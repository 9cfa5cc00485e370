/*
 * mkimages - make benchmark JPEGs of a chosen size from one source photo.
 *
 *     mkimages [-q QUALITY] [-s SEED] [-n NOISE] SOURCE SIZE COUNT OUTDIR
 *
 * SOURCE is any image phmatch decodes (JPEG, PNG, PNM). SIZE is either a
 * pixel count in megapixels ("0.3", "2", "12"), giving the source's aspect
 * ratio, or exact dimensions ("640x480"). COUNT files named
 * OUTDIR/img-WxH-NNN.jpg are written (OUTDIR is created if missing), baseline
 * JPEG, 4:2:0 chroma, quality 90 unless -q says otherwise.
 *
 * Every copy differs, so that no decoder cache or branch predictor sees the
 * same file twice and JPEG entropy stays that of a photograph: each copy
 * takes a different crop of the source (80-100 % of it, random position, and
 * every other copy mirrored), resampled to the target size with a triangle
 * filter (bilinear when enlarging, area-like when shrinking), then gets a
 * gentle brightness ramp in a random direction, a colour tint, and sensor-like
 * grain (Gaussian, NOISE levels standard deviation, default 2).
 *
 * Output is a function of the source pixels, the arguments and the seed
 * (default 1) only: the same command writes the same bytes with the same
 * libjpeg-turbo.
 *
 * Exit status: 0 success, 1 error (message names the file), 2 usage.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <turbojpeg.h>

#include "phmatch.h"

#define MAX_DIM 30000u
#define MAX_OUT_PIXELS (200ull * 1000 * 1000)
#define MAX_COUNT 10000

static const char usage_text[] =
    "usage: mkimages [-q QUALITY] [-s SEED] [-n NOISE] SOURCE SIZE COUNT OUTDIR\n"
    "  SOURCE   a JPEG, PNG or PNM photo to crop and resample\n"
    "  SIZE     megapixels (e.g. 0.3, 2, 12; source aspect ratio) or WxH\n"
    "  COUNT    number of distinct files to write (1-10000)\n"
    "  OUTDIR   directory for OUTDIR/img-WxH-NNN.jpg (created with parents)\n"
    "  -q Q     JPEG quality 1-100 (default 90; 4:2:0 chroma)\n"
    "  -s SEED  seed of the per-copy variations (default 1)\n"
    "  -n SD    grain standard deviation in 8-bit levels, 0-50 (default 2)\n";

static int usage(const char *msg)
{
    if (msg)
        fprintf(stderr, "mkimages: %s\n", msg);
    fputs(usage_text, stderr);
    return 2;
}

/* ------------------------------------------------------------------ */
/* Deterministic randomness                                            */
/* ------------------------------------------------------------------ */

/* splitmix64: a tiny, well-mixed generator; the whole state is one word. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double rng_unit(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* ------------------------------------------------------------------ */
/* Resampling                                                          */
/* ------------------------------------------------------------------ */

/* The source taps of one output coordinate: weights sum to 1. */
typedef struct taps {
    uint32_t first; /* first source index */
    uint32_t n;     /* number of weights */
    size_t off;     /* offset of the weights in the weight array */
} taps;

typedef struct axis {
    taps *t;     /* one per output coordinate */
    float *w;    /* all weights */
    uint32_t max_taps;
} axis;

static void axis_free(axis *a)
{
    free(a->t);
    free(a->w);
    a->t = NULL;
    a->w = NULL;
}

/* Triangle filter from the source interval [start, start + len) onto `out`
 * samples: the filter's radius is one source sample when enlarging and one
 * output sample (in source units) when shrinking. `src_dim` bounds taps. */
static int axis_build(axis *a, double start, double len, uint32_t out,
                      uint32_t src_dim)
{
    double scale = len / out;
    double radius = scale > 1.0 ? scale : 1.0;
    uint32_t max_taps = (uint32_t)ceil(2.0 * radius) + 2;
    a->t = calloc(out, sizeof *a->t);
    a->w = calloc((size_t)out * max_taps, sizeof *a->w);
    a->max_taps = max_taps;
    if (!a->t || !a->w) {
        axis_free(a);
        return -1;
    }
    size_t off = 0;
    for (uint32_t i = 0; i < out; i++) {
        double c = start + (i + 0.5) * scale - 0.5; /* centre, source units */
        long lo = (long)ceil(c - radius), hi = (long)floor(c + radius);
        if (lo < 0)
            lo = 0;
        if (hi > (long)src_dim - 1)
            hi = (long)src_dim - 1;
        if (hi < lo)
            hi = lo;
        double sum = 0.0;
        uint32_t n = 0;
        for (long k = lo; k <= hi && n < max_taps; k++) {
            double d = fabs((double)k - c) / radius;
            double wt = d < 1.0 ? 1.0 - d : 0.0;
            a->w[off + n++] = (float)wt;
            sum += wt;
        }
        if (sum <= 0.0) { /* centre outside the source: nearest sample */
            a->w[off] = 1.0f;
            n = 1;
            sum = 1.0;
        }
        for (uint32_t k = 0; k < n; k++)
            a->w[off + k] = (float)(a->w[off + k] / sum);
        a->t[i] = (taps){(uint32_t)lo, n, off};
        off += n;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* One copy                                                            */
/* ------------------------------------------------------------------ */

typedef struct variation {
    double crop;        /* fraction of the source kept, per side */
    double x0, y0;      /* crop origin, source pixels */
    int mirror;         /* flip left-right */
    double ramp_dx, ramp_dy, ramp_amp; /* brightness ramp */
    double tint[3];     /* per-channel offset */
} variation;

static variation pick_variation(uint64_t *rng, uint32_t sw, uint32_t sh,
                                unsigned index)
{
    variation v;
    v.crop = 0.80 + 0.20 * rng_unit(rng);
    v.x0 = (sw - v.crop * sw) * rng_unit(rng);
    v.y0 = (sh - v.crop * sh) * rng_unit(rng);
    v.mirror = (int)(index & 1u);
    double angle = 6.283185307179586 * rng_unit(rng);
    v.ramp_dx = cos(angle);
    v.ramp_dy = sin(angle);
    v.ramp_amp = 4.0 + 8.0 * rng_unit(rng);
    for (int c = 0; c < 3; c++)
        v.tint[c] = 6.0 * rng_unit(rng) - 3.0;
    return v;
}

/* Approximately Gaussian, unit variance: the sum of four uniforms has
 * variance 4/12, so scale by sqrt(3). Cheap and deterministic. */
static double grain(uint64_t *rng)
{
    uint64_t r = rng_next(rng);
    double s = 0.0;
    for (int k = 0; k < 4; k++)
        s += (double)((r >> (16 * k)) & 0xffff) * (1.0 / 65536.0);
    return (s - 2.0) * 1.7320508075688772;
}

static uint8_t clamp_u8(double x)
{
    if (x <= 0.0)
        return 0;
    if (x >= 255.0)
        return 255;
    return (uint8_t)(x + 0.5);
}

/* Renders copy `index` of `src` (RGB, 3 channels) into `out` (w*h*3). */
static int render(const phm_image *src, uint32_t w, uint32_t h, unsigned index,
                  uint64_t seed, double noise, uint8_t *out)
{
    uint64_t rng = seed * 0x2545f4914f6cdd1dull + index;
    (void)rng_next(&rng);
    variation v = pick_variation(&rng, src->width, src->height, index);

    axis ax = {0}, ay = {0};
    float *row = NULL;
    int rc = -1;
    if (axis_build(&ax, v.x0, v.crop * src->width, w, src->width) ||
        axis_build(&ay, v.y0, v.crop * src->height, h, src->height))
        goto out;
    row = malloc((size_t)src->width * 3 * sizeof *row);
    if (!row)
        goto out;

    for (uint32_t y = 0; y < h; y++) {
        /* Vertical pass: one source-width row of the crop. */
        const taps *ty = &ay.t[y];
        memset(row, 0, (size_t)src->width * 3 * sizeof *row);
        for (uint32_t k = 0; k < ty->n; k++) {
            const uint8_t *s = src->pixels + (size_t)(ty->first + k) * src->stride;
            float wt = ay.w[ty->off + k];
            for (size_t i = 0; i < (size_t)src->width * 3; i++)
                row[i] += wt * (float)s[i];
        }
        /* Horizontal pass, ramp, tint and grain. */
        uint8_t *d = out + (size_t)y * w * 3;
        double fy = (double)y / h - 0.5;
        for (uint32_t x = 0; x < w; x++) {
            const taps *tx = &ax.t[v.mirror ? w - 1 - x : x];
            float acc[3] = {0.0f, 0.0f, 0.0f};
            for (uint32_t k = 0; k < tx->n; k++) {
                const float *p = row + (size_t)(tx->first + k) * 3;
                float wt = ax.w[tx->off + k];
                acc[0] += wt * p[0];
                acc[1] += wt * p[1];
                acc[2] += wt * p[2];
            }
            double fx = (double)x / w - 0.5;
            double shift = v.ramp_amp * (fx * v.ramp_dx + fy * v.ramp_dy);
            double g = noise * grain(&rng); /* luma grain, shared */
            for (int c = 0; c < 3; c++) {
                double chroma = noise * 0.5 * grain(&rng);
                d[(size_t)x * 3 + (size_t)c] =
                    clamp_u8(acc[c] + shift + v.tint[c] + g + chroma);
            }
        }
    }
    rc = 0;
out:
    free(row);
    axis_free(&ax);
    axis_free(&ay);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Arguments, source, output                                           */
/* ------------------------------------------------------------------ */

static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

static int parse_ulong(const char *s, unsigned long lo, unsigned long hi,
                       unsigned long *out)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* SIZE: "WxH" or megapixels. */
static int parse_size(const char *s, uint32_t sw, uint32_t sh, uint32_t *w,
                      uint32_t *h)
{
    const char *x = strchr(s, 'x');
    if (x) {
        char wbuf[16];
        size_t n = (size_t)(x - s);
        unsigned long uw, uh;
        if (n == 0 || n >= sizeof wbuf)
            return -1;
        memcpy(wbuf, s, n);
        wbuf[n] = '\0';
        if (parse_ulong(wbuf, 1, MAX_DIM, &uw) || parse_ulong(x + 1, 1, MAX_DIM, &uh))
            return -1;
        *w = (uint32_t)uw;
        *h = (uint32_t)uh;
    } else {
        double mp;
        if (parse_double(s, 1e-6, (double)MAX_OUT_PIXELS / 1e6, &mp))
            return -1;
        double aspect = (double)sw / sh;
        double fw = floor(sqrt(mp * 1e6 * aspect) + 0.5);
        double fh = floor(mp * 1e6 / fw + 0.5);
        if (fw < 1.0 || fh < 1.0 || fw > MAX_DIM || fh > MAX_DIM)
            return -1;
        *w = (uint32_t)fw;
        *h = (uint32_t)fh;
    }
    return (uint64_t)*w * *h <= MAX_OUT_PIXELS ? 0 : -1;
}

/* The source as tightly packed RGB (grey expanded), owned by the caller. */
static uint8_t *load_rgb(const char *path, phm_image *img)
{
    phm_decoder *dec = NULL;
    char err[PHM_ERRMSG_MAX];
    uint8_t *rgb = NULL;
    phm_image in;
    if (phm_decoder_new(&dec, NULL) != PHM_OK) {
        fprintf(stderr, "mkimages: out of memory\n");
        goto out;
    }
    int rc = phm_decode_file(dec, path, &in, err, sizeof err);
    if (rc == PHM_WARN_RECOVERED)
        fprintf(stderr, "mkimages: warning: %s\n", err);
    else if (rc != PHM_OK) {
        fprintf(stderr, "mkimages: %s\n", err[0] ? err : phm_strerror(rc));
        goto out;
    }
    rgb = malloc((size_t)in.width * in.height * 3);
    if (!rgb) {
        fprintf(stderr, "mkimages: out of memory for '%s' (%ux%u)\n", path,
                in.width, in.height);
        goto out;
    }
    for (uint32_t y = 0; y < in.height; y++) {
        const uint8_t *s = in.pixels + (size_t)y * in.stride;
        uint8_t *d = rgb + (size_t)y * in.width * 3;
        if (in.channels == 3) {
            memcpy(d, s, (size_t)in.width * 3);
        } else {
            for (uint32_t x = 0; x < in.width; x++)
                d[3 * x] = d[3 * x + 1] = d[3 * x + 2] = s[x];
        }
    }
    *img = in;
    img->pixels = rgb;
    img->channels = 3;
    img->stride = (size_t)in.width * 3;
out:
    phm_decoder_free(dec);
    return rgb;
}

/* mkdir -p: creates `dir` and its missing parents. */
static int make_dirs(const char *dir)
{
    char buf[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return -1;
        buf[i] = c;
    }
    struct stat sb;
    if (stat(dir, &sb) != 0)
        return -1;
    if (!S_ISDIR(sb.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

static int write_file(const char *path, const unsigned char *data, unsigned long len)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "mkimages: cannot create '%s': %s\n", path, strerror(errno));
        return -1;
    }
    size_t n = fwrite(data, 1, len, f);
    int e = errno;
    if (fclose(f) != 0 || n != len) {
        fprintf(stderr, "mkimages: cannot write '%s': %s\n", path,
                strerror(n != len ? e : errno));
        remove(path);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long quality = 90, seed = 1;
    double noise = 2.0;
    int argi = 1;
    for (; argi < argc && argv[argi][0] == '-' && argv[argi][1]; argi++) {
        const char *opt = argv[argi];
        if (strcmp(opt, "--") == 0) {
            argi++;
            break;
        }
        if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0) {
            fputs(usage_text, stdout);
            return 0;
        }
        if (opt[2] || !strchr("qsn", opt[1]))
            return usage("unknown option");
        if (argi + 1 >= argc)
            return usage("option needs a value");
        const char *val = argv[++argi];
        if (opt[1] == 'q' && parse_ulong(val, 1, 100, &quality))
            return usage("-q: quality must be 1-100");
        if (opt[1] == 's' && parse_ulong(val, 0, 0xfffffffful, &seed))
            return usage("-s: seed must be a number 0-4294967295");
        if (opt[1] == 'n' && parse_double(val, 0.0, 50.0, &noise))
            return usage("-n: noise must be 0-50");
    }
    if (argc - argi != 4)
        return usage(NULL);
    const char *source = argv[argi], *size = argv[argi + 1];
    const char *outdir = argv[argi + 3];
    unsigned long count;
    if (parse_ulong(argv[argi + 2], 1, MAX_COUNT, &count))
        return usage("COUNT must be 1-10000");

    int status = 1;
    phm_image src;
    uint8_t *src_rgb = load_rgb(source, &src);
    uint8_t *px = NULL;
    tjhandle tj = NULL;
    unsigned char *jpeg = NULL;
    if (!src_rgb)
        return 1;
    uint32_t w, h;
    if (parse_size(size, src.width, src.height, &w, &h)) {
        free(src_rgb);
        return usage("SIZE must be megapixels (e.g. 2) or WxH, at most 200 MP");
    }
    if (make_dirs(outdir) != 0) {
        fprintf(stderr, "mkimages: cannot create directory '%s': %s\n", outdir,
                strerror(errno));
        goto out;
    }
    px = malloc((size_t)w * h * 3);
    tj = tjInitCompress();
    if (!px || !tj) {
        fprintf(stderr, "mkimages: cannot allocate a %ux%u image: %s\n", w, h,
                px ? tjGetErrorStr2(NULL) : "out of memory");
        goto out;
    }
    unsigned long long total = 0;
    unsigned long len = 0;
    for (unsigned long i = 0; i < count; i++) {
        char path[4096];
        int n = snprintf(path, sizeof path, "%s/img-%ux%u-%03lu.jpg", outdir, w, h, i);
        if (n < 0 || (size_t)n >= sizeof path) {
            fprintf(stderr, "mkimages: output path too long in '%s'\n", outdir);
            goto out;
        }
        if (render(&src, w, h, (unsigned)i, seed, noise, px)) {
            fprintf(stderr, "mkimages: out of memory rendering '%s'\n", path);
            goto out;
        }
        /* TurboJPEG reads `len` as the size of `jpeg` and reuses or grows it. */
        if (tjCompress2(tj, px, (int)w, 0, (int)h, TJPF_RGB, &jpeg, &len, TJSAMP_420,
                        (int)quality, 0) != 0) {
            fprintf(stderr, "mkimages: cannot encode '%s': %s\n", path,
                    tjGetErrorStr2(tj));
            goto out;
        }
        if (write_file(path, jpeg, len))
            goto out;
        total += len;
    }
    printf("%lu files of %ux%u (%.2f MP) in %s: %.0f KB and %.2f bits/pixel on average\n",
           count, w, h, (double)w * h / 1e6, outdir, (double)total / (double)count / 1024.0,
           (double)total * 8.0 / (double)count / ((double)w * h));
    status = 0;
out:
    if (jpeg)
        tjFree(jpeg);
    if (tj)
        tjDestroy(tj);
    free(px);
    free(src_rgb);
    return status;
}
