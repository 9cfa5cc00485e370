/* decode_gif.c - GIF through giflib's low-level reader (DGifOpen with a
 * memory read callback; no global state, nothing slurped).
 *
 * phm__decode_gif: the first image of the file, as ImageMagick reads it
 * (`convert 'f.gif[0]'`): the image's own rectangle (its width and height,
 * not the logical screen's, even when it is smaller or offset), its local
 * colour table or else the global one, interlaced rows put in place, and a
 * transparent index given its palette colour (alpha is dropped, as for PNG;
 * with a background set, phm_decoder_set_background, those pixels take the
 * background's grey instead).
 * An index beyond the colour table takes entry 0, as ImageMagick's
 * ConstrainColormapIndex does. Always RGB (3 channels), as ImageMagick's
 * png24 reference is. Reading stops after the first image, whatever
 * follows it.
 *
 * Damage: an LZW error or a file cut inside the first image is
 * PHM_ERR_CORRUPT with giflib's message (GifErrorString). Never
 * PHM_WARN_RECOVERED: ImageMagick 6.9.11 refuses such a file too ("corrupt
 * image", no image written), so there is no reference for a partial decode
 * to match. What follows the first image is not read.
 *
 * phm__gif_frames: every image composited on the logical screen as a
 * viewer shows it (see the comment above gif_frames_next). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gif_lib.h>
#include "decode_internal.h"

/* The bytes giflib reads, through on_read. */
typedef struct gif_src {
    const uint8_t *data;
    size_t len, pos;
} gif_src;

static int on_read(GifFileType *gif, GifByteType *out, int n)
{
    gif_src *src = gif->UserData;
    size_t left = src->len - src->pos;
    size_t k = n > 0 ? (size_t)n : 0;
    if (k > left)
        k = left;
    memcpy(out, src->data + src->pos, k);
    src->pos += k;
    return (int)k;
}

/* What giflib's last error means; its own string when it has one. */
static const char *gif_why(int code)
{
    if (code == D_GIF_ERR_READ_FAILED)
        return "premature end of data (giflib: Failed to read from given file)";
    const char *s = GifErrorString(code);
    return s ? s : "malformed GIF";
}

/* An open GIF and the extension state before the next image. */
typedef struct gif_reader {
    GifFileType *gif;
    gif_src src;
    GraphicsControlBlock gcb; /* of the next image (reset after each) */
} gif_reader;

static void gcb_reset(GraphicsControlBlock *g)
{
    memset(g, 0, sizeof *g);
    g->TransparentColor = NO_TRANSPARENT_COLOR;
}

static int reader_open(gif_reader *r, const uint8_t *data, size_t len, const char *name,
                       char *err, size_t errlen)
{
    int code = 0;
    memset(r, 0, sizeof *r);
    r->src.data = data;
    r->src.len = len;
    gcb_reset(&r->gcb);
    r->gif = DGifOpen(&r->src, on_read, &code);
    if (!r->gif)
        return phm__fail(code == D_GIF_ERR_NOT_ENOUGH_MEM ? PHM_ERR_NOMEM : PHM_ERR_CORRUPT,
                         err, errlen, name, "%s", gif_why(code));
    return PHM_OK;
}

static void reader_close(gif_reader *r)
{
    if (r->gif)
        DGifCloseFile(r->gif, NULL);
    r->gif = NULL;
}

/* Reads records up to the next image descriptor (read into gif->Image,
 * with its local colour table; the graphic control extension before it
 * in r->gcb). Returns 1 at an image, 0 at the end of the file (its
 * trailer, or with `lenient` the end of the data between records), or a
 * negative PHM_ERR_* with err. DGifGetImageHeader, unlike
 * DGifGetImageDesc, keeps no list of the images seen: memory stays
 * constant whatever the number of frames. */
