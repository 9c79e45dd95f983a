// Panel products: the quantised products for batches of a few dozen rows or more (wide decode,
// prefill chunks). There the cost is the multiplying, not the reading of the weights, and the
// block kernels of ck_matmul_*.c are limited by their per-row horizontal sums and by reloading
// each activation row for every weight row.
//
// Here a panel of 12 weight rows is decoded to f32 (ck_decode.h, as ck_dequantize_rows_* does),
// 128 columns at a time, and meets the activations transposed (ck_pack_activations): each step
// of the inner loop broadcasts one weight of each panel row and multiplies it into 32 activation
// rows held in two vectors, so 24 accumulators stay in registers for the whole depth and no
// horizontal sum is ever taken (AVX-512; AVX2's smaller tile is described at `tile_avx2`). It is the outer-product micro-kernel of a BLAS sgemm, fed from
// the quantised blocks.
#include <string.h>

#include "CKernels.h"
#include "ck_decode.h"

/// Weight rows per panel; 12 rows × 2 vectors of activation rows keep 24 accumulators, the two
/// activation vectors and a broadcast weight in the 32 AVX-512 registers.
#define CK_PANEL_ROWS 12
/// Columns decoded per step (a multiple of the 32-float block): the panel (6 KB) and the
/// activations it meets (16 KB for 32 rows) stay in L1 together.
#define CK_PANEL_DEPTH 128
/// Activation rows per pass over the weights: a pass's partial sums (12 × 128 floats) stay on
/// the stack, and its packed activations in L2.
#define CK_PANEL_WIDTH 128

int ck_packed_width(int m) { return (m + 15) & ~15; }

static void pack_activations_scalar(const float *x, size_t ldx, int m, int k, float *xt) {
    size_t width = (size_t)ck_packed_width(m);
    for (int j = 0; j < k; j++) {
        float *column = xt + (size_t)j * width;
        for (int t = 0; t < m; t++) column[t] = x[(size_t)t * ldx + j];
        for (size_t t = (size_t)m; t < width; t++) column[t] = 0;
    }
}

/// Decodes `count` consecutive blocks into 32·count floats: the decoders of ck_decode.h.
typedef void (*ck_decode_fn)(const uint8_t *blocks, size_t count, float *out);

/// sums[r·CK_PANEL_WIDTH + t] += Σ_j panel[r·depth + j] · xt[j·stride + t] for the panel's rows r
/// and t < width (16 or 32).
typedef void (*ck_tile_fn)(const float *panel, int depth, const float *xt, size_t stride, int width, float *sums);

static void tile_scalar(const float *panel, int depth, const float *xt, size_t stride, int width, float *sums) {
    for (int r = 0; r < CK_PANEL_ROWS; r++) {
        for (int t = 0; t < width; t++) {
            float sum = 0;
            for (int j = 0; j < depth; j++) sum += panel[r * depth + j] * xt[(size_t)j * stride + t];
            sums[r * CK_PANEL_WIDTH + t] += sum;
        }
    }
}

/// Asks for the bytes of columns [first, first + depth) of the panel starting at weight row
/// `next` (rows below `end`), so that the next panel's weights are on their way from memory while
/// this one is multiplied. A model's weights are larger than the caches and stream from DRAM once
/// per step, and the hardware prefetchers do not follow twelve short streams at once: without
/// this, panels on weights out of cache ran 25% slower than on weights in L2.
static inline void prefetch_panel(const uint8_t *w, size_t row_bytes, size_t block_bytes, int next, int end, int first,
                                  int depth) {
    size_t begin = (size_t)(first / CK_BLOCK) * block_bytes, bytes = (size_t)(depth / CK_BLOCK) * block_bytes;
    for (int r = next; r < next + CK_PANEL_ROWS && r < end; r++) {
        const uint8_t *chunk = w + (size_t)r * row_bytes + begin;
        for (size_t offset = 0; offset < bytes; offset += 64) __builtin_prefetch(chunk + offset, 0, 3);
        __builtin_prefetch(chunk + bytes - 1, 0, 3);
    }
}

