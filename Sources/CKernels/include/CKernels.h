// CKernels: the engine's SIMD kernels, each path chosen at run time (ck_path).
//
// Weights stay in the GGUF file's block layouts (ggml/src/ggml-common.h,
// https://github.com/ggml-org/ggml) and are decoded block by block in registers, where they meet
// f32 activations: each weight byte is read once per batch, which is what small-batch decode is
// bound by. Activations are not quantised (unlike llama.cpp's q8_1): int8 activations moved
// SmolLM2-135M's logits by up to 0.6 from the f32 reference, and even int16 rounding turned
// summation-order noise into log-prob differences above the replay test's 1e-3.
//
// Beside them: decode attention's inner loops (scores, weighted values, softmax), in C for the
// same reason, run-time-chosen vectors where Swift's SIMD types compile to baseline SSE.
#ifndef CKERNELS_H
#define CKERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Elements per quantisation block (q4_1, q8_0 and the activation blocks).
#define CK_BLOCK 32

/// The instruction paths of the dot-product kernels.
typedef enum {
    CK_PATH_SCALAR = 0,      ///< portable C, any CPU
    CK_PATH_AVX2 = 1,    ///< AVX2 + FMA + F16C: 8 lanes
    CK_PATH_AVX512 = 2,  ///< AVX-512 F/BW/VL: 16 lanes, a q4_1 block in two FMAs
} ck_path;

/// Whether this CPU and OS can run `path` (cpuid feature bits and the xgetbv-enabled register state).
int ck_path_supported(ck_path path);

/// The fastest supported path.
ck_path ck_best_path(void);

/// A short name of `path` ("scalar", "avx2", "avx512").
const char *ck_path_name(ck_path path);

/// out[i·ldo + r] (+)= Σ_j W[r, j] · x[i·ldx + j] for weight rows r in [row_begin, row_end) and
/// activation rows i in [0, m). W is q4_1: rows of k/32 blocks of 20 bytes (d f16, m f16,
/// 16 bytes of nibbles); k is a multiple of 32. Adds to `out` when `accumulate`.
void ck_matmul_q4_1(ck_path path, const void *w, int k, int row_begin, int row_end,
                    const float *x, size_t ldx, int m, float *out, size_t ldo, int accumulate);

/// As `ck_matmul_q4_1` for q8_0 weights: rows of k/32 blocks of 34 bytes (d f16, 32 × int8).
void ck_matmul_q8_0(ck_path path, const void *w, int k, int row_begin, int row_end,
                    const float *x, size_t ldx, int m, float *out, size_t ldo, int accumulate);

/// Activation rows of `m` rounded up to the 16 floats of a vector: the row stride of
/// `ck_pack_activations`' output.
int ck_packed_width(int m);

/// Transposes m activation rows of k floats (row stride ldx) for the panel products:
/// xt[j·ck_packed_width(m) + t] = x[t·ldx + j], the padding lanes zero. xt holds
/// k·ck_packed_width(m) floats.
void ck_pack_activations(ck_path path, const float *x, size_t ldx, int m, int k, float *xt);

/// As `ck_matmul_q4_1`, for batches of a few dozen rows or more, with the activations packed by
/// `ck_pack_activations`: weight rows are decoded to f32 a panel at a time (the floats of
/// `ck_dequantize_rows_q4_1`) and multiplied as an outer product, without horizontal sums.
/// AVX-512 has a SIMD kernel; other paths run a scalar one (the reference, not for speed).
void ck_panel_q4_1(ck_path path, const void *w, int k, int row_begin, int row_end, const float *xt, int m,
                   float *out, size_t ldo, int accumulate);

/// As `ck_panel_q4_1` for q8_0 weights.
void ck_panel_q8_0(ck_path path, const void *w, int k, int row_begin, int row_end, const float *xt, int m,
                   float *out, size_t ldo, int accumulate);

/// Decodes weight rows [row_begin, row_end) of a q4_1 matrix (k columns) into f32, row-major; every
/// path gives the same floats (AVX-512 is the only SIMD one; others decode in C).
void ck_dequantize_rows_q4_1(ck_path path, const void *w, int k, int row_begin, int row_end, float *out);

/// Decodes weight rows [row_begin, row_end) of a q8_0 matrix (k columns) into f32, row-major.
void ck_dequantize_rows_q8_0(ck_path path, const void *w, int k, int row_begin, int row_end, float *out);

/// scores[r][t] = scale · Σ_j queries[r][j]·keys[t·key_stride + j] for readers r in [0, readers),
/// tokens t in [0, n), j in [0, d): the query heads of a block's readers against its n cached keys.
void ck_attention_scores(ck_path path, const float *keys, size_t key_stride, int n, int d, float scale,
                         int readers, const float *const *queries, float *const *scores);

/// out[r][j] += Σ_t weights[r][t]·values[t·value_stride + j] for readers r, j in [0, d): the
/// probability-weighted values of one block for each of its readers. A token whose weight is 0 adds
/// nothing, but may still be read (AVX-512 skips a token only when four readers all weight it 0),
/// so the values must be finite numbers.
void ck_attention_values(ck_path path, const float *values, size_t value_stride, int n, int d, int readers,
                         const float *const *weights, float *const *out);

/// Asks for n rows of `floats` floats, `stride` floats apart, to be brought into cache: the next
/// cache block's keys or values while the current one is multiplied.
void ck_prefetch_rows(const float *base, size_t stride, int n, int floats);

/// In place: x[i] ← exp(x[i] − max) / Σ exp(x − max) over n floats (the SIMD paths' exp is within
/// about one ulp of libm's).
void ck_softmax(ck_path path, float *x, int n);

/// out[i] = silu(gate[i])·up[i] = gate[i] / (1 + exp(−gate[i]))·up[i] for i in [0, n): Llama's
/// gated feed-forward activation. `out` may alias `gate`. The SIMD paths use the softmax kernels'
/// exp; the scalar path libm's expf.
void ck_swiglu(ck_path path, const float *gate, const float *up, float *out, int n);

/// What sampling needs beside the probabilities (`ck_sampling_softmax`).
typedef struct {
    float maximum;       ///< the largest logit
    int argmax;          ///< the lowest index holding it
    double log_sum;      ///< log Σ_i exp((z_i − maximum)·inverse_t)
    double expectation;  ///< Σ_i p_i·(z_i − maximum)·inverse_t, so entropy = log_sum − expectation
} ck_distribution;

/// Sampling's softmax over a whole vocabulary: probabilities[i] = exp((z_i − max)·inverse_t) / Σ,
/// with the maximum, its index and the sums log-probs and entropy need. Sums are kept in double:
/// the SIMD paths add in float lanes flushed to double every 1024 entries, with the softmax
/// kernels' exp; the scalar path is libm's expf in one double running sum.
ck_distribution ck_sampling_softmax(ck_path path, const float *logits, int n, float inverse_t, float *probabilities);

/// The first index i with u < probabilities[0] + … + probabilities[i], or −1 when u is not below
/// the whole sum (rounding can leave the sum of a distribution under 1). The SIMD paths skip whole
/// vectors by their sums and walk the crossing one in order, so every path finds the same index
/// up to the rounding of float sums.
int ck_sample_index(ck_path path, const float *probabilities, int n, float u);

/// A hint to the core that the caller is spinning on a memory location (x86 `pause`): it saves
/// power and gives a hyper-thread sibling the pipeline.
static inline void ck_spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

#ifdef __cplusplus
}
#endif

#endif
