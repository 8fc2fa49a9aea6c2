/* Fused PONO forward and backward for float32 CPU tensors, called from pono_gan/layers/pono_kernel.py via ctypes.
 *
 * Plain C (no torch headers), compiled at first use with the system compiler and OpenMP. Two layouts:
 *   nchw: x is (B, C, P) with P = H * W contiguous positions; a task is one sample and a chunk of positions
 *         (whole rows where they fit, see plan_nchw), accumulated row by row: all reads are long contiguous runs.
 *   nhwc: x is (B * P, C), channels contiguous (torch.channels_last); a task is one position.
 * Forward:  mean and var = E[(x - mean)^2] over the channels (biased), rstd = 1 / sqrt(var + eps),
 *           y = (x - mean) * rstd; writes y, mean, std = sqrt(var + eps) and rstd (for the backward).
 *           nchw reads x twice (moments in one pass, see pono_forward_nchw, then y), nhwc reads each position's
 *           channels three times from L1.
 * Backward: with upstream gradients gy, gm, gs (any may be NULL) for y, mean, std:
 *           dx = rstd * (gy - mean_c(gy) - y * mean_c(gy * y)) + (gm + gs * y) / C.
 *           nchw reads gy and y twice (the channel sums, then dx); where a task's blocks of them outgrow the cache,
 *           its first pass copies them into the thread's pack buffer, so the second reads them from cache (see
 *           plan_nchw; a task whose thread cannot allocate that buffer reads them from memory again).
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define MAX_CHUNK 4096 /* positions per nchw task at most (the per-position sums live on the stack) */
#define PACK_BYTES ((int64_t)256 << 10) /* a backward task's packed blocks at most: well inside L2 */
#define MIN_PACK_ROW 256                /* positions per packed row at least: shorter rows measured slower */

/* The calling thread's pack buffer of at least `floats` floats, 64-byte aligned: grown as needed and never freed
 * (at most 256 KiB a thread; OpenMP keeps its threads, so steady-state calls allocate nothing). NULL if it cannot be
 * had. */
static __thread float *pack_buffer = NULL;
static __thread size_t pack_capacity = 0;

static float *pack(size_t floats) {
    if (floats > pack_capacity) {
        free(pack_buffer);
        pack_buffer = aligned_alloc(64, (floats * sizeof(float) + 63) / 64 * 64);
        pack_capacity = pack_buffer ? floats : 0;
    }
    return pack_buffer;
}

/* Outputs of at least STREAM_MIN_BYTES are written with non-temporal (streaming) stores where the CPU has them:
 * they skip reading each line before writing it and do not evict the inputs from the cache; smaller outputs are
 * likely read again soon, from the cache. */
#if defined(__AVX__) && defined(__FMA__)
#include <immintrin.h>
#define STREAM_STORES 1
#else
#define STREAM_STORES 0
#endif
#define STREAM_MIN_BYTES ((int64_t)4 << 20)

/* The widest vector instruction-set extension the compiler's flags enabled for this build (-march=native: the
 * machine's own). Enabled, not necessarily used at full width: GCC tunes many AVX-512 CPUs to prefer 256-bit
 * vectors in the simd loops (-mprefer-vector-width=512 measured no faster on the (4, 128, 64, 64) benchmark). */
const char *pono_isa(void) {
#if defined(__AVX512F__)
    return "AVX-512";
#elif defined(__AVX2__)
    return "AVX2";
#elif defined(__AVX__)
    return "AVX";
#elif defined(__SSE2__)
    return "SSE2";
#elif defined(__ARM_FEATURE_SVE)
    return "SVE";
#elif defined(__ARM_NEON)
    return "NEON";
#else
    return "scalar";
#endif
}

/* out = (x - mu) * rs with streaming stores; 0 (nothing written) where out is not 32-byte aligned or n % 8 != 0 */
static inline int normalize_streaming(float *out, const float *x, const float *mu, const float *rs, int64_t n) {
#if STREAM_STORES
    if (((uintptr_t)out & 31) || (n & 7)) return 0;
    for (int64_t p = 0; p < n; p += 8) {
        const __m256 centered = _mm256_sub_ps(_mm256_loadu_ps(x + p), _mm256_loadu_ps(mu + p));
        _mm256_stream_ps(out + p, _mm256_mul_ps(centered, _mm256_loadu_ps(rs + p)));
    }
    return 1;
#else
    (void)out, (void)x, (void)mu, (void)rs, (void)n;
    return 0;
#endif
}