/// The loops around the tile kernel: passes of up to CK_PANEL_WIDTH activation rows, panels of
/// CK_PANEL_ROWS weight rows (a short last panel padded with zero rows), CK_PANEL_DEPTH columns
/// decoded at a time.
static inline __attribute__((always_inline)) void panel_product(
    ck_decode_fn decode, ck_tile_fn tile, size_t block_bytes, const void *w, int k, int row_begin, int row_end,
    const float *xt, int m, float *out, size_t ldo, int accumulate) {
    size_t stride = (size_t)ck_packed_width(m), row_bytes = (size_t)(k / CK_BLOCK) * block_bytes;
    float panel[CK_PANEL_ROWS * CK_PANEL_DEPTH] __attribute__((aligned(64)));
    float sums[CK_PANEL_ROWS * CK_PANEL_WIDTH] __attribute__((aligned(64)));
    for (int pass = 0; pass < m; pass += CK_PANEL_WIDTH) {
        int width = (int)stride - pass < CK_PANEL_WIDTH ? (int)stride - pass : CK_PANEL_WIDTH;
        for (int r0 = row_begin; r0 < row_end; r0 += CK_PANEL_ROWS) {
            int rows = row_end - r0 < CK_PANEL_ROWS ? row_end - r0 : CK_PANEL_ROWS;
            for (int r = 0; r < CK_PANEL_ROWS; r++) memset(sums + r * CK_PANEL_WIDTH, 0, (size_t)width * sizeof(float));
            for (int first = 0; first < k; first += CK_PANEL_DEPTH) {
                int depth = k - first < CK_PANEL_DEPTH ? k - first : CK_PANEL_DEPTH;
                prefetch_panel((const uint8_t *)w, row_bytes, block_bytes, r0 + CK_PANEL_ROWS, row_end, first, depth);
                const uint8_t *chunk = (const uint8_t *)w + (size_t)r0 * row_bytes + (size_t)(first / CK_BLOCK) * block_bytes;
                for (int r = 0; r < CK_PANEL_ROWS; r++) {
                    if (r < rows) {
                        decode(chunk + (size_t)r * row_bytes, (size_t)(depth / CK_BLOCK), panel + r * depth);
                    } else {
                        memset(panel + r * depth, 0, (size_t)depth * sizeof(float));
                    }
                }
                const float *columns = xt + (size_t)first * stride + pass;
                for (int t = 0; t < width; t += 32) {
                    tile(panel, depth, columns + t, stride, width - t < 32 ? width - t : 32, sums + t);
                }
            }
            int last = m - pass < width ? m - pass : width;
            for (int t = 0; t < last; t++) {
                float *target = out + (size_t)(pass + t) * ldo + r0;
                for (int r = 0; r < rows; r++) {
                    float sum = sums[r * CK_PANEL_WIDTH + t];
                    target[r] = accumulate ? target[r] + sum : sum;
                }
            }
        }
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

#include "ck_simd.h"

#define CK_AVX2 __attribute__((target("avx2,fma,f16c")))
#define CK_AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl")))

/// AVX2 has 16 registers: 6 panel rows × 16 activation rows of sums (12 vectors), the two
/// activation vectors and a broadcast weight. So the panel's 12 rows are taken in two halves, and
/// a tile's 32 activation rows in two groups of 16; each re-reads the panel and the activations
/// from L1.
CK_AVX2 static void tile_avx2(const float *panel, int depth, const float *xt, size_t stride, int width, float *sums) {
    for (int t = 0; t < width; t += 16) {
        for (int r0 = 0; r0 < CK_PANEL_ROWS; r0 += 6) {
            __m256 acc[6][2];
            for (int r = 0; r < 6; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
            const float *x = xt + t;
            for (int j = 0; j < depth; j++, x += stride) {
                __m256 x0 = _mm256_loadu_ps(x), x1 = _mm256_loadu_ps(x + 8);
                for (int r = 0; r < 6; r++) {
                    __m256 weight = _mm256_broadcast_ss(panel + (r0 + r) * depth + j);
                    acc[r][0] = _mm256_fmadd_ps(weight, x0, acc[r][0]);
                    acc[r][1] = _mm256_fmadd_ps(weight, x1, acc[r][1]);
                }
            }
            for (int r = 0; r < 6; r++) {
                float *s = sums + (r0 + r) * CK_PANEL_WIDTH + t;
                _mm256_storeu_ps(s, _mm256_add_ps(_mm256_loadu_ps(s), acc[r][0]));
                _mm256_storeu_ps(s + 8, _mm256_add_ps(_mm256_loadu_ps(s + 8), acc[r][1]));
            }
        }
    }
}

CK_AVX2 static void panel_q4_1_avx2(const void *w, int k, int row_begin, int row_end, const float *xt, int m,
                                    float *out, size_t ldo, int accumulate) {
    panel_product(ck_decode_q4_1_avx2, tile_avx2, CK_Q4_1_BYTES, w, k, row_begin, row_end, xt, m, out, ldo,
                  accumulate);
}

CK_AVX2 static void panel_q8_0_avx2(const void *w, int k, int row_begin, int row_end, const float *xt, int m,
                                    float *out, size_t ldo, int accumulate) {
    panel_product(ck_decode_q8_0_avx2, tile_avx2, CK_Q8_0_BYTES, w, k, row_begin, row_end, xt, m, out, ldo,
                  accumulate);
}

/// Sixteen activation rows at a time, each column gathered into one vector (padding lanes masked
/// off, so they load nothing and store zero).
CK_AVX512 static void pack_activations_avx512(const float *x, size_t ldx, int m, int k, float *xt) {
    size_t width = (size_t)ck_packed_width(m);
    for (int t0 = 0; t0 < m; t0 += 16) {
        __mmask16 lanes = ck_lanes16(m - t0);
        __m512i offsets = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                             _mm512_set1_epi32((int)ldx));
        const float *rows = x + (size_t)t0 * ldx;
        for (int j = 0; j < k; j++) {
            __m512 column = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), lanes, offsets, rows + j, 4);
            _mm512_storeu_ps(xt + (size_t)j * width + t0, column);
        }
    }
}

