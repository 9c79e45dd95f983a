// The inner loops of attention, per cache block and KV head: the queries of the block's readers
// (each a row and a query head) against its keys (one dot product per reader and token) and the
// probability-weighted sums of its values. They are C so that each runs in the widest vectors the
// CPU has (chosen at run time, like the matrix products); Swift's own SIMD types compile to the
// x86-64 baseline's 4-lane SSE. A block of a tree's shared prefix has many readers: the SIMD paths
// take them four at a time, so each key or value vector loaded serves four queries.
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

#include "ck_simd.h"

// MARK: - AVX2 (8 lanes; the last d mod 8 elements in scalar)

#define CK_AVX2 __attribute__((target("avx2,fma")))

CK_AVX2 static void scores_avx2(const float *q, const float *keys, size_t stride, int n, int d, float scale, float *out) {
    for (int t = 0; t < n; t++) {
        const float *k = keys + (size_t)t * stride;
        __m256 acc = _mm256_setzero_ps();
        int j = 0;
        for (; j + 8 <= d; j += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + j), _mm256_loadu_ps(k + j), acc);
        float sum = ck_sum8(acc);
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

/// The sums of eight vectors' lanes, as one vector: [Σa[0], …, Σa[7]].
CK_AVX2 static inline __m256 sum8x8(const __m256 a[8]) {
    __m256 h01 = _mm256_hadd_ps(a[0], a[1]), h23 = _mm256_hadd_ps(a[2], a[3]);
    __m256 h45 = _mm256_hadd_ps(a[4], a[5]), h67 = _mm256_hadd_ps(a[6], a[7]);
    __m256 h0123 = _mm256_hadd_ps(h01, h23), h4567 = _mm256_hadd_ps(h45, h67);
    return _mm256_add_ps(_mm256_permute2f128_ps(h0123, h4567, 0x20), _mm256_permute2f128_ps(h0123, h4567, 0x31));
}

/// Four readers' scores against the same keys, two tokens at a time (8 accumulators: AVX2 has 16
/// registers), each key vector loaded once for the four queries. d must be a multiple of 8.
CK_AVX2 static void scores4_avx2(const float *keys, size_t stride, int n, int d, float scale, const float *const *q,
                                 float *const *out) {
    const __m256 scales = _mm256_set1_ps(scale);
    int t = 0;
    for (; t + 2 <= n; t += 2) {
        const float *k = keys + (size_t)t * stride;
        __m256 acc[8];
        for (int i = 0; i < 8; i++) acc[i] = _mm256_setzero_ps();
        for (int j = 0; j < d; j += 8) {
            __m256 key0 = _mm256_loadu_ps(k + j), key1 = _mm256_loadu_ps(k + stride + j);
            for (int r = 0; r < 4; r++) {
                __m256 query = _mm256_loadu_ps(q[r] + j);
                acc[2 * r] = _mm256_fmadd_ps(query, key0, acc[2 * r]);
                acc[2 * r + 1] = _mm256_fmadd_ps(query, key1, acc[2 * r + 1]);
            }
        }
        float sums[8];
        _mm256_storeu_ps(sums, _mm256_mul_ps(sum8x8(acc), scales));
        for (int r = 0; r < 4; r++) {
            out[r][t] = sums[2 * r];
            out[r][t + 1] = sums[2 * r + 1];
        }
    }
    if (t < n) {
        for (int r = 0; r < 4; r++) scores_avx2(q[r], keys + (size_t)t * stride, stride, 1, d, scale, out[r] + t);
    }
}

/// Four readers' weighted values, 16 output floats of each in registers (8 accumulators) while
/// the tokens stream past, each value vector loaded once for the four; as `values_group_avx512`, a
/// token is skipped only when all four weights are 0. d must be a multiple of 8.
CK_AVX2 static void values4_avx2(const float *const *weights, const float *values, size_t stride, int n, int d,
                                 float *const *out) {
    for (int j = 0; j < d; j += 16) {
        int chunks = d - j >= 16 ? 2 : 1;
        __m256 acc[4][2];
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < chunks; c++) acc[r][c] = _mm256_loadu_ps(out[r] + j + 8 * c);
        for (int t = 0; t < n; t++) {
            float w[4] = {weights[0][t], weights[1][t], weights[2][t], weights[3][t]};
            if (w[0] == 0 && w[1] == 0 && w[2] == 0 && w[3] == 0) continue;
            const float *v = values + (size_t)t * stride + j;
            __m256 value0 = _mm256_loadu_ps(v), value1 = chunks == 2 ? _mm256_loadu_ps(v + 8) : _mm256_setzero_ps();
            for (int r = 0; r < 4; r++) {
                __m256 weight = _mm256_set1_ps(w[r]);
                acc[r][0] = _mm256_fmadd_ps(weight, value0, acc[r][0]);
                if (chunks == 2) acc[r][1] = _mm256_fmadd_ps(weight, value1, acc[r][1]);
            }
        }
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < chunks; c++) _mm256_storeu_ps(out[r] + j + 8 * c, acc[r][c]);
    }
}

