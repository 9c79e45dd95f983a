// The inner loops of decode attention, per query head and cache block: a query row against the
// block's keys (one dot product per token) and the probability-weighted sum of its values. They
// are C so that each runs in the widest vectors the CPU has (chosen at run time, like the matrix
// products); Swift's own SIMD types compile to the x86-64 baseline's 4-lane SSE.
#include "CKernels.h"

// MARK: - Portable

static void scores_scalar(const float *q, const float *keys, size_t stride, int n, int d, float scale, float *out) {
    for (int t = 0; t < n; t++) {
        const float *k = keys + (size_t)t * stride;
        float sum = 0;
        for (int j = 0; j < d; j++) sum += q[j] * k[j];
        out[t] = scale * sum;
    }
}

static void values_scalar(const float *weights, const float *values, size_t stride, int n, int d, float *out) {
    for (int t = 0; t < n; t++) {
        float w = weights[t];
        if (w == 0) continue;  // positions past a reader's own: zero weight, maybe unwritten rows
        const float *v = values + (size_t)t * stride;
        for (int j = 0; j < d; j++) out[j] += w * v[j];
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

// MARK: - AVX2 (8 lanes; the last d mod 8 elements in scalar)

#define CK_AVX2 __attribute__((target("avx2,fma")))

CK_AVX2 static void scores_avx2(const float *q, const float *keys, size_t stride, int n, int d, float scale, float *out) {
    for (int t = 0; t < n; t++) {
        const float *k = keys + (size_t)t * stride;
        __m256 acc = _mm256_setzero_ps();
        int j = 0;
        for (; j + 8 <= d; j += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + j), _mm256_loadu_ps(k + j), acc);
        __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
        s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        s = _mm_add_ss(s, _mm_movehdup_ps(s));
        float sum = _mm_cvtss_f32(s);
        for (; j < d; j++) sum += q[j] * k[j];
        out[t] = scale * sum;
    }
}

CK_AVX2 static void values_avx2(const float *weights, const float *values, size_t stride, int n, int d, float *out) {
    int j = 0;
    for (; j + 8 <= d; j += 8) {
        __m256 acc = _mm256_loadu_ps(out + j);
        for (int t = 0; t < n; t++) {
            if (weights[t] == 0) continue;
            acc = _mm256_fmadd_ps(_mm256_set1_ps(weights[t]), _mm256_loadu_ps(values + (size_t)t * stride + j), acc);
        }
        _mm256_storeu_ps(out + j, acc);
    }
    if (j < d) values_scalar(weights, values + j, stride, n, d - j, out + j);
}

// MARK: - AVX-512 (16 lanes; a short last chunk under a mask)

#define CK_AVX512 __attribute__((target("avx2,fma,avx512f")))

CK_AVX512 static void scores_avx512(const float *q, const float *keys, size_t stride, int n, int d, float scale,
                                    float *out) {
    for (int t = 0; t < n; t++) {
        const float *k = keys + (size_t)t * stride;
        __m512 acc = _mm512_setzero_ps();
        for (int j = 0; j < d; j += 16) {
            __mmask16 lanes = d - j >= 16 ? 0xFFFF : (__mmask16)((1u << (d - j)) - 1);
            acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(lanes, q + j), _mm512_maskz_loadu_ps(lanes, k + j), acc);
        }
        out[t] = scale * _mm512_reduce_add_ps(acc);
    }
}

CK_AVX512 static void values_avx512(const float *weights, const float *values, size_t stride, int n, int d,
                                    float *out) {
    for (int j = 0; j < d; j += 16) {
        __mmask16 lanes = d - j >= 16 ? 0xFFFF : (__mmask16)((1u << (d - j)) - 1);
        __m512 acc = _mm512_maskz_loadu_ps(lanes, out + j);
        for (int t = 0; t < n; t++) {
            if (weights[t] == 0) continue;
            acc = _mm512_fmadd_ps(
                _mm512_set1_ps(weights[t]), _mm512_maskz_loadu_ps(lanes, values + (size_t)t * stride + j), acc);
        }
        _mm512_mask_storeu_ps(out + j, lanes, acc);
    }
}
#endif

// MARK: - Dispatch (a path the CPU lacks falls back to scalar)

void ck_attention_scores(ck_path path, const float *q, const float *keys, size_t key_stride, int n, int d,
                         float scale, float *scores) {
#if defined(__x86_64__)
    if (path == CK_PATH_AVX512 && ck_path_supported(path)) {
        scores_avx512(q, keys, key_stride, n, d, scale, scores);
        return;
    }
    if (path == CK_PATH_AVX2 && ck_path_supported(path)) {
        scores_avx2(q, keys, key_stride, n, d, scale, scores);
        return;
    }
#endif
    scores_scalar(q, keys, key_stride, n, d, scale, scores);
}

void ck_attention_values(ck_path path, const float *weights, const float *values, size_t value_stride, int n, int d,
                         float *out) {
#if defined(__x86_64__)
    if (path == CK_PATH_AVX512 && ck_path_supported(path)) {
        values_avx512(weights, values, value_stride, n, d, out);
        return;
    }
    if (path == CK_PATH_AVX2 && ck_path_supported(path)) {
        values_avx2(weights, values, value_stride, n, d, out);
        return;
    }
#endif
    values_scalar(weights, values, value_stride, n, d, out);
}
