/* Peak fp32 multiply-add rate of one CPU core (AVX-512 FMA, 12 independent accumulators), the ceiling for any
 * direct fp32 convolution on this machine; benchmarks/RESULTS.md sets the end-to-end rates against it.
 *
 *     gcc -O2 -mavx512f benchmarks/fma_peak.c -o /tmp/fma_peak && /tmp/fma_peak
 */
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

int main(void) {
    __m512 acc[12];
    const __m512 b = _mm512_set1_ps(1.0000001f), c = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < 12; i++) acc[i] = _mm512_set1_ps((float)i);
    const long rounds = 2000000000L / 12;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long k = 0; k < rounds; k++) {
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++) acc[i] = _mm512_fmadd_ps(acc[i], b, c);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    const double s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
    float sum = 0;   /* keeps the loop from being optimised away */
    for (int i = 0; i < 12; i++) sum += _mm512_reduce_add_ps(acc[i]);
    printf("one core, fp32 AVX-512 FMA: %.1f G multiply-adds/s (%.2f s, checksum %g)\n", rounds * 12.0 * 16 / s / 1e9, s, sum);
    return 0;
}