/* out = a * (g - g_mean) + k * y + d with streaming stores, under the same conditions as normalize_streaming */
static inline int gradient_streaming(float *out, const float *g, const float *y, const float *a, const float *g_mean,
                                     const float *k, const float *d, int64_t n) {
#if STREAM_STORES
    if (((uintptr_t)out & 31) || (n & 7)) return 0;
    for (int64_t p = 0; p < n; p += 8) {
        const __m256 centered = _mm256_sub_ps(_mm256_loadu_ps(g + p), _mm256_loadu_ps(g_mean + p));
        const __m256 linear = _mm256_fmadd_ps(_mm256_loadu_ps(k + p), _mm256_loadu_ps(y + p), _mm256_loadu_ps(d + p));
        _mm256_stream_ps(out + p, _mm256_fmadd_ps(_mm256_loadu_ps(a + p), centered, linear));
    }
    return 1;
#else
    (void)out, (void)g, (void)y, (void)a, (void)g_mean, (void)k, (void)d, (void)n;
    return 0;
#endif
}

/* orders this thread's streaming stores before whatever reads the output next */
static inline void store_fence(void) {
#if STREAM_STORES
    _mm_sfence();
#endif
}

/* How the nchw kernels split (B, C, P) into tasks: `chunks` chunks of `chunk` positions per sample. Whole rows where
 * they fit: a sample's (C, P) slab is then read as one contiguous stream, which the hardware prefetchers follow
 * (blocks of short rows at a stride of P floats defeat them, and with a power-of-two stride every row of a block maps
 * to the same cache sets). Rows are split when P exceeds MAX_CHUNK (the per-position accumulators stay in L1 / L2)
 * or when there are fewer samples than threads.
 * With `packed` tensors (the backward's gy and y), where a task's blocks of them would exceed 2 * PACK_BYTES (more than
 * L2 keeps for a second pass), tasks are cut to blocks of at most PACK_BYTES and `pack` is set, as long as their
 * rows keep at least MIN_PACK_ROW positions (so C <= 128 at 256 KiB). Measured on (4, 128, 64, 64) and (8, 64, 128,
 * 128), the backward then takes about 12% less time; with C >= 256 (rows of 128 positions or fewer) it took 6 to 26%
 * more. */
typedef struct {
    int64_t chunk, chunks;
    int stream; /* write the output with streaming stores */
    int pack;   /* copy the blocks into the pack buffer in the first pass, read them from there in the second */
} Plan;

static Plan plan_chunks(int64_t batch, int64_t channels, int64_t positions, int threads, int64_t most, int pack) {
    int64_t chunks = (positions + most - 1) / most;
    if (batch * chunks < threads) chunks = (threads + batch - 1) / batch;
    int64_t chunk = (positions + chunks - 1) / chunks;
    chunk = (chunk + 15) & ~(int64_t)15; /* whole 64-byte lines where the rows allow it */
    chunk = chunk < positions ? chunk : positions;
    const int stream = STREAM_STORES && batch * channels * positions * (int64_t)sizeof(float) >= STREAM_MIN_BYTES;
    return (Plan){chunk, (positions + chunk - 1) / chunk, stream, pack};
}

static Plan plan_nchw(int64_t batch, int64_t channels, int64_t positions, int threads, int packed) {
    const Plan whole = plan_chunks(batch, channels, positions, threads, MAX_CHUNK, 0);
    const int64_t row_bytes = (int64_t)sizeof(float) * channels * packed;
    if (!packed || whole.chunk * row_bytes <= 2 * PACK_BYTES) return whole;
    const int64_t fitting = PACK_BYTES / row_bytes & ~(int64_t)15; /* positions whose blocks fit in PACK_BYTES */
    if (fitting < MIN_PACK_ROW) return whole;
    const Plan cut = plan_chunks(batch, channels, positions, threads, fitting, 1);
    return cut.chunk < MIN_PACK_ROW ? whole : cut;
}

/* task's sample b, first position p0 and number of positions n */
static inline void task_range(Plan plan, int64_t positions, int64_t task, int64_t *b, int64_t *p0, int64_t *n) {
    *b = task / plan.chunks;
    *p0 = (task % plan.chunks) * plan.chunk;
    *n = positions - *p0 < plan.chunk ? positions - *p0 : plan.chunk;
}

/* The one-pass variance is kept where E[(x - shift)^2] <= MAX_CANCELLATION * var, i.e. where at most a factor 16
 * of float32 rounding is lost to cancellation; elsewhere in the chunk the variance is recomputed in two passes. */
#define MAX_CANCELLATION 16.0

/* channels read together per pass over a chunk: the forward's float partial sums of x - shift and of its square
 * (added to double sums), the backward's of gy and gy * y (added to float sums); fewer passes over the per-position
 * sums, each a few streams the prefetchers follow */
#define ROWS 8
#define GRAD_ROWS 4