CK_AVX512 static void tile_avx512(const float *panel, int depth, const float *xt, size_t stride, int width,
                                  float *sums) {
    if (width == 32) {
        __m512 acc[CK_PANEL_ROWS][2];
        for (int r = 0; r < CK_PANEL_ROWS; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
        for (int j = 0; j < depth; j++) {
            __m512 x0 = _mm512_loadu_ps(xt + (size_t)j * stride), x1 = _mm512_loadu_ps(xt + (size_t)j * stride + 16);
            for (int r = 0; r < CK_PANEL_ROWS; r++) {
                __m512 weight = _mm512_set1_ps(panel[r * depth + j]);
                acc[r][0] = _mm512_fmadd_ps(weight, x0, acc[r][0]);
                acc[r][1] = _mm512_fmadd_ps(weight, x1, acc[r][1]);
            }
        }
        for (int r = 0; r < CK_PANEL_ROWS; r++) {
            float *s = sums + r * CK_PANEL_WIDTH;
            _mm512_storeu_ps(s, _mm512_add_ps(_mm512_loadu_ps(s), acc[r][0]));
            _mm512_storeu_ps(s + 16, _mm512_add_ps(_mm512_loadu_ps(s + 16), acc[r][1]));
        }
    } else {
        __m512 acc[CK_PANEL_ROWS];
        for (int r = 0; r < CK_PANEL_ROWS; r++) acc[r] = _mm512_setzero_ps();
        for (int j = 0; j < depth; j++) {
            __m512 x0 = _mm512_loadu_ps(xt + (size_t)j * stride);
            for (int r = 0; r < CK_PANEL_ROWS; r++) {
                acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(panel[r * depth + j]), x0, acc[r]);
            }
        }
        for (int r = 0; r < CK_PANEL_ROWS; r++) {
            float *s = sums + r * CK_PANEL_WIDTH;
            _mm512_storeu_ps(s, _mm512_add_ps(_mm512_loadu_ps(s), acc[r]));
        }
    }
}

CK_AVX512 static void panel_q4_1_avx512(const void *w, int k, int row_begin, int row_end, const float *xt, int m,
                                        float *out, size_t ldo, int accumulate) {
    panel_product(ck_decode_q4_1_avx512, tile_avx512, CK_Q4_1_BYTES, w, k, row_begin,
                  row_end, xt, m, out, ldo, accumulate);
}

CK_AVX512 static void panel_q8_0_avx512(const void *w, int k, int row_begin, int row_end, const float *xt, int m,
                                        float *out, size_t ldo, int accumulate) {
    panel_product(ck_decode_q8_0_avx512, tile_avx512, CK_Q8_0_BYTES, w, k, row_begin,
                  row_end, xt, m, out, ldo, accumulate);
}
#endif

void ck_pack_activations(ck_path path, const float *x, size_t ldx, int m, int k, float *xt) {
#if defined(__x86_64__)
    if (path == CK_PATH_AVX512 && ck_path_supported(path)) {
        pack_activations_avx512(x, ldx, m, k, xt);
        return;
    }
#endif
    pack_activations_scalar(x, ldx, m, k, xt);
}

void ck_panel_q4_1(ck_path path, const void *w, int k, int row_begin, int row_end, const float *xt, int m,
                   float *out, size_t ldo, int accumulate) {
#if defined(__x86_64__)
    if (path == CK_PATH_AVX512 && ck_path_supported(path)) {
        panel_q4_1_avx512(w, k, row_begin, row_end, xt, m, out, ldo, accumulate);
        return;
    }
    if (path == CK_PATH_AVX2 && ck_path_supported(path)) {
        panel_q4_1_avx2(w, k, row_begin, row_end, xt, m, out, ldo, accumulate);
        return;
    }
#endif
    panel_product(ck_decode_q4_1_scalar, tile_scalar, CK_Q4_1_BYTES, w, k, row_begin, row_end,
                  xt, m, out, ldo, accumulate);
}

void ck_panel_q8_0(ck_path path, const void *w, int k, int row_begin, int row_end, const float *xt, int m,
                   float *out, size_t ldo, int accumulate) {
#if defined(__x86_64__)
    if (path == CK_PATH_AVX512 && ck_path_supported(path)) {
        panel_q8_0_avx512(w, k, row_begin, row_end, xt, m, out, ldo, accumulate);
        return;
    }
    if (path == CK_PATH_AVX2 && ck_path_supported(path)) {
        panel_q8_0_avx2(w, k, row_begin, row_end, xt, m, out, ldo, accumulate);
        return;
    }
#endif
    panel_product(ck_decode_q8_0_scalar, tile_scalar, CK_Q8_0_BYTES, w, k, row_begin, row_end,
                  xt, m, out, ldo, accumulate);
}
