// Weight dequantisation into f32 rows (for the sgemm of large batches): whole rows are consecutive
// blocks, so a range of rows is one run of blocks for ck_decode.h.
#include "CKernels.h"
#include "ck_decode.h"

#if defined(__x86_64__)
#define CK_AVX2 __attribute__((target("avx2,fma,f16c")))
#define CK_AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl")))

CK_AVX2 static void q4_1_rows_avx2(const uint8_t *first, size_t blocks, float *out) {
    ck_decode_q4_1_avx2(first, blocks, out);
}

CK_AVX2 static void q8_0_rows_avx2(const uint8_t *first, size_t blocks, float *out) {
    ck_decode_q8_0_avx2(first, blocks, out);
}

CK_AVX512 static void q4_1_rows_avx512(const uint8_t *first, size_t blocks, float *out) {
    ck_decode_q4_1_avx512(first, blocks, out);
}

CK_AVX512 static void q8_0_rows_avx512(const uint8_t *first, size_t blocks, float *out) {
    ck_decode_q8_0_avx512(first, blocks, out);
}
#endif

void ck_dequantize_rows_q4_1(ck_path path, const void *w, int k, int row_begin, int row_end, float *out) {
    size_t row_blocks = (size_t)(k / CK_BLOCK), blocks = (size_t)(row_end - row_begin) * row_blocks;
    const uint8_t *first = (const uint8_t *)w + (size_t)row_begin * row_blocks * CK_Q4_1_BYTES;
#if defined(__x86_64__)
    if (path == CK_PATH_AVX512 && ck_path_supported(path)) {
        q4_1_rows_avx512(first, blocks, out);
        return;
    }
    if (path == CK_PATH_AVX2 && ck_path_supported(path)) {
        q4_1_rows_avx2(first, blocks, out);
        return;
    }
#endif
    ck_decode_q4_1_scalar(first, blocks, out);
}

void ck_dequantize_rows_q8_0(ck_path path, const void *w, int k, int row_begin, int row_end, float *out) {
    size_t row_blocks = (size_t)(k / CK_BLOCK), blocks = (size_t)(row_end - row_begin) * row_blocks;
    const uint8_t *first = (const uint8_t *)w + (size_t)row_begin * row_blocks * CK_Q8_0_BYTES;
#if defined(__x86_64__)
    if (path == CK_PATH_AVX512 && ck_path_supported(path)) {
        q8_0_rows_avx512(first, blocks, out);
        return;
    }
    if (path == CK_PATH_AVX2 && ck_path_supported(path)) {
        q8_0_rows_avx2(first, blocks, out);
        return;
    }
#endif
    ck_decode_q8_0_scalar(first, blocks, out);
}
