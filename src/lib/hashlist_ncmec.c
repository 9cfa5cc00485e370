/* hashlist_ncmec.c - NCMEC's hash-sharing XML (docs/HASHLISTS.md,
 * "ncmec"): <image> records (member, id, timestamp, classification,
 * fingerprints md5/sha1/pdna/pdq) and <deletedImage> records, read with
 * libxml2's streaming reader node by node: nothing of the document is kept
 * but the fields of the record being read, each within its bound. No
 * network, no DTD, no entities: a document with a DOCTYPE or an entity
 * reference is refused (XXE and "billion laughs" cannot happen). */
#include "hashlist_internal.h"
#include "dynlib.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libxml/xmlreader.h>

enum { F_NONE = 0, F_ID, F_MEMBER, F_TIME, F_CLASS, F_MD5, F_SHA1, F_SHA256, F_PDNA, F_PDQ,
       F_KINDS };

static const struct {
    const char *name;
    size_t max;
} fields[F_KINDS] = {
    [F_ID] = { "id", PHM_HASHLIST_ID_MAX },
    [F_MEMBER] = { "member", 255 },
    [F_TIME] = { "timestamp", 64 },
    [F_CLASS] = { "classification", PHM_HASHLIST_CATEGORY_MAX },
    [F_MD5] = { "md5", 80 },
    [F_SHA1] = { "sha1", 80 },
    [F_SHA256] = { "sha256", 80 },
    [F_PDNA] = { "pdna", PHM_INDEX_MAX_PHOTODNA + 8 },
    [F_PDQ] = { "pdq", 80 },
};

/* The reader's state, allocated at the first read. */
typedef struct ncmec {
    const phm__xml_lib *L; /* libxml2, opened at the first NCMEC list */
    xmlTextReaderPtr xr;
    char xml_err[200];
    int in_image;   /* 0, 1 <image>, 2 <deletedImage> */
    int img_depth;
    int cur;        /* the field whose text is being read */
    int over;       /* a field longer than its bound */
    char member_id[64];
    char val[F_KINDS][PHM_HASHLIST_ID_MAX + PHM_INDEX_MAX_PHOTODNA + 16];
    size_t len[F_KINDS];
    int seen[F_KINDS];
} ncmec;

static int read_cb(void *ctx, char *buf, int len)
{
    phm_hashlist_reader *r = ctx;
    long got = hl_raw_read(r, (unsigned char *)buf, len > 0 ? (size_t)len : 0);
    return got < 0 ? -1 : (int)got;
}

static void error_cb(void *arg, const char *msg, xmlParserSeverities severity,
                     xmlTextReaderLocatorPtr locator)
{
    ncmec *x = arg;
    (void)locator;
    if (severity != XML_PARSER_SEVERITY_ERROR && severity != XML_PARSER_SEVERITY_VALIDITY_ERROR)
        return;
    if (!x->xml_err[0]) {
        size_t n = strlen(msg);
        while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
            n--;
        hl_shown(x->xml_err, sizeof x->xml_err, msg, n, sizeof x->xml_err - 4);
    }
}

void hl_ncmec_close(phm_hashlist_reader *r)
{
    ncmec *x = r->xml;
    if (!x)
        return;
    x->L->xmlFreeTextReader(x->xr);
    free(x);
    r->xml = NULL;
}

static int field_of(const char *name)
{
    for (int f = 1; f < F_KINDS; f++)
        if (strcmp(name, fields[f].name) == 0)
            return f;
    return F_NONE;
}

