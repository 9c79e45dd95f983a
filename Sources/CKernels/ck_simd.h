// Small vector helpers shared by the SIMD paths (x86-64 only; each compiled for its caller's target).
#ifndef CK_SIMD_H
#define CK_SIMD_H

#if defined(__x86_64__)
#include <immintrin.h>

/// The sum of an 8-float vector's lanes.
static inline __attribute__((always_inline, target("avx2"))) float ck_sum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// The lanes of a 16-float chunk that hold some of the `remaining` floats (an AVX-512 mask).
static inline __mmask16 ck_lanes16(int remaining) {
    return remaining >= 16 ? 0xFFFF : remaining <= 0 ? 0 : (__mmask16)((1u << remaining) - 1);
}
#endif

#endif
