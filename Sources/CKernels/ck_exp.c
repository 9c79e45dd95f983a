// The kernels built on exp, in the widest vectors the CPU has: softmax over a row of attention
// scores, sampling's softmax over the vocabulary (with the draw), and the SwiGLU activation.
//
// The SIMD paths compute exp with Cephes' expf scheme (Moshier, http://www.netlib.org/cephes/):
// x = n·ln2 + r with |r| ≤ ln2/2, exp(r) by a degree-7 polynomial, times 2^n. Its error is about
// one ulp, against libm's expf which the scalar path calls; a decode step spends most of its
// attention time in exp otherwise (32 rows × 9 heads × every cached position × 30 layers).
#include <math.h>

#include "CKernels.h"

static void softmax_scalar(float *x, int n) {
    float m = -INFINITY;
    for (int i = 0; i < n; i++) m = x[i] > m ? x[i] : m;
    double sum = 0;  // one running sum over a 49k-entry row would lose ~1e-5 in float
    for (int i = 0; i < n; i++) {
        x[i] = expf(x[i] - m);
        sum += x[i];
    }
    float inverse = (float)(1 / sum);
    for (int i = 0; i < n; i++) x[i] *= inverse;
}

static ck_distribution sampling_softmax_scalar(const float *z, int n, float inverse_t, float *p) {
    ck_distribution d = {-INFINITY, 0, 0, 0};
    for (int i = 0; i < n; i++) {
        if (z[i] > d.maximum) {
            d.maximum = z[i];
            d.argmax = i;
        }
    }
    double sum = 0;
    for (int i = 0; i < n; i++) {
        p[i] = expf((z[i] - d.maximum) * inverse_t);
        sum += p[i];
    }
    float inverse = (float)(1 / sum);
    for (int i = 0; i < n; i++) {
        p[i] *= inverse;
        d.expectation += (double)p[i] * (double)((z[i] - d.maximum) * inverse_t);
    }
    d.log_sum = log(sum);
    return d;
}

static int sample_index_scalar(const float *p, int n, float u, float cumulative) {
    for (int i = 0; i < n; i++) {
        cumulative += p[i];
        if (u < cumulative) return i;
    }
    return -1;
}

/// Entries per flush of the float lanes' partial sums into double: short enough that a lane adds
/// at most 64 terms in float.
#define CK_FLUSH 1024

static void swiglu_scalar(const float *gate, const float *up, float *out, int n) {
    for (int i = 0; i < n; i++) out[i] = gate[i] / (1 + expf(-gate[i])) * up[i];
}

#if defined(__x86_64__)
#include <immintrin.h>

#include "ck_simd.h"

// ln 2 split in two (its first part exact in few bits, so n·C1 is exact), and the polynomial.
#define CK_LN2_HI 0.693359375f
#define CK_LN2_LO -2.12194440e-4f
#define CK_EXP_P0 1.9875691500e-4f
#define CK_EXP_P1 1.3981999507e-3f
#define CK_EXP_P2 8.3334519073e-3f
#define CK_EXP_P3 4.1665795894e-2f
#define CK_EXP_P4 1.6666665459e-1f
#define CK_EXP_P5 5.0000001201e-1f
/// Below this exp(x) is under the smallest normal float: the result is 0.
#define CK_EXP_MIN -87.33654f

#define CK_AVX2 __attribute__((target("avx2,fma")))
#define CK_AVX512 __attribute__((target("avx2,fma,avx512f")))

/// exp(x) for x ≤ 0 (softmax inputs, max already subtracted), 8 lanes.
CK_AVX2 static inline __m256 exp_avx2(__m256 x) {
    __m256 underflow = _mm256_cmp_ps(x, _mm256_set1_ps(CK_EXP_MIN), _CMP_LT_OQ);
    x = _mm256_max_ps(x, _mm256_set1_ps(CK_EXP_MIN));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(CK_LN2_HI), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(CK_LN2_LO), r);
    __m256 p = _mm256_set1_ps(CK_EXP_P0);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(CK_EXP_P1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(CK_EXP_P2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(CK_EXP_P3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(CK_EXP_P4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(CK_EXP_P5));
    p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1)));
    // 2^n from its exponent bits; n ≥ −126 here, so the power is a normal float.
    __m256i power = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_andnot_ps(underflow, _mm256_mul_ps(p, _mm256_castsi256_ps(power)));
}

