/* decode_internal.h - what the format decoders share with decode.c. */
#ifndef PHM_DECODE_INTERNAL_H
#define PHM_DECODE_INTERNAL_H

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "phmatch.h"

struct phm_decoder {
    phm_decode_limits limits;
    uint8_t *pixels;     /* decoded image, grows to the largest seen */
    size_t pixels_cap;
    uint8_t *file;       /* bytes of the last phm_decode_file() */
    size_t file_cap, file_len;
    uint8_t *thumb;      /* a streamed JPEG's reduced copy (phm_thumb) */
    size_t thumb_cap;
    uint32_t *acc;       /* ... and its sums of one band of rows */
    size_t acc_cap;
    int background;      /* grey level transparency is composited over,
                          * or PHM_BACKGROUND_NONE: alpha dropped */
    int composited;      /* the last decode composited a non-opaque pixel */
};

/* A reduced copy of an image made while its rows stream to the hasher
 * (phm_hash_mem_trim): the mean of each f x f block (f 8, 4, 2 or 1, the
 * largest keeping both sides >= THUMB_SIDE), for border trimming to look
 * at without decoding the image again. Buffers in the decoder. */
#define THUMB_SIDE 64
typedef struct phm_thumb {
    uint32_t f, w, h, channels;
    uint32_t width, height; /* of the image */
    uint32_t y;             /* image rows added */
    uint8_t *pixels;        /* w x h x channels */
    uint32_t *acc;          /* w x channels sums of the current band */
} phm_thumb;

/* Sizes *t for a width x height image of `channels` (1 or 3) and takes
 * its buffers from dec. PHM_OK or PHM_ERR_NOMEM. */
int phm__thumb_begin(phm_decoder *dec, phm_thumb *t, uint32_t width, uint32_t height,
                     uint32_t channels);
/* Adds the next n rows (stride bytes apart). */
void phm__thumb_rows(phm_thumb *t, const uint8_t *rows, size_t stride, size_t n);

/* Another consumer of a streamed JPEG's rows (phm_hash_mem_query,
 * query.c): begin() once the size is known, after the hasher's begin (a
 * nonzero return ends the decode with that status), then rows() with every
 * block of rows the hasher gets, in order (RGB or grey, CMYK converted). */
typedef struct phm__row_tap phm__row_tap;
struct phm__row_tap {
    int (*begin)(phm__row_tap *t, uint32_t width, uint32_t height, uint32_t channels);
    void (*rows)(phm__row_tap *t, const uint8_t *rows, size_t stride, size_t n);
};

/* phm__hash_jpeg_stream, the rows also given to `tap` (may be NULL).
 * With `kept` non-NULL and the decoded image at most keep_max bytes, the
 * rows are decoded into their places in dec->pixels instead of a block
 * buffer, and *kept is the whole image when the status is PHM_OK or
 * PHM_WARN_RECOVERED (valid until dec's next decode); kept->pixels stays
 * as it was otherwise. */
int phm__hash_jpeg_stream_tap(phm_decoder *dec, phm_hasher *h, const uint8_t *data,
                              size_t len, const char *name, phm_mode mode, int dihedral,
                              phm_pdq_result *out, phm_image_info *info, phm__row_tap *tap,
                              phm_image *kept, size_t keep_max, char *err, size_t errlen);

/* Border trimming's parts that phm_hash_mem_query (query.c) runs
 * (trim.c): whether a streamed JPEG's reduced copy shows a border (the
 * lenient look that decides whether to decode it whole again), and the
 * border found on an image's full pixels, its content hashed into *trim
 * (trim->found 0 when none); with no border, a picture's content box on a
 * plain white or black canvas (trim->canvas 1; both also count for the
 * reduced copy). */
int phm__trim_thumb_border(const phm_thumb *t);
/* Whether the reduced copy shows a rotation's corners (phm_corners_find);
 * _grown: those of a rotation on a canvas grown to hold the whole turn
 * (phm__corners_find_grown). */
