/*
 * mkqueries - make transformed copies of photos, as queries for
 * `phmatch match` (the demo's data/queries/, the match tests).
 *
 *     mkqueries [-t LIST] [-q QUALITY] [-m MAX] OUTDIR IMAGE...
 *
 * For every IMAGE (JPEG, PNG or PNM, decoded by libphmatch) named
 * DIR/NAME.EXT, writes OUTDIR/NAME-T.jpg for each transform T of LIST
 * (comma-separated; default all but "same"):
 *
 *   half    resized to half its width and height (2x2 box filter)
 *   q20     re-encoded at JPEG quality 20
 *   crop    cropped by 1 % on every side
 *   rot90   rotated 90 degrees clockwise
 *   mirror  flipped left to right
 *   same    re-encoded unchanged, written as OUTDIR/NAME.jpg
 *
 * -m MAX first shrinks each IMAGE (area averaging) so that neither side
 * exceeds MAX pixels; the transforms apply to the result.
 *
 * JPEGs are written by libjpeg-turbo (TurboJPEG), baseline, 4:2:0 chroma
 * (grey images stay grey), quality 85 unless -q or the transform says
 * otherwise. The output depends only on the input pixels, the arguments and
 * the libjpeg-turbo version: running it twice writes the same bytes.
 *
 * Exit status: 0 success, 1 an image could not be read or written (the
 * message names it), 2 usage.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <turbojpeg.h>

#include "phmatch.h"

static const char usage_text[] =
    "usage: mkqueries [-t LIST] [-q QUALITY] [-m MAX] OUTDIR IMAGE...\n"
    "  -t LIST  transforms, comma-separated: half,q20,crop,rot90,mirror,same\n"
    "           (default: all but same)\n"
    "  -q Q     JPEG quality of the copies, 1-100 (default 85; q20 uses 20)\n"
    "  -m MAX   first shrink each image to at most MAX pixels a side\n"
    "Writes OUTDIR/NAME-T.jpg for each IMAGE (NAME: its file name without\n"
    "extension) and transform T. OUTDIR is created if missing.\n";

enum { T_HALF, T_Q20, T_CROP, T_ROT90, T_MIRROR, T_SAME, T_COUNT };
static const char *const transform_names[T_COUNT] = {
    "half", "q20", "crop", "rot90", "mirror", "same",
};

/* An owned 8-bit image. */
typedef struct picture {
    uint8_t *px;
    uint32_t w, h, ch; /* ch: 1 or 3 */
} picture;

static int usage(const char *msg)
{
    if (msg)
        fprintf(stderr, "mkqueries: %s\n", msg);
    fputs(usage_text, stderr);
    return 2;
}

static int parse_transforms(const char *list, unsigned *out)
{
    unsigned set = 0;
    const char *s = list;
    while (*s) {
        const char *c = strchr(s, ',');
        size_t len = c ? (size_t)(c - s) : strlen(s);
        int found = 0;
        for (int i = 0; i < T_COUNT; i++)
            if (strlen(transform_names[i]) == len &&
                strncmp(s, transform_names[i], len) == 0) {
                set |= 1u << i;
                found = 1;
            }
        if (!found)
            return -1;
        s += len + (c ? 1 : 0);
    }
    *out = set;
    return set ? 0 : -1;
}

static int alloc_picture(picture *p, uint32_t w, uint32_t h, uint32_t ch)
{
    p->w = w;
    p->h = h;
    p->ch = ch;
    p->px = malloc((size_t)w * h * ch);
    return p->px ? 0 : -1;
}

/* Copies the decoder's image into an owned, tightly packed picture. */
static int copy_image(const phm_image *img, picture *p)
{
    if (alloc_picture(p, img->width, img->height, img->channels))
        return -1;
    size_t row = (size_t)img->width * img->channels;
    for (uint32_t y = 0; y < img->height; y++)
        memcpy(p->px + y * row, img->pixels + y * img->stride, row);
    return 0;
}

/* Shrinks `in` to w x h (not larger) by area averaging: each output pixel
 * is the mean of the source area it covers, partial pixels weighted. */