// MARK: - AVX-512 (16 lanes; a short last chunk under a mask)

#define CK_AVX512 __attribute__((target("avx2,fma,avx512f")))

/// The horizontal sums of four vectors, as one: [Σa, Σb, Σc, Σd]. Four tokens' dot products
/// share the shuffles one reduction alone would need.
CK_AVX512 static inline __m128 sum4(__m512 a, __m512 b, __m512 c, __m512 d) {
    // Per 128-bit lane: [a0+a2, b0+b2, a1+a3, b1+b3], and the same for c and d.
    __m512d ab = _mm512_castps_pd(_mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b)));
    __m512d cd = _mm512_castps_pd(_mm512_add_ps(_mm512_unpacklo_ps(c, d), _mm512_unpackhi_ps(c, d)));
    // Per 128-bit lane: [a, b, c, d] partial sums; then the four lanes added.
    __m512 abcd = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(ab, cd)), _mm512_castpd_ps(_mm512_unpackhi_pd(ab, cd)));
    __m256 halves = _mm256_add_ps(_mm512_castps512_ps256(abcd),
                                  _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(abcd), 1)));
    return _mm_add_ps(_mm256_castps256_ps128(halves), _mm256_extractf128_ps(halves, 1));
}

CK_AVX512 static void scores1_avx512(const float *q, const float *keys, size_t stride, int n, int d, float scale,
                                    float *out) {
    int t = 0;
    for (; t + 4 <= n; t += 4) {
        const float *k = keys + (size_t)t * stride;
        __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
        for (int j = 0; j < d; j += 16) {
            __mmask16 lanes = ck_lanes16(d - j);
            __m512 query = _mm512_maskz_loadu_ps(lanes, q + j);
            for (int i = 0; i < 4; i++) {
                acc[i] = _mm512_fmadd_ps(query, _mm512_maskz_loadu_ps(lanes, k + i * stride + j), acc[i]);
            }
        }
        _mm_storeu_ps(out + t, _mm_mul_ps(sum4(acc[0], acc[1], acc[2], acc[3]), _mm_set1_ps(scale)));
    }
    for (; t < n; t++) {
        const float *k = keys + (size_t)t * stride;
        __m512 acc = _mm512_setzero_ps();
        for (int j = 0; j < d; j += 16) {
            __mmask16 lanes = ck_lanes16(d - j);
            acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(lanes, q + j), _mm512_maskz_loadu_ps(lanes, k + j), acc);
        }
        out[t] = scale * _mm512_reduce_add_ps(acc);
    }
}