int phm__thumb_corners(const phm_thumb *t);
int phm__thumb_corners_grown(const phm_thumb *t);
/* A rotation on a canvas grown to hold the whole turn (ImageMagick's
 * -rotate, an editor's "resize canvas"): the four triangles, each long
 * leg running to where the picture's corner touches that side, the two
 * legs on each side summing to it. 1 with *out, 0 when not that,
 * PHM_ERR_INVALID as phm_corners_find. Only phm__corners_derotate reads
 * the result: nothing of the picture is cut off, so there is nothing to
 * fill, and such corners are not those of a stored rotation. */
int phm__corners_find_grown(const phm_image *img, phm_corners *out);
/* phm_corners_fill into img's own pixels (writable: a decoder's buffer
 * nothing reads again), without a copy; nothing when c does not fit. */
void phm__corners_fill_in_place(const phm_image *img, uint8_t *pixels, const phm_corners *c);
/* The hashes of c's corners alone over img's pixels (writable, as for
 * phm__corners_fill_in_place; they are drawn over): the found triangles,
 * then the turns by 3 and 5 degrees their way, on the picture flat at its
 * mean (phm_query_hashes.corners_pdq). Returns how many were made. */
int phm__corners_alone(phm_hasher *h, const phm_image *img, uint8_t *pixels,
                       const phm_corners *c, phm_mode mode, int dihedral,
                       phm_pdq_result out[PHM_CORNERS_ALONE]);
/* c's legs measured along each triangle's long side, to a fraction of a
 * pixel, into *out (a leg the edges do not show stays as found): the
 * turn phm__corners_derotate reads. Before the corners are filled. */
void phm__corners_measure(const phm_image *img, const phm_corners *c, phm_corners *out);
/* The hash of img turned back by the angle c's triangles show (their legs
 * as phm__corners_measure gives them), cut to the picture's box: on a
 * canvas grown to hold the turn (`grown`: phm__corners_find_grown's
 * corners) as the edges show it, else the canvas, the corners the turn
 * cut off filled as the query's are: phm_query_hashes.derot. With area
 * and area_made (NULL: not wanted), a picture of at most
 * PHM_AREA64_MAX_SIDE a side is also given its area64 hash there;
 * *area_made says whether it was.
 * PHM_ERR_INVALID when c has no triangle to read, PHM_ERR_NOMEM;
 * allocates one image of img's size for the call. */
int phm__corners_derotate(phm_hasher *h, const phm_image *img, const phm_corners *c,
                          int grown, phm_mode mode, int dihedral, phm_pdq_result *out,
                          phm_pdq_result *area, int *area_made);
void phm__trim_image(phm_hasher *h, const phm_image *img, phm_mode mode, int dihedral,
                     phm_trim_result *trim);

/* wt-shot3: the box of img's content off a plain white (dark 0) or black
 * (dark 1) edge of its own, as trimming finds such an image on a canvas
 * of that colour (trim.c, screen_content): 1 with *box when img has such
 * an edge (1 % of a side at least) around content of MIN_CONTENT of the
 * width and 16 pixels high at least (as screen_content asks), else 0. Reads a line's pixels up to its second off the
 * colour (a canvas line: all of them); allocates nothing.
 * The stored variants "trim-white" and "trim-black" (transform.c).
 * thin nonzero (wt-shotgfx; "trim-white-thin", "trim-black-thin"): the
 * content's runs of rows thinner than 5 % of img's width at its top and
 * bottom left out, by the rule screen_content cuts a screenshot's
 * picture with (trim.c, thick_rows: a caption, a line of small shapes
 * looks like the screen's text lines); 0 too when there is no such run
 * (the box would be thin 0's). */
int phm__edge_box(const phm_image *img, int dark, int thin, phm_rect *box);

/* What border trimming (phm_trim_detect) keeps of img framed by plain bars
 * of 5 % of its height above and below (vertical nonzero; else of its
 * width left and right), black (white 0) or white, in img's pixels: the
 * box a query's trimming finds in a letterboxed (pillarboxed) copy of img
 * (docs/ROBUST.md, "Letterboxes of small and canvas pictures"). A picture
 * with its own margin or frame loses that too, by the same rules, and
 * nothing else gives that box. 1 and *box when it is not all of img; 0
 * when it is, when nothing is found, or out of memory (no variant).
 * The stored variants "trim-lbox-black" ... "trim-pbox-white". */
