/* pdq_filter_avx2.c - the streaming PDQ filter built for avx2
 * (flags from the Makefile's file-name rule). */
#define PDQ_FILTER_NAME pdq_filter_avx2
#define PDQ_X86 1
#include "pdq_filter_impl.h"
#include "pdq_filter_x86.h"
