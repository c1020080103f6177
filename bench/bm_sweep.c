/*
 * bm_sweep: throughput of the sequential Gibbs schemes of a general
 * Boltzmann machine, in site updates per second, measured in one run.
 *
 * A dense model (W, V and U all present, D visible and K hidden units,
 * random couplings) is swept by the one-unit-at-a-time loop (SITE) and by
 * the blocked scheme (BLOCKED), in alternating rounds from the same
 * states. A lattice model (V on the 28 x 28 grid, no hidden units) is swept
 * by SITE and by the colour-class scheme (COLORED). Each line reports the
 * median, minimum and maximum seconds per sweep over the rounds, the site
 * updates per second at the median, and the speed-up over SITE.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ebm.h"

static double seconds_now(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + 1e-9 * (double)now.tv_nsec;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: bm_sweep [--visible D] [--hidden K] [--chains C]\n"
            "                [--rounds R] [--threads T] [--json] "
            "[--quick]\n"
            "\n"
            "Times one Gibbs sweep of C chains of a dense BM (W, V, U) by\n"
            "the one-unit-at-a-time loop and by the blocked scheme, and of\n"
            "a 28 x 28 lattice BM by the loop and by the colour-class\n"
            "scheme, alternating round by round. Defaults: D = 784,\n"
            "K = 100, C = 100, R = 5, T = 2. --quick: R = 1, C = 10.\n");
}

/* Fills values with uniform numbers in [-scale, scale] from (seed, i). */
static void fill_uniform(float *values, size_t count, float scale,
                         uint64_t seed)
{
    for (size_t i = 0; i < count; i++)
        values[i] = scale * (2.0f * ebm_rng_uniform(seed, 0, i) - 1.0f);
}

/* A symmetric n x n coupling matrix with zero diagonal, or one restricted
 * to mask. */
static void fill_symmetric(float *values, size_t n, float scale,
                           uint64_t seed, const unsigned char *mask)
{
    for (size_t i = 0; i < n; i++) {
        values[i * n + i] = 0.0f;
        for (size_t j = i + 1; j < n; j++) {
            float x = scale *
                      (2.0f * ebm_rng_uniform(seed, 0, i * n + j) - 1.0f);

            if (mask != NULL && mask[i * n + j] == 0)
                x = 0.0f;
            values[i * n + j] = values[j * n + i] = x;
        }
    }
}

static int check(ebm_status status, const char *what)
{
    if (status == EBM_OK)
        return 0;
    fprintf(stderr, "bm_sweep: %s failed: %s: %s\n", what,
            ebm_status_name(status), ebm_last_error());
    return 1;
}

struct measurement {
    const char *model;
    const char *scheme;
    double seconds[64];
};

/* Runs one sweep of every scheme per round, in alternating order. */
static int measure(const ebm_bm *bm, size_t d, size_t k, size_t chains,
                   size_t rounds, const ebm_bm_sampler schemes[2],
                   struct measurement out[2])
{
    float *start_v = malloc(chains * d * sizeof(float));
    float *start_h = malloc((chains * k + 1) * sizeof(float));
    float *v = malloc(chains * d * sizeof(float));
    float *h = malloc((chains * k + 1) * sizeof(float));
    ebm_rng rng;
    int failed = 0;

    if (start_v == NULL || start_h == NULL || v == NULL || h == NULL) {
        fprintf(stderr, "bm_sweep: out of memory\n");
        failed = 1;
    }
    for (size_t i = 0; !failed && i < chains * d; i++)
        start_v[i] = ebm_rng_uniform(5, 1, i) < 0.5f ? 1.0f : 0.0f;
    for (size_t i = 0; !failed && i < chains * k; i++)
        start_h[i] = ebm_rng_uniform(5, 2, i) < 0.5f ? 1.0f : 0.0f;
    ebm_rng_init(&rng, 1);
    /* A warm-up sweep of each scheme, then the rounds. */
    for (size_t round = 0; !failed && round <= rounds; round++)
        for (size_t s = 0; s < 2 && !failed; s++) {
            size_t which = (round + s) % 2;
            double begin;

            memcpy(v, start_v, chains * d * sizeof(float));
            memcpy(h, start_h, chains * k * sizeof(float));
            begin = seconds_now();
            failed = check(ebm_bm_gibbs(bm, v, k > 0 ? h : NULL, chains, 1,
                                        1.0f, NULL, schemes[which], &rng),
                           "ebm_bm_gibbs");
            if (round > 0)
                out[which].seconds[round - 1] = seconds_now() - begin;
        }
    free(start_v);
    free(start_h);
    free(v);
    free(h);
    return failed;
}

