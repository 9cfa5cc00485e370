/* test_golden.c - conformance with the PDQ reference: every image in
 * tests/data/pdq/golden.csv, both modes, all eight orientations, at every
 * SIMD level this CPU runs. No tolerance: distance 0 and equal quality. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phmatch.h"
#include "tap.h"

#define GOLDEN_DIR "tests/data/pdq/"
#define NCOLS 13

static int split_csv(char *line, char *fields[NCOLS])
{
    int n = 0;
    char *p = line;
    while (n < NCOLS) {
        fields[n++] = p;
        char *c = strchr(p, ',');
        if (!c)
            break;
        *c = '\0';
        p = c + 1;
    }
    char *nl = strpbrk(fields[n - 1], "\r\n");
    if (nl)
        *nl = '\0';
    return n;
}

/* A small run (tap_small) checks, of the four 4032 x 3024 camera JPEGs of
 * reg-test-input/exif-rotn (the decoder does not read their EXIF
 * orientation), the first: the others take the same lines and branches
 * of src/ (a --coverage build, both sizes), and were 40 % of the
 * sanitizer build's time. */
static int skip_in_small(const char *path)
{
    return strstr(path, "/exif-rotn/") && !strstr(path, "-rotn-1.");
}

static int check_level(phm_simd level, int small)
{
    FILE *f = fopen(GOLDEN_DIR "golden.csv", "r");
    if (!OK(f != NULL, "open golden.csv"))
        return 1;
    phm_decoder *dec;
    phm_hasher *h;
    if (phm_decoder_new(&dec, NULL) || phm_hasher_new(&h, level)) {
        OK(0, "create decoder and hasher");
        fclose(f);
        return 1;
    }
    char line[2048];
    int rows = 0, exact = 0;
    if (!fgets(line, sizeof line, f)) /* header */
        line[0] = '\0';
    while (fgets(line, sizeof line, f)) {
        char *fld[NCOLS];
        if (split_csv(line, fld) != NCOLS)
            continue;
        if (small && skip_in_small(fld[0])) {
            rows++;
            exact++;
            continue;
        }
        char path[1024], err[PHM_ERRMSG_MAX];
        snprintf(path, sizeof path, GOLDEN_DIR "%s", fld[0]);
        phm_mode mode;
        phm_mode_parse(fld[1], &mode);
        phm_image img;
        phm_pdq_result r;
        memset(&r, 0, sizeof r);
        int rc = phm_decode_file(dec, path, &img, err, sizeof err);
        phm_format fmt = img.format;
        if (rc == PHM_OK)
            rc = phm_hash_image(h, &img, mode, 1, &r);
        rows++;
        int good = rc == PHM_OK;
        char why[PHM_ERRMSG_MAX + 128] = "";
        if (!good)
            snprintf(why, sizeof why, "rc %d %s", rc, err);
        if (good && (r.width != strtoul(fld[2], NULL, 10) ||
                     r.height != strtoul(fld[3], NULL, 10))) {
            good = 0;
            snprintf(why, sizeof why, "size %ux%u, want %sx%s", r.width, r.height,
                     fld[2], fld[3]);
        }
        if (good && r.quality != atoi(fld[5])) {
            good = 0;
            snprintf(why, sizeof why, "quality %d, want %s", r.quality, fld[5]);
        }
        for (int o = 0; good && o < PHM_DIH_COUNT; o++) {
            phm_pdq want;
            int col = o == 0 ? 4 : 5 + o;
            if (phm_pdq_from_hex(fld[col], strlen(fld[col]), &want) != PHM_OK) {
                good = 0;
                snprintf(why, sizeof why, "bad golden hash in column %d", col);
            } else if (phm_pdq_distance(&want, &r.hash[o]) != 0) {
                char hex[PHM_PDQ_HEX_LEN + 1];
                phm_pdq_to_hex(&r.hash[o], hex);
                good = 0;
                snprintf(why, sizeof why, "%s distance %d: got %s",
                         phm_dihedral_name(o), phm_pdq_distance(&want, &r.hash[o]), hex);
            }
        }
        exact += good;
        if (!OK(good, "%s %s %s", phm_simd_name(level), fld[1], fld[0]))
            printf("#   %s\n", why);

        /* The one-pass path (rows streamed from the decoder) must agree. */
        phm_pdq_result s;
        phm_image_info info;
        rc = phm_hash_file(dec, h, path, mode, 1, &s, &info, err, sizeof err);
        int same = rc == PHM_OK && s.quality == r.quality && s.width == r.width &&
                   s.height == r.height && info.format == fmt;
        for (int o = 0; same && o < PHM_DIH_COUNT; o++)
            same = phm_pdq_distance(&s.hash[o], &r.hash[o]) == 0;
        if (!OK(same, "%s %s %s: phm_hash_file agrees", phm_simd_name(level), fld[1], fld[0]))
            printf("#   rc %d %s\n", rc, err);
    }
    fclose(f);
    IS_INT(rows, 94, "%s: all 94 golden rows read", phm_simd_name(level));
    phm_hasher_free(h);
    phm_decoder_free(dec);
    return exact == rows;
}

int main(void)
{
    const phm_simd levels[] = { PHM_SIMD_PORTABLE, PHM_SIMD_AVX2, PHM_SIMD_AVX512 };
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        if (!tap_simd(levels[i]))
            continue;
        check_level(levels[i], tap_small());
    }
    return tap_done();
}