CK_AVX2 static void softmax_avx2(float *x, int n) {
    __m256 maxima = _mm256_set1_ps(-INFINITY);
    int i = 0;
    for (; i + 8 <= n; i += 8) maxima = _mm256_max_ps(maxima, _mm256_loadu_ps(x + i));
    float m = -INFINITY;
    for (int j = 0; j < 8; j++) m = maxima[j] > m ? maxima[j] : m;
    for (; i < n; i++) m = x[i] > m ? x[i] : m;

    __m256 shift = _mm256_set1_ps(m), sums = _mm256_setzero_ps();
    i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 e = exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(x + i), shift));
        _mm256_storeu_ps(x + i, e);
        sums = _mm256_add_ps(sums, e);
    }
    float sum = ck_sum8(sums);
    for (; i < n; i++) {
        x[i] = expf(x[i] - m);
        sum += x[i];
    }
    __m256 inverse = _mm256_set1_ps(1 / sum);
    i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), inverse));
    for (; i < n; i++) x[i] *= 1 / sum;
}

/// The lanes of an 8-float chunk that hold some of the `remaining` floats (for maskload/maskstore).
CK_AVX2 static inline __m256i lanes8(int remaining) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(remaining), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

CK_AVX2 static ck_distribution sampling_softmax_avx2(const float *z, int n, float inverse_t, float *p) {
    ck_distribution d = {-INFINITY, 0, 0, 0};
    __m256 maxima = _mm256_set1_ps(-INFINITY);
    for (int i = 0; i < n; i += 8) {
        __m256i lanes = lanes8(n - i);  // padding lanes keep the maxima so far
        maxima = _mm256_max_ps(maxima, _mm256_blendv_ps(maxima, _mm256_maskload_ps(z + i, lanes), _mm256_castsi256_ps(lanes)));
    }
    for (int j = 0; j < 8; j++) d.maximum = maxima[j] > d.maximum ? maxima[j] : d.maximum;
    for (int i = 0; i < n; i += 8) {
        __m256i lanes = lanes8(n - i);
        __m256 equal = _mm256_cmp_ps(_mm256_maskload_ps(z + i, lanes), _mm256_set1_ps(d.maximum), _CMP_EQ_OQ);
        int bits = _mm256_movemask_ps(_mm256_and_ps(equal, _mm256_castsi256_ps(lanes)));
        if (bits) {
            d.argmax = i + __builtin_ctz((unsigned)bits);
            break;
        }
    }

    // As the AVX-512 kernel: e = exp(s), s = (z − max)·inverse_t, padding lanes' e zeroed.
    __m256 shift = _mm256_set1_ps(d.maximum), scale = _mm256_set1_ps(inverse_t);
    double sum = 0, weighted = 0;
    for (int start = 0; start < n; start += CK_FLUSH) {
        int end = start + CK_FLUSH < n ? start + CK_FLUSH : n;
        __m256 sums = _mm256_setzero_ps(), moments = _mm256_setzero_ps();
        for (int i = start; i < end; i += 8) {
            __m256i lanes = lanes8(end - i);
            __m256 s = _mm256_mul_ps(_mm256_sub_ps(_mm256_maskload_ps(z + i, lanes), shift), scale);
            __m256 e = _mm256_and_ps(exp_avx2(s), _mm256_castsi256_ps(lanes));
            _mm256_maskstore_ps(p + i, lanes, e);
            sums = _mm256_add_ps(sums, e);
            moments = _mm256_fmadd_ps(e, s, moments);
        }
        sum += ck_sum8(sums);
        weighted += ck_sum8(moments);
    }
    __m256 inverse = _mm256_set1_ps((float)(1 / sum));
    for (int i = 0; i < n; i += 8) {
        __m256i lanes = lanes8(n - i);
        _mm256_maskstore_ps(p + i, lanes, _mm256_mul_ps(_mm256_maskload_ps(p + i, lanes), inverse));
    }
    d.log_sum = log(sum);
    d.expectation = weighted / sum;
    return d;
}

CK_AVX2 static int sample_index_avx2(const float *p, int n, float u) {
    float cumulative = 0;
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        float total = cumulative + ck_sum8(_mm256_loadu_ps(p + i));
        if (u < total) {
            int j = sample_index_scalar(p + i, 8, u, cumulative);
            return i + (j < 0 ? 7 : j);
        }
        cumulative = total;
    }
    int tail = sample_index_scalar(p + i, n - i, u, cumulative);
    return tail < 0 ? -1 : tail + i;
}

