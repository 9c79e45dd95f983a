// Run-time choice of the instruction path: what the CPU advertises (cpuid) and what the OS has
// enabled for user code (xgetbv). A VM may advertise features whose register state it does not
// allow (AMX here), so both are checked; AMX is never used.
#include "CKernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static void cpuid_leaf(unsigned leaf, unsigned subleaf, unsigned regs[4]) {
    __cpuid_count(leaf, subleaf, regs[0], regs[1], regs[2], regs[3]);
}

static unsigned long long read_xcr0(void) {
    unsigned eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

static int supports_avx2(void) {
    unsigned r1[4], r7[4];
    cpuid_leaf(1, 0, r1);
    int osxsave = (r1[2] >> 27) & 1, fma = (r1[2] >> 12) & 1, f16c = (r1[2] >> 29) & 1;
    if (!osxsave || !fma || !f16c) return 0;
    if ((read_xcr0() & 0x6) != 0x6) return 0;  // XMM and YMM state enabled
    cpuid_leaf(7, 0, r7);
    return (r7[1] >> 5) & 1;  // EBX bit 5: AVX2
}

static int supports_avx512(void) {
    if (!supports_avx2()) return 0;
    if ((read_xcr0() & 0xE6) != 0xE6) return 0;  // opmask, ZMM_Hi256, Hi16_ZMM state enabled
    unsigned r7[4];
    cpuid_leaf(7, 0, r7);
    int f = (r7[1] >> 16) & 1, bw = (r7[1] >> 30) & 1, vl = (r7[1] >> 31) & 1;
    return f && bw && vl;
}
#else
static int supports_avx2(void) { return 0; }
static int supports_avx512(void) { return 0; }
#endif

/// Feature bits found on first use (bit 0: avx2, bit 1: avx512; bit 7: probed), cached
/// because cpuid traps to the hypervisor in a VM. Racing first calls store the same value.
static int probed_features(void) {
    static volatile int cached = 0;
    int features = cached;
    if (!features) {
        features = 0x80 | (supports_avx2() ? 1 : 0) | (supports_avx512() ? 2 : 0);
        cached = features;
    }
    return features;
}

int ck_path_supported(ck_path path) {
    switch (path) {
    case CK_PATH_SCALAR: return 1;
    case CK_PATH_AVX2: return (probed_features() & 1) != 0;
    case CK_PATH_AVX512: return (probed_features() & 2) != 0;
    }
    return 0;
}

ck_path ck_best_path(void) {
    if (ck_path_supported(CK_PATH_AVX512)) return CK_PATH_AVX512;
    if (ck_path_supported(CK_PATH_AVX2)) return CK_PATH_AVX2;
    return CK_PATH_SCALAR;
}

const char *ck_path_name(ck_path path) {
    switch (path) {
    case CK_PATH_SCALAR: return "scalar";
    case CK_PATH_AVX2: return "avx2";
    case CK_PATH_AVX512: return "avx512";
    }
    return "unknown";
}
