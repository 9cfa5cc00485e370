/* index_names.c - index format 5: the `names` table (source and category
 * names <-> small numbers), the varints of keys and records, and the keys
 * built from them (docs/INDEX_FORMAT.md "names", "keys", "counts"). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "index_block.h"

/* ---- varints ------------------------------------------------------ */

/* Order-preserving: 0xxxxxxx; 10xxxxxx +1 byte; 110xxxxx +2; 1110xxxx +3;
 * 11110000 +4 (big-endian after the first byte). */
size_t idx_okey_put(uint8_t *p, uint32_t v)
{
    if (v < 0x80) {
        p[0] = (uint8_t)v;
        return 1;
    }
    if (v < 0x4000) {
        p[0] = (uint8_t)(0x80 | v >> 8);
        p[1] = (uint8_t)v;
        return 2;
    }
    if (v < 0x200000) {
        p[0] = (uint8_t)(0xc0 | v >> 16);
        p[1] = (uint8_t)(v >> 8);
        p[2] = (uint8_t)v;
        return 3;
    }
    if (v < 0x10000000) {
        p[0] = (uint8_t)(0xe0 | v >> 24);
        p[1] = (uint8_t)(v >> 16);
        p[2] = (uint8_t)(v >> 8);
        p[3] = (uint8_t)v;
        return 4;
    }
    p[0] = 0xf0;
    for (int i = 0; i < 4; i++)
        p[1 + i] = (uint8_t)(v >> (24 - 8 * i));
    return 5;
}

size_t idx_okey_get(const uint8_t *p, size_t len, uint32_t *v)
{
    if (len == 0)
        return 0;
    size_t n;
    uint32_t x, min;
    if (p[0] < 0x80) {
        *v = p[0];
        return 1;
    } else if (p[0] < 0xc0) {
        n = 2, x = p[0] & 0x3fu, min = 0x80;
    } else if (p[0] < 0xe0) {
        n = 3, x = p[0] & 0x1fu, min = 0x4000;
    } else if (p[0] < 0xf0) {
        n = 4, x = p[0] & 0x0fu, min = 0x200000;
    } else if (p[0] == 0xf0) {
        n = 5, x = 0, min = 0x10000000;
    } else {
        return 0;
    }
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++)
        x = x << 8 | p[i];
    if (x < min)
        return 0;
    *v = x;
    return n;
}

