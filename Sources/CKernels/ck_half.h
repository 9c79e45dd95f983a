// IEEE binary16 → float, portable (the SIMD paths use F16C instead).
#ifndef CK_HALF_H
#define CK_HALF_H

#include <stdint.h>
#include <string.h>

static inline float ck_half_to_float(const uint8_t *p) {
    uint16_t h = (uint16_t)(p[0] | (p[1] << 8));
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF;
    uint32_t bits;
    if (exponent == 0) {
        float magnitude = (float)mantissa * 0x1p-24f;  // zero or subnormal
        return sign ? -magnitude : magnitude;
    } else if (exponent == 0x1F) {
        bits = sign | 0x7F800000u | (mantissa << 13);
    } else {
        bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/// Bytes of one q4_1 block (d f16, m f16, 16 bytes of nibbles) and one q8_0 block (d f16, 32 int8).
enum { CK_Q4_1_BYTES = 20, CK_Q8_0_BYTES = 34 };

#endif
