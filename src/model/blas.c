/* Which OpenBLAS kernels run: OpenBLAS picks its kernel set once, when it is loaded, from
 * its own table of CPUs. An OpenBLAS older than the CPU (Debian 12's 0.3.21 on a newer
 * Intel core) falls back to "Prescott", its generic SSE3 set, and runs sgemm about 3x
 * slower than its AVX-512 kernels would. It reads OPENBLAS_CORETYPE only at load time, so
 * the one way to change the choice from inside the program is to set it and run the
 * program again, before anything else has happened. */
#include "cantus/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "core/error.h"

char *openblas_get_corename(void);
char *openblas_get_config(void);

/* Set by cantus_blas_choose_core for the program it runs again: what OpenBLAS chose. */
#define PICKED_ENV "CANTUS_BLAS_PICKED"
/* Tests only: pretend OpenBLAS chose this set (there is no other way to make it choose a
 * generic set on a CPU it knows without setting OPENBLAS_CORETYPE, which cantus must
 * respect). */
#define TEST_ENV "CANTUS_TEST_BLAS_CORE"

const char *cantus_blas_core(void)
{
    const char *name = openblas_get_corename();
    return name ? name : "unknown";
}

unsigned cantus_cpu_features(void)
{
    unsigned f = 0;
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    if (!osxsave || !avx)
        return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    int ymm = (lo & 0x6) == 0x6, zmm = (lo & 0xE6) == 0xE6;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return 0;
    unsigned max_subleaf = a;
    int avx2 = (b >> 5) & 1;
    unsigned need512 = (1u << 16) | (1u << 17) | (1u << 28) | (1u << 30) | (1u << 31);
    int avx512 = (b & need512) == need512;
    if (avx2 && fma && ymm)
        f |= CANTUS_CPU_AVX2;
    if (f && avx512 && zmm) {
        f |= CANTUS_CPU_AVX512;
        if (max_subleaf >= 1 && __get_cpuid_count(7, 1, &a, &b, &c, &d) && ((a >> 5) & 1))
            f |= CANTUS_CPU_AVX512BF16;
    }
#endif
    return f;
}

/* How much of the CPU a kernel set uses: 3 AVX-512 with BF16, 2 AVX-512, 1 AVX2, 0 less. */
static int core_level(const char *name)
{
    static const struct {
        const char *name;
        int level;
    } sets[] = {
        {"SapphireRapids", 3}, {"Cooperlake", 3}, {"SkylakeX", 2}, {"Haswell", 1},
        {"Zen", 1}, {"Excavator", 1}, {"Steamroller", 1},
    };
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
        if (!strcasecmp(name, sets[i].name))
            return sets[i].level;
    return 0;
}

const char *cantus_blas_better_core(const char *loaded, unsigned features)
{
    const char *best = NULL;
    int level = 0;
    if (features & CANTUS_CPU_AVX512BF16)
        best = "Cooperlake", level = 3;
    else if (features & CANTUS_CPU_AVX512)
        best = "SkylakeX", level = 2;
    else if (features & CANTUS_CPU_AVX2)
        best = "Haswell", level = 1;
    if (!best || !loaded || core_level(loaded) >= level)
        return NULL;
    return best;
}

int cantus_blas_choose_core(char *const argv[])
{
    if (getenv("OPENBLAS_CORETYPE"))
        return 0;
    /* only an OpenBLAS with every kernel set inside reads OPENBLAS_CORETYPE */
    const char *config = openblas_get_config();
    if (!config || !strstr(config, "DYNAMIC_ARCH"))
        return 0;
    const char *loaded = getenv(TEST_ENV);
    if (!loaded || !*loaded)
        loaded = cantus_blas_core();
    const char *better = cantus_blas_better_core(loaded, cantus_cpu_features());
    if (!better)
        return 0;
    if (setenv("OPENBLAS_CORETYPE", better, 1) || setenv(PICKED_ENV, loaded, 1))
        return cantus_error(CANTUS_ENOMEM, "cannot set OPENBLAS_CORETYPE");
    unsetenv(TEST_ENV);
    /* the program's own path, so that it keeps its name (exec of /proc/self/exe would
     * make it "exe" in ps and top); that path if it is gone or cannot be read */
    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len > 0) {
        self[len] = '\0';
        execv(self, argv);
    }
    execv("/proc/self/exe", argv);
    /* Still here: the environment says what we wanted, OpenBLAS runs what it chose. */
    unsetenv("OPENBLAS_CORETYPE");
    unsetenv(PICKED_ENV);
    return cantus_error(CANTUS_EIO, "cannot run the program again with OPENBLAS_CORETYPE=%s",
                        better);
}

char *cantus_blas_describe(char *buf, size_t size)
{
    const char *config = openblas_get_config(), *core = cantus_blas_core();
    const char *picked = getenv(PICKED_ENV);
    char version[32] = "OpenBLAS";
    if (config) {
        /* "OpenBLAS 0.3.21 NO_LAPACKE ...": the first two words */
        const char *sp = strchr(config, ' ');
        size_t n = sp ? strcspn(sp + 1, " ") + (size_t)(sp + 1 - config) : strlen(config);
        snprintf(version, sizeof version, "%.*s", (int)n, config);
    }
    if (picked && strcasecmp(picked, core))
        snprintf(buf, size, "%s, %s kernels (cantus chose them for this CPU; OpenBLAS picked %s)",
                 version, core, picked);
    else
        snprintf(buf, size, "%s, %s kernels", version, core);
    return buf;
}