void pono_forward_nchw(const float *restrict x, float *restrict y, float *restrict mean, float *restrict std,
                       float *restrict rstd, int64_t batch, int64_t channels, int64_t positions, double eps, int threads) {
    const Plan plan = plan_nchw(batch, channels, positions, threads, 0);
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
    for (int64_t task = 0; task < batch * plan.chunks; task++) {
        int64_t b, p0, n;
        task_range(plan, positions, task, &b, &p0, &n);
        const int64_t heads = channels < 4 ? channels : 4;
        const float *xs = x + b * channels * positions + p0;
        float *ys = y + b * channels * positions + p0;
        float shift[MAX_CHUNK], mu[MAX_CHUNK], rs[MAX_CHUNK];
        double s1[MAX_CHUNK], s2[MAX_CHUNK];
        /* Moments in one pass, of x - shift with shift the mean of the first (up to) four channels, close to the
         * mean: var = E[(x - shift)^2] - E[x - shift]^2 then loses few digits to cancellation. */
        for (int64_t p = 0; p < n; p++) {
            float head = 0.0f;
            for (int64_t c = 0; c < heads; c++) head += xs[c * positions + p];
            shift[p] = head / (float)heads;
            s1[p] = s2[p] = 0.0;
        }
        int64_t c = 0;
        for (; c + ROWS <= channels; c += ROWS) {
            const float *rows = xs + c * positions;
#pragma omp simd
            for (int64_t p = 0; p < n; p++) {
                float a = 0.0f, q = 0.0f;
                for (int j = 0; j < ROWS; j++) {
                    const float d = rows[j * positions + p] - shift[p];
                    a += d;
                    q += d * d;
                }
                s1[p] += a;
                s2[p] += q;
            }
        }
        for (; c < channels; c++) {
            const float *row = xs + c * positions;
#pragma omp simd
            for (int64_t p = 0; p < n; p++) {
                const float d = row[p] - shift[p];
                s1[p] += d;
                s2[p] += d * d;
            }
        }
        int exact = 0;
        for (int64_t p = 0; p < n; p++) {
            const double m = s1[p] / channels, q = s2[p] / channels, var = q - m * m;
            mu[p] = (float)(shift[p] + m);
            rs[p] = (float)var;
            exact |= !(q <= MAX_CANCELLATION * var); /* NaN and rounding below zero take the exact pass too */
        }
        /* Where the shift was far from the mean (q >> var), the two-pass variance: a second pass over x - mean. */
        if (exact) {
            for (int64_t p = 0; p < n; p++) s2[p] = 0.0;
            for (c = 0; c < channels; c++) {
                const float *row = xs + c * positions;
#pragma omp simd
                for (int64_t p = 0; p < n; p++) s2[p] += (row[p] - mu[p]) * (row[p] - mu[p]);
            }
            for (int64_t p = 0; p < n; p++) rs[p] = (float)(s2[p] / channels);
        }
        for (int64_t p = 0; p < n; p++) {
            const double s = sqrt((double)rs[p] + eps);
            const int64_t o = b * positions + p0 + p;
            mean[o] = mu[p];
            std[o] = (float)s;
            rstd[o] = rs[p] = (float)(1.0 / s);
        }
        for (c = 0; c < channels; c++) {
            const float *row = xs + c * positions;
            float *out = ys + c * positions;
            if (plan.stream && normalize_streaming(out, row, mu, rs, n)) continue;
#pragma omp simd
            for (int64_t p = 0; p < n; p++) out[p] = (row[p] - mu[p]) * rs[p];
        }
        if (plan.stream) store_fence();
    }
}

/* dx = rstd * (gy - mean_c(gy)) + k * y + d at one position, from the channel sums s1 = sum gy and s2 = sum gy * y:
 * k = (gs - rstd * s2) / C and d = gm / C. Centring gy before scaling keeps dx exact where rstd is large (C = 1:
 * y = 0 and rstd = 1 / sqrt(eps)), where rstd * gy - rstd * mean(gy) would cancel. */
static inline void backward_coefficients(float s1, float s2, float rstd, const float *gm, const float *gs, int64_t o,
                                         float channels, float *g_mean, float *k, float *d) {
    *g_mean = s1 / channels;
    *k = ((gs ? gs[o] : 0.0f) - rstd * s2) / channels;
    *d = gm ? gm[o] / channels : 0.0f;
}