static int reader_next(gif_reader *r, int lenient, const char *name, char *err,
                       size_t errlen)
{
    GifFileType *gif = r->gif;
    for (;;) {
        GifRecordType type;
        size_t at = r->src.pos;
        if (DGifGetRecordType(gif, &type) == GIF_ERROR) {
            if (lenient && at == r->src.len)
                return 0; /* no trailer: the data ended between records */
            return phm__fail(PHM_ERR_CORRUPT, err, errlen, name, "%s",
                             gif_why(gif->Error));
        }
        if (type == TERMINATE_RECORD_TYPE)
            return 0;
        if (type == IMAGE_DESC_RECORD_TYPE) {
            if (DGifGetImageHeader(gif) == GIF_ERROR)
                return phm__fail(PHM_ERR_CORRUPT, err, errlen, name, "%s",
                                 gif_why(gif->Error));
            return 1;
        }
        if (type == EXTENSION_RECORD_TYPE) {
            int code;
            GifByteType *ext = NULL;
            if (DGifGetExtension(gif, &code, &ext) == GIF_ERROR)
                return phm__fail(PHM_ERR_CORRUPT, err, errlen, name, "%s",
                                 gif_why(gif->Error));
            if (code == GRAPHICS_EXT_FUNC_CODE && ext && ext[0] >= 4)
                DGifExtensionToGCB(4, ext + 1, &r->gcb);
            while (ext) {
                if (DGifGetExtensionNext(gif, &ext) == GIF_ERROR)
                    return phm__fail(PHM_ERR_CORRUPT, err, errlen, name, "%s",
                                     gif_why(gif->Error));
            }
            continue;
        }
        return phm__fail(PHM_ERR_CORRUPT, err, errlen, name, "unexpected GIF record");
    }
}

/* Opens the GIF and reads up to its first image: 1, or a negative
 * PHM_ERR_* with err (r is to be closed either way). */
static int reader_first(gif_reader *r, const uint8_t *data, size_t len, const char *name,
                        char *err, size_t errlen)
{
    int rc = reader_open(r, data, len, name, err, errlen);
    if (rc)
        return rc;
    rc = reader_next(r, 0, name, err, errlen);
    if (rc == 0)
        rc = phm__fail(PHM_ERR_CORRUPT, err, errlen, name, "GIF without an image");
    return rc;
}

/* The row of the i-th line in the stream: interlaced images come in four
 * passes (rows 0, 8, ...; 4, 12, ...; 2, 6, ...; 1, 3, ...). */
static uint32_t line_row(uint32_t i, uint32_t h, int interlaced)
{
    if (!interlaced)
        return i;
    uint32_t p1 = (h + 7) / 8, p2 = (h + 3) / 8, p3 = (h + 1) / 4;
    if (i < p1)
        return i * 8;
    i -= p1;
    if (i < p2)
        return 4 + i * 8;
    i -= p2;
    if (i < p3)
        return 2 + i * 4;
    return 1 + (i - p3) * 2;
}

/* The colour table of the current image: its own, else the global one. */
static const ColorMapObject *image_colors(const GifFileType *gif)
{
    const ColorMapObject *map = gif->Image.ColorMap ? gif->Image.ColorMap : gif->SColorMap;
    return map && map->ColorCount > 0 && map->Colors ? map : NULL;
}

static void index_to_rgb(const ColorMapObject *map, GifByteType idx, uint8_t *out)
{
    const GifColorType *c = &map->Colors[idx < map->ColorCount ? idx : 0];
    out[0] = c->Red;
    out[1] = c->Green;
    out[2] = c->Blue;
}