/* The record just closed into e. */
static int finish(phm_hashlist_reader *r, ncmec *x, phm_entry *e, char *err, size_t errlen)
{
    int rc;
    if (x->over)
        return HL_LINE_ERR("<%s> is longer than %zu bytes", fields[x->over].name,
                           fields[x->over].max);
    if (!x->seen[F_ID] || x->len[F_ID] == 0)
        return HL_LINE_ERR("<%s> without an <id>", x->in_image == 2 ? "deletedImage" : "image");
    const char *s = x->val[F_ID];
    size_t n = x->len[F_ID];
    hl_trim(&s, &n);
    if ((rc = hl_set_string(r, r->id, PHM_HASHLIST_ID_MAX, "id", s, n, err, errlen)) != 0)
        return rc;
    if (x->in_image == 2)
        return HL_REMOVED;
    if (x->seen[F_CLASS]) {
        s = x->val[F_CLASS];
        n = x->len[F_CLASS];
        hl_trim(&s, &n);
        if ((rc = hl_set_string(r, r->category, PHM_HASHLIST_CATEGORY_MAX, "classification", s,
                                n, err, errlen)) != 0)
            return rc;
    }
    if (x->seen[F_TIME] && x->len[F_TIME] &&
        hl_feed_time(x->val[F_TIME], x->len[F_TIME], &e->added) != 0) {
        hl_shown_buf b;
        return HL_LINE_ERR("invalid <timestamp> '%s'", HL_SHOW(b, x->val[F_TIME], x->len[F_TIME]));
    }
    static const int dig[HL_NDIGESTS] = { F_MD5, F_SHA1, F_SHA256 };
    for (size_t d = 0; d < HL_NDIGESTS; d++)
        if (x->seen[dig[d]] && x->len[dig[d]] &&
            (rc = hl_set_digest(r, e, d, x->val[dig[d]], x->len[dig[d]], err, errlen)) != 0)
            return rc;
    if (x->seen[F_PDQ] && x->len[F_PDQ] &&
        (rc = hl_set_hash(r, e, x->val[F_PDQ], x->len[F_PDQ], err, errlen)) != 0)
        return rc;
    if (x->seen[F_PDNA] &&
        (rc = hl_set_photodna(r, e, x->val[F_PDNA], x->len[F_PDNA], err, errlen)) != 0)
        return rc;
    if (x->member_id[0] || x->seen[F_MEMBER]) {
        json_t *attrs = json_object();
        if (!attrs)
            return hl_fail(r, err, errlen, PHM_ERR_NOMEM, "out of memory");
        if (x->member_id[0])
            json_object_set_new(attrs, "member_id", json_string(x->member_id));
        if (x->seen[F_MEMBER]) {
            s = x->val[F_MEMBER];
            n = x->len[F_MEMBER];
            hl_trim(&s, &n);
            json_t *m = json_stringn(s, n);
            if (!m) {
                json_decref(attrs);
                return HL_LINE_ERR("<member> is not UTF-8");
            }
            json_object_set_new(attrs, "member", m);
        }
        rc = hl_set_attrs(r, e, attrs, err, errlen);
        json_decref(attrs);
        if (rc)
            return rc;
    }
    if (!e->signals)
        return HL_LINE_ERR("no hash phmatch can match: no <pdq>, <md5> or <sha1>%s",
                           e->photodna ? " (PhotoDNA alone cannot be matched)" : "");
    return 0;
}

static int xml_failed(phm_hashlist_reader *r, ncmec *x, char *err, size_t errlen)
{
    r->rec_line = r->lineno + (x->in_image ? 0 : 1);
    return hl_fail(r, err, errlen, PHM_ERR_UNSUPPORTED, "invalid XML (line %d): %s",
                   x->L->xmlTextReaderGetParserLineNumber(x->xr),
                   x->xml_err[0] ? x->xml_err : "cannot be parsed");
}

