/* utf8.h - UTF-8 checks for the CLI's text output. */
#ifndef PHM_CLI_UTF8_H
#define PHM_CLI_UTF8_H

#include <stddef.h>

/* Length of the well-formed UTF-8 sequence at s[0..len) (len >= 1), or 0
 * if the bytes there are not one (RFC 3629: no overlong forms, surrogates
 * or code points above U+10FFFF). */
size_t cli_utf8_seq(const unsigned char *s, size_t len);

#endif
