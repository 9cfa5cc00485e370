/*
 * fuzz_recfile.c - libFuzzer target: the reader of hash and match output
 * files (src/cli/recfile.c, compiled in), which `phmatch merge` and
 * --resume run on files that may be damaged or not phmatch's at all.
 *
 * The first byte chooses: bits 0-2 the format (0 found from the first
 * line, 1 tsv, 2 csv, 3 jsonl, 4 pdq, else vpdq: refused), bit 3 an
 * expected header (hash's tsv/csv header, as --resume passes it) instead
 * of the file's own; the rest is the file.
 *
 * Checks: reading ends; the groups' byte ranges are in order, within the
 * file and not empty; a path's length is its bytes; the tail is within
 * the file; an input counts once.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/cli/recfile.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char tsv_header[] =
    "path\tstatus\tsize\tformat\twidth\theight\tmode\tpdq\tquality\tflags\t"
    "kind\tframe\ttimestamp\tfps\tframes\terror\n";
static const char csv_header[] =
    "path,status,size,format,width,height,mode,pdq,quality,flags,"
    "kind,frame,timestamp,fps,frames,error\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[PHM_ERRMSG_MAX];
    recfile *rf = NULL;
    recfile_group g;
    if (size < 1)
        return 0;
    int sel = data[0] & 7;
    int format = sel == 0 ? -1 : sel == 1 ? OUTPUT_TSV : sel == 2 ? OUTPUT_CSV
               : sel == 3 ? OUTPUT_JSONL : sel == 4 ? OUTPUT_PDQ : OUTPUT_VPDQ;
    const char *header = NULL;
    if (data[0] & 8)
        header = format == OUTPUT_CSV ? csv_header
               : format == OUTPUT_TSV ? tsv_header : "";
    size--;
    data++;
    /* fmemopen of 0 bytes fails in some libcs: keep one byte of room. */
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    FILE *fp = fmemopen(buf, size ? size : 1, "r");
    if (!fp) {
        free(buf);
        return 0;
    }
    if (!size)
        fseeko(fp, 1, SEEK_SET); /* nothing to read */
    if (size && recfile_open(&rf, "fuzz", fp, format, header, err,
                             sizeof err) == PHM_OK) {
        uint64_t last_end = 0, groups = 0;
        int rc;
        while ((rc = recfile_next(rf, &g, err, sizeof err)) > 0) {
            if (g.start < last_end || g.end <= g.start || g.end > size ||
                strlen(g.path) > g.path_len || g.counts.inputs != 1)
                abort();
            last_end = g.end;
            if (++groups > size)
                abort();
        }
        if (rc == 0 && (recfile_tail(rf) > size || recfile_tail(rf) < last_end))
            abort();
        recfile_close(rf);
    }
    fclose(fp);
    free(buf);
    return 0;
}