int phm__bars_box(const phm_image *img, int vertical, int white, phm_rect *box);

/* The rows of caption cut `which` (PHM_CUT_*) of an image `height` rows
 * tall, as bands [band[i][0], band[i][1]) in the cut's order (transform.c):
 * one band for the bottom and top cuts (phm_cut_rect's), two for the
 * middle cut (the upper third, then the rows from two thirds down).
 * Returns the number of bands, 0 for an unknown `which` or a height
 * below 3. query.c streams a cut's rows by it; phm_hash_cuts copies the
 * middle cut by it. */
int phm__cut_bands(uint32_t height, int which, uint32_t band[2][2]);

/* phm_hash_soft's first step (transform.c), fed row by row so that a
 * streamed JPEG needs no second decode (query.c): the means of f x f
 * blocks (the last ones smaller), f the least that brings the longer side
 * to at most PHM_SOFT_SIDE, into small (sw x sh x channels) once every row
 * has been given. phm_hash_soft of the shrunk image (which it keeps as it
 * is) is phm_hash_soft of the image. begin: PHM_OK or PHM_ERR_NOMEM (small
 * NULL); free: after begin, whatever it returned. */
typedef struct phm__soft_shrink {
    uint32_t f, width, height, channels, sw, sh, y;
    uint8_t *small; /* sw x sh x channels */
    uint32_t *acc;  /* sw x channels sums of the current band of f rows */
} phm__soft_shrink;
int phm__soft_begin(phm__soft_shrink *s, uint32_t width, uint32_t height, uint32_t channels);
/* Adds a row of `width` pixels of ch (1 or 3) channels to acc: pixel x to
 * block x / f's ch sums (the soft shrink's, the reduced copy's). */
void phm__block_sums(const uint8_t *p, uint32_t width, uint32_t f, uint32_t ch, uint32_t *acc);
void phm__soft_rows(phm__soft_shrink *s, const uint8_t *rows, size_t stride, size_t n);
void phm__soft_free(phm__soft_shrink *s);

/* Returns a buffer of at least `bytes` in dec->pixels (kept between calls),
 * or NULL. Callers have checked `bytes` against the pixel limit. */
uint8_t *phm__pixels(phm_decoder *dec, size_t bytes);

/* Compacts npix pixels of channels + 1 bytes (colour, then alpha;
 * channels 1 or 3) in place, front to back, to `channels` bytes each:
 * composited over grey (0..255) as v' = (v a + grey (255 - a) + 127) / 255,
 * or with alpha just dropped when grey < 0. Returns nonzero when some
 * alpha was below 255. */
int phm__composite(uint8_t *px, size_t npix, uint32_t channels, int grey);
/* The same for premultiplied colours vp (a JPEG XL's associated alpha):
 * v' = min(255, (vp 255 + grey (255 - a) + 127) / 255). */
int phm__composite_premultiplied(uint8_t *px, size_t npix, uint32_t channels, int grey);
/* n RGB pixels composited in place over grey (0..255) by their 8-bit
 * alphas, kept apart (a HEIF alpha plane, a TIFF alpha sample, a BMP alpha
 * field): straight as phm__composite, or premultiplied as
 * phm__composite_premultiplied. Returns the AND of the alphas: 255 when
 * every pixel was opaque. */
unsigned phm__over_grey_rgb(uint8_t *rgb, const uint8_t *alpha, size_t n, int grey,
                            int premultiplied);

/* Checks width x height x channels against the limits; on failure writes
 * the message and returns PHM_ERR_TOO_LARGE (or PHM_ERR_CORRUPT for a zero
 * dimension). On success stores the byte count in *bytes. */
int phm__check_dims(const phm_decoder *dec, const char *name, uint64_t width,
                    uint64_t height, uint32_t channels, size_t *bytes,
                    char *err, size_t errlen);

