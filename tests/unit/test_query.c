/* test_query.c - phm_hash_mem_query / phm_hash_file_query (every hash of
 * a query from one decode) against the separate calls they replace, on
 * every image under data/, tests/data/jpeg and tests/data/pdq/images and
 * on generated ones (sizes around the cuts' and the hasher's edges: 5 to
 * 7 rows, 64 x 64 cuts, heights not a multiple of 16, sides past 256 and
 * 512; grey, CMYK, progressive and truncated JPEGs; PNM; a letterboxed
 * photo), in both modes, with and without the orientations, and with
 * each set of extras. The reference of each is computed apart, with
 * another decoder and hasher, from the image decoded whole
 * (phm_decode_mem): the plain hash by phm_hash_mem, the cuts by
 * phm_hash_cuts, the soft hash by phm_hash_soft, the trimmed hash by the
 * border found on the full pixels (for a JPEG only where its reduced copy,
 * made here from the whole image, shows one, as the one-pass path
 * decides). Everything must be bit-identical: status, message, hashes,
 * quality, sizes. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <turbojpeg.h>

#include "decode_internal.h"
#include "tap.h"
#include "phmatch.h"

typedef struct ctx {
    phm_decoder *dec, *rdec; /* under test; the reference's */
    phm_hasher *h, *rh;
    char why[1400];          /* the first difference of the current image */
    int small;               /* tap_small(): see walk and generated */
    struct seen {            /* the files checked, by content (small runs) */
        uint64_t fnv;
        size_t len;
        char *path;
    } *seen;
    size_t nseen;
} ctx;

static int same_result(const phm_pdq_result *a, const phm_pdq_result *b)
{
    if (a->nhashes != b->nhashes || a->quality != b->quality || a->width != b->width ||
        a->height != b->height)
        return 0;
    for (int i = 0; i < a->nhashes && i < PHM_DIH_COUNT; i++)
        if (memcmp(&a->hash[i], &b->hash[i], sizeof a->hash[i]))
            return 0;
    return 1;
}

#define DIFF(...)                                                 \
    do {                                                          \
        if (!c->why[0])                                           \
            snprintf(c->why, sizeof c->why, __VA_ARGS__);         \
        return 0;                                                 \
    } while (0)

/* What a JPEG's reduced copy, made here from the whole image, shows to
 * `says` (the one-pass path decides by it). */
static int thumb_shows(ctx *c, const phm_image *img, int (*says)(const phm_thumb *))
{
    phm_thumb th;
    if (phm__thumb_begin(c->rdec, &th, img->width, img->height, img->channels) != PHM_OK)
        return 0;
    phm__thumb_rows(&th, img->pixels, img->stride, img->height);
    return says(&th);
}

