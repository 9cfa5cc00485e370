/* pdq_filter_avx512.c - the streaming PDQ filter built for avx512
 * (flags from the Makefile's file-name rule). */
#define PDQ_FILTER_NAME pdq_filter_avx512
#define PDQ_X86 1
#include "pdq_filter_impl.h"
#include "pdq_filter_x86.h"
