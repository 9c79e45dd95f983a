// Activation quantisation and weight dequantisation (scalar; both are small beside the products).
#include <math.h>

#include "CKernels.h"
#include "ck_half.h"

void ck_quantize_rows_q16(const float *x, size_t ldx, ck_block_q16 *y, int rows, int k) {
    int blocks = k / CK_BLOCK;
    for (int r = 0; r < rows; r++) {
        const float *row = x + (size_t)r * ldx;
        for (int b = 0; b < blocks; b++) {
            const float *v = row + b * CK_BLOCK;
            ck_block_q16 *out = y + (size_t)r * blocks + b;
            float amax = 0;
            for (int j = 0; j < CK_BLOCK; j++) amax = fmaxf(amax, fabsf(v[j]));
            float d = amax / 32767.0f;
            float inverse = d != 0 ? 1.0f / d : 0;
            int sum = 0;
            for (int j = 0; j < CK_BLOCK; j++) {
                int q = (int)lrintf(v[j] * inverse);
                out->q[j] = (int16_t)q;
                sum += q;
            }
            out->d = d;
            out->s = d * (float)sum;
        }
    }
}

void ck_dequantize_rows_q4_1(const void *w, int k, int row_begin, int row_end, float *out) {
    int blocks = k / CK_BLOCK;
    const uint8_t *base = (const uint8_t *)w;
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

void ck_dequantize_rows_q8_0(const void *w, int k, int row_begin, int row_end, float *out) {
    int blocks = k / CK_BLOCK;
    const uint8_t *base = (const uint8_t *)w;
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