int hl_ncmec_read(phm_hashlist_reader *r, phm_entry *e, char *err, size_t errlen)
{
    ncmec *x = r->xml;
    if (!x) {
        char why[300];
        const phm__xml_lib *L = phm__xml_lib_get(why, sizeof why);
        if (!L)
            return hl_fail(r, err, errlen, PHM_ERR_UNSUPPORTED, "%s", why);
        L->xmlInitParser();
        x = calloc(1, sizeof *x);
        if (!x)
            return hl_fail(r, err, errlen, PHM_ERR_NOMEM, "out of memory");
        x->L = L;
        r->xml = x;
        /* no network, no DTD loading, no entity substitution */
        x->xr = x->L->xmlReaderForIO(read_cb, NULL, r, NULL, NULL,
                               XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                                   XML_PARSE_NOCDATA);
        if (!x->xr)
            return hl_fail(r, err, errlen, PHM_ERR_NOMEM, "out of memory");
        x->L->xmlTextReaderSetErrorHandler(x->xr, error_cb, x);
    }
    for (;;) {
        int rc = x->L->xmlTextReaderRead(x->xr);
        if (rc < 0)
            return xml_failed(r, x, err, errlen);
        if (rc == 0) {
            if (x->in_image) {
                x->in_image = 0;
                return HL_LINE_ERR("the document ends inside the record (truncated?)");
            }
            return HL_DOC_EOF;
        }
        int type = x->L->xmlTextReaderNodeType(x->xr);
        int depth = x->L->xmlTextReaderDepth(x->xr);
        if (type == XML_READER_TYPE_DOCUMENT_TYPE || type == XML_READER_TYPE_ENTITY_REFERENCE ||
            type == XML_READER_TYPE_ENTITY) {
            r->rec_line = r->lineno + 1;
            return hl_fail(r, err, errlen, PHM_ERR_UNSUPPORTED,
                           "a DOCTYPE or an entity is not accepted in an NCMEC list");
        }
        if (depth > PHM_HASHLIST_DEPTH_MAX) {
            r->rec_line = r->lineno + 1;
            return hl_fail(r, err, errlen, PHM_ERR_UNSUPPORTED,
                           "XML nested deeper than %d levels", PHM_HASHLIST_DEPTH_MAX);
        }
        const char *name = (const char *)x->L->xmlTextReaderConstLocalName(x->xr);
        if (!name)
            name = "";
        if (type == XML_READER_TYPE_ELEMENT) {
            int empty = x->L->xmlTextReaderIsEmptyElement(x->xr);
            if (!x->in_image) {
                int kind = strcmp(name, "image") == 0         ? 1
                           : strcmp(name, "deletedImage") == 0 ? 2
                                                               : 0;
                if (!kind)
                    continue;
                x->in_image = kind;
                x->img_depth = depth;
                x->cur = F_NONE;
                x->over = 0;
                x->member_id[0] = '\0';
                memset(x->len, 0, sizeof x->len);
                memset(x->seen, 0, sizeof x->seen);
                r->rec_line = ++r->lineno;
                if (empty) {
                    rc = finish(r, x, e, err, errlen);
                    x->in_image = 0;
                    return rc;
                }
                continue;
            }
            x->cur = field_of(name);
            if (x->cur) {
                x->seen[x->cur] = 1;
                x->len[x->cur] = 0;
            }
            if (x->cur == F_MEMBER) {
                /* Read in place (no copy for us to free), then back to the
                 * element, whose emptiness was taken above. */
                if (x->L->xmlTextReaderMoveToAttribute(x->xr, (const xmlChar *)"id") == 1) {
                    const char *id = (const char *)x->L->xmlTextReaderConstValue(x->xr);
                    size_t n = id ? strlen(id) : 0;
                    if (n >= sizeof x->member_id)
                        x->over = F_MEMBER;
                    else if (id)
                        memcpy(x->member_id, id, n + 1);
                    x->L->xmlTextReaderMoveToElement(x->xr);
                }
            }
            if (empty)
                x->cur = F_NONE;
        } else if (type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA ||
                   type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE ||
                   type == XML_READER_TYPE_WHITESPACE) {
            if (!x->in_image || !x->cur)
                continue;
            const char *v = (const char *)x->L->xmlTextReaderConstValue(x->xr);
            if (!v)
                continue; /* libxml2 may say "no value": nothing to add */
            size_t n = strlen(v);
            if (x->len[x->cur] + n > fields[x->cur].max) {
                x->over = x->cur;
                continue;
            }
            memcpy(x->val[x->cur] + x->len[x->cur], v, n);
            x->len[x->cur] += n;
        } else if (type == XML_READER_TYPE_END_ELEMENT && x->in_image) {
            if (depth == x->img_depth) {
                rc = finish(r, x, e, err, errlen);
                x->in_image = 0;
                return rc;
            }
            x->cur = F_NONE;
        }
    }
}
