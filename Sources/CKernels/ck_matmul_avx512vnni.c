// The AVX-512 VNNI path of the quantised products: vpdpwssd multiplies a whole block (32 int16
// pairs) and sums it into 16 int32 lanes in one instruction. Compiled per function for its
// target, so the file builds on any x86-64 compiler setting and runs only where
// ck_path_supported says so.
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#include "CKernels.h"
#include "ck_half.h"
#include "ck_matmul_paths.h"

#define CK_TARGET __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))
#define CK_INLINE static inline __attribute__((always_inline)) CK_TARGET
#define CK_PATH_SUFFIX avx512vnni

CK_INLINE float half_at(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

/// One q4_1 row against n activation rows (stride `stride` blocks); n is a constant at each call.
CK_INLINE void rows_q4_1(const uint8_t *w, int blocks, const ck_block_q16 *x, int stride, int n, float *out) {
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    float offset[4] = {0, 0, 0, 0};
    const __m256i nibble = _mm256_set1_epi16(0x0F);
    for (int b = 0; b < blocks; b++) {
        const uint8_t *block = w + b * CK_Q4_1_BYTES;
        __m256i wide = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(block + 4)));
        __m512i q = _mm512_inserti64x4(
            _mm512_castsi256_si512(_mm256_and_si256(wide, nibble)), _mm256_srli_epi16(wide, 4), 1);
        float d = half_at(block), m = half_at(block + 2);
        for (int t = 0; t < n; t++) {
            const ck_block_q16 *a = x + (size_t)t * stride + b;
            __m512i products = _mm512_dpwssd_epi32(_mm512_setzero_si512(), q, _mm512_loadu_si512(a->q));
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(products), _mm512_set1_ps(d * a->d), acc[t]);
            offset[t] += m * a->s;
        }
    }
    for (int t = 0; t < n; t++) out[t] = _mm512_reduce_add_ps(acc[t]) + offset[t];
}

/// One q8_0 row against n activation rows.
CK_INLINE void rows_q8_0(const uint8_t *w, int blocks, const ck_block_q16 *x, int stride, int n, float *out) {
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    for (int b = 0; b < blocks; b++) {
        const uint8_t *block = w + b * CK_Q8_0_BYTES;
        __m512i q = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(block + 2)));
        float d = half_at(block);
        for (int t = 0; t < n; t++) {
            const ck_block_q16 *a = x + (size_t)t * stride + b;
            __m512i products = _mm512_dpwssd_epi32(_mm512_setzero_si512(), q, _mm512_loadu_si512(a->q));
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(products), _mm512_set1_ps(d * a->d), acc[t]);
        }
    }
    for (int t = 0; t < n; t++) out[t] = _mm512_reduce_add_ps(acc[t]);
}

#include "ck_matmul_simd_rows.h"
#endif
