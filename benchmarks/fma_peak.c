/* Peak fp32 multiply-add rate of one CPU core (the widest FMA the compiler is given: AVX-512 or AVX2, 12 independent
 * accumulators), the ceiling for any direct fp32 convolution on this machine; benchmarks/RESULTS.md sets the
 * end-to-end rates against it.
 *
 *     gcc -O2 -march=native benchmarks/fma_peak.c -o /tmp/fma_peak && /tmp/fma_peak
 */
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

#if defined(__AVX512F__)
typedef __m512 vec;
#define LANES 16
#define ISA "AVX-512"
#define SET1 _mm512_set1_ps
#define FMA _mm512_fmadd_ps
static float vsum(vec v) { return _mm512_reduce_add_ps(v); }
#elif defined(__AVX2__) && defined(__FMA__)
typedef __m256 vec;
#define LANES 8
#define ISA "AVX2"
#define SET1 _mm256_set1_ps
#define FMA _mm256_fmadd_ps
static float vsum(vec v) { float t[8]; _mm256_storeu_ps(t, v); return t[0]+t[1]+t[2]+t[3]+t[4]+t[5]+t[6]+t[7]; }
#else
#error "needs AVX-512 or AVX2 with FMA (compile with -march=native)"
#endif

int main(void) {
    vec acc[12];
    const vec b = SET1(1.0000001f), c = SET1(1e-7f);
    for (int i = 0; i < 12; i++) acc[i] = SET1((float)i);
    const long rounds = 2000000000L / 12;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long k = 0; k < rounds; k++) {
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++) acc[i] = FMA(acc[i], b, c);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    const double s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
    float sum = 0;   /* keeps the loop from being optimised away */
    for (int i = 0; i < 12; i++) sum += vsum(acc[i]);
    printf("one core, fp32 %s FMA: %.1f G multiply-adds/s (%.2f s, checksum %g)\n", ISA, rounds * 12.0 * LANES / s / 1e9,
           s, sum);
    return 0;
}
