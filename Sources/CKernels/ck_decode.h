// Quantised blocks decoded to f32, for the kernels that multiply decoded weights (the panels of
// ck_panel.c, the whole matrices ck_dequantize.c hands to sgemm). Each value is d·q + m (q4_1) or
// d·q (q8_0), rounded after the multiply and after the add on every path, so every path and both
// users give the same floats bit for bit.
#ifndef CK_DECODE_H
#define CK_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "CKernels.h"
#include "ck_half.h"

/// Decodes `count` consecutive q4_1 blocks at `blocks` into 32·count floats at `out`.
static inline void ck_decode_q4_1_scalar(const uint8_t *blocks, size_t count, float *out) {
    for (size_t b = 0; b < count; b++, blocks += CK_Q4_1_BYTES, out += CK_BLOCK) {
        float d = ck_half_to_float(blocks), m = ck_half_to_float(blocks + 2);
        for (int j = 0; j < 16; j++) {
            out[j] = d * (float)(blocks[4 + j] & 0x0F) + m;
            out[j + 16] = d * (float)(blocks[4 + j] >> 4) + m;
        }
    }
}

/// Decodes `count` consecutive q8_0 blocks at `blocks` into 32·count floats at `out`.
static inline void ck_decode_q8_0_scalar(const uint8_t *blocks, size_t count, float *out) {
    for (size_t b = 0; b < count; b++, blocks += CK_Q8_0_BYTES, out += CK_BLOCK) {
        float d = ck_half_to_float(blocks);
        const int8_t *q = (const int8_t *)(blocks + 2);
        for (int j = 0; j < CK_BLOCK; j++) out[j] = d * (float)q[j];
    }
}

#if defined(__x86_64__)
#include "ck_simd.h"

#define CK_DECODE_AVX2 __attribute__((always_inline, target("avx2,fma,f16c")))
#define CK_DECODE_AVX512 __attribute__((always_inline, target("avx2,fma,f16c,avx512f,avx512bw,avx512vl")))

/// As `ck_decode_q4_1_scalar`: each half of a block's nibbles (low, then high) widened 8 at a time.
static inline CK_DECODE_AVX2 void ck_decode_q4_1_avx2(const uint8_t *blocks, size_t count, float *out) {
    const __m128i nibble = _mm_set1_epi8(0x0F);
    for (size_t b = 0; b < count; b++, blocks += CK_Q4_1_BYTES, out += CK_BLOCK) {
        __m256 d, m;
        ck_half_pair8(blocks, &d, &m);
        __m128i packed = _mm_loadu_si128((const __m128i *)(blocks + 4));
        __m128i halves[2] = {_mm_and_si128(packed, nibble), _mm_and_si128(_mm_srli_epi16(packed, 4), nibble)};
        for (int half = 0; half < 2; half++) {
            __m128i upper = _mm_unpackhi_epi64(halves[half], halves[half]);
            __m256 q0 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(halves[half]));
            __m256 q1 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(upper));
            _mm256_storeu_ps(out + 16 * half, _mm256_add_ps(_mm256_mul_ps(q0, d), m));
            _mm256_storeu_ps(out + 16 * half + 8, _mm256_add_ps(_mm256_mul_ps(q1, d), m));
        }
    }
}

/// As `ck_decode_q8_0_scalar`, 8 int8 widened per vector.
static inline CK_DECODE_AVX2 void ck_decode_q8_0_avx2(const uint8_t *blocks, size_t count, float *out) {
    for (size_t b = 0; b < count; b++, blocks += CK_Q8_0_BYTES, out += CK_BLOCK) {
        __m256 d = ck_half8(blocks);
        for (int eighth = 0; eighth < 4; eighth++) {
            __m128i q = _mm_loadl_epi64((const __m128i *)(blocks + 2 + 8 * eighth));
            _mm256_storeu_ps(out + 8 * eighth, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)), d));
        }
    }
}

/// As `ck_decode_q4_1_scalar`: a block's 16 bytes of nibbles widened to two vectors of 16.
static inline CK_DECODE_AVX512 void ck_decode_q4_1_avx512(const uint8_t *blocks, size_t count, float *out) {
    const __m128i nibble = _mm_set1_epi8(0x0F);
    for (size_t b = 0; b < count; b++, blocks += CK_Q4_1_BYTES, out += CK_BLOCK) {
        __m512 d, m;
        ck_half_pair16(blocks, &d, &m);
        __m128i packed = _mm_loadu_si128((const __m128i *)(blocks + 4));
        __m128i low = _mm_and_si128(packed, nibble), high = _mm_and_si128(_mm_srli_epi16(packed, 4), nibble);
        _mm512_storeu_ps(out, _mm512_add_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(low)), d), m));
        _mm512_storeu_ps(out + 16, _mm512_add_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(high)), d), m));
    }
}

/// As `ck_decode_q8_0_scalar`, 16 int8 widened per vector.
static inline CK_DECODE_AVX512 void ck_decode_q8_0_avx512(const uint8_t *blocks, size_t count, float *out) {
    for (size_t b = 0; b < count; b++, blocks += CK_Q8_0_BYTES, out += CK_BLOCK) {
        __m512 d = ck_half16(blocks);
        for (int half = 0; half < 2; half++) {
            __m128i q = _mm_loadu_si128((const __m128i *)(blocks + 2 + 16 * half));
            _mm512_storeu_ps(out + 16 * half, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q)), d));
        }
    }
}
#endif

#endif
