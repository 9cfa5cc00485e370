/* pdq_filter_portable.c - the streaming PDQ filter built for portable
 * (flags from the Makefile's file-name rule). */
#define PDQ_FILTER_NAME pdq_filter_portable
#include "pdq_filter_impl.h"