void pono_backward_nchw(const float *restrict gy, const float *restrict y, const float *restrict rstd,
                        const float *restrict gm, const float *restrict gs, float *restrict gx, int64_t batch,
                        int64_t channels, int64_t positions, int threads) {
    const Plan plan = plan_nchw(batch, channels, positions, threads, gy ? 2 : 0); /* without gy, y is read once */
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
    for (int64_t task = 0; task < batch * plan.chunks; task++) {
        int64_t b, p0, n;
        task_range(plan, positions, task, &b, &p0, &n);
        /* gy's and y's packed blocks, row c at c * n, in one buffer */
        float *const buffer = plan.pack ? pack((size_t)2 * channels * plan.chunk) : NULL;
        const int packing = buffer != NULL;
        float *restrict pg = buffer, *restrict py = packing ? buffer + channels * n : NULL;
        const int64_t base = b * channels * positions + p0;
        const float *ys = y + base;
        float *out = gx + base;
        float s1[MAX_CHUNK], s2[MAX_CHUNK], a[MAX_CHUNK], k[MAX_CHUNK], d[MAX_CHUNK];
        for (int64_t p = 0; p < n; p++) s1[p] = s2[p] = 0.0f;
        if (gy) {
            const float *g = gy + base;
            int64_t c = 0;
            for (; c + GRAD_ROWS <= channels; c += GRAD_ROWS) {
                const float *g0 = g + c * positions, *y0 = ys + c * positions;
#pragma omp simd
                for (int64_t p = 0; p < n; p++) {
                    float a1 = 0.0f, a2 = 0.0f;
                    for (int j = 0; j < GRAD_ROWS; j++) {
                        const float gv = g0[j * positions + p], yv = y0[j * positions + p];
                        if (packing) {
                            pg[(c + j) * n + p] = gv;
                            py[(c + j) * n + p] = yv;
                        }
                        a1 += gv;
                        a2 += gv * yv;
                    }
                    s1[p] += a1;
                    s2[p] += a2;
                }
            }
            for (; c < channels; c++) {
                const float *g0 = g + c * positions, *y0 = ys + c * positions;
#pragma omp simd
                for (int64_t p = 0; p < n; p++) {
                    if (packing) {
                        pg[c * n + p] = g0[p];
                        py[c * n + p] = y0[p];
                    }
                    s1[p] += g0[p];
                    s2[p] += g0[p] * y0[p];
                }
            }
        }
        for (int64_t p = 0; p < n; p++) {
            const int64_t o = b * positions + p0 + p;
            a[p] = rstd[o];
            backward_coefficients(s1[p], s2[p], rstd[o], gm, gs, o, (float)channels, &s1[p], &k[p], &d[p]);
        }
        for (int64_t c = 0; c < channels; c++) {
            const float *y0 = packing ? py + c * n : ys + c * positions;
            float *o0 = out + c * positions;
            if (gy) {
                const float *g0 = packing ? pg + c * n : gy + base + c * positions;
                if (plan.stream && gradient_streaming(o0, g0, y0, a, s1, k, d, n)) continue;
#pragma omp simd
                for (int64_t p = 0; p < n; p++) o0[p] = a[p] * (g0[p] - s1[p]) + k[p] * y0[p] + d[p];
            } else {
#pragma omp simd
                for (int64_t p = 0; p < n; p++) o0[p] = k[p] * y0[p] + d[p];
            }
        }
        if (plan.stream) store_fence();
    }
}

void pono_forward_nhwc(const float *restrict x, float *restrict y, float *restrict mean, float *restrict std,
                       float *restrict rstd, int64_t rows, int64_t channels, double eps, int threads) {
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
    for (int64_t r = 0; r < rows; r++) {
        const float *row = x + r * channels;
        float *out = y + r * channels;
        double sum = 0.0;
#pragma omp simd reduction(+ : sum)
        for (int64_t c = 0; c < channels; c++) sum += row[c];
        const float mu = (float)(sum / channels);
        float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
        for (int64_t c = 0; c < channels; c++) acc += (row[c] - mu) * (row[c] - mu);
        const double s = sqrt((double)acc / channels + eps);
        const float rs = (float)(1.0 / s);
        mean[r] = mu;
        std[r] = (float)s;
        rstd[r] = rs;
#pragma omp simd
        for (int64_t c = 0; c < channels; c++) out[c] = (row[c] - mu) * rs;
    }
}

void pono_backward_nhwc(const float *restrict gy, const float *restrict y, const float *restrict rstd,
                        const float *restrict gm, const float *restrict gs, float *restrict gx, int64_t rows,
                        int64_t channels, int threads) {
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
    for (int64_t r = 0; r < rows; r++) {
        const float *yr = y + r * channels, *g = gy ? gy + r * channels : NULL;
        float *out = gx + r * channels;
        float s1 = 0.0f, s2 = 0.0f, g_mean, k, d;
        if (g) {
#pragma omp simd reduction(+ : s1, s2)
            for (int64_t c = 0; c < channels; c++) {
                s1 += g[c];
                s2 += g[c] * yr[c];
            }
        }
        backward_coefficients(s1, s2, rstd[r], gm, gs, r, (float)channels, &g_mean, &k, &d);
        if (g) {
            const float a = rstd[r];
#pragma omp simd
            for (int64_t c = 0; c < channels; c++) out[c] = a * (g[c] - g_mean) + k * yr[c] + d;
        } else {
#pragma omp simd
            for (int64_t c = 0; c < channels; c++) out[c] = k * yr[c] + d;
        }
    }
}