static int resize_area(const picture *in, uint32_t w, uint32_t h, picture *out)
{
    uint32_t ch = in->ch;
    double sx = (double)in->w / w, sy = (double)in->h / h;
    if (alloc_picture(out, w, h, ch))
        return -1;
    for (uint32_t y = 0; y < h; y++) {
        double y0 = y * sy, y1 = (y + 1) * sy;
        for (uint32_t x = 0; x < w; x++) {
            double x0 = x * sx, x1 = (x + 1) * sx;
            double acc[3] = { 0, 0, 0 }, total = 0;
            for (uint32_t yy = (uint32_t)y0; yy < in->h && yy < y1; yy++) {
                double wy = (yy + 1 < y1 ? yy + 1 : y1) - (yy > y0 ? yy : y0);
                for (uint32_t xx = (uint32_t)x0; xx < in->w && xx < x1; xx++) {
                    double wx = (xx + 1 < x1 ? xx + 1 : x1) - (xx > x0 ? xx : x0);
                    const uint8_t *p = in->px + ((size_t)yy * in->w + xx) * ch;
                    for (uint32_t c = 0; c < ch; c++)
                        acc[c] += wx * wy * p[c];
                    total += wx * wy;
                }
            }
            for (uint32_t c = 0; c < ch; c++)
                out->px[((size_t)y * w + x) * ch + c] =
                    (uint8_t)(acc[c] / total + 0.5);
        }
    }
    return 0;
}

static int transform(const picture *in, int t, picture *out)
{
    uint32_t ch = in->ch;
    switch (t) {
    case T_HALF:
        return resize_area(in, in->w / 2 ? in->w / 2 : 1,
                           in->h / 2 ? in->h / 2 : 1, out);
    case T_CROP: {
        uint32_t dx = in->w / 100, dy = in->h / 100;
        uint32_t w = in->w - 2 * dx, h = in->h - 2 * dy;
        if (alloc_picture(out, w, h, ch))
            return -1;
        for (uint32_t y = 0; y < h; y++)
            memcpy(out->px + (size_t)y * w * ch,
                   in->px + ((size_t)(y + dy) * in->w + dx) * ch,
                   (size_t)w * ch);
        return 0;
    }
    case T_ROT90: /* clockwise: out(x, y) = in(y, H - 1 - x) */
        if (alloc_picture(out, in->h, in->w, ch))
            return -1;
        for (uint32_t y = 0; y < out->h; y++)
            for (uint32_t x = 0; x < out->w; x++)
                memcpy(out->px + ((size_t)y * out->w + x) * ch,
                       in->px + ((size_t)(in->h - 1 - x) * in->w + y) * ch, ch);
        return 0;
    case T_MIRROR:
        if (alloc_picture(out, in->w, in->h, ch))
            return -1;
        for (uint32_t y = 0; y < in->h; y++)
            for (uint32_t x = 0; x < in->w; x++)
                memcpy(out->px + ((size_t)y * in->w + x) * ch,
                       in->px + ((size_t)y * in->w + (in->w - 1 - x)) * ch, ch);
        return 0;
    default: /* q20, same: the pixels unchanged */
        if (alloc_picture(out, in->w, in->h, ch))
            return -1;
        memcpy(out->px, in->px, (size_t)in->w * in->h * ch);
        return 0;
    }
}

/* Writes p as a JPEG to `path`. Returns 0, or -1 after a message. */
static int write_jpeg(tjhandle tj, const picture *p, int quality,
                      const char *path)
{
    unsigned char *buf = NULL;
    unsigned long len = 0;
    int gray = p->ch == 1;
    if (tjCompress2(tj, p->px, (int)p->w, 0, (int)p->h,
                    gray ? TJPF_GRAY : TJPF_RGB, &buf, &len,
                    gray ? TJSAMP_GRAY : TJSAMP_420, quality, TJFLAG_ACCURATEDCT)) {
        fprintf(stderr, "mkqueries: cannot encode '%s': %s\n", path,
                tjGetErrorStr2(tj));
        tjFree(buf);
        return -1;
    }
    FILE *fp = fopen(path, "wb");
    int ok = fp && fwrite(buf, 1, len, fp) == len;
    if (fp && fclose(fp) != 0)
        ok = 0;
    if (!ok)
        fprintf(stderr, "mkqueries: cannot write '%s': %s\n", path,
                strerror(errno));
    tjFree(buf);
    return ok ? 0 : -1;
}

