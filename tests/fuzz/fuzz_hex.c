/*
 * fuzz_hex.c - libFuzzer target: hash text parsing and formatting.
 *
 * Invariants from include/phmatch.h, checked on arbitrary bytes:
 *   - phm_pdq_from_hex() accepts exactly 64 hex digits (either case); any
 *     other input gives PHM_ERR_BAD_HASH and leaves the output untouched;
 *   - on success phm_pdq_to_hex() gives back the input in lowercase, and
 *     parsing that gives the same hash;
 *   - the bit layout: bit k (word k/64, bit k%64) is digit 63 - k/4, bit
 *     k%4, of the hex text (16-bit words 15..0, 4 digits each);
 *   - Hamming distance: 0 to itself, 256 to its complement, symmetric, and
 *     the bit count of the XOR;
 *   - names and parsers of modes, SIMD levels and status codes agree and
 *     never return NULL.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phmatch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "check.h"

static int hex_digit(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int get_bit(const phm_pdq *h, int k)
{
    return (int)((h->w[k / 64] >> (k % 64)) & 1u);
}

/* The layout as the header states it, computed without the library. */
static void check_layout(const phm_pdq *h, const char *hex)
{
    for (int k = 0; k < PHM_PDQ_BITS; k++) {
        int digit = hex_digit((uint8_t)hex[PHM_PDQ_HEX_LEN - 1 - k / 4]);
        CHECK(digit >= 0);
        CHECK(((digit >> (k % 4)) & 1) == get_bit(h, k));
    }
}

static int slow_distance(const phm_pdq *a, const phm_pdq *b)
{
    int d = 0;
    for (int k = 0; k < PHM_PDQ_BITS; k++)
        d += get_bit(a, k) != get_bit(b, k);
    return d;
}

static void check_text(const uint8_t *data, size_t size)
{
    phm_pdq out, sentinel;
    memset(&sentinel, 0xa5, sizeof sentinel);
    out = sentinel;

    int valid = size == PHM_PDQ_HEX_LEN;
    for (size_t i = 0; valid && i < size; i++)
        valid = hex_digit(data[i]) >= 0;

    int rc = phm_pdq_from_hex((const char *)data, size, &out);
    if (!valid) {
        CHECK(rc == PHM_ERR_BAD_HASH);
        CHECK(memcmp(&out, &sentinel, sizeof out) == 0);
        return;
    }
    CHECK(rc == PHM_OK);
    check_layout(&out, (const char *)data);

    char hex[PHM_PDQ_HEX_LEN + 1];
    memset(hex, 'x', sizeof hex);
    phm_pdq_to_hex(&out, hex);
    CHECK(hex[PHM_PDQ_HEX_LEN] == '\0');
    for (size_t i = 0; i < PHM_PDQ_HEX_LEN; i++) {
        uint8_t c = data[i];
        uint8_t lower = (uint8_t)(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
        CHECK((uint8_t)hex[i] == lower);
    }
    phm_pdq again;
    CHECK(phm_pdq_from_hex(hex, PHM_PDQ_HEX_LEN, &again) == PHM_OK);
    CHECK(memcmp(&again, &out, sizeof out) == 0);
}

static void check_raw(const uint8_t *data, size_t size)
{
    if (size < 2 * sizeof(phm_pdq))
        return;
    phm_pdq a, b, not_a;
    memcpy(&a, data, sizeof a);
    memcpy(&b, data + sizeof a, sizeof b);
    for (int i = 0; i < 4; i++)
        not_a.w[i] = ~a.w[i];

    char hex[PHM_PDQ_HEX_LEN + 1];
    phm_pdq_to_hex(&a, hex);
    CHECK(strlen(hex) == PHM_PDQ_HEX_LEN);
    for (size_t i = 0; i < PHM_PDQ_HEX_LEN; i++)
        CHECK((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f'));
    check_layout(&a, hex);
    phm_pdq back;
    CHECK(phm_pdq_from_hex(hex, PHM_PDQ_HEX_LEN, &back) == PHM_OK);
    CHECK(memcmp(&back, &a, sizeof a) == 0);

    CHECK(phm_pdq_distance(&a, &a) == 0);
    CHECK(phm_pdq_distance(&a, &not_a) == PHM_PDQ_BITS);
    int d = phm_pdq_distance(&a, &b);
    CHECK(d == phm_pdq_distance(&b, &a));
    CHECK(d == slow_distance(&a, &b));
}

static void check_names(const uint8_t *data, size_t size)
{
    char s[32];
    size_t n = size < sizeof s - 1 ? size : sizeof s - 1;
    memcpy(s, data, n);
    s[n] = '\0';

    phm_mode m;
    if (phm_mode_parse(s, &m) == PHM_OK)
        CHECK(strcmp(phm_mode_name(m), s) == 0);
    phm_simd l;
    if (phm_simd_parse(s, &l) == PHM_OK) {
        CHECK(strcmp(phm_simd_name(l), s) == 0);
        phm_simd r = phm_simd_resolve(l);
        CHECK(r != PHM_SIMD_AUTO && r <= phm_simd_detect());
    }

    if (size >= sizeof(int)) {
        int status;
        memcpy(&status, data, sizeof status);
        const char *a = phm_strerror(status), *b = phm_reason(status);
        CHECK(a != NULL && a[0] != '\0');
        CHECK(b != NULL && b[0] != '\0');
        CHECK(strcmp(phm_dihedral_name(status), "") != 0);
        CHECK(strcmp(phm_format_name((phm_format)(status & 0xff)), "") != 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_text(data, size);
    check_raw(data, size);
    check_names(data, size);
    return 0;
}
