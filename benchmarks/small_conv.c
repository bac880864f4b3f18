/* How fast a plain direct 3x3 convolution can run on one core when it vectorises over the image width instead of
 * the channels: the runtimes' blocked layouts pad an 18-channel layer to 24 (8-channel AVX2 blocks), so their
 * small-channel layers run far below the peak (benchmarks/RESULTS.md, "Per-shape convolution rates"). This kernel
 * (planar layout with a zero border, 6 output channels x 16 pixels in 12 AVX2 accumulators, bias + ReLU) is a
 * probe, not part of hrvision: it checks its output against a naive loop, then times C -> C channels at H x W.
 *
 *     gcc -O3 -march=native benchmarks/small_conv.c -o /tmp/small_conv && /tmp/small_conv 18 64 64 45.9
 *     (arguments: channels (a multiple of 6), height, width (a multiple of 16), the core's peak G MAC/s)
 */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COB 6   /* output channels per register block (x 2 vectors of 8 pixels = 12 accumulators) */

/* in: C planes of (H + 2) x WP with a zero border; w: [C / COB][C][3][3][COB]; out: same layout as in */
static void conv3x3_relu(const float *in, int C, int H, int W, int WP, const float *w, const float *bias,
                         float *out) {
    size_t plane = (size_t)(H + 2) * WP;
    for (int cob = 0; cob < C; cob += COB)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x += 16) {
                __m256 acc[COB][2];
                for (int j = 0; j < COB; j++) acc[j][0] = acc[j][1] = _mm256_set1_ps(bias[cob + j]);
                const float *wp = w + (size_t)cob * C * 9;
                for (int ci = 0; ci < C; ci++) {
                    const float *row = in + ci * plane + (size_t)y * WP + x;
                    for (int ky = 0; ky < 3; ky++, row += WP)
                        for (int kx = 0; kx < 3; kx++, wp += COB) {
                            __m256 v0 = _mm256_loadu_ps(row + kx), v1 = _mm256_loadu_ps(row + kx + 8);
                            for (int j = 0; j < COB; j++) {
                                __m256 b = _mm256_broadcast_ss(wp + j);
                                acc[j][0] = _mm256_fmadd_ps(b, v0, acc[j][0]);
                                acc[j][1] = _mm256_fmadd_ps(b, v1, acc[j][1]);
                            }
                        }
                }
                float *o = out + (size_t)cob * plane + (size_t)(y + 1) * WP + x + 1;
                for (int j = 0; j < COB; j++, o += plane) {
                    _mm256_storeu_ps(o, _mm256_max_ps(acc[j][0], _mm256_setzero_ps()));
                    _mm256_storeu_ps(o + 8, _mm256_max_ps(acc[j][1], _mm256_setzero_ps()));
                }
            }
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s CHANNELS HEIGHT WIDTH [PEAK_GMACS]\n", argv[0]);
        return 2;
    }
    int C = atoi(argv[1]), H = atoi(argv[2]), W = atoi(argv[3]);
    double peak = argc > 4 ? atof(argv[4]) : 0;
    if (C <= 0 || C % COB || H <= 0 || W <= 0 || W % 16) {
        fprintf(stderr, "channels must be a multiple of %d and width a multiple of 16\n", COB);
        return 2;
    }
    int WP = W + 16;   /* the zero border and room for the last block's unaligned loads */
    size_t n = (size_t)C * (H + 2) * WP;
    float *a = calloc(n + 64, 4), *b = calloc(n + 64, 4), *w = malloc((size_t)C * C * 9 * 4), *bias = calloc(C, 4);
    srand(1);
    for (int c = 0; c < C; c++)
        for (int y = 1; y <= H; y++)
            for (int x = 1; x <= W; x++) a[((size_t)c * (H + 2) + y) * WP + x] = (rand() % 100) / 100.f;
    for (size_t i = 0; i < (size_t)C * C * 9; i++) w[i] = ((rand() % 100) - 50) / (50.f * C * 9);
    conv3x3_relu(a, C, H, W, WP, w, bias, b);
    double maxd = 0;   /* against the naive loop */
    for (int co = 0; co < C; co++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                double s = 0;
                for (int ci = 0; ci < C; ci++)
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++)
                            s += w[(size_t)(co / COB) * COB * C * 9 + ((ci * 3 + ky) * 3 + kx) * COB + co % COB]
                                 * a[((size_t)ci * (H + 2) + y + ky) * WP + x + kx];
                double d = (s > 0 ? s : 0) - b[((size_t)co * (H + 2) + y + 1) * WP + x + 1];
                if (d < 0) d = -d;
                if (d > maxd) maxd = d;
            }
    double macs = (double)C * C * 9 * H * W;
    int reps = (int)(2e9 / macs) + 1;
    double best = 1e30;
    for (int k = 0; k < 7; k++) {   /* the best of 7 timings: a probe of the kernel, not of the machine's load */
        double t0 = now();
        for (int r = 0; r < reps; r++) conv3x3_relu(r & 1 ? b : a, C, H, W, WP, w, bias, r & 1 ? a : b);
        double t = (now() - t0) / reps;
        if (t < best) best = t;
    }
    printf("%d -> %d channels, 3x3 at %dx%d: max difference from the naive loop %.1e; %.1f G multiply-adds/s",
           C, C, H, W, maxd, macs / best / 1e9);
    if (peak > 0) printf(" (%.0f%% of %.1f)", 100 * macs / best / 1e9 / peak, peak);
    printf("\n");
    return maxd < 1e-4 ? 0 : 1;
}