/* "dir/name.jpg" -> "name" into out. */
static void stem(const char *path, char *out, size_t len)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    snprintf(out, len, "%.*s", (int)n, base);
}

int main(int argc, char **argv)
{
    unsigned set = ((1u << T_COUNT) - 1) & ~(1u << T_SAME);
    int quality = 85, i = 1, status = 0;
    long maxdim = 0;

    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if (i + 1 >= argc)
            return usage("option needs a value");
        if (strcmp(argv[i], "-t") == 0) {
            if (parse_transforms(argv[++i], &set))
                return usage("bad transform list");
        } else if (strcmp(argv[i], "-q") == 0) {
            char *end;
            long q = strtol(argv[++i], &end, 10);
            if (*end || q < 1 || q > 100)
                return usage("quality must be 1-100");
            quality = (int)q;
        } else if (strcmp(argv[i], "-m") == 0) {
            char *end;
            maxdim = strtol(argv[++i], &end, 10);
            if (*end || maxdim < 8 || maxdim > 100000)
                return usage("MAX must be 8-100000");
        } else {
            return usage("unknown option");
        }
    }
    if (argc - i < 2)
        return usage(NULL);
    const char *outdir = argv[i++];
    if (mkdir(outdir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "mkqueries: cannot create '%s': %s\n", outdir,
                strerror(errno));
        return 1;
    }

    phm_decoder *dec = NULL;
    tjhandle tj = tjInitCompress();
    char err[PHM_ERRMSG_MAX];
    if (!tj || phm_decoder_new(&dec, NULL) != PHM_OK) {
        fprintf(stderr, "mkqueries: out of memory\n");
        if (tj)
            tjDestroy(tj);
        return 1;
    }
    for (; i < argc; i++) {
        phm_image img;
        picture src = { 0 };
        char name[256], path[4096];
        int rc = phm_decode_file(dec, argv[i], &img, err, sizeof err);
        if (rc != PHM_OK || copy_image(&img, &src)) {
            fprintf(stderr, "mkqueries: %s\n",
                    rc != PHM_OK ? err : "out of memory");
            status = 1;
            continue;
        }
        if (maxdim && (src.w > (uint32_t)maxdim || src.h > (uint32_t)maxdim)) {
            picture small = { 0 };
            uint32_t big = src.w > src.h ? src.w : src.h;
            uint32_t w = (uint32_t)((uint64_t)src.w * (uint64_t)maxdim / big);
            uint32_t h = (uint32_t)((uint64_t)src.h * (uint64_t)maxdim / big);
            if (resize_area(&src, w ? w : 1, h ? h : 1, &small)) {
                fprintf(stderr, "mkqueries: out of memory\n");
                free(src.px);
                status = 1;
                continue;
            }
            free(src.px);
            src = small;
        }
        stem(argv[i], name, sizeof name);
        for (int t = 0; t < T_COUNT; t++) {
            picture out = { 0 };
            if (!(set & (1u << t)))
                continue;
            int len = t == T_SAME
                          ? snprintf(path, sizeof path, "%s/%s.jpg", outdir, name)
                          : snprintf(path, sizeof path, "%s/%s-%s.jpg", outdir,
                                     name, transform_names[t]);
            if (len < 0 || (size_t)len >= sizeof path) {
                fprintf(stderr, "mkqueries: path too long for '%s'\n", argv[i]);
                status = 1;
                continue;
            }
            if (transform(&src, t, &out)) {
                fprintf(stderr, "mkqueries: out of memory\n");
                status = 1;
            } else if (write_jpeg(tj, &out, t == T_Q20 ? 20 : quality, path)) {
                status = 1;
            }
            free(out.px);
        }
        free(src.px);
    }
    phm_decoder_free(dec);
    tjDestroy(tj);
    return status;
}