CK_AVX2 static void swiglu_avx2(const float *gate, const float *up, float *out, int n) {
    const __m256 one = _mm256_set1_ps(1), zero = _mm256_setzero_ps();
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int i = 0; i < n; i += 8) {
        __m256i lanes = lanes8(n - i);
        __m256 g = _mm256_maskload_ps(gate + i, lanes);
        __m256 e = exp_avx2(_mm256_or_ps(g, sign));  // exp(−|g|)
        __m256 numerator = _mm256_blendv_ps(g, _mm256_mul_ps(g, e), _mm256_cmp_ps(g, zero, _CMP_LT_OQ));
        __m256 silu = _mm256_div_ps(numerator, _mm256_add_ps(one, e));
        _mm256_maskstore_ps(out + i, lanes, _mm256_mul_ps(silu, _mm256_maskload_ps(up + i, lanes)));
    }
}

/// exp(x) for x ≤ 0, 16 lanes; scalef makes 2^n and sends deep underflow to 0 by itself.
CK_AVX512 static inline __m512 exp_avx512(__m512 x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(-104.0f));  // exp(−104) is below the smallest subnormal
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(CK_LN2_HI), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(CK_LN2_LO), r);
    __m512 p = _mm512_set1_ps(CK_EXP_P0);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(CK_EXP_P1));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(CK_EXP_P2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(CK_EXP_P3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(CK_EXP_P4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(CK_EXP_P5));
    p = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1)));
    return _mm512_scalef_ps(p, n);
}

CK_AVX512 static void softmax_avx512(float *x, int n) {
    __m512 maxima = _mm512_set1_ps(-INFINITY);
    for (int i = 0; i < n; i += 16) {
        __mmask16 lanes = ck_lanes16(n - i);
        maxima = _mm512_mask_max_ps(maxima, lanes, maxima, _mm512_maskz_loadu_ps(lanes, x + i));
    }
    __m512 shift = _mm512_set1_ps(_mm512_reduce_max_ps(maxima)), sums = _mm512_setzero_ps();
    for (int i = 0; i < n; i += 16) {
        __mmask16 lanes = ck_lanes16(n - i);
        __m512 e = exp_avx512(_mm512_sub_ps(_mm512_maskz_loadu_ps(lanes, x + i), shift));
        _mm512_mask_storeu_ps(x + i, lanes, e);
        sums = _mm512_mask_add_ps(sums, lanes, sums, e);
    }
    __m512 inverse = _mm512_set1_ps(1 / _mm512_reduce_add_ps(sums));
    for (int i = 0; i < n; i += 16) {
        __mmask16 lanes = ck_lanes16(n - i);
        _mm512_mask_storeu_ps(x + i, lanes, _mm512_mul_ps(_mm512_maskz_loadu_ps(lanes, x + i), inverse));
    }
}

/// The first index holding `maximum` (which occurs: it was read from these logits).
CK_AVX512 static int first_index_of_avx512(const float *z, int n, float maximum) {
    __m512 m = _mm512_set1_ps(maximum);
    for (int i = 0; i < n; i += 16) {
        __mmask16 hits = _mm512_mask_cmp_ps_mask(ck_lanes16(n - i), _mm512_loadu_ps(z + i), m, _CMP_EQ_OQ);
        if (hits) return i + __builtin_ctz(hits);
    }
    return 0;
}

CK_AVX512 static ck_distribution sampling_softmax_avx512(const float *z, int n, float inverse_t, float *p) {
    ck_distribution d = {-INFINITY, 0, 0, 0};
    __m512 maxima = _mm512_set1_ps(-INFINITY);
    for (int i = 0; i < n; i += 16) {
        __mmask16 lanes = ck_lanes16(n - i);
        maxima = _mm512_mask_max_ps(maxima, lanes, maxima, _mm512_maskz_loadu_ps(lanes, z + i));
    }
    d.maximum = _mm512_reduce_max_ps(maxima);
    d.argmax = first_index_of_avx512(z, n, d.maximum);

    // e = exp(s) with s = (z − max)·inverse_t; Σe and Σe·s in float lanes, flushed to double.
    __m512 shift = _mm512_set1_ps(d.maximum), scale = _mm512_set1_ps(inverse_t);
    double sum = 0, weighted = 0;
    for (int start = 0; start < n; start += CK_FLUSH) {
        int end = start + CK_FLUSH < n ? start + CK_FLUSH : n;
        __m512 sums = _mm512_setzero_ps(), moments = _mm512_setzero_ps();
        for (int i = start; i < end; i += 16) {
            __mmask16 lanes = ck_lanes16(end - i);
            __m512 s = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(lanes, z + i), shift), scale);
            __m512 e = _mm512_maskz_mov_ps(lanes, exp_avx512(s));
            _mm512_mask_storeu_ps(p + i, lanes, e);
            sums = _mm512_add_ps(sums, e);
            moments = _mm512_fmadd_ps(e, s, moments);
        }
        sum += _mm512_reduce_add_ps(sums);
        weighted += _mm512_reduce_add_ps(moments);
    }
    __m512 inverse = _mm512_set1_ps((float)(1 / sum));
    for (int i = 0; i < n; i += 16) {
        __mmask16 lanes = ck_lanes16(n - i);
        _mm512_mask_storeu_ps(p + i, lanes, _mm512_mul_ps(_mm512_maskz_loadu_ps(lanes, p + i), inverse));
    }
    d.log_sum = log(sum);
    d.expectation = weighted / sum;
    return d;
}