int phm__decode_gif(phm_decoder *dec, const uint8_t *data, size_t len, const char *name,
                    phm_image *img, char *err, size_t errlen)
{
    gif_reader r;
    GifByteType *line = NULL;
    int rc = reader_first(&r, data, len, name, err, errlen);
    if (rc < 0)
        goto out;
    GifFileType *gif = r.gif;
    uint64_t w = (uint64_t)gif->Image.Width, h = (uint64_t)gif->Image.Height;
    size_t bytes;
    rc = phm__check_dims(dec, name, w, h, 3, &bytes, err, errlen);
    if (rc)
        goto out;
    const ColorMapObject *map = image_colors(gif);
    if (!map) {
        rc = phm__fail(PHM_ERR_CORRUPT, err, errlen, name, "GIF image without a colour table");
        goto out;
    }
    uint8_t *px = phm__pixels(dec, bytes);
    line = malloc((size_t)w);
    if (!px || !line) {
        rc = phm__fail(PHM_ERR_NOMEM, err, errlen, name, "out of memory");
        goto out;
    }
    /* The index that is clear, when there is a background to show; GIF
     * has no partial alpha, so a clear pixel is the background itself. */
    int clear = dec->background != PHM_BACKGROUND_NONE ? r.gcb.TransparentColor
                                                       : NO_TRANSPARENT_COLOR;
    int mixed = 0;
    for (uint32_t i = 0; i < (uint32_t)h; i++) {
        if (DGifGetLine(gif, line, (int)w) == GIF_ERROR) {
            rc = phm__fail(PHM_ERR_CORRUPT, err, errlen, name, "row %u of %u: %s",
                           (unsigned)i, (unsigned)h, gif_why(gif->Error));
            goto out;
        }
        uint8_t *row = px + (size_t)line_row(i, (uint32_t)h, gif->Image.Interlace) * w * 3;
        if (clear == NO_TRANSPARENT_COLOR) {
            for (uint32_t x = 0; x < (uint32_t)w; x++)
                index_to_rgb(map, line[x], row + (size_t)x * 3);
            continue;
        }
        for (uint32_t x = 0; x < (uint32_t)w; x++) {
            if (line[x] == clear) {
                memset(row + (size_t)x * 3, dec->background, 3);
                mixed = 1;
            } else {
                index_to_rgb(map, line[x], row + (size_t)x * 3);
            }
        }
    }
    img->pixels = px;
    img->width = (uint32_t)w;
    img->height = (uint32_t)h;
    img->channels = 3;
    img->stride = (size_t)w * 3;
    img->format = PHM_FORMAT_GIF;
    dec->composited = mixed;
    rc = PHM_OK;
out:
    free(line);
    reader_close(&r);
    return rc;
}

int phm__gif_probe(const uint8_t *data, size_t len, const char *name, uint32_t *w,
                   uint32_t *h, char *err, size_t errlen)
{
    gif_reader r;
    int rc = reader_first(&r, data, len, name, err, errlen);
    if (rc > 0) {
        *w = (uint32_t)r.gif->Image.Width;
        *h = (uint32_t)r.gif->Image.Height;
        rc = PHM_OK;
    }
    reader_close(&r);
    return rc;
}

void phm__gif_version(char *out, size_t len)
{
    snprintf(out, len, "giflib %d.%d.%d", GIFLIB_MAJOR, GIFLIB_MINOR, GIFLIB_RELEASE);
}

/* ------------------------------------------------------------------ */
/* Frames                                                              */
/* ------------------------------------------------------------------ */

/* The iterator: the canvas (the logical screen, RGB), what a frame of
 * disposal 3 covered before it was drawn, and one line of indices. */
typedef struct gif_frames {
    phm__frames base;
    gif_reader r;
    const char *name;
    uint64_t max_frames, count;
    uint32_t w, h;
    uint8_t *canvas;   /* w * h * 3 */
    uint8_t *saved;    /* the rectangle under a frame to restore, <= canvas */
    GifByteType *line; /* w indices (frames are clipped to the screen) */
    size_t line_cap;
    uint8_t bg[3];     /* the background colour */
    /* The previous frame's disposal, to apply before the next is drawn. */
    int dispose;
    uint32_t dx, dy, dw, dh; /* its rectangle, clipped */
    uint64_t start_cs;       /* centiseconds from the first frame's start */
    int done;
} gif_frames;

/* Browsers (Firefox, Chromium) show a frame of delay 0 or 1 centisecond
 * for 10: so do we, or a GIF of delay 0 would have no time at all. */