/// Up to 64 floats of the output stay in registers while the tokens stream past, even and odd
/// tokens into separate accumulators so that consecutive FMAs do not wait on one another.
CK_AVX512 static void values1_avx512(const float *weights, const float *values, size_t stride, int n, int d,
                                    float *out) {
    for (int j = 0; j < d; j += 64) {
        __mmask16 lanes[4];
        __m512 even[4], odd[4];
        for (int c = 0; c < 4; c++) {
            lanes[c] = ck_lanes16(d - j - 16 * c);
            even[c] = _mm512_maskz_loadu_ps(lanes[c], out + j + 16 * c);
            odd[c] = _mm512_setzero_ps();
        }
        int t = 0;
        for (; t + 2 <= n; t += 2) {
            const float *v = values + (size_t)t * stride + j;
            if (weights[t] != 0) {
                __m512 w = _mm512_set1_ps(weights[t]);
                for (int c = 0; c < 4; c++) even[c] = _mm512_fmadd_ps(w, _mm512_maskz_loadu_ps(lanes[c], v + 16 * c), even[c]);
            }
            if (weights[t + 1] != 0) {
                __m512 w = _mm512_set1_ps(weights[t + 1]);
                for (int c = 0; c < 4; c++) {
                    odd[c] = _mm512_fmadd_ps(w, _mm512_maskz_loadu_ps(lanes[c], v + stride + 16 * c), odd[c]);
                }
            }
        }
        if (t < n && weights[t] != 0) {
            __m512 w = _mm512_set1_ps(weights[t]);
            const float *v = values + (size_t)t * stride + j;
            for (int c = 0; c < 4; c++) even[c] = _mm512_fmadd_ps(w, _mm512_maskz_loadu_ps(lanes[c], v + 16 * c), even[c]);
        }
        for (int c = 0; c < 4; c++) _mm512_mask_storeu_ps(out + j + 16 * c, lanes[c], _mm512_add_ps(even[c], odd[c]));
    }
}

/// The scores of a group of R readers (2 to 4; a constant where it is inlined) against the same
/// keys: an R × 4 tile of (reader, token) accumulators, each key vector loaded once for the R
/// queries. Tokens past the last whole four are done one at a time, the readers' sums reduced
/// together.
CK_AVX512 static inline __attribute__((always_inline)) void scores_group_avx512(
    int R, const float *keys, size_t stride, int n, int d, float scale, const float *const *q, float *const *out) {
    const __m128 scales = _mm_set1_ps(scale);
    int t = 0;
    for (; t + 4 <= n; t += 4) {
        const float *k = keys + (size_t)t * stride;
        __m512 acc[4][4];
        for (int r = 0; r < R; r++)
            for (int i = 0; i < 4; i++) acc[r][i] = _mm512_setzero_ps();
        for (int j = 0; j < d; j += 16) {
            __mmask16 lanes = ck_lanes16(d - j);
            __m512 key[4];
            for (int i = 0; i < 4; i++) key[i] = _mm512_maskz_loadu_ps(lanes, k + i * stride + j);
            for (int r = 0; r < R; r++) {
                __m512 query = _mm512_maskz_loadu_ps(lanes, q[r] + j);
                for (int i = 0; i < 4; i++) acc[r][i] = _mm512_fmadd_ps(query, key[i], acc[r][i]);
            }
        }
        for (int r = 0; r < R; r++) {
            _mm_storeu_ps(out[r] + t, _mm_mul_ps(sum4(acc[r][0], acc[r][1], acc[r][2], acc[r][3]), scales));
        }
    }
    for (; t < n; t++) {
        const float *k = keys + (size_t)t * stride;
        __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
        for (int j = 0; j < d; j += 16) {
            __mmask16 lanes = ck_lanes16(d - j);
            __m512 key = _mm512_maskz_loadu_ps(lanes, k + j);
            for (int r = 0; r < R; r++) acc[r] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(lanes, q[r] + j), key, acc[r]);
        }
        float sums[4];
        _mm_storeu_ps(sums, _mm_mul_ps(sum4(acc[0], acc[1], acc[2], acc[3]), scales));
        for (int r = 0; r < R; r++) out[r][t] = sums[r];
    }
}

/// The weighted values of a group of R readers (2 to 4): 64 floats of each reader's output in
/// registers while the tokens stream past, each value vector loaded once for the group. A token
/// is skipped only when all R weights are 0; otherwise a zero weight adds 0·v, which is why the
/// cache must hold finite numbers (it is zero-filled).
CK_AVX512 static inline __attribute__((always_inline)) void values_group_avx512(
    int R, const float *const *weights, const float *values, size_t stride, int n, int d, float *const *out) {
    for (int j = 0; j < d; j += 64) {
        __mmask16 lanes[4];
        __m512 acc[4][4];
        for (int c = 0; c < 4; c++) {
            lanes[c] = ck_lanes16(d - j - 16 * c);
            for (int r = 0; r < R; r++) acc[r][c] = _mm512_maskz_loadu_ps(lanes[c], out[r] + j + 16 * c);
        }
        for (int t = 0; t < n; t++) {
            float w[4];
            int any = 0;
            for (int r = 0; r < R; r++) any |= (w[r] = weights[r][t]) != 0;
            if (!any) continue;
            const float *v = values + (size_t)t * stride + j;
            __m512 value[4];
            for (int c = 0; c < 4; c++) value[c] = _mm512_maskz_loadu_ps(lanes[c], v + 16 * c);
            for (int r = 0; r < R; r++) {
                __m512 weight = _mm512_set1_ps(w[r]);
                for (int c = 0; c < 4; c++) acc[r][c] = _mm512_fmadd_ps(weight, value[c], acc[r][c]);
            }
        }
        for (int r = 0; r < R; r++)
            for (int c = 0; c < 4; c++) _mm512_mask_storeu_ps(out[r] + j + 16 * c, lanes[c], acc[r][c]);
    }
}

