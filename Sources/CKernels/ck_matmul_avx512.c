// The AVX-512 path of the quantised products: each block is decoded to 32 floats in two 16-lane
// registers (shared by up to eight activation rows), then multiplied with two FMAs per row, each
// into an accumulator of its own: one chain per half keeps a single row from waiting on the
// FMA latency. Compiled per function for its target, so the file builds on any x86-64 compiler
// setting and runs only where ck_path_supported says so.
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#include "CKernels.h"
#include "ck_half.h"
#include "ck_simd.h"
#include "ck_matmul_paths.h"

#define CK_TARGET __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl")))
#define CK_INLINE static inline __attribute__((always_inline)) CK_TARGET
#define CK_PATH_SUFFIX avx512
/// Activation rows that share one decoded block: 8 rows × 2 accumulators, the decoded block and
/// its scales fit the 32 vector registers.
#define CK_ROWS 8

/// acc[2t] + acc[2t+1] += Σ_j w[j]·x_t[j] over one block of 32 decoded weights, for n
/// activation rows: the first half's products go to acc[2t], the second's to acc[2t+1].
CK_INLINE void block_rows(__m512 first, __m512 second, const float *x, size_t ldx, int n, __m512 *acc) {
    for (int t = 0; t < n; t++) {
        const float *v = x + (size_t)t * ldx;
        acc[2 * t] = _mm512_fmadd_ps(first, _mm512_loadu_ps(v), acc[2 * t]);
        acc[2 * t + 1] = _mm512_fmadd_ps(second, _mm512_loadu_ps(v + 16), acc[2 * t + 1]);
    }
}

/// out[t] = the sum of row t's two accumulators.
CK_INLINE void reduce_rows(const __m512 *acc, int n, float *out) {
    for (int t = 0; t < n; t++) out[t] = _mm512_reduce_add_ps(_mm512_add_ps(acc[2 * t], acc[2 * t + 1]));
}

/// One q4_1 row against n activation rows (row stride ldx); n is a constant at each call.
CK_INLINE void rows_q4_1(const uint8_t *w, int blocks, const float *x, size_t ldx, int n, float *out) {
    __m512 acc[2 * CK_ROWS];
    for (int t = 0; t < 2 * n; t++) acc[t] = _mm512_setzero_ps();
    const __m128i nibble = _mm_set1_epi8(0x0F);
    for (int b = 0; b < blocks; b++) {
        const uint8_t *block = w + b * CK_Q4_1_BYTES;
        __m128i packed = _mm_loadu_si128((const __m128i *)(block + 4));
        __m128i low = _mm_and_si128(packed, nibble), high = _mm_and_si128(_mm_srli_epi16(packed, 4), nibble);
        __m512 d, m;
        ck_half_pair16(block, &d, &m);
        __m512 first = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(low)), d, m);
        __m512 second = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(high)), d, m);
        block_rows(first, second, x + b * CK_BLOCK, ldx, n, acc);
    }
    reduce_rows(acc, n, out);
}

/// One q8_0 row against n activation rows.
CK_INLINE void rows_q8_0(const uint8_t *w, int blocks, const float *x, size_t ldx, int n, float *out) {
    __m512 acc[2 * CK_ROWS];
    for (int t = 0; t < 2 * n; t++) acc[t] = _mm512_setzero_ps();
    for (int b = 0; b < blocks; b++) {
        const uint8_t *block = w + b * CK_Q8_0_BYTES;
        __m512 d = ck_half16(block);
        __m512 first = _mm512_mul_ps(
            _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(block + 2)))), d);
        __m512 second = _mm512_mul_ps(
            _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(block + 18)))), d);
        block_rows(first, second, x + b * CK_BLOCK, ldx, n, acc);
    }
    reduce_rows(acc, n, out);
}

#include "ck_matmul_simd_rows.h"
#endif