/* One call against its reference. 1 when identical, else 0 and c->why. */
static int check(ctx *c, const uint8_t *data, size_t len, const char *name,
                 const phm_query_options *o)
{
    char err[PHM_ERRMSG_MAX], rerr[PHM_ERRMSG_MAX];
    phm_query_hashes q;
    int rc = phm_hash_mem_query(c->dec, c->h, data, len, name, o, &q, err, sizeof err);
    const char *cfg = "";
    static char cfgbuf[96];
    snprintf(cfgbuf, sizeof cfgbuf, "%s%s trim %d cuts %d soft %d corners %d", name,
             o->mode == PHM_MODE_CLI512 ? " cli512" : "", o->trim, o->cuts, o->soft,
             o->corners);
    cfg = cfgbuf;

    phm_pdq_result pdq;
    phm_image_info info;
    int rrc = phm_hash_mem(c->rdec, c->rh, data, len, name, o->mode, o->dihedral, &pdq, &info,
                           rerr, sizeof rerr);
    if (rc != rrc)
        DIFF("%s: status %d, phm_hash_mem %d", cfg, rc, rrc);
    if (strcmp(err, rerr))
        DIFF("%s: message '%s', phm_hash_mem '%s'", cfg, err, rerr);
    if (memcmp(&q.info, &info, sizeof info))
        DIFF("%s: info differs", cfg);
    if (!same_result(&q.pdq, &pdq))
        DIFF("%s: plain hash differs", cfg);
    if (rc < 0) {
        if (q.trim.found || q.cut_ok || q.has_soft || q.corners_found)
            DIFF("%s: extras after an error", cfg);
        return 1;
    }

    phm_image img;
    if (phm_decode_mem(c->rdec, data, len, name, &img, rerr, sizeof rerr) < 0)
        DIFF("%s: the reference cannot decode it: %s", cfg, rerr);
    if (o->trim) {
        phm_trim_result t;
        memset(&t, 0, sizeof t);
        int look = img.format != PHM_FORMAT_JPEG || thumb_shows(c, &img, phm__trim_thumb_border);
        if (look) {
            phm_image v;
            if (phm_trim_detect(&img, &t.content) == 1 &&
                phm_image_view(&img, &t.content, &v) == PHM_OK &&
                phm_hash_image(c->rh, &v, o->mode, o->dihedral, &t.pdq) == PHM_OK)
                t.found = 1;
        }
        if (q.trim.found != t.found)
            DIFF("%s: trim found %d, reference %d", cfg, q.trim.found, t.found);
        if (t.found && (memcmp(&q.trim.content, &t.content, sizeof t.content) ||
                        !same_result(&q.trim.pdq, &t.pdq)))
            DIFF("%s: trimmed box or hash differs", cfg);
    } else if (q.trim.found) {
        DIFF("%s: trimmed without being asked", cfg);
    }
    if (o->cuts) {
        phm_pdq_result cut[PHM_CUT_COUNT];
        unsigned ok = phm_hash_cuts(c->rh, &img, o->mode, o->dihedral, cut);
        if (q.cut_ok != ok)
            DIFF("%s: cut mask %u, phm_hash_cuts %u", cfg, q.cut_ok, ok);
        for (int k = 0; k < PHM_CUT_COUNT; k++)
            if ((ok & (1u << k)) && !same_result(&q.cut[k], &cut[k]))
                DIFF("%s: cut %d differs", cfg, k);
    } else if (q.cut_ok) {
        DIFF("%s: cuts without being asked", cfg);
    }
    if (o->soft) {
        phm_pdq_result s;
        int has = phm_hash_soft(c->rh, &img, o->mode, o->dihedral, &s) == PHM_OK;
        if (q.has_soft != has)
            DIFF("%s: soft %d, phm_hash_soft %d", cfg, q.has_soft, has);
        if (has && !same_result(&q.soft, &s))
            DIFF("%s: soft hash differs", cfg);
    } else if (q.has_soft) {
        DIFF("%s: soft without being asked", cfg);
    }
    /* A rotation's corners: a JPEG is looked at whole when kept (trim
     * with cuts; every image here is small enough) or when its reduced
     * copy shows them; any other image always. */
    int look = o->corners;
    if (look && img.format == PHM_FORMAT_JPEG && !(o->trim && o->cuts))
        look = thumb_shows(c, &img, phm__thumb_corners);
    phm_corners rc_ = { 0 };
    int found = look && phm_corners_find(&img, &rc_) == 1, quality = 0;
    if (found) {
        size_t n = phm_image_bytes(img.width, img.height, img.channels);
        uint8_t *buf = malloc(n);
        phm_image f;
        phm_pdq_result r;
        if (!buf || phm_corners_fill(&img, &rc_, buf, n, &f) ||
            phm_hash_image(c->rh, &f, o->mode, 0, &r)) {
            free(buf);
            DIFF("%s: the reference cannot fill the corners", cfg);
        }
        quality = r.quality;
        free(buf);
    }
    if (q.corners_found != found)
        DIFF("%s: corners found %d, reference %d", cfg, q.corners_found, found);
    if (found && (memcmp(&q.corners, &rc_, sizeof rc_) || q.corners_quality != quality ||
                  q.calm_corners != (quality < PHM_PDQ_MIN_QUALITY)))
        DIFF("%s: corners (quality %d, calm %d) differ from the reference's (%d)", cfg,
             q.corners_quality, q.calm_corners, quality);
    if (!found && (q.corners_quality || q.calm_corners))
        DIFF("%s: corner figures without corners", cfg);
    return 1;
}