static uint64_t frame_delay_cs(int delay)
{
    return delay <= 1 ? 10 : (uint64_t)delay;
}

static void fill_rect(gif_frames *f, uint32_t x0, uint32_t y0, uint32_t w, uint32_t h)
{
    for (uint32_t y = y0; y < y0 + h; y++) {
        uint8_t *p = f->canvas + ((size_t)y * f->w + x0) * 3;
        for (uint32_t x = 0; x < w; x++, p += 3)
            memcpy(p, f->bg, 3);
    }
}

static void copy_rect(gif_frames *f, int to_canvas)
{
    for (uint32_t y = 0; y < f->dh; y++) {
        uint8_t *c = f->canvas + ((size_t)(f->dy + y) * f->w + f->dx) * 3;
        uint8_t *s = f->saved + (size_t)y * f->dw * 3;
        if (to_canvas)
            memcpy(c, s, (size_t)f->dw * 3);
        else
            memcpy(s, c, (size_t)f->dw * 3);
    }
}

/* Frames as a viewer composes them, with alpha dropped as ImageMagick's
 * `-coalesce -alpha off` gives them (tests/cli/format_gif.sh checks each
 * frame against it): the canvas starts transparent, in the background
 * colour (the global colour table's background entry; black without one);
 * each image is drawn at its offset, clipped to the screen, its
 * transparent pixels leaving the canvas as it was; before the next image,
 * disposal 3 restores what the image covered, and disposal 2 clears its
 * rectangle to transparent, which leaves the colours there as they were
 * once alpha is dropped (so it does what 0 and 1 do). A frame starts when
 * the previous ends and shows for its delay (frame_delay_cs). */
static int gif_frames_next(phm__frames *base, phm_image *img, double *start,
                           double *duration, char *err, size_t errlen)
{
    gif_frames *f = (gif_frames *)base;
    GifFileType *gif = f->r.gif;
    if (f->done)
        return 0;
    int rc = reader_next(&f->r, f->count > 0, f->name, err, errlen);
    if (rc <= 0) {
        f->done = 1;
        if (rc == 0 && f->count == 0)
            rc = phm__fail(PHM_ERR_CORRUPT, err, errlen, f->name, "GIF without an image");
        return rc;
    }
    if (f->count >= f->max_frames) {
        f->done = 1;
        return phm__fail(PHM_ERR_TOO_LARGE, err, errlen, f->name,
                         "more than %llu frames", (unsigned long long)f->max_frames);
    }
    uint64_t n = f->count;
    GraphicsControlBlock gcb = f->r.gcb;
    gcb_reset(&f->r.gcb);

    /* The previous frame's disposal (2: see above). */
    if (f->dispose == DISPOSE_PREVIOUS)
        copy_rect(f, 1);

    int fw = gif->Image.Width, fh = gif->Image.Height;
    int left = gif->Image.Left, top = gif->Image.Top;
    if (fw <= 0 || fh <= 0) {
        f->done = 1;
        return phm__fail(PHM_ERR_CORRUPT, err, errlen, f->name,
                         "frame %llu has a zero dimension", (unsigned long long)n);
    }
    const ColorMapObject *map = image_colors(gif);
    if (!map) {
        f->done = 1;
        return phm__fail(PHM_ERR_CORRUPT, err, errlen, f->name,
                         "frame %llu has no colour table", (unsigned long long)n);
    }
    /* The visible part of the frame (the rest is decoded and dropped). */
    uint32_t vx = (uint32_t)left, vy = (uint32_t)top;
    uint32_t vw = vx < f->w ? ((uint32_t)fw < f->w - vx ? (uint32_t)fw : f->w - vx) : 0;
    uint32_t vh = vy < f->h ? ((uint32_t)fh < f->h - vy ? (uint32_t)fh : f->h - vy) : 0;
    if ((size_t)fw > f->line_cap) {
        /* Up to 65535 bytes: a frame's width is 16 bits. */
        GifByteType *p = realloc(f->line, (size_t)fw);
        if (!p) {
            f->done = 1;
            return phm__fail(PHM_ERR_NOMEM, err, errlen, f->name, "out of memory");
        }
        f->line = p;
        f->line_cap = (size_t)fw;
    }
    f->dispose = gcb.DisposalMode;
    f->dx = vx;
    f->dy = vy;
    f->dw = vw;
    f->dh = vh;
    if (f->dispose == DISPOSE_PREVIOUS && vw && vh)
        copy_rect(f, 0);
    if (!vw || !vh)
        f->dispose = DISPOSAL_UNSPECIFIED;

    int transparent = gcb.TransparentColor;
    for (uint32_t i = 0; i < (uint32_t)fh; i++) {
        if (DGifGetLine(gif, f->line, fw) == GIF_ERROR) {
            f->done = 1;
            return phm__fail(PHM_ERR_CORRUPT, err, errlen, f->name,
                             "frame %llu: row %u of %u: %s", (unsigned long long)n,
                             (unsigned)i, (unsigned)fh, gif_why(gif->Error));
        }
        uint32_t y = line_row(i, (uint32_t)fh, gif->Image.Interlace);
        if (y >= vh)
            continue;
        uint8_t *p = f->canvas + ((size_t)(vy + y) * f->w + vx) * 3;
        for (uint32_t x = 0; x < vw; x++, p += 3)
            if (f->line[x] != transparent)
                index_to_rgb(map, f->line[x], p);
    }

    uint64_t delay = frame_delay_cs(gcb.DelayTime);
    *start = (double)f->start_cs / 100.0;
    *duration = (double)delay / 100.0;
    f->start_cs += delay;
    f->count++;
    img->pixels = f->canvas;
    img->width = f->w;
    img->height = f->h;
    img->channels = 3;
    img->stride = (size_t)f->w * 3;
    img->format = PHM_FORMAT_GIF;
    return 1;
}