size_t idx_uv_put(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

size_t idx_uv_get(const uint8_t *p, size_t len, uint64_t *v)
{
    uint64_t x = 0;
    for (size_t i = 0; i < len && i < 10; i++) {
        uint64_t b = p[i] & 0x7fu;
        if (i == 9 && p[i] > 1)
            return 0; /* beyond 64 bits */
        x |= b << (7 * i);
        if (!(p[i] & 0x80)) {
            if (i && p[i] == 0)
                return 0; /* not the shortest form */
            *v = x;
            return i + 1;
        }
    }
    return 0;
}

int idx_eid_val(const MDB_val *v, uint64_t *eid)
{
    return v->mv_size && idx_uv_get(v->mv_data, v->mv_size, eid) == v->mv_size ? 0 : -1;
}

size_t idx_key(uint32_t source, const char *id, uint8_t *buf)
{
    size_t n = idx_okey_put(buf, source), l = strlen(id);
    memcpy(buf + n, id, l);
    return n + l;
}

size_t idx_group_key(uint32_t source, uint32_t category, uint8_t *buf)
{
    size_t n = idx_okey_put(buf, source);
    return n + idx_okey_put(buf + n, category);
}

int idx_group_key_parse(const void *key, size_t len, uint32_t *source,
                        uint32_t *category)
{
    const uint8_t *p = key;
    size_t a = idx_okey_get(p, len, source);
    size_t b = a ? idx_okey_get(p + a, len - a, category) : 0;
    return a && b && a + b == len && *source ? 0 : -1;
}

/* ---- names -------------------------------------------------------- */

void idx_names_free(idx_names *nm)
{
    for (size_t i = 0; i < nm->n; i++)
        free(nm->str[i]);
    free(nm->str);
    memset(nm, 0, sizeof *nm);
}

const char *idx_names_str(const idx_names *nm, uint64_t v)
{
    if (v == 0)
        return "";
    return v < nm->n ? nm->str[v] : NULL;
}

/* Records name s (len bytes) as number v in nm. 0 or ENOMEM. */
static int names_set(idx_names *nm, uint32_t v, const void *s, size_t len)
{
    if (v >= nm->n) {
        size_t cap = (size_t)v + 1;
        if (cap < nm->n * 2)
            cap = nm->n * 2;
        char **p = realloc(nm->str, cap * sizeof *p);
        if (!p)
            return ENOMEM;
        memset(p + nm->n, 0, (cap - nm->n) * sizeof *p);
        nm->str = p;
        nm->n = cap;
    }
    char *c = malloc(len + 1);
    if (!c)
        return ENOMEM;
    memcpy(c, s, len);
    c[len] = 0;
    free(nm->str[v]);
    nm->str[v] = c;
    return 0;
}

int idx_names_load(const phm_index *idx, MDB_txn *txn, idx_names *nm)
{
    idx_names_free(nm);
    MDB_val k = { 7, "created" }, v;
    int rc = mdb_get(txn, idx->db_meta, &k, &v);
    if (!rc && v.mv_size != sizeof nm->created)
        rc = MDB_CORRUPTED;
    if (rc)
        return rc;
    memcpy(&nm->created, v.mv_data, sizeof nm->created);
    /* Numbers are given in order from 1 and names never removed, each with
     * a row either way: no number exceeds the rows, which bound the table
     * (a damaged row cannot ask for more than the file holds). */
    MDB_stat st;
    if ((rc = mdb_stat(txn, idx->db_names, &st)))
        return rc;
    MDB_cursor *c;
    if ((rc = mdb_cursor_open(txn, idx->db_names, &c)))
        return rc;
    uint8_t first = IDX_NAME_BY_NUM;
    k = (MDB_val){ 1, &first };
    for (int op = MDB_SET_RANGE; (rc = mdb_cursor_get(c, &k, &v, op)) == 0; op = MDB_NEXT) {
        const uint8_t *p = k.mv_data;
        if (k.mv_size != 5 || p[0] != IDX_NAME_BY_NUM || v.mv_size == 0 ||
            v.mv_size > IDX_NAME_MAX) {
            rc = MDB_CORRUPTED;
            break;
        }
        uint32_t num = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
        if (num == 0 || num > st.ms_entries || memchr(v.mv_data, 0, v.mv_size)) {
            rc = MDB_CORRUPTED;
            break;
        }
        if ((rc = names_set(nm, num, v.mv_data, v.mv_size)))
            break;
    }
    mdb_cursor_close(c);
    if (rc != MDB_NOTFOUND) {
        idx_names_free(nm);
        return rc;
    }
    nm->loaded = 1;
    return 0;
}

int idx_name_find(const phm_index *idx, MDB_txn *txn, const char *s, uint32_t *num)
{
    size_t len = s ? strlen(s) : 0;
    *num = 0;
    if (len == 0)
        return 0;
    if (len > IDX_NAME_MAX)
        return MDB_NOTFOUND;
    uint8_t key[1 + IDX_NAME_MAX];
    key[0] = IDX_NAME_BY_STR;
    memcpy(key + 1, s, len);
    MDB_val k = { 1 + len, key }, v;
    int rc = mdb_get(txn, idx->db_names, &k, &v);
    if (rc)
        return rc;
    if (v.mv_size != 4)
        return MDB_CORRUPTED;
    const uint8_t *p = v.mv_data;
    *num = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    return *num ? 0 : MDB_CORRUPTED;
}

int idx_name_make(const phm_index *idx, MDB_txn *txn, idx_names *nm, const char *s,
                  uint32_t *num)
{
    int rc = idx_name_find(idx, txn, s, num);
    if (rc != MDB_NOTFOUND)
        return rc;
    size_t len = strlen(s);
    if (len > IDX_NAME_MAX)
        return MDB_BAD_VALSIZE;
    /* the next number: one past the last IDX_NAME_BY_NUM row */
    MDB_cursor *c;
    if ((rc = mdb_cursor_open(txn, idx->db_names, &c)))
        return rc;
    MDB_val k, v;
    uint32_t next = 1;
    rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
    if (!rc) {
        const uint8_t *p = k.mv_data;
        if (k.mv_size != 5 || p[0] != IDX_NAME_BY_NUM)
            rc = MDB_CORRUPTED;
        else
            next = ((uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4]) + 1;
        if (!rc && next == 0)
            rc = MDB_MAP_FULL; /* 2^32 names */
    } else if (rc == MDB_NOTFOUND) {
        rc = 0;
    }
    mdb_cursor_close(c);
    if (rc)
        return rc;
    uint8_t skey[1 + IDX_NAME_MAX], nkey[5], nval[4];
    skey[0] = IDX_NAME_BY_STR;
    memcpy(skey + 1, s, len);
    nkey[0] = IDX_NAME_BY_NUM;
    for (int i = 0; i < 4; i++) {
        nkey[1 + i] = (uint8_t)(next >> (24 - 8 * i));
        nval[i] = (uint8_t)(next >> (8 * i));
    }
    k = (MDB_val){ 1 + len, skey };
    v = (MDB_val){ 4, nval };
    rc = mdb_put(txn, idx->db_names, &k, &v, MDB_NOOVERWRITE);
    k = (MDB_val){ 5, nkey };
    v = (MDB_val){ len, (void *)(uintptr_t)s };
    if (!rc)
        rc = mdb_put(txn, idx->db_names, &k, &v, MDB_NOOVERWRITE | MDB_APPEND);
    if (!rc && nm && nm->loaded)
        rc = names_set(nm, next, s, len);
    if (!rc)
        *num = next;
    return rc;
}

int idx_entry_find(const phm_index *idx, MDB_txn *txn, const char *source,
                   const char *id, uint64_t *eid)
{
    uint32_t src;
    int rc = idx_name_find(idx, txn, source, &src);
    if (!rc && src == 0)
        rc = MDB_NOTFOUND;
    if (rc)
        return rc;
    uint8_t key[IDX_KEY_MAX];
    size_t kl = idx_key(src, id, key);
    blk_map m;
    blk_map_init(&m, txn, idx->db_keys, BLK_KEYS);
    rc = blk_key_get(&m, key, kl, eid);
    blk_map_free(&m);
    return rc;
}
