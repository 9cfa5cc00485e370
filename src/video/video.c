/* video.c - vPDQ hashing of videos through FFmpeg (see the Video section of
 * phmatch.h). Part of the video backend, build/phmatch-video.so, which
 * libphmatch opens at the first video (src/lib/video_loader.c): the only
 * code that uses FFmpeg. The public names defined here are local to the
 * backend; libphmatch's functions of the same names forward to them
 * through the table in backend.c.
 *
 * One call decodes one video:
 *
 *     descriptor or memory --read/seek--> AVIOContext (ours: no other file or URL can
 *       be opened) --> probe (content only, demuxer whitelist) -->
 *       AVFormatContext --packets--> AVCodecContext --frames--> select
 *       (n % step == 0) --> slot --> convert (swscale, SWS_AREA, RGB24;
 *       in strips where that gives the same pixels, see hash_strips) -->
 *       PDQ (full mode) --> results collected in frame order
 *
 * With threads > 1 the calling thread reads and decodes, and threads - 1
 * worker threads of the call convert and hash: every selected frame goes
 * into a ring of slots, SLOTS_PER_THREAD per thread, holding a reference to
 * the decoder's frame (no copy). Workers take slots in submission order.
 * Before reusing a slot the decoder waits for that slot alone (running it
 * itself if no worker has taken it yet), collects its result and so
 * appends results in frame order; decoding never runs more than a ring
 * ahead of hashing. Waiting is on condition variables: an idle worker
 * sleeps rather than spins, so it leaves the cores to FFmpeg's decoding
 * threads (OpenMP tasks were measured first: libgomp's spinning idle
 * threads cost 15-25% more CPU, and its wait policy is process-wide). With
 * one thread the same slot code runs inline.
 *
 * Each thread has its own phm_hasher, SwsContext and RGB buffer (a strip
 * or a whole frame): th[0] the calling thread's, th[i] worker i's.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/log.h>
#include <libavutil/mem.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "phmatch.h"
#include "pdq_internal.h"
#include "video_backend.h"

#define IO_BUFFER_SIZE 65536
#define SLOTS_PER_THREAD 2
/* Bytes swscale may touch past the last RGB row (it writes whole vectors). */
#define RGB_PADDING 64
/* Rows per strip converted and hashed at once: a multiple of the filter's
 * 16-row blocks (no staging copy) and of every chroma subsampling. */
#define STRIP_ROWS 32

/* The demuxers tried, by FFmpeg name. Each is matched against the probed
 * demuxer's comma-separated names. Image demuxers are absent: images are
 * decoded by decode.c, and a JPEG must never become a one-frame video. */
static const char demuxer_whitelist[] =
    "mov,mp4,matroska,webm,avi,gif,yuv4mpegpipe,mpegts,mpeg,flv,asf,ogg,"
    "nut,ivf";

/* ------------------------------------------------------------------ */
/* Objects                                                             */
/* ------------------------------------------------------------------ */

typedef struct hash_thread {
    phm_hasher *hasher;
    struct SwsContext *sws;
    uint8_t *rgb;
    size_t rgb_cap;
} hash_thread;

enum { SLOT_FREE, SLOT_QUEUED, SLOT_RUNNING, SLOT_DONE };

/* A selected frame on its way through conversion and hashing. */
typedef struct frame_slot {
    AVFrame *frame;   /* a reference to the decoder's frame while busy */
    uint64_t number;  /* frame number */
    int state;        /* SLOT_*; under the pool's mutex while workers run */
    int status;       /* of the conversion and hash */
    phm_pdq hash;
    int quality;
    uint32_t hash_w, hash_h;
} frame_slot;

struct phm_video_hasher {
    phm_video_options opt;
    int nthreads;       /* team size asked for: >= 1 */
    hash_thread *th;    /* nthreads */
    frame_slot *slots;
    size_t nslots;
};

/* The input, read by FFmpeg through our callbacks. */
typedef struct io_source {
    int fd;           /* -1: reading `mem` */
    const uint8_t *mem; /* phm_hash_video_mem: the whole input, size bytes */
    int64_t pos;      /* mem: the read position */
    int seekable;
    int64_t size;     /* file size, or -1 */
    int64_t bytes;    /* bytes read so far */
    int error;        /* errno of the first read error, or 0 */
} io_source;

/* One video in progress. */
typedef struct video_run {
    phm_video_hasher *vh;
    const phm_video_options *opt;
    const char *name;
    phm_vpdq *out;
    io_source src;
    AVIOContext *pb;
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVPacket *pkt;
    AVFrame *frame;
    int stream;
    double fps;
    uint64_t step;
    uint64_t submitted;     /* selected frames handed to slots */
    uint64_t collected;     /* of them, collected */
    /* The worker pool (only with vh->nthreads > 1). */
    pthread_t *workers;
    int nworkers;           /* started */
    pthread_mutex_t mu;
    pthread_cond_t work;    /* a slot was queued, or stop */
    pthread_cond_t done;    /* a slot is done */
    uint64_t taken;         /* slots taken by a thread, in submission order */
    int pool_stop;
    int decoder_threads;    /* for avcodec: 0 (FFmpeg's choice) or more */
    int damaged;            /* the decoder met damaged data */
    int gap;                /* a frame was lost: append no later one */
    int status;             /* first error, or PHM_OK */
    int stop;               /* stop decoding (an error or a limit) */
    uint64_t skipped;       /* packets skipped with skip_errors */
    char first_skip[160];   /* what the first skipped packet gave */
    uint64_t first_skip_frame;
    char *err;
    size_t errlen;
} video_run;