/* "cannot decode 'name': <fmt>" into err. Returns `status`. */
int phm__fail(int status, char *err, size_t errlen, const char *name,
              const char *fmt, ...) __attribute__((format(printf, 5, 6)));

int phm__decode_jpeg(phm_decoder *dec, const uint8_t *data, size_t len,
                     const char *name, phm_image *img, char *err, size_t errlen);
int phm__decode_png(phm_decoder *dec, const uint8_t *data, size_t len,
                    const char *name, phm_image *img, char *err, size_t errlen);
int phm__decode_pnm(phm_decoder *dec, const uint8_t *data, size_t len,
                    const char *name, phm_image *img, char *err, size_t errlen);

/* The formats of libraries (and of our BMP decoder), one file each:
 * decode_webp.c, decode_gif.c, decode_bmp.c, decode_tiff.c, decode_heif.c
 * (HEIF and AVIF), decode_jxl.c. Each decodes to the pixels ImageMagick
 * gives for the file's first frame, page or primary image (colour channels
 * as decoded, alpha dropped, 16-bit samples scaled by round(v*255/65535));
 * each checks the pixel limit from the header before allocating pixels.
 * A WebP (a still, an animation's first frame on its canvas), a GIF, a
 * HEIF/AVIF, a JPEG XL (as a PNG; premultiplied alpha too), a TIFF with
 * an extra sample and a BMP with an alpha bit field are composited over
 * dec->background instead when one is set, and set dec->composited. */
int phm__decode_webp(phm_decoder *dec, const uint8_t *data, size_t len,
                     const char *name, phm_image *img, char *err, size_t errlen);
int phm__decode_gif(phm_decoder *dec, const uint8_t *data, size_t len,
                    const char *name, phm_image *img, char *err, size_t errlen);
int phm__decode_bmp(phm_decoder *dec, const uint8_t *data, size_t len,
                    const char *name, phm_image *img, char *err, size_t errlen);
int phm__decode_tiff(phm_decoder *dec, const uint8_t *data, size_t len,
                     const char *name, phm_image *img, char *err, size_t errlen);
int phm__decode_heif(phm_decoder *dec, const uint8_t *data, size_t len,
                     const char *name, phm_image *img, char *err, size_t errlen);
int phm__decode_jxl(phm_decoder *dec, const uint8_t *data, size_t len,
                    const char *name, phm_image *img, char *err, size_t errlen);

/* Their header readers for phm_image_probe(): the size of the image the
 * decoder would return (first frame, page or primary image), without
 * decoding pixels. PHM_OK, or PHM_ERR_CORRUPT (or another status) with err. */
int phm__webp_probe(const uint8_t *data, size_t len, const char *name, uint32_t *w,
                    uint32_t *h, char *err, size_t errlen);
int phm__gif_probe(const uint8_t *data, size_t len, const char *name, uint32_t *w,
                   uint32_t *h, char *err, size_t errlen);
int phm__bmp_probe(const uint8_t *data, size_t len, const char *name, uint32_t *w,
                   uint32_t *h, char *err, size_t errlen);
int phm__tiff_probe(const uint8_t *data, size_t len, const char *name, uint32_t *w,
                    uint32_t *h, char *err, size_t errlen);
int phm__heif_probe(const uint8_t *data, size_t len, const char *name, uint32_t *w,
                    uint32_t *h, char *err, size_t errlen);
int phm__jxl_probe(const uint8_t *data, size_t len, const char *name, uint32_t *w,
                   uint32_t *h, char *err, size_t errlen);

/* "libwebp 1.2.4" and so on, for phm_decoder_versions(); at most len bytes
 * with the NUL. */
void phm__webp_version(char *out, size_t len);
void phm__gif_version(char *out, size_t len);
void phm__tiff_version(char *out, size_t len);
void phm__heif_version(char *out, size_t len);
void phm__jxl_version(char *out, size_t len);