/// All of a block's readers: groups of four, then the rest as one group of two or three, or
/// alone on the one-reader kernel.
CK_AVX512 static void scores_avx512(const float *keys, size_t stride, int n, int d, float scale, int readers,
                                    const float *const *q, float *const *out) {
    int r = 0;
    for (; r + 4 <= readers; r += 4) scores_group_avx512(4, keys, stride, n, d, scale, q + r, out + r);
    switch (readers - r) {
    case 3: scores_group_avx512(3, keys, stride, n, d, scale, q + r, out + r); break;
    case 2: scores_group_avx512(2, keys, stride, n, d, scale, q + r, out + r); break;
    case 1: scores1_avx512(q[r], keys, stride, n, d, scale, out[r]); break;
    }
}

CK_AVX512 static void values_avx512(const float *const *weights, const float *values, size_t stride, int n, int d,
                                    int readers, float *const *out) {
    int r = 0;
    for (; r + 4 <= readers; r += 4) values_group_avx512(4, weights + r, values, stride, n, d, out + r);
    switch (readers - r) {
    case 3: values_group_avx512(3, weights + r, values, stride, n, d, out + r); break;
    case 2: values_group_avx512(2, weights + r, values, stride, n, d, out + r); break;
    case 1: values1_avx512(weights[r], values, stride, n, d, out[r]); break;
    }
}
#endif

// MARK: - Dispatch (a path the CPU lacks falls back to scalar)

void ck_attention_scores(ck_path path, const float *keys, size_t key_stride, int n, int d, float scale,
                         int readers, const float *const *queries, float *const *scores) {
    int r = 0;
#if defined(__x86_64__)
    if (path == CK_PATH_AVX512 && ck_path_supported(path)) {
        scores_avx512(keys, key_stride, n, d, scale, readers, queries, scores);
        return;
    }
    if (path == CK_PATH_AVX2 && ck_path_supported(path)) {
        if (d % 8 == 0) {
            for (; r + 4 <= readers; r += 4) scores4_avx2(keys, key_stride, n, d, scale, queries + r, scores + r);
        }
        for (; r < readers; r++) scores_avx2(queries[r], keys, key_stride, n, d, scale, scores[r]);
        return;
    }
#endif
    for (; r < readers; r++) scores_scalar(queries[r], keys, key_stride, n, d, scale, scores[r]);
}

void ck_attention_values(ck_path path, const float *values, size_t value_stride, int n, int d, int readers,
                         const float *const *weights, float *const *out) {
    int r = 0;
#if defined(__x86_64__)
    if (path == CK_PATH_AVX512 && ck_path_supported(path)) {
        values_avx512(weights, values, value_stride, n, d, readers, out);
        return;
    }
    if (path == CK_PATH_AVX2 && ck_path_supported(path)) {
        if (d % 8 == 0) {
            for (; r + 4 <= readers; r += 4) values4_avx2(weights + r, values, value_stride, n, d, out + r);
        }
        for (; r < readers; r++) values_avx2(weights[r], values, value_stride, n, d, out[r]);
        return;
    }
#endif
    for (; r < readers; r++) values_scalar(weights[r], values, value_stride, n, d, out[r]);
}

void ck_prefetch_rows(const float *base, size_t stride, int n, int floats) {
    for (int t = 0; t < n; t++) {
        const char *row = (const char *)(base + (size_t)t * stride);
        for (size_t offset = 0; offset < (size_t)floats * sizeof(float); offset += 64) __builtin_prefetch(row + offset, 0, 3);
    }
}