/* Every set of extras in both modes, with and without orientations
 * (`every`); else three: all extras in each mode, trimming alone. */
static int check_all(ctx *c, const uint8_t *data, size_t len, const char *name, int every)
{
    static const int sets[][4] = { { 1, 1, 1, 1 }, { 1, 0, 0, 1 }, { 0, 1, 0, 0 },
                                   { 0, 0, 1, 1 }, { 0, 1, 1, 0 }, { 0, 0, 0, 1 },
                                   { 0, 0, 0, 0 } };
    int good = 1;
    for (int m = 0; m < 2; m++)
        for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++) {
            if (!every && (s > 1 || (s == 1 && m == 1)))
                continue;
            phm_query_options o = { m ? PHM_MODE_CLI512 : PHM_MODE_FULL, (int)(s + (size_t)m) % 2,
                                    sets[s][0], sets[s][1], sets[s][2], sets[s][3], 0, 0 };
            good &= check(c, data, len, name, &o);
        }
    return good;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) &&
            fread(buf, 1, (size_t)n, f) == (size_t)n) {
            *len = (size_t)n;
        } else {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    return buf;
}

/* Whether a small run checked these bytes already (under another name:
 * data/ and the PDQ images share several photos); else remembers them. */
static int checked_before(ctx *c, const uint8_t *b, size_t len, const char *path)
{
    uint64_t fnv = 14695981039346656037u; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        fnv = (fnv ^ b[i]) * 1099511628211u;
    for (size_t i = 0; i < c->nseen; i++) {
        size_t l2 = 0;
        uint8_t *b2;
        if (c->seen[i].fnv != fnv || c->seen[i].len != len ||
            !(b2 = slurp(c->seen[i].path, &l2)))
            continue;
        int same = l2 == len && memcmp(b, b2, len) == 0;
        free(b2);
        if (same)
            return 1;
    }
    struct seen *t = realloc(c->seen, (c->nseen + 1) * sizeof *t);
    if (t) {
        c->seen = t;
        if ((t[c->nseen].path = strdup(path))) {
            t[c->nseen].fnv = fnv;
            t[c->nseen++].len = len;
        }
    }
    return 0;
}

/* Every image file under dir (by its magic bytes), one check each. A
 * small run (tap_small) checks each content once, of the four 4032 x 3024
 * camera JPEGs of reg-test-input/exif-rotn (the decoder does not read
 * their EXIF orientation) the first, and of reg-test-input/dih (the bridge
 * photo turned and flipped) the original: the same lines and branches of
 * src/ are reached, in 55 % of the CPU time. */
static void walk(ctx *c, const char *dir, int *files)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char **names = NULL;
    size_t n = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char **t = realloc(names, (n + 1) * sizeof *names);
        if (!t)
            break;
        names = t;
        size_t l = strlen(dir) + strlen(e->d_name) + 2;
        if (!(names[n] = malloc(l)))
            break;
        snprintf(names[n++], l, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat(names[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            walk(c, names[i], files);
        } else if (S_ISREG(st.st_mode)) {
            size_t len = 0;
            uint8_t *b = slurp(names[i], &len);
            int skip = c->small && b &&
                       ((strstr(names[i], "/exif-rotn/") && !strstr(names[i], "-rotn-1.")) ||
                        (strstr(names[i], "/dih/") && !strstr(names[i], "-1-original")) ||
                        checked_before(c, b, len, names[i]));
            if (b && !skip && phm_format_detect(b, len) != PHM_FORMAT_UNKNOWN) {
                c->why[0] = '\0';
                OK(check_all(c, b, len, names[i], 0), "%s: one decode gives the separate calls' "
                                                   "hashes", names[i]);
                if (c->why[0])
                    printf("#   %s\n", c->why);
                ++*files;
            }
            free(b);
        }
        free(names[i]);
    }
    free(names);
}

/* ---- generated images ---- */