static void gif_frames_free(phm__frames *base)
{
    gif_frames *f = (gif_frames *)base;
    if (!f)
        return;
    reader_close(&f->r);
    free(f->canvas);
    free(f->saved);
    free(f->line);
    free(f);
}

int phm__gif_frames(phm_decoder *dec, const uint8_t *data, size_t len, const char *name,
                    uint64_t max_frames, phm__frames **out, char *err, size_t errlen)
{
    *out = NULL;
    dec->composited = 0; /* the frames drop alpha */
    gif_frames *f = calloc(1, sizeof *f);
    if (!f)
        return phm__fail(PHM_ERR_NOMEM, err, errlen, name, "out of memory");
    f->base.next = gif_frames_next;
    f->base.free = gif_frames_free;
    f->name = name;
    f->max_frames = max_frames;
    int rc = reader_open(&f->r, data, len, name, err, errlen);
    if (rc)
        goto fail;
    GifFileType *gif = f->r.gif;
    size_t bytes;
    rc = phm__check_dims(dec, name, (uint64_t)gif->SWidth, (uint64_t)gif->SHeight, 3, &bytes,
                         err, errlen);
    if (rc)
        goto fail;
    f->w = (uint32_t)gif->SWidth;
    f->h = (uint32_t)gif->SHeight;
    f->canvas = malloc(bytes);
    f->saved = malloc(bytes);
    if (!f->canvas || !f->saved) {
        rc = phm__fail(PHM_ERR_NOMEM, err, errlen, name, "out of memory");
        goto fail;
    }
    const ColorMapObject *g = gif->SColorMap;
    if (g && g->Colors && gif->SBackGroundColor >= 0 && gif->SBackGroundColor < g->ColorCount) {
        const GifColorType *c = &g->Colors[gif->SBackGroundColor];
        f->bg[0] = c->Red;
        f->bg[1] = c->Green;
        f->bg[2] = c->Blue;
    }
    fill_rect(f, 0, 0, f->w, f->h);
    *out = &f->base;
    return PHM_OK;
fail:
    gif_frames_free(&f->base);
    return rc;
}
