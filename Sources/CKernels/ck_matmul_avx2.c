// The AVX2 path of the quantised products: each block is decoded to 32 floats in four 8-lane
// registers (shared by up to four activation rows), then multiplied with FMAs into two
// accumulators per row, so a single row does not wait on one long FMA chain. Compiled per
// function for its target, so the file builds on any x86-64 compiler setting and runs only where
// ck_path_supported says so.
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#include "CKernels.h"
#include "ck_half.h"
#include "ck_matmul_paths.h"
#include "ck_simd.h"

#define CK_TARGET __attribute__((target("avx2,fma,f16c")))
#define CK_INLINE static inline __attribute__((always_inline)) CK_TARGET
#define CK_PATH_SUFFIX avx2
/// Activation rows that share one decoded block (16 vector registers: 4 rows × 2 accumulators,
/// the decoded block and its scales).
#define CK_ROWS 4

/// Eight bytes (unsigned when `is_unsigned`) widened to floats.
CK_INLINE __m256 bytes_to_floats(__m128i bytes, int is_unsigned) {
    return _mm256_cvtepi32_ps(is_unsigned ? _mm256_cvtepu8_epi32(bytes) : _mm256_cvtepi8_epi32(bytes));
}

/// acc[2t] + acc[2t+1] += Σ_j w[j]·x_t[j] over one block of 32 decoded weights, for n
/// activation rows: even eighths go to acc[2t], odd ones to acc[2t+1].
CK_INLINE void block_rows(const __m256 w[4], const float *x, size_t ldx, int n, __m256 *acc) {
    for (int t = 0; t < n; t++) {
        const float *v = x + (size_t)t * ldx;
        for (int g = 0; g < 4; g++) {
            acc[2 * t + (g & 1)] = _mm256_fmadd_ps(w[g], _mm256_loadu_ps(v + 8 * g), acc[2 * t + (g & 1)]);
        }
    }
}

/// out[t] = the sum of row t's two accumulators.
CK_INLINE void reduce_rows(const __m256 *acc, int n, float *out) {
    for (int t = 0; t < n; t++) out[t] = ck_sum8(_mm256_add_ps(acc[2 * t], acc[2 * t + 1]));
}

/// One q4_1 row against n activation rows (row stride ldx); n is a constant at each call.
CK_INLINE void rows_q4_1(const uint8_t *w, int blocks, const float *x, size_t ldx, int n, float *out) {
    __m256 acc[2 * CK_ROWS];
    for (int t = 0; t < 2 * n; t++) acc[t] = _mm256_setzero_ps();
    const __m128i nibble = _mm_set1_epi8(0x0F);
    for (int b = 0; b < blocks; b++) {
        const uint8_t *block = w + b * CK_Q4_1_BYTES;
        __m128i packed = _mm_loadu_si128((const __m128i *)(block + 4));
        __m128i low = _mm_and_si128(packed, nibble), high = _mm_and_si128(_mm_srli_epi16(packed, 4), nibble);
        __m256 d = _mm256_set1_ps(ck_half_f16c(block)), m = _mm256_set1_ps(ck_half_f16c(block + 2));
        __m256 decoded[4] = {
            _mm256_fmadd_ps(bytes_to_floats(low, 1), d, m),
            _mm256_fmadd_ps(bytes_to_floats(_mm_srli_si128(low, 8), 1), d, m),
            _mm256_fmadd_ps(bytes_to_floats(high, 1), d, m),
            _mm256_fmadd_ps(bytes_to_floats(_mm_srli_si128(high, 8), 1), d, m),
        };
        block_rows(decoded, x + b * CK_BLOCK, ldx, n, acc);
    }
    reduce_rows(acc, n, out);
}

/// One q8_0 row against n activation rows.
CK_INLINE void rows_q8_0(const uint8_t *w, int blocks, const float *x, size_t ldx, int n, float *out) {
    __m256 acc[2 * CK_ROWS];
    for (int t = 0; t < 2 * n; t++) acc[t] = _mm256_setzero_ps();
    for (int b = 0; b < blocks; b++) {
        const uint8_t *block = w + b * CK_Q8_0_BYTES;
        __m128i first = _mm_loadu_si128((const __m128i *)(block + 2));
        __m128i second = _mm_loadu_si128((const __m128i *)(block + 18));
        __m256 d = _mm256_set1_ps(ck_half_f16c(block));
        __m256 decoded[4] = {
            _mm256_mul_ps(bytes_to_floats(first, 0), d),
            _mm256_mul_ps(bytes_to_floats(_mm_srli_si128(first, 8), 0), d),
            _mm256_mul_ps(bytes_to_floats(second, 0), d),
            _mm256_mul_ps(bytes_to_floats(_mm_srli_si128(second, 8), 0), d),
        };
        block_rows(decoded, x + b * CK_BLOCK, ldx, n, acc);
    }
    reduce_rows(acc, n, out);
}

#include "ck_matmul_simd_rows.h"
#endif