/* Thomas Wang's 32-bit integer hash: noise from coordinates. */
static uint32_t mix(uint32_t x)
{
    x = (x ^ 61u) ^ (x >> 16);
    x *= 9u;
    x ^= x >> 4;
    x *= 0x27d4eb2du;
    return x ^ (x >> 15);
}

/* A textured RGB picture: blocks of several sizes, smooth ramps, noise. */
static uint8_t *picture(uint32_t w, uint32_t h, uint32_t seed)
{
    uint8_t *p = malloc((size_t)w * h * 3);
    for (uint32_t y = 0; p && y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            for (uint32_t k = 0; k < 3; k++) {
                uint32_t v = (mix(seed ^ (x / 23) * 977 ^ (y / 17) * 7919 ^ k) & 127) +
                             (x * 97 / (w + 1) + y * 61 / (h + 1)) + (mix(x * 131 + y * 7 + k) & 15);
                p[((size_t)y * w + x) * 3 + k] = (uint8_t)(v > 255 ? 255 : v);
            }
    return p;
}

static void check_bytes(ctx *c, const uint8_t *b, size_t len, const char *name)
{
    c->why[0] = '\0';
    OK(b && check_all(c, b, len, name, 1), "%s: one decode gives the separate calls' hashes",
       name);
    if (c->why[0])
        printf("#   %s\n", c->why);
}

/* p (w x h RGB) as a JPEG in `pf` (RGB, grey or CMYK samples made from
 * it), progressive or not, whole or cut to `keep` of its bytes. */
static void check_jpeg(ctx *c, const uint8_t *p, uint32_t w, uint32_t h, int pf, int flags,
                       double keep, const char *what)
{
    char name[128];
    snprintf(name, sizeof name, "%ux%u %s", w, h, what);
    int ch = pf == TJPF_GRAY ? 1 : pf == TJPF_CMYK ? 4 : 3;
    uint8_t *src = malloc((size_t)w * h * (size_t)ch);
    for (size_t i = 0; src && i < (size_t)w * h; i++)
        for (int k = 0; k < ch; k++)
            src[i * (size_t)ch + (size_t)k] = ch == 3 ? p[i * 3 + (size_t)k]
                                                      : (uint8_t)(p[i * 3 + (size_t)k % 3] ^ (k * 40));
    tjhandle t = tjInitCompress();
    unsigned char *jpg = NULL;
    unsigned long len = 0;
    int samp = pf == TJPF_GRAY ? TJSAMP_GRAY : TJSAMP_420;
    int rc = src && t ? tjCompress2(t, src, (int)w, 0, (int)h, pf, &jpg, &len, samp, 85, flags)
                      : -1;
    if (rc == 0)
        check_bytes(c, jpg, (size_t)((double)len * keep), name);
    else
        OK(0, "%s: made", name);
    tjFree(jpg);
    tjDestroy(t);
    free(src);
}

/* p as a binary PNM (P6, or P5 from its first channel). */
static void check_pnm(ctx *c, const uint8_t *p, uint32_t w, uint32_t h, int grey)
{
    char name[64], head[64];
    snprintf(name, sizeof name, "%ux%u %s", w, h, grey ? "P5" : "P6");
    int hl = snprintf(head, sizeof head, "P%d\n%u %u\n255\n", grey ? 5 : 6, w, h);
    size_t px = (size_t)w * h * (grey ? 1u : 3u);
    uint8_t *b = malloc((size_t)hl + px);
    if (b) {
        memcpy(b, head, (size_t)hl);
        for (size_t i = 0; i < px; i++)
            b[(size_t)hl + i] = grey ? p[i * 3] : p[i];
    }
    check_bytes(c, b, (size_t)hl + px, name);
    free(b);
}

/* A picture with black bars above and below (a border trimming finds). */
static uint8_t *letterboxed(uint32_t w, uint32_t h, uint32_t bar)
{
    uint8_t *p = picture(w, h, 77);
    if (p)
        for (uint32_t y = 0; y < h; y++)
            if (y < bar || y >= h - bar)
                memset(p + (size_t)y * w * 3, 0, (size_t)w * 3);
    return p;
}

/* A small run leaves out the two pictures over 0.5 MP (1100 x 700 and
 * 700 x 1100): 513 x 769 is past 512 on both sides too. */
static void generated(ctx *c)
{
    static const uint32_t sizes[][2] = {
        { 5, 5 },    { 7, 7 },     { 16, 6 },    { 40, 3 },    { 3, 40 },   { 64, 64 },
        { 64, 96 },  { 96, 64 },   { 100, 17 },  { 33, 250 },  { 257, 300 }, { 600, 401 },
        { 1100, 700 }, { 700, 1100 }, { 513, 769 },
    };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        uint32_t w = sizes[i][0], h = sizes[i][1];
        if (c->small && w * h > 500000)
            continue;
        uint8_t *p = picture(w, h, (uint32_t)i + 1);
        check_jpeg(c, p, w, h, TJPF_RGB, 0, 1.0, "JPEG");
        if (i % 3 == 0)
            check_jpeg(c, p, w, h, TJPF_GRAY, 0, 1.0, "grey JPEG");
        if (i % 3 == 1)
            check_jpeg(c, p, w, h, TJPF_RGB, TJFLAG_PROGRESSIVE, 1.0, "progressive JPEG");
        if (i % 4 == 2)
            check_jpeg(c, p, w, h, TJPF_CMYK, 0, 1.0, "CMYK JPEG");
        if (i % 5 == 3)
            check_pnm(c, p, w, h, (int)i % 2);
        free(p);
    }
    /* a truncated JPEG: recovered, every hash from the rows recovered */
    uint8_t *p = picture(640, 480, 9);
    check_jpeg(c, p, 640, 480, TJPF_RGB, 0, 0.6, "JPEG cut at 60 %");
    free(p);
    /* borders trimming finds, as JPEG (decoded whole again) and PNM */
    p = letterboxed(800, 600, 60);
    check_jpeg(c, p, 800, 600, TJPF_RGB, 0, 1.0, "letterboxed JPEG");
    check_pnm(c, p, 800, 600, 0);
    free(p);
    /* rotations on their canvas, a busy and a flat picture, whose
     * corners are found (and looked at whole again for a JPEG without the
     * cuts) */
    for (int flat = 0; flat < 2; flat++) {
        uint8_t *src = picture(820, 560, 31);
        if (flat)
            memset(src, 150, (size_t)820 * 560 * 3);
        phm_image in = { src, 820, 560, 3, 820 * 3, PHM_FORMAT_UNKNOWN }, out;
        uint8_t *rot = malloc((size_t)820 * 560 * 3);
        if (rot && phm_image_rotate(&in, flat ? -4 : 5, 0, NULL, rot, (size_t)820 * 560 * 3,
                                    &out) == PHM_OK) {
            check_jpeg(c, rot, 820, 560, TJPF_RGB, 0, 1.0,
                       flat ? "rotated flat JPEG" : "rotated JPEG");
            check_pnm(c, rot, 820, 560, 0);
        }
        free(rot);
        free(src);
    }
    check_bytes(c, (const uint8_t *)"junk", 4, "junk");
}