/// Whole vectors are skipped while the running sum plus their total stays at or below u; the
/// vector that crosses is walked entry by entry.
CK_AVX512 static int sample_index_avx512(const float *p, int n, float u) {
    float cumulative = 0;
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        float total = cumulative + _mm512_reduce_add_ps(_mm512_loadu_ps(p + i));
        if (u < total) {
            // Added in order the vector's entries may fall short of u by rounding: then the last one.
            int j = sample_index_scalar(p + i, 16, u, cumulative);
            return i + (j < 0 ? 15 : j);
        }
        cumulative = total;
    }
    int tail = sample_index_scalar(p + i, n - i, u, cumulative);
    return tail < 0 ? -1 : tail + i;
}

/// silu(g) = g·σ(g) with e = exp(−|g|) (the exp kernel's domain): g / (1 + e) for g ≥ 0 and
/// g·e / (1 + e) below, which is the same function without overflowing for large |g|.
CK_AVX512 static void swiglu_avx512(const float *gate, const float *up, float *out, int n) {
    const __m512 one = _mm512_set1_ps(1);
    for (int i = 0; i < n; i += 16) {
        __mmask16 lanes = ck_lanes16(n - i);
        __m512 g = _mm512_maskz_loadu_ps(lanes, gate + i);
        __m512 e = exp_avx512(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_abs_ps(g)));
        __mmask16 negative = _mm512_cmp_ps_mask(g, _mm512_setzero_ps(), _CMP_LT_OQ);
        __m512 numerator = _mm512_mask_mul_ps(g, negative, g, e);
        __m512 silu = _mm512_div_ps(numerator, _mm512_add_ps(one, e));
        _mm512_mask_storeu_ps(out + i, lanes, _mm512_mul_ps(silu, _mm512_maskz_loadu_ps(lanes, up + i)));
    }
}
#endif

void ck_swiglu(ck_path path, const float *gate, const float *up, float *out, int n) {
#if defined(__x86_64__)
    if (path == CK_PATH_AVX512 && ck_path_supported(path)) {
        swiglu_avx512(gate, up, out, n);
        return;
    }
    if (path == CK_PATH_AVX2 && ck_path_supported(path)) {
        swiglu_avx2(gate, up, out, n);
        return;
    }
#endif
    swiglu_scalar(gate, up, out, n);
}

ck_distribution ck_sampling_softmax(ck_path path, const float *logits, int n, float inverse_t, float *probabilities) {
#if defined(__x86_64__)
    if (n > 0 && path == CK_PATH_AVX512 && ck_path_supported(path)) {
        return sampling_softmax_avx512(logits, n, inverse_t, probabilities);
    }
    if (n > 0 && path == CK_PATH_AVX2 && ck_path_supported(path)) {
        return sampling_softmax_avx2(logits, n, inverse_t, probabilities);
    }
#endif
    return sampling_softmax_scalar(logits, n, inverse_t, probabilities);
}

int ck_sample_index(ck_path path, const float *probabilities, int n, float u) {
#if defined(__x86_64__)
    if (path == CK_PATH_AVX512 && ck_path_supported(path)) return sample_index_avx512(probabilities, n, u);
    if (path == CK_PATH_AVX2 && ck_path_supported(path)) return sample_index_avx2(probabilities, n, u);
#endif
    return sample_index_scalar(probabilities, n, u, 0);
}

void ck_softmax(ck_path path, float *x, int n) {
    if (n <= 0) return;
#if defined(__x86_64__)
    if (path == CK_PATH_AVX512 && ck_path_supported(path)) {
        softmax_avx512(x, n);
        return;
    }
    if (path == CK_PATH_AVX2 && ck_path_supported(path)) {
        softmax_avx2(x, n);
        return;
    }
#endif
    softmax_scalar(x, n);
}
