/* dynlib.c - libheif, libjxl, libtiff and libxml2, opened at their first
 * use (dynlib.h says why).
 *
 * State: each library's table and the outcome of its one load attempt
 * (pthread_once) are process-wide, as the loaded code is; nothing else is. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "decode_internal.h"
#include "dynlib.h"

/* The SONAMEs the build compiled against (the Makefile reads them from the
 * development libraries); Debian 12's by default. */
#ifndef PHM_LIBHEIF_SONAME
#define PHM_LIBHEIF_SONAME "libheif.so.1"
#endif
#ifndef PHM_LIBJXL_SONAME
#define PHM_LIBJXL_SONAME "libjxl.so.0.7"
#endif
#ifndef PHM_LIBTIFF_SONAME
#define PHM_LIBTIFF_SONAME "libtiff.so.6"
#endif
#ifndef PHM_LIBXML2_SONAME
#define PHM_LIBXML2_SONAME "libxml2.so.2"
#endif

typedef struct lib_slot {
    const char *soname;
    const char *const *names; /* NULL-terminated, in table order */
    void **table;             /* as many function pointers */
    int ok;
    char why[256];
} lib_slot;

/* Opens the library and resolves every name; on failure closes it again
 * and keeps dlerror()'s reason. RTLD_LOCAL: its symbols serve this table
 * only. */
static void load(lib_slot *s)
{
    void *h = dlopen(s->soname, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(s->why, sizeof s->why, "%s", e ? e : s->soname);
        return;
    }
    for (size_t i = 0; s->names[i]; i++) {
        void *f = dlsym(h, s->names[i]);
        if (!f) {
            snprintf(s->why, sizeof s->why, "%s has no function %s", s->soname,
                     s->names[i]);
            dlclose(h);
            return;
        }
        s->table[i] = f;
    }
    s->ok = 1; /* never closed: the process may decode again any time */
}

/* Function pointers are stored through void ** (POSIX guarantees dlsym's
 * result converts); the tables hold only function pointers, in order. */
#define NAME(f) #f,

#define LIBRARY(lib, LIST, SONAME)                                                      \
    static phm__##lib##_lib lib##_lib;                                                  \
    static void *lib##_table[sizeof lib##_lib / sizeof(void (*)(void))];                \
    static const char *const lib##_names[] = { LIST(NAME) NULL };                       \
    _Static_assert(sizeof lib##_names / sizeof *lib##_names - 1 ==                      \
                       sizeof lib##_table / sizeof *lib##_table,                        \
                   "one name per function");                                            \
    static lib_slot lib##_slot = { SONAME, lib##_names, lib##_table, 0, "" };           \
    static pthread_once_t lib##_once = PTHREAD_ONCE_INIT;                               \
    static void load_##lib(void)                                                        \
    {                                                                                   \
        load(&lib##_slot);                                                              \
        if (lib##_slot.ok)                                                              \
            memcpy(&lib##_lib, lib##_table, sizeof lib##_lib);                          \
    }                                                                                   \
    static const phm__##lib##_lib *get_##lib(char *why, size_t whylen)                 \
    {                                                                                   \
        pthread_once(&lib##_once, load_##lib);                                          \
        if (lib##_slot.ok)                                                              \
            return &lib##_lib;                                                          \
        snprintf(why, whylen, "%s", lib##_slot.why);                                    \
        return NULL;                                                                    \
    }

LIBRARY(heif, PHM__HEIF_FUNCS, PHM_LIBHEIF_SONAME)
LIBRARY(jxl, PHM__JXL_FUNCS, PHM_LIBJXL_SONAME)
LIBRARY(tiff, PHM__TIFF_FUNCS, PHM_LIBTIFF_SONAME)
LIBRARY(xml, PHM__XML_FUNCS, PHM_LIBXML2_SONAME)

/* A decoder's getter: the table, or NULL with "cannot decode 'NAME':
 * LIB could not be loaded: <why>" in err. */
#define DECODER_GETTER(lib, label)                                                        \
    const phm__##lib##_lib *phm__##lib##_lib_get(const char *name, char *err, size_t errlen) \
    {                                                                                     \
        char why[256];                                                                    \
        const phm__##lib##_lib *l = get_##lib(why, sizeof why);                           \
        if (!l)                                                                           \
            phm__fail(PHM_ERR_UNSUPPORTED, err, errlen, name, label " could not be loaded: %s", \
                      why);                                                               \
        return l;                                                                         \
    }

DECODER_GETTER(heif, "libheif")
DECODER_GETTER(jxl, "libjxl")
DECODER_GETTER(tiff, "libtiff")

const phm__tiff_lib *phm__tiff_lib_loaded(void)
{
    return &tiff_lib;
}

const phm__xml_lib *phm__xml_lib_get(char *err, size_t errlen)
{
    char why[256];
    const phm__xml_lib *l = get_xml(why, sizeof why);
    if (!l && err && errlen)
        snprintf(err, errlen, "libxml2 could not be loaded: %s", why);
    return l;
}