/* The helper hashers are given back with the hasher's buffers, and the
 * next query makes them again: the same hashes. */
static void test_trim_helpers(ctx *c)
{
    uint8_t *p = picture(900, 700, 5);
    tjhandle t = tjInitCompress();
    unsigned char *jpg = NULL;
    unsigned long len = 0;
    phm_query_options o = { PHM_MODE_FULL, 1, 1, 1, 0, 0, 0, 0 };
    phm_query_hashes a, b;
    char err[PHM_ERRMSG_MAX];
    int ok = p && t &&
             tjCompress2(t, p, 900, 0, 700, TJPF_RGB, &jpg, &len, TJSAMP_420, 85, 0) == 0 &&
             phm_hash_mem_query(c->dec, c->h, jpg, len, "a", &o, &a, err, sizeof err) ==
                 PHM_OK;
    size_t with = phm_hasher_trim(c->h, 0);
    size_t plain = 0;
    if (ok) {
        o.cuts = 0;
        phm_hash_mem_query(c->dec, c->h, jpg, len, "a", &o, &b, err, sizeof err);
        plain = phm_hasher_trim(c->h, 0);
        o.cuts = 1;
    }
    OK(ok && with > plain && plain > 0,
       "phm_hasher_trim gives back the cut helpers too (%zu bytes, %zu without cuts)", with,
       plain);
    ok = ok && phm_hash_mem_query(c->dec, c->h, jpg, len, "a", &o, &b, err, sizeof err) ==
                   PHM_OK;
    OK(ok && b.cut_ok == a.cut_ok && same_result(&a.pdq, &b.pdq) &&
           same_result(&a.cut[0], &b.cut[0]) && same_result(&a.cut[1], &b.cut[1]),
       "after phm_hasher_trim the same hashes");
    tjFree(jpg);
    tjDestroy(t);
    free(p);
}