/* The frames of an animated image (GIF, WebP), each the whole canvas as a
 * viewer shows it at that moment (disposal and blending applied), for
 * phm_hash_animation_*. A format's opener (phm__gif_frames,
 * phm__webp_frames) returns an iterator; `next` gives the next frame in
 * *img (pixels owned by the iterator, valid until the next call), when it
 * starts (seconds from the first frame's start) and how long it shows;
 * returns 1 for a frame, 0 after the last, or a negative PHM_ERR_* with
 * err. `max_frames` bounds the frames returned (then PHM_ERR_TOO_LARGE);
 * the canvas is checked against dec's pixel limit before any allocation. */
typedef struct phm__frames phm__frames;
struct phm__frames {
    int (*next)(phm__frames *fr, phm_image *img, double *start, double *duration,
                char *err, size_t errlen);
    void (*free)(phm__frames *fr);
};
int phm__gif_frames(phm_decoder *dec, const uint8_t *data, size_t len, const char *name,
                    uint64_t max_frames, phm__frames **out, char *err, size_t errlen);
int phm__webp_frames(phm_decoder *dec, const uint8_t *data, size_t len, const char *name,
                     uint64_t max_frames, phm__frames **out, char *err, size_t errlen);

/* Adobe CMYK as libjpeg returns it, to RGB in place, as djpeg does:
 * R = C * K / 255, rounded. In place because the 3-byte output of pixel i
 * never overtakes the 4-byte input of pixel i: whole images and single
 * rows alike. */
void phm__cmyk_to_rgb(uint8_t *p, size_t npixels);

/* Reads a regular file into dec->file / dec->file_len (limits and errors
 * as phm_decode_file describes). */
int phm__read_file(phm_decoder *dec, const char *path, char *err, size_t errlen);

/* Header readers shared by the decoders and phm_image_probe(). PNM: the
 * width, height and maxval, *pos at the byte ending the header; -1 if
 * malformed. JPEG: libjpeg's jpeg_read_header; PHM_OK or PHM_ERR_CORRUPT
 * (PHM_ERR_TOO_LARGE for a length libjpeg cannot take) with err. */
int phm__pnm_header(const uint8_t *data, size_t len, uint64_t *w, uint64_t *h,
                    uint64_t *maxval, size_t *pos);
int phm__jpeg_probe(const uint8_t *data, size_t len, const char *name, uint32_t *w,
                    uint32_t *h, char *err, size_t errlen);

/* Decodes a JPEG row by row straight into the hasher (phm_hash_mem); the
 * same decoder as phm__decode_jpeg(), so the same files are accepted,
 * warned about and refused (decode_jpeg_stream.c). */
int phm__hash_jpeg_stream(phm_decoder *dec, phm_hasher *h, const uint8_t *data,
                          size_t len, const char *name, phm_mode mode, int dihedral,
                          phm_pdq_result *out, phm_image_info *info, char *err,
                          size_t errlen);

/* A turn of a w x h picture by `degrees` about its centre, clockwise on
 * screen (y down) as ImageMagick's -rotate: a destination pixel d takes
 * the source s = R^-1 (d - c) + c (phm__turn_source). One geometry for
 * phm_image_rotate and for the corners a turn leaves (phm__corners_alone),
 * which must agree to the pixel. */
typedef struct phm__turn {
    double c, s, cx, cy, maxx, maxy;
} phm__turn;

static inline phm__turn phm__turn_of(uint32_t w, uint32_t h, double degrees)
{
    double t = degrees * M_PI / 180.0;
    return (phm__turn){ cos(t), sin(t), (w - 1) / 2.0, (h - 1) / 2.0, w - 1.0, h - 1.0 };
}

/* The source (*sx, *sy) of destination pixel (x, y) in picture
 * coordinates; 1 when it lies outside the picture (the fill's), within
 * 1e-6 of a pixel. */
static inline int phm__turn_source(const phm__turn *t, double x, double y, double *sx,
                                   double *sy)
{
    const double eps = 1e-6;
    double dx = x - t->cx, dy = y - t->cy;
    *sx = t->c * dx + t->s * dy + t->cx;
    *sy = -t->s * dx + t->c * dy + t->cy;
    return *sx < -eps || *sy < -eps || *sx > t->maxx + eps || *sy > t->maxy + eps;
}

#endif
