// CKernels: quantised matrix products for the bandwidth-bound small-batch decode.
//
// Weights stay in the GGUF file's block layouts (ggml/src/ggml-common.h,
// https://github.com/ggml-org/ggml); activations are quantised to int16 per block of 32 (the
// shape of llama.cpp's q8_1, with 16-bit quants) so each block's dot product is an integer sum.
// int16 rather than int8: with int8 activations the logits of SmolLM2-135M moved by up to 0.6
// from the f32 reference, far outside the engine's 0.05 tolerance; int16 rounding is 256× finer,
// and vpdpwssd still does a whole block of 32 products in one AVX-512 instruction. Every kernel exists in a
// portable scalar form and in SIMD forms compiled per function for a target (never for the whole
// file with -march), and the caller picks a path that `ck_path_supported` confirms at run time.
#ifndef CKERNELS_H
#define CKERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Elements per quantisation block (q4_1, q8_0 and the activation blocks).
#define CK_BLOCK 32

/// One block of quantised activations: x[j] ≈ d · q[j]; s = d · Σ q[j] (for q4_1's offset term).
typedef struct {
    float d;
    float s;
    int16_t q[CK_BLOCK];
} ck_block_q16;

/// The instruction paths of the dot-product kernels.
typedef enum {
    CK_PATH_SCALAR = 0,      ///< portable C, any CPU
    CK_PATH_AVX2 = 1,        ///< AVX2 + FMA + F16C (vpmaddwd)
    CK_PATH_AVX512VNNI = 2,  ///< AVX-512 F/BW + VNNI (vpdpwssd: 32 int16 products per instruction)
} ck_path;

/// Whether this CPU and OS can run `path` (cpuid feature bits and the xgetbv-enabled register state).
int ck_path_supported(ck_path path);

/// The fastest supported path.
ck_path ck_best_path(void);

/// A short name of `path` ("scalar", "avx2", "avx512vnni").
const char *ck_path_name(ck_path path);

/// Quantises `rows` rows of `k` floats (k a multiple of 32, row stride `ldx` floats) into
/// rows × k/32 activation blocks at `y`, row after row: d = max|x|/32767, q = round(x/d).
void ck_quantize_rows_q16(const float *x, size_t ldx, ck_block_q16 *y, int rows, int k);

/// out[i·ldo + r] (+)= Σ_j W[r, j] · x[i, j] for weight rows r in [row_begin, row_end) and
/// activation rows i in [0, m). W is q4_1: rows of k/32 blocks of 20 bytes (d f16, m f16,
/// 16 bytes of nibbles); x is m rows of k/32 activation blocks. Adds to `out` when `accumulate`.
void ck_matmul_q4_1(ck_path path, const void *w, int k, int row_begin, int row_end,
                    const ck_block_q16 *x, int m, float *out, size_t ldo, int accumulate);

/// As `ck_matmul_q4_1` for q8_0 weights: rows of k/32 blocks of 34 bytes (d f16, 32 × int8).
void ck_matmul_q8_0(ck_path path, const void *w, int k, int row_begin, int row_end,
                    const ck_block_q16 *x, int m, float *out, size_t ldo, int accumulate);

/// Decodes weight rows [row_begin, row_end) of a q4_1 matrix (k columns) into f32, row-major.
void ck_dequantize_rows_q4_1(const void *w, int k, int row_begin, int row_end, float *out);

/// Decodes weight rows [row_begin, row_end) of a q8_0 matrix (k columns) into f32, row-major.
void ck_dequantize_rows_q8_0(const void *w, int k, int row_begin, int row_end, float *out);

#ifdef __cplusplus
}
#endif

#endif