static void test_args(ctx *c)
{
    phm_query_options o = { PHM_MODE_FULL, 0, 1, 1, 1, 1, 0, 0 };
    phm_query_hashes q;
    char err[PHM_ERRMSG_MAX];
    IS_INT(phm_hash_mem_query(NULL, c->h, "x", 1, "x", &o, &q, err, sizeof err),
           PHM_ERR_INVALID, "NULL decoder");
    IS_INT(phm_hash_mem_query(c->dec, c->h, "x", 1, "x", NULL, &q, err, sizeof err),
           PHM_ERR_INVALID, "NULL options");
    IS_INT(phm_hash_mem_query(c->dec, c->h, "x", 1, "x", &o, NULL, err, sizeof err),
           PHM_ERR_INVALID, "NULL answer");
    IS_INT(phm_hash_file_query(c->dec, c->h, NULL, &o, &q, err, sizeof err), PHM_ERR_INVALID,
           "NULL path");
    int rc = phm_hash_file_query(c->dec, c->h, "tests/data/no-such-file.jpg", &o, &q, err,
                                 sizeof err);
    OK(rc == PHM_ERR_NOT_FOUND && strstr(err, "no-such-file") && !q.cut_ok && !q.trim.found,
       "a missing file: not found, named, no extras");
    /* the file path gives what the memory path gives */
    size_t len = 0;
    uint8_t *b = slurp("data/known/bridge.jpg", &len);
    phm_query_hashes m;
    int r1 = b ? phm_hash_mem_query(c->dec, c->h, b, len, "data/known/bridge.jpg", &o, &m,
                                    err, sizeof err)
               : -1;
    int r2 = phm_hash_file_query(c->dec, c->h, "data/known/bridge.jpg", &o, &q, err, sizeof err);
    size_t got = 0;
    OK(r1 == PHM_OK && r2 == PHM_OK && same_result(&m.pdq, &q.pdq) && m.cut_ok == q.cut_ok &&
           same_result(&m.soft, &q.soft) && phm_decoder_last_bytes(c->dec, &got) && got == len,
       "phm_hash_file_query: the memory call's hashes, the bytes kept");
    free(b);
}

int main(void)
{
    ctx c;
    memset(&c, 0, sizeof c);
    if (phm_decoder_new(&c.dec, NULL) || phm_decoder_new(&c.rdec, NULL) ||
        phm_hasher_new(&c.h, PHM_SIMD_AUTO) || phm_hasher_new(&c.rh, PHM_SIMD_AUTO)) {
        printf("Bail out! cannot make decoders and hashers\n");
        return 1;
    }
    c.small = tap_small();
    int files = 0;
    walk(&c, "data", &files);
    walk(&c, "tests/data/jpeg", &files);
    walk(&c, "tests/data/pdq/images", &files);
    OK(files >= (c.small ? 50 : 60), "%d image files found under data/ and tests/data/%s", files,
       c.small ? " (each content once; one exif-rotn photo)" : "");
    for (size_t i = 0; i < c.nseen; i++)
        free(c.seen[i].path);
    free(c.seen);
    generated(&c);
    test_trim_helpers(&c);
    test_args(&c);
    phm_decoder_free(c.dec);
    phm_decoder_free(c.rdec);
    phm_hasher_free(c.h);
    phm_hasher_free(c.rh);
    return tap_done();
}