/* ------------------------------------------------------------------ */
/* Options and the hasher                                              */
/* ------------------------------------------------------------------ */

int phm_video_hasher_new(phm_video_hasher **out, const phm_video_options *o)
{
    phm_video_hasher *vh;
    phm_video_options defaults;

    if (!out)
        return PHM_ERR_INVALID;
    *out = NULL;
    if (!o) {
        phm_video_options_init(&defaults);
        o = &defaults;
    }
    if (!video_options_valid(o))
        return PHM_ERR_INVALID;
    vh = calloc(1, sizeof *vh);
    if (!vh)
        return PHM_ERR_NOMEM;
    vh->opt = *o;
    if (vh->opt.max_pixels == 0)
        vh->opt.max_pixels = PHM_DEFAULT_MAX_PIXELS;
    if (vh->opt.max_seconds == 0)
        vh->opt.max_seconds = PHM_VIDEO_DEFAULT_MAX_SECONDS;
    if (vh->opt.max_frames == 0)
        vh->opt.max_frames = PHM_VIDEO_DEFAULT_MAX_FRAMES;
    vh->nthreads = o->threads > 1 ? o->threads : 1;
    vh->nslots = (size_t)vh->nthreads * SLOTS_PER_THREAD;
    vh->th = calloc((size_t)vh->nthreads, sizeof *vh->th);
    vh->slots = calloc(vh->nslots, sizeof *vh->slots);
    if (!vh->th || !vh->slots)
        goto nomem;
    for (int i = 0; i < vh->nthreads; i++)
        if (phm_hasher_new(&vh->th[i].hasher, o->simd) != PHM_OK)
            goto nomem;
    for (size_t i = 0; i < vh->nslots; i++)
        if (!(vh->slots[i].frame = av_frame_alloc()))
            goto nomem;
    *out = vh;
    return PHM_OK;
nomem:
    phm_video_hasher_free(vh);
    return PHM_ERR_NOMEM;
}

void phm_video_hasher_free(phm_video_hasher *vh)
{
    if (!vh)
        return;
    if (vh->th) {
        for (int i = 0; i < vh->nthreads; i++) {
            phm_hasher_free(vh->th[i].hasher);
            sws_freeContext(vh->th[i].sws);
            av_free(vh->th[i].rgb);
        }
    }
    if (vh->slots)
        for (size_t i = 0; i < vh->nslots; i++)
            av_frame_free(&vh->slots[i].frame);
    free(vh->th);
    free(vh->slots);
    free(vh);
}

void phm_video_versions(char *out, size_t len)
{
    unsigned f = avformat_version(), c = avcodec_version(),
             s = swscale_version();
    if (!out || !len)
        return;
    snprintf(out, len, "libavformat %u.%u.%u, libavcodec %u.%u.%u, "
                       "libswscale %u.%u.%u",
             f >> 16, (f >> 8) & 0xff, f & 0xff, c >> 16, (c >> 8) & 0xff,
             c & 0xff, s >> 16, (s >> 8) & 0xff, s & 0xff);
}

void phm_video_silence_ffmpeg(void)
{
    av_log_set_level(AV_LOG_QUIET);
}

/* ------------------------------------------------------------------ */
/* Messages                                                            */
/* ------------------------------------------------------------------ */

/* Records the first error of the run: "cannot decode video 'NAME': ...".
 * Returns the run's status. */
