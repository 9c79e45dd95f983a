// The AVX2 path of the quantised products: vpmaddwd multiplies 16 int16 pairs into 8 int32 sums,
// two per block. Compiled per function for its target, so the file builds on any x86-64 compiler
// setting and runs only where ck_path_supported says so.
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#include "CKernels.h"
#include "ck_half.h"
#include "ck_matmul_paths.h"

#define CK_TARGET __attribute__((target("avx2,fma,f16c")))
#define CK_INLINE static inline __attribute__((always_inline)) CK_TARGET
#define CK_PATH_SUFFIX avx2

CK_INLINE float half_at(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

CK_INLINE float horizontal_sum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// Σ_j w[j]·x[j] of one block in 8 int32 lanes; w as two vectors of 16 int16 (elements 0–15, 16–31).
CK_INLINE __m256i block_dot(__m256i w_low, __m256i w_high, const ck_block_q16 *a) {
    __m256i x_low = _mm256_loadu_si256((const __m256i *)a->q);
    __m256i x_high = _mm256_loadu_si256((const __m256i *)(a->q + 16));
    return _mm256_add_epi32(_mm256_madd_epi16(w_low, x_low), _mm256_madd_epi16(w_high, x_high));
}

/// One q4_1 row against n activation rows (stride `stride` blocks); n is a constant at each call.
CK_INLINE void rows_q4_1(const uint8_t *w, int blocks, const ck_block_q16 *x, int stride, int n, float *out) {
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    float offset[4] = {0, 0, 0, 0};
    const __m256i nibble = _mm256_set1_epi16(0x0F);
    for (int b = 0; b < blocks; b++) {
        const uint8_t *block = w + b * CK_Q4_1_BYTES;
        __m256i wide = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(block + 4)));
        __m256i low = _mm256_and_si256(wide, nibble), high = _mm256_srli_epi16(wide, 4);
        float d = half_at(block), m = half_at(block + 2);
        for (int t = 0; t < n; t++) {
            const ck_block_q16 *a = x + (size_t)t * stride + b;
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(block_dot(low, high, a)), _mm256_set1_ps(d * a->d), acc[t]);
            offset[t] += m * a->s;
        }
    }
    for (int t = 0; t < n; t++) out[t] = horizontal_sum(acc[t]) + offset[t];
}

/// One q8_0 row against n activation rows.
CK_INLINE void rows_q8_0(const uint8_t *w, int blocks, const ck_block_q16 *x, int stride, int n, float *out) {
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int b = 0; b < blocks; b++) {
        const uint8_t *block = w + b * CK_Q8_0_BYTES;
        __m256i low = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(block + 2)));
        __m256i high = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(block + 18)));
        float d = half_at(block);
        for (int t = 0; t < n; t++) {
            const ck_block_q16 *a = x + (size_t)t * stride + b;
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(block_dot(low, high, a)), _mm256_set1_ps(d * a->d), acc[t]);
        }
    }
    for (int t = 0; t < n; t++) out[t] = horizontal_sum(acc[t]);
}

#include "ck_matmul_simd_rows.h"
#endif