static void report(const struct measurement m[2], size_t units,
                   size_t chains, size_t rounds, int threads, bool json)
{
    double median[2];

    for (size_t s = 0; s < 2; s++) {
        double sorted[64];

        memcpy(sorted, m[s].seconds, rounds * sizeof(double));
        qsort(sorted, rounds, sizeof(double), compare_doubles);
        median[s] = sorted[rounds / 2];
    }
    for (size_t s = 0; s < 2; s++) {
        double min = m[s].seconds[0], max = m[s].seconds[0];
        double rate = (double)(units * chains) / median[s];

        for (size_t r = 1; r < rounds; r++) {
            min = m[s].seconds[r] < min ? m[s].seconds[r] : min;
            max = m[s].seconds[r] > max ? m[s].seconds[r] : max;
        }
        if (json)
            printf("{\"kernel\": \"bm_sweep\", \"model\": \"%s\", "
                   "\"scheme\": \"%s\", \"units\": %zu, \"chains\": %zu, "
                   "\"threads\": %d, \"seconds_median\": %.6g, "
                   "\"seconds_min\": %.6g, \"seconds_max\": %.6g, "
                   "\"site_updates_per_sec\": %.6g, "
                   "\"speedup_vs_site\": %.4g}\n",
                   m[s].model, m[s].scheme, units, chains, threads,
                   median[s], min, max, rate, median[0] / median[s]);
        else
            printf("%-8s %-8s %6zu %6zu %3d %10.3f %10.3f %10.3f %12.4g "
                   "%8.2f\n",
                   m[s].model, m[s].scheme, units, chains, threads,
                   1e3 * median[s], 1e3 * min, 1e3 * max, rate,
                   median[0] / median[s]);
    }
}

int main(int argc, char **argv)
{
    size_t d = 784, k = 100, chains = 100, rounds = 5;
    int threads = 2;
    bool json = false;
    ebm_bm *dense = NULL, *lattice = NULL;
    float *buffer;
    struct measurement m[2];
    static const ebm_bm_sampler dense_schemes[2] = {EBM_SAMPLER_SITE,
                                                    EBM_SAMPLER_BLOCKED};
    static const ebm_bm_sampler lattice_schemes[2] = {EBM_SAMPLER_SITE,
                                                      EBM_SAMPLER_COLORED};
    int failed;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(arg, "--json") == 0) {
            json = true;
        } else if (strcmp(arg, "--quick") == 0) {
            rounds = 1;
            chains = 10;
        } else if (strcmp(arg, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (value != NULL && (strcmp(arg, "--visible") == 0 ||
                                     strcmp(arg, "--hidden") == 0 ||
                                     strcmp(arg, "--chains") == 0 ||
                                     strcmp(arg, "--rounds") == 0 ||
                                     strcmp(arg, "--threads") == 0)) {
            char *end;
            unsigned long long n = strtoull(value, &end, 10);

            if (*end != '\0' || end == value || n > 100000000) {
                fprintf(stderr, "bm_sweep: invalid %s value '%s'\n", arg,
                        value);
                return 2;
            }
            if (strcmp(arg, "--visible") == 0)
                d = (size_t)n;
            else if (strcmp(arg, "--hidden") == 0)
                k = (size_t)n;
            else if (strcmp(arg, "--chains") == 0)
                chains = (size_t)n;
            else if (strcmp(arg, "--rounds") == 0)
                rounds = (size_t)n;
            else
                threads = (int)n;
            i++;
        } else {
            fprintf(stderr, "bm_sweep: unknown or incomplete option '%s'\n",
                    arg);
            usage(stderr);
            return 2;
        }
    }
    if (d == 0 || chains == 0 || rounds == 0 || rounds > 64 ||
        threads < 1) {
        fprintf(stderr, "bm_sweep: D, C and T must be at least 1 and R in "
                        "1 .. 64\n");
        return 2;
    }
    if (check(ebm_set_threads(threads), "ebm_set_threads"))
        return 1;

    buffer = malloc((d * d + d * k + k * k) * sizeof(float));
    failed = buffer == NULL;
    failed = failed || check(ebm_bm_create(d, k,
                                           EBM_BM_VISIBLE_VISIBLE |
                                               (k > 0
                                                    ? EBM_BM_VISIBLE_HIDDEN |
                                                          EBM_BM_HIDDEN_HIDDEN
                                                    : 0),
                                           &dense),
                             "ebm_bm_create");
    if (!failed) {
        fill_symmetric(buffer, d, 0.05f, 21, NULL);
        failed = check(ebm_bm_set_visible_couplings(dense, buffer),
                       "ebm_bm_set_visible_couplings");
    }
    if (!failed && k > 0) {
        fill_uniform(buffer, d * k, 0.05f, 22);
        failed = check(ebm_bm_set_weights(dense, buffer), "set weights");
        fill_symmetric(buffer, k, 0.05f, 23, NULL);
        failed = failed || check(ebm_bm_set_hidden_couplings(dense, buffer),
                                 "ebm_bm_set_hidden_couplings");
    }
    if (!json)
        printf("model    scheme    units chains thr  median ms     min ms"
               "     max ms  site upd/s  x site\n");
    if (!failed) {
        m[0] = (struct measurement){.model = "dense", .scheme = "site"};
        m[1] = (struct measurement){.model = "dense", .scheme = "blocked"};
        failed = measure(dense, d, k, chains, rounds, dense_schemes, m);
        if (!failed)
            report(m, d + k, chains, rounds, threads, json);
    }

    failed = failed ||
             check(ebm_bm_create(784, 0, EBM_BM_VISIBLE_VISIBLE, &lattice),
                   "ebm_bm_create") ||
             check(ebm_bm_set_lattice(lattice, 28, 28), "ebm_bm_set_lattice");
    if (!failed) {
        m[0] = (struct measurement){.model = "lattice", .scheme = "site"};
        m[1] = (struct measurement){.model = "lattice", .scheme = "colored"};
        failed = measure(lattice, 784, 0, chains, rounds, lattice_schemes,
                         m);
        if (!failed)
            report(m, 784, chains, rounds, threads, json);
    }
    ebm_bm_destroy(dense);
    ebm_bm_destroy(lattice);
    free(buffer);
    return failed ? 1 : 0;
}