static int run_fail(video_run *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int run_fail(video_run *r, int status, const char *fmt, ...)
{
    r->stop = 1;
    if (r->status != PHM_OK)
        return r->status;
    r->status = status;
    if (r->err && r->errlen) {
        int n = snprintf(r->err, r->errlen, "cannot decode video '%s': ",
                         r->name ? r->name : "(descriptor)");
        if (n >= 0 && (size_t)n < r->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return status;
}

/* " at frame N (T s)" for messages about how far decoding got. */
static void where(const video_run *r, char *buf, size_t len)
{
    uint64_t n = r->out->frames_decoded;
    snprintf(buf, len, " at frame %llu (%.3f s)", (unsigned long long)n,
             phm_vpdq_timestamp(n, r->fps));
}

/* Maps an FFmpeg error to a status, and describes it. */
static int map_averror(const video_run *r, int averr, char *why, size_t len)
{
    if (r->src.error) {
        snprintf(why, len, "%s", strerror(r->src.error));
        return PHM_ERR_UNREADABLE;
    }
    if (av_strerror(averr, why, len) < 0)
        snprintf(why, len, "FFmpeg error %d", averr);
    if (averr == AVERROR(ENOMEM))
        return PHM_ERR_NOMEM;
    /* An EIO without a read error of ours (r->src.error, above) is the
     * demuxer's word for data that ends too early (matroska cut in its
     * header): damaged input, not an unreadable file (phmatchd answered
     * it 500 internal). */
    return PHM_ERR_CORRUPT;
}

/* ------------------------------------------------------------------ */
/* Input                                                               */
/* ------------------------------------------------------------------ */

/* Reading from memory (phm_hash_video_mem): FFmpeg's custom I/O over the
 * caller's buffer, never a copy of the whole. */
static int mem_read(io_source *s, uint8_t *buf, int size)
{
    if (s->pos >= s->size)
        return AVERROR_EOF;
    int64_t n = s->size - s->pos < size ? s->size - s->pos : size;
    memcpy(buf, s->mem + s->pos, (size_t)n);
    s->pos += n;
    s->bytes += n;
    return (int)n;
}

static int64_t mem_seek(io_source *s, int64_t offset, int whence)
{
    int64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? s->pos : s->size;
    if ((offset < 0 && base + offset < 0) ||
        (offset > 0 && offset > INT64_MAX - base))
        return AVERROR(EINVAL);
    s->pos = base + offset; /* past the end: reads give EOF */
    return s->pos;
}

static int io_read(void *opaque, uint8_t *buf, int size)
{
    io_source *s = opaque;
    if (s->mem)
        return mem_read(s, buf, size);
    for (;;) {
        ssize_t n = read(s->fd, buf, (size_t)size);
        if (n > 0) {
            s->bytes += n;
            return (int)n;
        }
        if (n == 0)
            return AVERROR_EOF;
        if (errno == EINTR)
            continue;
        if (!s->error)
            s->error = errno;
        return AVERROR(errno);
    }
}

static int64_t io_seek(void *opaque, int64_t offset, int whence)
{
    io_source *s = opaque;
    if (whence & AVSEEK_SIZE)
        return s->size >= 0 ? s->size : AVERROR(ENOSYS);
    whence &= ~AVSEEK_FORCE;
    if (whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END)
        return AVERROR(EINVAL);
    if (s->mem)
        return mem_seek(s, offset, whence);
    off_t pos = lseek(s->fd, (off_t)offset, whence);
    if (pos < 0)
        return AVERROR(errno);
    return (int64_t)pos;
}

/* Refuses every request of a demuxer to open another file or URL (HLS
 * playlists, concat lists, external references in MOV). */
static int io_open_refused(AVFormatContext *s, AVIOContext **pb,
                           const char *url, int flags, AVDictionary **options)
{
    (void)s;
    (void)url;
    (void)flags;
    (void)options;
    *pb = NULL;
    return AVERROR(EPERM);
}

/* Whether `name` (length len) is in the comma-separated `list`. */
static int in_list(const char *list, const char *name, size_t len)
{
    while (*list) {
        size_t n = strcspn(list, ",");
        if (n == len && memcmp(list, name, len) == 0)
            return 1;
        list += n + (list[n] == ',');
    }
    return 0;
}

/* Whether a demuxer, named by its list (e.g. "mov,mp4,m4a,3gp,3g2,mj2"),
 * is one we decode. */
static int in_whitelist(const char *names)
{
    while (*names) {
        size_t n = strcspn(names, ",");
        if (n && in_list(demuxer_whitelist, names, n))
            return 1;
        names += n + (names[n] == ',');
    }
    return 0;
}

/* Probes, opens the demuxer, picks the video stream and opens its
 * decoder. */
static int open_input(video_run *r)
{
    const phm_video_options *opt = r->opt;
    const AVInputFormat *ifmt = NULL;
    char why[AV_ERROR_MAX_STRING_SIZE + 64];
    uint8_t *iobuf;
    int ret;

    iobuf = av_malloc(IO_BUFFER_SIZE);
    if (!iobuf)
        return run_fail(r, PHM_ERR_NOMEM, "out of memory");
    r->pb = avio_alloc_context(iobuf, IO_BUFFER_SIZE, 0, &r->src, io_read,
                               NULL, r->src.seekable ? io_seek : NULL);
    if (!r->pb) {
        av_free(iobuf);
        return run_fail(r, PHM_ERR_NOMEM, "out of memory");
    }
    r->pb->seekable = r->src.seekable ? AVIO_SEEKABLE_NORMAL : 0;

    /* Content only: no file name, so no extension can sway the probe. */
    ret = av_probe_input_buffer2(r->pb, &ifmt, "", NULL, 0, 0);
    if (ret < 0 || !ifmt) {
        if (r->src.error)
            return run_fail(r, PHM_ERR_UNREADABLE, "%s",
                            strerror(r->src.error));
        if (r->src.bytes == 0)
            return run_fail(r, PHM_ERR_CORRUPT, "empty input");
        return run_fail(r, PHM_ERR_UNSUPPORTED,
                        "not a video format phmatch decodes");
    }
    if (!in_whitelist(ifmt->name))
        return run_fail(r, PHM_ERR_UNSUPPORTED,
                        "%s is not a video format phmatch decodes",
                        ifmt->long_name ? ifmt->long_name : ifmt->name);
    /* The demuxer's first name: "mov" for "mov,mp4,m4a,3gp,3g2,mj2". */
    snprintf(r->out->container, sizeof r->out->container, "%.*s",
             (int)strcspn(ifmt->name, ","), ifmt->name);

    r->fmt = avformat_alloc_context();
    if (!r->fmt)
        return run_fail(r, PHM_ERR_NOMEM, "out of memory");
    r->fmt->pb = r->pb;
    r->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
    r->fmt->io_open = io_open_refused;
    r->fmt->format_whitelist = av_strdup(demuxer_whitelist);
    if (!r->fmt->format_whitelist)
        return run_fail(r, PHM_ERR_NOMEM, "out of memory");
    ret = avformat_open_input(&r->fmt, "", ifmt, NULL);
    if (ret < 0) {
        r->fmt = NULL; /* freed by avformat_open_input on failure */
        int st = map_averror(r, ret, why, sizeof why);
        return run_fail(r, st, "cannot read the %s container: %s",
                        r->out->container, why);
    }
    ret = avformat_find_stream_info(r->fmt, NULL);
    if (ret < 0) {
        int st = map_averror(r, ret, why, sizeof why);
        return run_fail(r, st, "cannot read the stream parameters: %s", why);
    }

    /* The first video stream, as the reference takes; cover art (an
     * attached picture) only if there is nothing else. */
    r->stream = -1;
    for (unsigned i = 0; i < r->fmt->nb_streams; i++) {
        const AVStream *st = r->fmt->streams[i];
        if (st->codecpar->codec_type != AVMEDIA_TYPE_VIDEO)
            continue;
        if (!(st->disposition & AV_DISPOSITION_ATTACHED_PIC)) {
            r->stream = (int)i;
            break;
        }
        if (r->stream < 0)
            r->stream = (int)i;
    }
    if (r->stream < 0)
        return run_fail(r, PHM_ERR_UNSUPPORTED, "no video stream");
    for (unsigned i = 0; i < r->fmt->nb_streams; i++)
        if ((int)i != r->stream)
            r->fmt->streams[i]->discard = AVDISCARD_ALL;

    AVStream *st = r->fmt->streams[r->stream];
    const AVCodecParameters *par = st->codecpar;
    const AVCodec *codec = avcodec_find_decoder(par->codec_id);
    if (!codec)
        return run_fail(r, PHM_ERR_UNSUPPORTED, "no decoder for codec %s",
                        avcodec_get_name(par->codec_id));
    if (par->width > 0 && par->height > 0 &&
        (uint64_t)par->width * (uint64_t)par->height > opt->max_pixels)
        return run_fail(r, PHM_ERR_TOO_LARGE,
                        "%dx%d frames are over the limit of %llu pixels",
                        par->width, par->height,
                        (unsigned long long)opt->max_pixels);

    AVRational rate = st->avg_frame_rate;
    if (rate.num <= 0 || rate.den <= 0)
        rate = st->r_frame_rate;
    if (rate.num <= 0 || rate.den <= 0)
        return run_fail(r, PHM_ERR_UNSUPPORTED, "no frame rate");
    r->fps = (double)rate.num / (double)rate.den;
    r->step = phm_vpdq_frame_step(opt->seconds_per_hash, r->fps);
    r->out->fps = r->fps;
    r->out->step = r->step;
    snprintf(r->out->codec, sizeof r->out->codec, "%s", codec->name);

    r->dec = avcodec_alloc_context3(codec);
    if (!r->dec)
        return run_fail(r, PHM_ERR_NOMEM, "out of memory");
    ret = avcodec_parameters_to_context(r->dec, par);
    if (ret < 0)
        return run_fail(r, PHM_ERR_NOMEM, "out of memory");
    r->dec->thread_count = r->decoder_threads;
    r->dec->pkt_timebase = st->time_base;
    /* The decoder refuses larger frames itself, before allocating. */
    r->dec->max_pixels = (int64_t)(opt->max_pixels < INT64_MAX
                                       ? opt->max_pixels
                                       : INT64_MAX);
    ret = avcodec_open2(r->dec, codec, NULL);
    if (ret < 0) {
        int stt = map_averror(r, ret, why, sizeof why);
        return run_fail(r, stt == PHM_ERR_CORRUPT ? PHM_ERR_UNSUPPORTED : stt,
                        "cannot open the %s decoder: %s", codec->name, why);
    }
    r->pkt = av_packet_alloc();
    r->frame = av_frame_alloc();
    if (!r->pkt || !r->frame)
        return run_fail(r, PHM_ERR_NOMEM, "out of memory");
    return PHM_OK;
}

static void close_input(video_run *r)
{
    av_frame_free(&r->frame);
    av_packet_free(&r->pkt);
    avcodec_free_context(&r->dec);
    if (r->fmt)
        avformat_close_input(&r->fmt); /* leaves our pb alone (custom IO) */
    if (r->pb) {
        av_freep(&r->pb->buffer);
        avio_context_free(&r->pb);
    }
}

/* ------------------------------------------------------------------ */
/* Conversion and hashing of one frame (a task)                         */
/* ------------------------------------------------------------------ */

/* Whether frames of format fmt at their own size convert in strips: only
 * where swscale takes its unscaled YUV-to-RGB converter, which is
 * stateless from one pair of rows to the next, so strips give exactly the
 * whole frame's pixels. The converter needs an even height. */
static int strip_convertible(const AVFrame *f, uint32_t w, uint32_t h)
{
    return (f->format == AV_PIX_FMT_YUV420P ||
            f->format == AV_PIX_FMT_YUV422P) &&
           w == (uint32_t)f->width && h == (uint32_t)f->height && h % 2 == 0;
}

/* Converts frame f in strips of STRIP_ROWS rows into the thread's small RGB
 * buffer and streams each into the hasher, so the RGB frame (6 MB at
 * 1080p) is never written out to memory and read back: the strip stays in
 * the core's cache between conversion and filtering. */
static int hash_strips(hash_thread *t, const AVFrame *f, uint32_t w,
                       uint32_t h, phm_pdq_result *res)
{
    const size_t stride = (size_t)w * 3;
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(f->format);
    int rc = pdq_stream_begin(t->hasher, w, h, 3, PHM_MODE_FULL);

    for (uint32_t y = 0; rc == PHM_OK && y < h; y += STRIP_ROWS) {
        uint32_t n = h - y < STRIP_ROWS ? h - y : STRIP_ROWS;
        const uint8_t *src[4] = { NULL, NULL, NULL, NULL };
        for (int p = 0; p < 4 && f->data[p]; p++) {
            uint32_t py = p == 1 || p == 2 ? y >> d->log2_chroma_h : y;
            src[p] = f->data[p] + (ptrdiff_t)py * f->linesize[p];
        }
        /* sws_scale's slice API takes the source slice's own rows and the
         * whole destination image, writing rows y .. y + n - 1 of it: the
         * destination handed over is the strip buffer moved back y rows
         * (as FFmpeg itself does for destination slices), computed as an
         * address so that no out-of-bounds pointer arithmetic happens. */
        uint8_t *dst[4] = {
            (uint8_t *)((uintptr_t)t->rgb - (uintptr_t)y * stride), NULL,
            NULL, NULL };
        int dst_stride[4] = { (int)stride, 0, 0, 0 };
        if (sws_scale(t->sws, src, f->linesize, (int)y, (int)n, dst,
                      dst_stride) != (int)n)
            return PHM_ERR_UNSUPPORTED;
        rc = pdq_stream_rows(t->hasher, t->rgb, stride, n);
    }
    if (rc == PHM_OK)
        rc = pdq_stream_end(t->hasher, 0, res);
    return rc;
}

static void hash_slot(phm_video_hasher *vh, frame_slot *s, int thread)
{
    hash_thread *t = &vh->th[thread];
    AVFrame *f = s->frame;
    uint32_t w = vh->opt.size ? vh->opt.size : (uint32_t)f->width;
    uint32_t h = vh->opt.size ? vh->opt.size : (uint32_t)f->height;
    int strips = strip_convertible(f, w, h);
    size_t need = (size_t)w * 3 * (strips ? STRIP_ROWS : h) + RGB_PADDING;
    phm_pdq_result res;

    s->hash_w = w;
    s->hash_h = h;
    t->sws = sws_getCachedContext(t->sws, f->width, f->height, f->format,
                                  (int)w, (int)h, AV_PIX_FMT_RGB24, SWS_AREA,
                                  NULL, NULL, NULL);
    if (!t->sws) {
        s->status = PHM_ERR_UNSUPPORTED;
        goto out;
    }
    if (need > t->rgb_cap) {
        av_free(t->rgb);
        t->rgb = av_malloc(need);
        t->rgb_cap = t->rgb ? need : 0;
        if (!t->rgb) {
            s->status = PHM_ERR_NOMEM;
            goto out;
        }
    }
    if (strips) {
        s->status = hash_strips(t, f, w, h, &res);
    } else {
        /* Rows packed, w * 3 bytes apart, as the reference's buffer. */
        uint8_t *dst[4] = { t->rgb, NULL, NULL, NULL };
        int dst_stride[4] = { (int)(w * 3), 0, 0, 0 };
        if (sws_scale(t->sws, (const uint8_t *const *)f->data, f->linesize,
                      0, f->height, dst, dst_stride) != (int)h) {
            s->status = PHM_ERR_UNSUPPORTED;
            goto out;
        }
        phm_image img = { t->rgb, w, h, 3, (size_t)w * 3,
                          PHM_FORMAT_UNKNOWN };
        s->status = phm_hash_image(t->hasher, &img, PHM_MODE_FULL, 0, &res);
    }
    if (s->status == PHM_OK) {
        s->hash = res.hash[0];
        s->quality = res.quality;
    }
out:
    av_frame_unref(f); /* give the decoder its buffer back */
}

/* Appends the result of a finished slot to the output. */
static void collect(video_run *r, frame_slot *s)
{
    if (s->state != SLOT_DONE)
        return;
    s->state = SLOT_FREE;
    r->collected++;
    if (r->gap)
        return; /* keep the output a prefix of the video's frames */
    if (s->status != PHM_OK) {
        r->gap = 1;
        char at[64];
        snprintf(at, sizeof at, " at frame %llu",
                 (unsigned long long)s->number);
        if (s->status == PHM_ERR_UNSUPPORTED) {
            const char *pf = av_get_pix_fmt_name(r->dec->pix_fmt);
            run_fail(r, s->status,
                     "cannot convert frames of pixel format %s to RGB%s",
                     pf ? pf : "(unknown)", at);
        } else
            run_fail(r, s->status, "%s%s", phm_strerror(s->status), at);
        return;
    }
    if (r->out->hash_width == 0) {
        r->out->hash_width = s->hash_w;
        r->out->hash_height = s->hash_h;
    }
    phm_vpdq_frame fr = { s->hash, s->quality, s->number,
                          phm_vpdq_timestamp(s->number, r->fps) };
    if (phm_vpdq_append(r->out, &fr) != PHM_OK) {
        r->gap = 1;
        run_fail(r, PHM_ERR_NOMEM, "out of memory");
    }
}

/* Converts and hashes slot s, the next in submission order, in thread
 * `thread`, and marks it done. Called and returns with mu held. */
static void run_slot_locked(video_run *r, frame_slot *s, int thread)
{
    s->state = SLOT_RUNNING;
    r->taken++;
    pthread_mutex_unlock(&r->mu);
    hash_slot(r->vh, s, thread);
    pthread_mutex_lock(&r->mu);
    s->state = SLOT_DONE;
    pthread_cond_broadcast(&r->done);
}

typedef struct worker_arg {
    video_run *r;
    int thread;
} worker_arg;

static void *worker_main(void *arg)
{
    video_run *r = ((worker_arg *)arg)->r;
    int thread = ((worker_arg *)arg)->thread;
    phm_video_hasher *vh = r->vh;

    free(arg);
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (!r->pool_stop && r->taken == r->submitted)
            pthread_cond_wait(&r->work, &r->mu);
        if (r->taken == r->submitted)
            break; /* stopping, and nothing queued */
        run_slot_locked(r, &vh->slots[r->taken % vh->nslots], thread);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

/* Starts threads - 1 workers. Fewer if the system refuses some: the
 * calling thread then hashes what they would have. */
static void pool_start(video_run *r)
{
    int n = r->vh->nthreads - 1;

    if (n < 1)
        return;
    r->workers = calloc((size_t)n, sizeof *r->workers);
    if (!r->workers)
        return;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->work, NULL);
    pthread_cond_init(&r->done, NULL);
    for (int i = 0; i < n; i++) {
        worker_arg *a = malloc(sizeof *a);
        if (!a)
            break;
        a->r = r;
        a->thread = i + 1;
        if (pthread_create(&r->workers[i], NULL, worker_main, a) != 0) {
            free(a);
            break;
        }
        r->nworkers++;
    }
}

static void pool_stop(video_run *r)
{
    if (!r->workers)
        return;
    pthread_mutex_lock(&r->mu);
    r->pool_stop = 1;
    pthread_cond_broadcast(&r->work);
    pthread_mutex_unlock(&r->mu);
    for (int i = 0; i < r->nworkers; i++)
        pthread_join(r->workers[i], NULL);
    pthread_cond_destroy(&r->done);
    pthread_cond_destroy(&r->work);
    pthread_mutex_destroy(&r->mu);
    free(r->workers);
    r->workers = NULL;
}

/* Waits until slot s holds no pending work, running it in the calling
 * thread if no worker has taken it yet. */
static void wait_slot(video_run *r, frame_slot *s)
{
    if (!r->workers) {
        if (s->state == SLOT_QUEUED) {
            hash_slot(r->vh, s, 0);
            s->state = SLOT_DONE;
            r->taken++;
        }
        return;
    }
    pthread_mutex_lock(&r->mu);
    while (s->state == SLOT_QUEUED || s->state == SLOT_RUNNING) {
        if (s->state == SLOT_QUEUED)
            run_slot_locked(r, s, 0); /* the oldest queued: next to take */
        else
            pthread_cond_wait(&r->done, &r->mu);
    }
    pthread_mutex_unlock(&r->mu);
}

/* Hands a selected frame (moved out of r->frame) to the next slot. */
static void submit(video_run *r, uint64_t number)
{
    phm_video_hasher *vh = r->vh;
    frame_slot *s = &vh->slots[r->submitted % vh->nslots];

    wait_slot(r, s);
    collect(r, s);
    if (r->stop)
        return;
    av_frame_move_ref(s->frame, r->frame);
    s->number = number;
    s->status = PHM_OK;
    if (r->workers) {
        pthread_mutex_lock(&r->mu);
        s->state = SLOT_QUEUED;
        r->submitted++;
        pthread_cond_signal(&r->work);
        pthread_mutex_unlock(&r->mu);
    } else {
        s->state = SLOT_QUEUED;
        r->submitted++;
        wait_slot(r, s); /* one thread: right away */
    }
}

/* Waits for every slot and collects them in frame order. */
static void drain(video_run *r)
{
    phm_video_hasher *vh = r->vh;
    for (uint64_t i = r->collected; i < r->submitted; i++) {
        frame_slot *s = &vh->slots[i % vh->nslots];
        wait_slot(r, s);
        collect(r, s);
    }
}

/* ------------------------------------------------------------------ */
/* Decoding                                                            */
/* ------------------------------------------------------------------ */

/* A frame came out of the decoder (in r->frame). */
static void on_frame(video_run *r)
{
    const phm_video_options *opt = r->opt;
    AVFrame *f = r->frame;
    uint64_t n = r->out->frames_decoded;
    char at[64];

    if (n >= opt->max_frames) {
        where(r, at, sizeof at);
        run_fail(r, PHM_ERR_TOO_LARGE, "stopped%s: over the limit of %llu "
                                       "frames",
                 at, (unsigned long long)opt->max_frames);
        goto out;
    }
    if ((double)n / r->fps >= opt->max_seconds) {
        where(r, at, sizeof at);
        run_fail(r, PHM_ERR_TOO_LARGE, "stopped%s: over the limit of %.0f "
                                       "seconds",
                 at, opt->max_seconds);
        goto out;
    }
    if (f->width <= 0 || f->height <= 0 ||
        (uint64_t)f->width * (uint64_t)f->height > opt->max_pixels) {
        where(r, at, sizeof at);
        run_fail(r, PHM_ERR_TOO_LARGE, "%dx%d frame%s is over the limit of "
                                       "%llu pixels",
                 f->width, f->height, at,
                 (unsigned long long)opt->max_pixels);
        goto out;
    }
    if (!opt->size && (f->width < 5 || f->height < 5)) {
        where(r, at, sizeof at);
        run_fail(r, PHM_ERR_TOO_SMALL,
                 "%dx%d frame%s; PDQ needs at least 5x5 pixels", f->width,
                 f->height, at);
        goto out;
    }
    if (f->decode_error_flags || (f->flags & AV_FRAME_FLAG_CORRUPT)) {
        /* The decoder concealed damage in this frame. */
        r->damaged = 1;
        if (!opt->skip_errors) {
            where(r, at, sizeof at);
            run_fail(r, PHM_ERR_CORRUPT,
                     "decoding stopped%s: damaged data in the frame", at);
            goto out;
        }
        if (r->skipped++ == 0) {
            snprintf(r->first_skip, sizeof r->first_skip,
                     "damaged data in the frame");
            r->first_skip_frame = n;
        }
    }
    if (r->out->frames_decoded == 0) {
        r->out->width = (uint32_t)f->width;
        r->out->height = (uint32_t)f->height;
    }
    r->out->frames_decoded++;
    if (n % r->step == 0) {
        submit(r, n);
        return;
    }
out:
    av_frame_unref(f);
}

/* Receives every frame the decoder has ready. Returns 0, or an FFmpeg
 * error other than EAGAIN/EOF. */
static int receive_frames(video_run *r)
{
    for (;;) {
        int ret = avcodec_receive_frame(r->dec, r->frame);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            return 0;
        if (ret < 0)
            return ret;
        on_frame(r);
        if (r->stop)
            return 0;
    }
}

/* A packet (or, with pkt NULL, the end) the decoder rejected, or a frame it
 * could not give back. Stops, or with skip_errors notes it and goes on. */
static void decode_error(video_run *r, int ret)
{
    char why[AV_ERROR_MAX_STRING_SIZE + 8], at[64];
    int st = map_averror(r, ret, why, sizeof why);

    if (st == PHM_ERR_CORRUPT)
        r->damaged = 1;
    if (st == PHM_ERR_CORRUPT && r->opt->skip_errors) {
        if (r->skipped++ == 0) {
            snprintf(r->first_skip, sizeof r->first_skip, "%s", why);
            r->first_skip_frame = r->out->frames_decoded;
        }
        return;
    }
    where(r, at, sizeof at);
    run_fail(r, st, "decoding stopped%s: %s", at, why);
}

static void decode_all(video_run *r)
{
    char why[AV_ERROR_MAX_STRING_SIZE + 8], at[64];
    int ret;

    while (!r->stop) {
        ret = av_read_frame(r->fmt, r->pkt);
        if (ret == AVERROR_EOF)
            break;
        if (ret < 0) {
            int st = map_averror(r, ret, why, sizeof why);
            where(r, at, sizeof at);
            run_fail(r, st, "reading stopped%s: %s", at, why);
            break;
        }
        if (r->pkt->stream_index != r->stream) {
            av_packet_unref(r->pkt);
            continue;
        }
        ret = avcodec_send_packet(r->dec, r->pkt);
        av_packet_unref(r->pkt);
        if (ret == AVERROR(EAGAIN))
            ret = 0; /* cannot happen: every ready frame is received */
        if (ret < 0) {
            decode_error(r, ret);
            continue;
        }
        ret = receive_frames(r);
        if (ret < 0)
            decode_error(r, ret);
    }
    if (!r->stop) {
        /* The end: the frames the decoder still holds. */
        ret = avcodec_send_packet(r->dec, NULL);
        if (ret < 0 && ret != AVERROR_EOF)
            decode_error(r, ret);
        else if ((ret = receive_frames(r)) < 0)
            decode_error(r, ret);
    }
    drain(r);
}

/* Decodes and hashes the whole input once. */
static void run_once(video_run *r)
{
    /* out keeps its allocation; everything else starts afresh. */
    phm_vpdq_frame *frames = r->out->frames;
    size_t cap = r->out->capacity;
    phm_vpdq_init(r->out);
    r->out->frames = frames;
    r->out->capacity = cap;

    if (open_input(r) == PHM_OK) {
        pool_start(r);
        decode_all(r);
        pool_stop(r);
    }
    /* Slots hold no frame now; drop the decoder's buffers with it. */
    close_input(r);
    r->out->bytes = r->src.bytes;
}

static int hash_video(phm_video_hasher *vh, int fd, const uint8_t *mem,
                      const char *name, int seekable, int64_t size,
                      phm_vpdq *out, char *err, size_t errlen)
{
    video_run r;
    int threads = vh->opt.decoder_threads;

    /* FFmpeg's frame threads decode valid streams exactly as one thread
     * does, but conceal damage differently from run to run. A damaged
     * input is therefore decoded again by one thread, so that the same
     * file always gives the same frames; a pipe, which cannot be read
     * twice, is decoded by one thread from the start. */
    if (!seekable)
        threads = 1;
    for (int attempt = 0;; attempt++) {
        memset(&r, 0, sizeof r);
        r.vh = vh;
        r.opt = &vh->opt;
        r.name = name;
        r.out = out;
        r.src.fd = fd;
        r.src.mem = mem;
        r.src.seekable = seekable;
        r.src.size = size;
        r.err = err;
        r.errlen = errlen;
        r.decoder_threads = threads;
        if (err && errlen)
            err[0] = '\0';
        run_once(&r);
        if (!r.damaged || threads == 1 || attempt > 0)
            break;
        if (!mem && lseek(fd, 0, SEEK_SET) < 0)
            break;
        threads = 1;
    }
    if (r.status == PHM_OK && out->frames_decoded == 0) {
        /* A container cut after its header ends "cleanly" to FFmpeg: with
         * no frame at all it is no video to hash, not an empty result. */
        if (err && errlen)
            snprintf(err, errlen, "cannot decode video '%s': no frame could be "
                     "decoded (a truncated or empty stream)",
                     name ? name : "(descriptor)");
        return PHM_ERR_CORRUPT;
    }
    if (r.status == PHM_OK && r.skipped) {
        if (err && errlen)
            snprintf(err, errlen,
                     "cannot decode video '%s': %llu damaged packet%s or "
                     "frame%s, the first at frame %llu: %s",
                     name ? name : "(descriptor)",
                     (unsigned long long)r.skipped, r.skipped == 1 ? "" : "s",
                     r.skipped == 1 ? "" : "s",
                     (unsigned long long)r.first_skip_frame, r.first_skip);
        return PHM_WARN_RECOVERED;
    }
    return r.status;
}

/* ------------------------------------------------------------------ */
/* Entry points                                                        */
/* ------------------------------------------------------------------ */

static int read_fail(int status, char *err, size_t errlen, const char *path,
                     const char *what)
{
    if (err && errlen)
        snprintf(err, errlen, "cannot read '%s': %s", path, what);
    return status;
}

int phm_hash_video_fd(phm_video_hasher *vh, int fd, const char *name,
                      phm_vpdq *out, char *err, size_t errlen)
{
    struct stat sb;

    if (err && errlen)
        err[0] = '\0';
    if (!vh || !out || fd < 0)
        return PHM_ERR_INVALID;
    if (fstat(fd, &sb) != 0)
        return read_fail(PHM_ERR_UNREADABLE, err, errlen,
                         name ? name : "(descriptor)", strerror(errno));
    if (S_ISDIR(sb.st_mode))
        return read_fail(PHM_ERR_IS_DIR, err, errlen,
                         name ? name : "(descriptor)", "is a directory");
    if (S_ISREG(sb.st_mode)) {
        if (lseek(fd, 0, SEEK_SET) < 0)
            return read_fail(PHM_ERR_UNREADABLE, err, errlen,
                             name ? name : "(descriptor)", strerror(errno));
        return hash_video(vh, fd, NULL, name, 1, (int64_t)sb.st_size, out,
                          err, errlen);
    }
    return hash_video(vh, fd, NULL, name, 0, -1, out, err, errlen);
}

int phm_hash_video_mem(phm_video_hasher *vh, const void *data, size_t len,
                       const char *name, phm_vpdq *out, char *err,
                       size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (!vh || !out || (!data && len) || len > (size_t)INT64_MAX)
        return PHM_ERR_INVALID;
    if (!data)
        data = ""; /* empty: FFmpeg finds no format */
    return hash_video(vh, -1, data, name ? name : "(memory)", 1, (int64_t)len,
                      out, err, errlen);
}

int phm_hash_video_file(phm_video_hasher *vh, const char *path, phm_vpdq *out,
                        char *err, size_t errlen)
{
    uint64_t size = 0;
    int fd, rc;

    if (err && errlen)
        err[0] = '\0';
    if (!vh || !path || !out)
        return PHM_ERR_INVALID;
    rc = phm_file_open(path, 0, 0, &fd, &size, err, errlen);
    if (rc != PHM_OK)
        return rc;
    rc = hash_video(vh, fd, NULL, path, 1, (int64_t)size, out, err, errlen);
    close(fd);
    return rc;
}
