// Weight dequantisation into f32 rows (for the tiled sgemm of large batches). Each value is
// d·q + m (q4_1) or d·q (q8_0), multiplied and added in two roundings on every path, so all paths
// give the same floats bit for bit.
#include "CKernels.h"
#include "ck_half.h"

static void q4_1_rows_scalar(const uint8_t *base, int blocks, int row_begin, int row_end, float *out) {
    int k = blocks * CK_BLOCK;
    for (int r = row_begin; r < row_end; r++) {
        const uint8_t *row = base + (size_t)r * blocks * CK_Q4_1_BYTES;
        float *target = out + (size_t)(r - row_begin) * k;
        for (int b = 0; b < blocks; b++) {
            const uint8_t *block = row + b * CK_Q4_1_BYTES;
            float d = ck_half_to_float(block), m = ck_half_to_float(block + 2);
            float *o = target + b * CK_BLOCK;
            for (int j = 0; j < 16; j++) {
                o[j] = d * (float)(block[4 + j] & 0x0F) + m;
                o[j + 16] = d * (float)(block[4 + j] >> 4) + m;
            }
        }
    }
}

static void q8_0_rows_scalar(const uint8_t *base, int blocks, int row_begin, int row_end, float *out) {
    int k = blocks * CK_BLOCK;
    for (int r = row_begin; r < row_end; r++) {
        const uint8_t *row = base + (size_t)r * blocks * CK_Q8_0_BYTES;
        float *target = out + (size_t)(r - row_begin) * k;
        for (int b = 0; b < blocks; b++) {
            const uint8_t *block = row + b * CK_Q8_0_BYTES;
            float d = ck_half_to_float(block);
            const int8_t *q = (const int8_t *)(block + 2);
            for (int j = 0; j < CK_BLOCK; j++) target[b * CK_BLOCK + j] = d * (float)q[j];
        }
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

#include "ck_simd.h"

#define CK_AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl")))

/// Whole rows, so `out` advances by one block's 32 floats at a time.
CK_AVX512 static void q4_1_rows_avx512(const uint8_t *base, int blocks, int row_begin, int row_end, float *out) {
    const __m128i nibble = _mm_set1_epi8(0x0F);
    const uint8_t *block = base + (size_t)row_begin * blocks * CK_Q4_1_BYTES;
    for (size_t b = 0; b < (size_t)(row_end - row_begin) * blocks; b++, block += CK_Q4_1_BYTES, out += CK_BLOCK) {
        __m512 d, m;
        ck_half_pair16(block, &d, &m);
        __m128i packed = _mm_loadu_si128((const __m128i *)(block + 4));
        __m128i low = _mm_and_si128(packed, nibble), high = _mm_and_si128(_mm_srli_epi16(packed, 4), nibble);
        _mm512_storeu_ps(out, _mm512_add_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(low)), d), m));
        _mm512_storeu_ps(out + 16, _mm512_add_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(high)), d), m));
    }
}

CK_AVX512 static void q8_0_rows_avx512(const uint8_t *base, int blocks, int row_begin, int row_end, float *out) {
    const uint8_t *block = base + (size_t)row_begin * blocks * CK_Q8_0_BYTES;
    for (size_t b = 0; b < (size_t)(row_end - row_begin) * blocks; b++, block += CK_Q8_0_BYTES, out += CK_BLOCK) {
        __m512 d = ck_half16(block);
        for (int half = 0; half < 2; half++) {
            __m128i q = _mm_loadu_si128((const __m128i *)(block + 2 + 16 * half));
            _mm512_storeu_ps(out + 16 * half, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q)), d));
        }
    }
}
#endif

void ck_dequantize_rows_q4_1(ck_path path, const void *w, int k, int row_begin, int row_end, float *out) {
#if defined(__x86_64__)
    if (path == CK_PATH_AVX512 && ck_path_supported(path)) {
        q4_1_rows_avx512((const uint8_t *)w, k / CK_BLOCK, row_begin, row_end, out);
        return;
    }
#endif
    q4_1_rows_scalar((const uint8_t *)w, k / CK_BLOCK, row_begin, row_end, out);
}

void ck_dequantize_rows_q8_0(ck_path path, const void *w, int k, int row_begin, int row_end, float *out) {
#if defined(__x86_64__)
    if (path == CK_PATH_AVX512 && ck_path_supported(path)) {
        q8_0_rows_avx512((const uint8_t *)w, k / CK_BLOCK, row_begin, row_end, out);
        return;
    }
#endif
    q8_0_rows_scalar((const uint8_t *)w, k / CK_BLOCK, row_begin, row_end, out);
}
