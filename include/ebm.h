/*
 * libebm: energy-based models (restricted Boltzmann machines) on the CPU.
 *
 * Notation, used in every comment below:
 *
 *   v        visible vector of size D (n_visible), h hidden vector of size K
 *   W        D x K weights, row-major: W[i * K + k] couples v_i and h_k
 *   a, b     visible bias (D) and hidden bias (K)
 *   E(v, h)  = -a.v - b.h - v'Wh
 *   p(v, h)  = exp(-E(v, h) / T) / Z(T), T the temperature (1 unless given)
 *   F_T(v)   = -a.v - T * sum_k softplus((b_k + v.W[:, k]) / T), the free
 *              energy, so that p(v) = exp(-F_T(v) / T) / Z(T)
 *   sigmoid(x) = 1 / (1 + exp(-x)), softplus(x) = log(1 + exp(x))
 *
 * A minibatch is a rows x D (or rows x K) matrix of floats, row-major, one
 * sample per row.
 *
 * Conventions for every function in this header:
 *
 * - Functions that can fail return an ebm_status. On failure they leave
 *   every object they were given as it was, write nothing to their output
 *   arguments unless stated, and set a per-thread detail message that
 *   ebm_last_error() returns.
 * - Functions that cannot fail (pure math, name lookups, getters) return
 *   their value directly; getters given NULL return 0 or NULL.
 * - destroy and free functions accept NULL and do nothing.
 * - An object (model, trainer) may be used by one thread at a time. Two
 *   objects used from two threads share no state except the thread setting
 *   of ebm_set_threads().
 * - Results depend on the seed only: the same seed gives bitwise-identical
 *   results whatever the number of threads, on the same processor type and
 *   OpenBLAS build (see ebm_set_threads and docs/design.md).
 */
#ifndef EBM_H
#define EBM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(EBM_BUILDING_LIBRARY) && defined(__GNUC__)
#define EBM_API __attribute__((visibility("default")))
#else
#define EBM_API
#endif

#define EBM_VERSION_MAJOR 0
#define EBM_VERSION_MINOR 1
#define EBM_VERSION_PATCH 0

/* Library version as "MAJOR.MINOR.PATCH". */
EBM_API const char *ebm_version(void);

/* ------------------------------------------------------------------------ */
/* Status codes and error details                                           */
/* ------------------------------------------------------------------------ */

/* Status of a call. The numeric values are fixed and will not change. */
typedef enum ebm_status {
    EBM_OK = 0,
    /* An epoch callback returned nonzero and training stopped early. The
     * updates made before the stop are kept. Not an error. */
    EBM_STOPPED = 1,
    /* A required pointer argument is NULL. */
    EBM_ERR_NULL = 2,
    /* A size is zero or inconsistent with another argument. */
    EBM_ERR_SIZE = 3,
    /* A product of sizes overflows size_t. */
    EBM_ERR_OVERFLOW = 4,
    /* A scalar argument is outside its valid range (a learning rate that
     * is not finite and positive, k = 0, momentum outside [0, 1), ...). */
    EBM_ERR_ARGUMENT = 5,
    /* Input data or parameters contain NaN or an infinity. */
    EBM_ERR_NONFINITE = 6,
    /* Data outside the units' domain, e.g. a binary unit outside [0, 1]. */
    EBM_ERR_DOMAIN = 7,
    /* Dimensions of two objects do not match (model and data, model and
     * trainer, model and file). */
    EBM_ERR_MISMATCH = 8,
    /* An update would have produced a non-finite parameter; the parameters
     * were left as they were before it. Lower the learning rate. */
    EBM_ERR_DIVERGED = 9,
    /* Memory allocation failed. */
    EBM_ERR_NOMEM = 10,
    /* A file could not be opened, read, written or renamed (errno in the
     * detail message). */
    EBM_ERR_IO = 11,
    /* A file is not in the expected format or is corrupted. */
    EBM_ERR_FORMAT = 12,
    /* A file ends before the data its header declares. */
    EBM_ERR_TRUNCATED = 13,
    /* A file's format version is not one this library reads. */
    EBM_ERR_VERSION = 14,
    /* A dimension exceeds the library's limits (EBM_MAX_UNITS and
     * EBM_MAX_ELEMENTS below). */
    EBM_ERR_LIMIT = 15,
    /* A valid request that this version does not implement, such as an
     * IDX element type other than unsigned bytes. */
    EBM_ERR_UNSUPPORTED = 16,
    /* A LAPACKE routine returned info != 0 (an eigen- or singular value
     * decomposition that did not converge, or an invalid argument); the
     * detail message names the routine and gives info. */
    EBM_ERR_LAPACK = 17
} ebm_status;

/* Symbolic name of a status, e.g. "EBM_ERR_NULL"; "EBM_ERR_UNKNOWN" for a
 * value outside the enum. */
EBM_API const char *ebm_status_name(ebm_status status);

/* One-line English description of a status. */
EBM_API const char *ebm_status_message(ebm_status status);

/* Detail message of the last failing call made by this thread, such as
 * "learning_rate is nan; expected a finite value > 0". Successful calls do
 * not clear it. Returns "" if no call has failed in this thread. The
 * string stays valid until the next failing call in the same thread. */
EBM_API const char *ebm_last_error(void);

/* Largest number of units in one layer, and largest number of elements in
 * one parameter or data array, accepted by any function or file. */
#define EBM_MAX_UNITS ((size_t)1 << 24)
#define EBM_MAX_ELEMENTS ((size_t)1 << 32)

/* ------------------------------------------------------------------------ */
/* Threads                                                                  */
/* ------------------------------------------------------------------------ */

/*
 * Sets the number of threads that every libebm call uses, for the whole
 * process (one setting, shared by all models). n = 0 selects the number of
 * processors available to the process (omp_get_num_procs, which follows
 * the CPU affinity mask). The default, before any call, is the value of
 * the OMP_NUM_THREADS environment variable if set, else that number.
 *
 * libebm runs its own threads and calls OpenBLAS single-threaded from each
 * of them, in work pieces whose shapes depend on the matrix sizes only. That
 * is what makes results independent of n. To do so every libebm call that
 * multiplies matrices sets OpenBLAS to one thread (openblas_set_num_threads)
 * if it is not already, which also affects other users of OpenBLAS in the
 * same process.
 *
 * Results are reproducible bit for bit for the same seed on the same
 * processor type with the same OpenBLAS build: OpenBLAS picks its sgemm
 * kernel for the processor (OPENBLAS_CORETYPE overrides it), and different
 * kernels round differently.
 *
 * Errors: EBM_ERR_ARGUMENT if n < 0 or n > 1024. Not safe to call while
 * another thread is inside a libebm call.
 */
EBM_API ebm_status ebm_set_threads(int n);

/* Number of threads that libebm calls use. */
EBM_API int ebm_get_threads(void);

/* The BLAS that libebm runs on and the kernel it chose for this processor,
 * e.g. "OpenBLAS 0.3.21 Cooperlake", for reports that should say where a
 * result was computed. */
EBM_API const char *ebm_blas_info(void);

/* ------------------------------------------------------------------------ */
/* Numerically safe scalar functions                                        */
/* ------------------------------------------------------------------------ */

/*
 * sigmoid(x), log(sigmoid(x)) and softplus(x) = log(1 + exp(x)), exact to a
 * few units in the last place for every float, infinities included:
 * sigmoid(-inf) = 0, sigmoid(inf) = 1, softplus(-inf) = 0, softplus(inf) =
 * inf, log_sigmoid(-inf) = -inf. NaN in gives NaN out. They raise no
 * floating-point overflow, invalid or divide-by-zero exception for any
 * input. The vectorised kernels inside the library use the same formulas.
 */
EBM_API float ebm_sigmoid(float x);
EBM_API float ebm_log_sigmoid(float x);
EBM_API float ebm_softplus(float x);

/* ------------------------------------------------------------------------ */
/* Random numbers                                                           */
/* ------------------------------------------------------------------------ */

/*
 * A counter-based random stream: Philox4x32-10 (Salmon et al., "Parallel
 * random numbers: as easy as 1, 2, 3", SC 2011) keyed by a 64-bit seed.
 *
 * Every random draw is a pure function of (seed, stream, index). A sampling
 * call takes the next stream number (rng->stream, then increments it) and
 * draws the uniform with index i * n_cols + j for element (i, j) of its
 * rows x n_cols output, so two calls in a row differ, and the result never
 * depends on how the rows were divided among threads.
 *
 * The uniform for (seed, stream, index) is built from one 32-bit word of
 * the Philox block with key {lo(seed), hi(seed)} and counter {lo(block),
 * hi(block), lo(stream), hi(stream)}, where
 *
 *   block = 16 * (index / 64) + index mod 16,   word = (index mod 64) / 16
 *
 * (so 16 consecutive indices use one word of 16 consecutive blocks, which
 * vectorises), as u = ((word >> 9) + 0.5) * 2^-23, which is exact in float
 * and lies in [2^-24, 1 - 2^-24], strictly inside (0, 1).
 * A Bernoulli sample with probability p is 1 exactly when u < p.
 */
typedef struct ebm_rng {
    uint64_t seed;   /* Philox key */
    uint64_t stream; /* next stream number to use */
} ebm_rng;

/* Streams below 2^63 belong to trainers and to callers' rng objects; the
 * functions that take a seed directly use their own streams above it, so
 * that one seed can serve every purpose without repeating a draw. */
#define EBM_STREAM_INITIALIZE ((uint64_t)1 << 63)
#define EBM_STREAM_BINARIZE (EBM_STREAM_INITIALIZE + 1)

/* Sets rng to seed `seed`, stream 0. Errors: EBM_ERR_NULL. */
EBM_API ebm_status ebm_rng_init(ebm_rng *rng, uint64_t seed);

/* The uniform in (0, 1) for (seed, stream, index), as defined above. */
EBM_API float ebm_rng_uniform(uint64_t seed, uint64_t stream, uint64_t index);

/* Philox4x32-10 itself: encrypts counter[4] with key[2] into out[4]. For
 * known-answer tests and for callers who want the raw stream. */
EBM_API void ebm_philox4x32_10(const uint32_t counter[4],
                               const uint32_t key[2], uint32_t out[4]);

/* ------------------------------------------------------------------------ */
/* Data sets                                                                */
/* ------------------------------------------------------------------------ */

/* A rows x cols matrix of floats, row-major, owned by the library. */
typedef struct ebm_data {
    size_t rows;
    size_t cols;
    float *values;
} ebm_data;

/*
 * Reads an IDX file (the format of MNIST: big-endian magic 0x00 0x00 type
 * ndim, ndim 32-bit big-endian sizes, then the elements), plain or
 * gzip-compressed (detected from the content, not the name). A gzip file
 * may hold several members, whose contents are concatenated as gzip -d
 * does. Only element type 0x08 (unsigned byte) is supported; values are
 * divided by 255 into [0, 1]. The first dimension gives the rows and the
 * product of the others the columns (1 for a one-dimensional file such as
 * MNIST labels).
 *
 * The whole file is validated: a header that is not IDX, zero sizes,
 * sizes whose product overflows, fewer bytes than declared, bytes after
 * the declared data and bytes after the last gzip member are all
 * rejected. The detail message names the file. Memory grows with the
 * bytes actually read, so a header declaring a huge size cannot force a
 * huge allocation.
 *
 * On success *out owns new memory, to be released with ebm_data_free. On
 * failure *out is set to {0, 0, NULL}.
 *
 * Errors: EBM_ERR_NULL, EBM_ERR_IO (cannot open or read), EBM_ERR_FORMAT
 * (bad magic, ndim 0, trailing bytes inside or after the gzip stream,
 * corrupt gzip stream), EBM_ERR_SIZE (a zero dimension), EBM_ERR_OVERFLOW,
 * EBM_ERR_LIMIT, EBM_ERR_TRUNCATED, EBM_ERR_UNSUPPORTED (element type other
 * than 0x08), EBM_ERR_NOMEM.
 */
EBM_API ebm_status ebm_data_load_idx(const char *path, ebm_data *out);

/* Releases data->values and sets *data to {0, 0, NULL}. */
EBM_API void ebm_data_free(ebm_data *data);

/* How ebm_data_binarize turns values in [0, 1] into 0 or 1. */
typedef enum ebm_binarize_mode {
    EBM_BINARIZE_THRESHOLD = 0,  /* 1 where value >= 0.5 */
    EBM_BINARIZE_STOCHASTIC = 1  /* 1 with probability value: 1 where
                                    u < value, u the uniform of index
                                    r * cols + c of stream
                                    EBM_STREAM_BINARIZE of the seed */
} ebm_binarize_mode;

/*
 * Replaces every value by 0 or 1 in place. seed is used by
 * EBM_BINARIZE_STOCHASTIC only.
 * Errors: EBM_ERR_NULL, EBM_ERR_ARGUMENT (unknown mode), EBM_ERR_OVERFLOW
 * (rows * cols overflows), EBM_ERR_NONFINITE, EBM_ERR_DOMAIN (a value
 * outside [0, 1]); data is unchanged on error.
 */
EBM_API ebm_status ebm_data_binarize(ebm_data *data, ebm_binarize_mode mode,
                                     uint64_t seed);

/* ------------------------------------------------------------------------ */
/* Binary-binary restricted Boltzmann machine                               */
/* ------------------------------------------------------------------------ */

/* A binary-binary RBM: sizes D and K and parameters W, a, b. Opaque; read
 * the parameters with the getters and set them with the setters. */
typedef struct ebm_rbm ebm_rbm;

/*
 * Creates an RBM with n_visible = D and n_hidden = K units and every
 * parameter 0. K may be 0: the model is then a product of independent
 * visible units, p(v) proportional to exp(a.v / T), which is the base model
 * of annealed importance sampling and a useful baseline.
 * Errors: EBM_ERR_NULL, EBM_ERR_SIZE (D is 0), EBM_ERR_LIMIT (D or K >
 * EBM_MAX_UNITS, or D * K > EBM_MAX_ELEMENTS), EBM_ERR_NOMEM.
 */
EBM_API ebm_status ebm_rbm_create(size_t n_visible, size_t n_hidden,
                                  ebm_rbm **out);

/* Frees the model. */
EBM_API void ebm_rbm_destroy(ebm_rbm *rbm);

/* Creates an independent copy of rbm. Errors: EBM_ERR_NULL, EBM_ERR_NOMEM. */
EBM_API ebm_status ebm_rbm_clone(const ebm_rbm *rbm, ebm_rbm **out);

/*
 * Initialises the parameters for training: W[i, k] ~ N(0, weight_stddev^2)
 * from stream EBM_STREAM_INITIALIZE of `seed` (Box-Muller), b = 0, and
 * a_i = log(p_i / (1 - p_i)) with p_i the mean of column i of data clipped
 * to [0.001, 0.999] (so a_i lies within +-6.91). data may be NULL with
 * rows = 0, which sets a = 0. Usual weight_stddev: 0.01.
 * Errors: EBM_ERR_NULL, EBM_ERR_ARGUMENT (weight_stddev negative, NaN or
 * above 1e30), EBM_ERR_OVERFLOW, EBM_ERR_NONFINITE, EBM_ERR_DOMAIN (data
 * outside [0, 1]).
 */
EBM_API ebm_status ebm_rbm_initialize(ebm_rbm *rbm, const float *data,
                                      size_t rows, float weight_stddev,
                                      uint64_t seed);

/* Stores D and K in *n_visible and *n_hidden (either may be NULL).
 * Errors: EBM_ERR_NULL if rbm is NULL. */
EBM_API ebm_status ebm_rbm_shape(const ebm_rbm *rbm, size_t *n_visible,
                                 size_t *n_hidden);

/* Read-only views of W (D x K row-major), a (D) and b (K). The pointers
 * stay valid until the model is destroyed; the values change when the model
 * is trained or set. */
EBM_API const float *ebm_rbm_weights(const ebm_rbm *rbm);
EBM_API const float *ebm_rbm_visible_bias(const ebm_rbm *rbm);
EBM_API const float *ebm_rbm_hidden_bias(const ebm_rbm *rbm);

/* Copy D x K weights, D visible biases or K hidden biases into the model.
 * Errors: EBM_ERR_NULL, EBM_ERR_NONFINITE (the model is unchanged). */
EBM_API ebm_status ebm_rbm_set_weights(ebm_rbm *rbm, const float *weights);
EBM_API ebm_status ebm_rbm_set_visible_bias(ebm_rbm *rbm, const float *bias);
EBM_API ebm_status ebm_rbm_set_hidden_bias(ebm_rbm *rbm, const float *bias);

/*
 * Conditional distributions for a whole minibatch, one sgemm each:
 *
 *   prob[r, k] = P(h_k = 1 | v = visible[r]) = sigmoid((b_k + v.W[:, k]) / T)
 *   prob[r, i] = P(v_i = 1 | h = hidden[r])  = sigmoid((a_i + W[i, :].h) / T)
 *
 * prob (rows x K, or rows x D) is required. If sample is not NULL, it
 * receives Bernoulli samples of prob (0 or 1) drawn from the next stream of
 * rng, as described at ebm_rng. rng may be NULL when sample is NULL. The
 * input may hold probabilities (any value in [0, 1]), not only 0 and 1.
 * input, prob and sample must not overlap.
 *
 * Errors: EBM_ERR_NULL, EBM_ERR_SIZE (rows = 0), EBM_ERR_OVERFLOW,
 * EBM_ERR_ARGUMENT (temperature not finite and > 0, or buffers that
 * overlap), EBM_ERR_NONFINITE, EBM_ERR_DOMAIN (input outside [0, 1]).
 */
EBM_API ebm_status ebm_rbm_hidden_given_visible(const ebm_rbm *rbm,
                                                const float *visible,
                                                size_t rows, float temperature,
                                                float *prob, float *sample,
                                                ebm_rng *rng);
EBM_API ebm_status ebm_rbm_visible_given_hidden(const ebm_rbm *rbm,
                                                const float *hidden,
                                                size_t rows, float temperature,
                                                float *prob, float *sample,
                                                ebm_rng *rng);

/*
 * energy[r] = E(visible[r], hidden[r]) (temperature does not enter E).
 * Errors: as for the conditionals.
 */
EBM_API ebm_status ebm_rbm_energy(const ebm_rbm *rbm, const float *visible,
                                  const float *hidden, size_t rows,
                                  double *energy);

/*
 * free_energy[r] = F_T(visible[r]) as defined at the top of this header.
 * Sums are accumulated in double. Errors: as for the conditionals.
 */
EBM_API ebm_status ebm_rbm_free_energy(const ebm_rbm *rbm,
                                       const float *visible, size_t rows,
                                       float temperature, double *free_energy);

/*
 * Mean-field reconstruction error: for each row v, h = P(h = 1 | v) and
 * v~ = P(v = 1 | h) (probabilities, no sampling, T = 1); the error of the row
 * is sum_i (v_i - v~_i)^2, and *mean_error is its mean over the rows.
 * Deterministic. Errors: as for the conditionals.
 */
EBM_API ebm_status ebm_rbm_reconstruction_error(const ebm_rbm *rbm,
                                                const float *visible,
                                                size_t rows,
                                                double *mean_error);

/*
 * Exact pseudo-log-likelihood at T = 1 of binary rows:
 *
 *   PLL(v) = sum over all D visible units i of log P(v_i | v_-i)
 *          = sum_i log sigmoid(F(v^(i)) - F(v)),
 *
 * where v^(i) is v with unit i flipped. Every unit is visited (no random
 * subset), so the cost is O(D * K) per row on top of one sgemm. per_row
 * (rows values) and mean may each be NULL.
 * Errors: as for the conditionals, and EBM_ERR_DOMAIN if a value is not
 * exactly 0 or 1.
 */
EBM_API ebm_status ebm_rbm_pseudo_loglik(const ebm_rbm *rbm,
                                         const float *visible, size_t rows,
                                         double *per_row, double *mean);

/* ------------------------------------------------------------------------ */
/* Training                                                                 */
/* ------------------------------------------------------------------------ */

/* How the negative phase is sampled. */
typedef enum ebm_method {
    /* Contrastive divergence CD-k: the chain starts at the batch. */
    EBM_CD = 0,
    /* Persistent CD-k: `chains` chains carried from one update to the next. */
    EBM_PCD = 1
} ebm_method;

/* Training settings. Fill with ebm_train_config_init, then change fields. */
typedef struct ebm_train_config {
    ebm_method method;    /* EBM_CD (default) or EBM_PCD */
    unsigned gibbs_steps; /* k, Gibbs steps per update, >= 1 (default 1) */
    size_t batch_size;    /* rows per update, >= 1 (default 100) */
    size_t chains;        /* PCD chains, 0 = batch_size (default 0) */
    float learning_rate;  /* finite, > 0 (default 0.05) */
    float momentum;       /* in [0, 1) (default 0.5) */
    float weight_decay;   /* L2 coefficient on W, finite, >= 0 (0.0001) */
    uint64_t seed;        /* Philox key of the trainer's stream (default 1) */
} ebm_train_config;

/* Sets *config to the defaults listed above. Errors: EBM_ERR_NULL. */
EBM_API ebm_status ebm_train_config_init(ebm_train_config *config);

/* Optimiser state, persistent chains and workspace for training one model
 * shape. */
typedef struct ebm_rbm_trainer ebm_rbm_trainer;

/*
 * Creates a trainer for models of rbm's shape. Every buffer that training
 * needs is allocated here, once; no call below allocates memory except
 * ebm_rbm_trainer_fit (one array of `rows` indices per call). The memory is
 * 4 * (2 (D + 1)(K + 1) + (B + N)(D + K + 2) + N K + 2 C K) bytes, plus
 * under 1 KiB and 9 bytes per 16,384 parameters, for batch size B, C
 * chains (C = 0 for CD) and N = max(B, C): gradient and velocity, the
 * batch and negative-phase rows stacked for one gradient sgemm, the
 * chain's hidden states, and the persistent chains twice.
 * ebm_rbm_trainer_memory returns the exact figure.
 *
 * Errors: EBM_ERR_NULL, EBM_ERR_SIZE (batch_size = 0), EBM_ERR_ARGUMENT
 * (method unknown, gibbs_steps = 0, learning rate not finite and > 0,
 * momentum outside [0, 1), weight decay negative or not finite),
 * EBM_ERR_OVERFLOW, EBM_ERR_LIMIT, EBM_ERR_NOMEM.
 */
EBM_API ebm_status ebm_rbm_trainer_create(const ebm_rbm *rbm,
                                          const ebm_train_config *config,
                                          ebm_rbm_trainer **out);

/* Frees the trainer. */
EBM_API void ebm_rbm_trainer_destroy(ebm_rbm_trainer *trainer);

/* Stores in *bytes the memory that ebm_rbm_trainer_create would allocate
 * for rbm and config. Errors: as for ebm_rbm_trainer_create. */
EBM_API ebm_status ebm_rbm_trainer_memory(const ebm_rbm *rbm,
                                          const ebm_train_config *config,
                                          size_t *bytes);

/*
 * Zeroes the momentum and marks the persistent chains for re-initialisation
 * at the next update; the random stream continues. Errors: EBM_ERR_NULL.
 */
EBM_API ebm_status ebm_rbm_trainer_reset(ebm_rbm_trainer *trainer);

/*
 * Estimates the log-likelihood gradient on one batch (rows <= batch_size),
 * positive phase minus negative phase:
 *
 *   grad_w = X'P(H|X) / rows - V'P(H|V) / m
 *   grad_a = mean of the rows of X - mean of the rows of V
 *   grad_b = mean of P(H|X) - mean of P(H|V)
 *
 * where V contains the negative-phase visible samples: for CD-k, k Gibbs
 * steps started from the batch (m = rows); for PCD-k, the `chains`
 * persistent chains advanced by k steps (m = chains). Hidden units enter
 * the statistics as probabilities, visible units of V as samples.
 *
 * Random streams: each update takes 2k streams of the trainer's rng, in
 * the order h (from the batch for CD, skipped for PCD), v, h, v, ..., and
 * for PCD the last takes the chains' next hidden samples. A PCD trainer
 * whose chains are not yet initialised first samples them from
 * P(h | batch row r mod rows), r = 0 .. chains - 1, with one more stream.
 * See docs/training.md for the exact order.
 *
 * The model is not changed; the trainer's chains and stream advance.
 * grad_w (D x K), grad_a (D) and grad_b (K) are required.
 *
 * Errors: EBM_ERR_NULL, EBM_ERR_SIZE (rows = 0 or rows > batch_size),
 * EBM_ERR_OVERFLOW, EBM_ERR_MISMATCH (model shape differs from the
 * trainer's), EBM_ERR_NONFINITE, EBM_ERR_DOMAIN (batch outside [0, 1]).
 */
EBM_API ebm_status ebm_rbm_trainer_gradient(ebm_rbm_trainer *trainer,
                                            const ebm_rbm *rbm,
                                            const float *batch, size_t rows,
                                            float *grad_w, float *grad_a,
                                            float *grad_b);

/*
 * One update on one batch (rows <= batch_size), for callers that stream
 * their own data: the gradient above, then SGD with momentum
 *
 *   velocity = momentum * velocity + learning_rate * (grad - decay * W)
 *   W += velocity            (likewise a and b, without weight decay)
 *
 * If any new parameter would be NaN or infinite, returns EBM_ERR_DIVERGED
 * and leaves the model, the velocities, the chains and the random stream
 * exactly as they were.
 *
 * Errors: those of ebm_rbm_trainer_gradient, and EBM_ERR_DIVERGED.
 */
EBM_API ebm_status ebm_rbm_trainer_step(ebm_rbm_trainer *trainer,
                                        ebm_rbm *rbm, const float *batch,
                                        size_t rows);

/* What ebm_rbm_trainer_fit reports after each epoch. */
typedef struct ebm_epoch_report {
    unsigned epoch;      /* 1-based number of the finished epoch */
    unsigned epochs;     /* epochs requested */
    size_t updates;      /* updates made so far in this fit call */
    size_t rows;         /* training rows per epoch */
    double seconds;      /* wall time of this epoch's updates */
} ebm_epoch_report;

/* Called after each epoch with the model as trained so far. Return 0 to
 * continue, nonzero to stop (fit then returns EBM_STOPPED). */
typedef int (*ebm_epoch_callback)(const ebm_rbm *rbm,
                                  const ebm_epoch_report *report,
                                  void *user_data);

/*
 * Trains for `epochs` passes over data (rows x D). Each epoch visits the
 * rows in a new random order (a Fisher-Yates shuffle drawn from the
 * trainer's stream) in batches of batch_size rows. The last batch contains
 * the remaining rows, and its gradient is divided by its own size. callback may be
 * NULL. The data are validated once, before the first update.
 *
 * If an update fails with EBM_ERR_DIVERGED, fit returns it at once; the
 * model keeps the updates made before the failing one.
 *
 * Errors: those of ebm_rbm_trainer_step, EBM_ERR_SIZE (rows = 0 or
 * epochs = 0), EBM_ERR_NOMEM, and EBM_STOPPED.
 */
EBM_API ebm_status ebm_rbm_trainer_fit(ebm_rbm_trainer *trainer,
                                       ebm_rbm *rbm, const float *data,
                                       size_t rows, unsigned epochs,
                                       ebm_epoch_callback callback,
                                       void *user_data);

/*
 * Creates a trainer for config (with the batch size lowered to rows when it
 * is larger, so that a batch larger than the data set means one batch),
 * runs ebm_rbm_trainer_fit and destroys the trainer.
 * Errors: those of ebm_rbm_trainer_create and ebm_rbm_trainer_fit.
 */
EBM_API ebm_status ebm_rbm_fit(ebm_rbm *rbm, const ebm_train_config *config,
                               const float *data, size_t rows, unsigned epochs,
                               ebm_epoch_callback callback, void *user_data);

/* ------------------------------------------------------------------------ */
/* Partition function and log-likelihood                                    */
/* ------------------------------------------------------------------------ */

/* Largest smaller layer that ebm_rbm_log_partition_exact enumerates. */
#define EBM_EXACT_MAX_UNITS 32

/*
 * Exact log Z(T) = log sum_v sum_h exp(-E(v, h) / T). The smaller layer is
 * enumerated (2^min(D, K) states, in blocks of states as sgemm calls) and
 * the other layer is summed out analytically; the sum over states is a
 * log-sum-exp in double. Enumerating h, each state contributes
 * b.h / T + sum_i softplus((a_i + W[i, :].h) / T); enumerating v, the same
 * with the layers exchanged.
 *
 * Cost: 2^min(D, K) * max(D, K) exponentials (the sum over the other
 * layer) plus products of the same order: for min(D, K) = 25 and
 * max(D, K) = 784, 2.6e10 of them, 25 to 32 s on the 2 cores of the
 * development machine (docs/quality.md); each further unit doubles it.
 * min(D, K) above EBM_EXACT_MAX_UNITS is rejected.
 * Relative accuracy: float products and softplus (a few ulp per term),
 * double sums; see docs/likelihood.md.
 *
 * Errors: EBM_ERR_NULL, EBM_ERR_ARGUMENT (temperature not finite and > 0),
 * EBM_ERR_LIMIT (the smaller layer has more than EBM_EXACT_MAX_UNITS
 * units), EBM_ERR_NOMEM.
 */
EBM_API ebm_status ebm_rbm_log_partition_exact(const ebm_rbm *rbm,
                                               float temperature,
                                               double *log_z);

/* Called by long computations with the fraction done, in [0, 1]. Return 0
 * to continue, nonzero to stop (the computation then returns EBM_STOPPED
 * and writes no result). */
typedef int (*ebm_progress_callback)(double fraction, void *user_data);

/* Settings of annealed importance sampling. Fill with ebm_ais_config_init,
 * then change fields. */
typedef struct ebm_ais_config {
    size_t chains;          /* independent runs, >= 1 (default 100) */
    size_t betas;           /* inverse temperatures when schedule is NULL,
                               >= 2 (default 14500) */
    const double *schedule; /* caller's inverse temperatures, or NULL: from
                               0 to 1, increasing, `betas` of them */
    const float *base_data; /* rows whose column means give the base
                               model's visible biases, or NULL for the
                               uniform base (all biases 0) */
    size_t base_rows;
    uint64_t seed;          /* Philox key of the run (default 1) */
    ebm_progress_callback progress; /* may be NULL */
    void *progress_data;
    double *log_weights;    /* if not NULL, receives the `chains` log
                               importance weights */
} ebm_ais_config;

/* The estimate of an AIS run. */
typedef struct ebm_ais_result {
    double log_z;      /* log of the mean importance weight plus log Z_A */
    double log_z_low;  /* log(mean w - 3 se) + log Z_A, or -inf if that
                          difference is not positive */
    double log_z_high; /* log(mean w + 3 se) + log Z_A */
    double std_error;  /* se / mean w, the standard error of log_z to first
                          order; se = sd / sqrt(C), sd the sample standard
                          deviation of the weights (n - 1 denominator) */
    double log_z_base; /* log Z_A of the model at beta = 0 */
} ebm_ais_result;

/*
 * Sets *config to the defaults listed above: 100 chains and the 14,500
 * inverse temperatures of Salakhutdinov and Murray, "On the quantitative
 * analysis of deep belief networks" (ICML 2008): 500 evenly spaced in
 * [0, 0.5), 4,000 in [0.5, 0.9) and 10,000 in [0.9, 1]. Another count keeps
 * those proportions. Errors: EBM_ERR_NULL.
 */
EBM_API ebm_status ebm_ais_config_init(ebm_ais_config *config);

/*
 * Estimates log Z(T = 1) by annealed importance sampling (Neal 2001, as
 * applied to RBMs by Salakhutdinov and Murray 2008). The base model A has
 * no hidden units and visible biases a_A (0, or the logits of the base
 * data's column means clipped to [0.001, 0.999]). The intermediate models
 * are
 *
 *   log p*_beta(v) = ((1 - beta) a_A + beta a).v
 *                    + sum_k softplus(beta (b_k + v.W[:, k]))
 *
 * whose normaliser at beta = 0 is log Z_A = sum_i softplus(a_A,i) +
 * K log 2 (the hidden units are uncoupled there), and each of the C chains
 * starts from an exact sample of that model. At each
 * inverse temperature beta_j after the first, the pre-activation b + vW of
 * the current states is computed once (one sgemm for all chains) and gives
 * both the weight increment log p*_beta_j(v) - log p*_beta_j-1(v) and the
 * hidden sample of the Gibbs transition at beta_j; a second sgemm gives the
 * visible sample. log Z = log Z_A + log mean_c exp(log w_c), combined in
 * double as a log-mean-exp, so log weights of any magnitude are safe.
 *
 * Random streams: stream 0 of config->seed gives the base samples, then
 * each transition takes two streams (h, then v).
 *
 * The mean of w estimates Z / Z_A without bias, so log_z tends to fall
 * below log Z (and a log-likelihood computed from it above the true one);
 * ebm_rbm_ais_reverse gives an estimate from the other side.
 *
 * Errors: EBM_ERR_NULL, EBM_ERR_ARGUMENT (chains 0, fewer than 2 betas, a
 * schedule that does not start at 0, end at 1 and increase, or that is not
 * finite), EBM_ERR_SIZE (base_data given with base_rows 0), EBM_ERR_DOMAIN
 * or EBM_ERR_NONFINITE (base data), EBM_ERR_NOMEM, EBM_STOPPED.
 */
EBM_API ebm_status ebm_rbm_ais(const ebm_rbm *rbm,
                               const ebm_ais_config *config,
                               ebm_ais_result *result);

/*
 * Reverse AIS: the same annealing run backwards, from beta = 1 to 0,
 * starting each chain at a row of `data` (row c mod rows for chain c) in
 * place of an exact sample of the model. The mean of the reverse weights
 * estimates Z_A / Z; if the rows were exact samples of the model, the
 * estimate of log Z would be too high on average, so it gives an
 * upper-side check on ebm_rbm_ais (Burda, Grosse and Salakhutdinov,
 * "Accurate and conservative estimates of MRF log-likelihood using reverse
 * annealing", AISTATS 2015). Data that the model does not fit make it
 * less reliable. result's fields mean the same as for ebm_rbm_ais.
 * Random streams: as for ebm_rbm_ais, without the base samples.
 * Errors: those of ebm_rbm_ais, and for data: EBM_ERR_NULL, EBM_ERR_SIZE
 * (rows = 0), EBM_ERR_NONFINITE, EBM_ERR_DOMAIN (a value other than 0 or
 * 1).
 */
EBM_API ebm_status ebm_rbm_ais_reverse(const ebm_rbm *rbm,
                                       const ebm_ais_config *config,
                                       const float *data, size_t rows,
                                       ebm_ais_result *result);

/*
 * Combines n log importance weights into an estimate as ebm_rbm_ais does:
 * log_z = log_z_base + log mean exp(log_weights), computed as a log-mean-exp
 * in double, with the standard error and the 3-se bounds. Errors:
 * EBM_ERR_NULL, EBM_ERR_SIZE (n = 0), EBM_ERR_NONFINITE (a weight or
 * log_z_base that is NaN or infinite).
 */
EBM_API ebm_status ebm_ais_combine(const double *log_weights, size_t n,
                                   double log_z_base, ebm_ais_result *result);

/*
 * Mean log-likelihood of binary rows at T = 1:
 * mean over the rows of -F(v), minus log_z. Errors: as for
 * ebm_rbm_free_energy, EBM_ERR_DOMAIN for values other than 0 and 1, and
 * EBM_ERR_ARGUMENT if log_z is not finite.
 */
EBM_API ebm_status ebm_rbm_mean_loglik(const ebm_rbm *rbm,
                                       const float *visible, size_t rows,
                                       double log_z, double *mean);

/* ------------------------------------------------------------------------ */
/* Sampling and pictures                                                    */
/* ------------------------------------------------------------------------ */

/*
 * Runs `steps` Gibbs steps (h given v, then v given h) of `chains` chains
 * at temperature T, in place: state (chains x D) holds the starting
 * visible states, from a caller's data, a previous call (a persistent
 * state) or ebm_rng_fill_bernoulli, and receives the final visible
 * samples. If prob is not NULL it receives P(v = 1 | h) of the last step,
 * often a clearer picture than the samples.
 *
 * If clamp is not NULL, visible unit i with clamp[i] != 0 keeps the value
 * it has in each chain's starting state, for conditional sampling (for
 * example the upper half of a digit fixed and the lower half sampled); its
 * prob is that value too.
 *
 * Random streams: two per step (h, then v) from rng. Errors: EBM_ERR_NULL,
 * EBM_ERR_SIZE (chains 0), EBM_ERR_OVERFLOW, EBM_ERR_ARGUMENT (steps 0,
 * temperature not finite and > 0, state and prob overlapping),
 * EBM_ERR_NONFINITE, EBM_ERR_DOMAIN (state outside [0, 1]), EBM_ERR_NOMEM;
 * state is unchanged on error.
 */
EBM_API ebm_status ebm_rbm_gibbs(const ebm_rbm *rbm, float *state,
                                 size_t chains, unsigned steps,
                                 float temperature,
                                 const unsigned char *clamp, ebm_rng *rng,
                                 float *prob);

/* Sets out[i] to 1 with probability p, else 0, for i < count, from the next
 * stream of rng (index i). Errors: EBM_ERR_NULL, EBM_ERR_ARGUMENT (p outside
 * [0, 1]). */
EBM_API ebm_status ebm_rng_fill_bernoulli(ebm_rng *rng, float p, float *out,
                                          size_t count);

/*
 * Writes `count` images of height x width values each (image j starts at
 * images + j * height * width, row-major) as one 8-bit grayscale PNG, a grid
 * `columns` images wide (lowered to count if larger), with 1-pixel borders
 * of gray level 64 shared between neighbours: the picture is
 * columns (width + 1) + 1 pixels wide and rows (height + 1) + 1 high. Each
 * image gets its own contrast: its minimum maps to black and its maximum to
 * white (a constant image is gray level 128), so that probabilities and
 * filters of any scale show. NaN or infinite values are rejected. The file
 * is written to a temporary file and renamed over path, with mode 0666
 * minus the umask.
 * Errors: EBM_ERR_NULL, EBM_ERR_SIZE (a zero size), EBM_ERR_OVERFLOW,
 * EBM_ERR_LIMIT (an image over 2^15 pixels on a side, or a picture over
 * 2^28 pixels), EBM_ERR_NONFINITE, EBM_ERR_IO, EBM_ERR_NOMEM.
 */
EBM_API ebm_status ebm_png_write_grid(const char *path, const float *images,
                                      size_t count, size_t height,
                                      size_t width, size_t columns);

/*
 * Writes the filters of rbm, the columns W[:, k] of the first `count`
 * hidden units, each as a height x width image (height * width = D), as a
 * PNG grid `columns` wide, with the contrast of ebm_png_write_grid.
 * Errors: those of ebm_png_write_grid, EBM_ERR_MISMATCH (height * width is
 * not D), EBM_ERR_SIZE (count 0 or above K).
 */
EBM_API ebm_status ebm_rbm_write_filters_png(const ebm_rbm *rbm,
                                             const char *path, size_t count,
                                             size_t height, size_t width,
                                             size_t columns);

/* ------------------------------------------------------------------------ */
/* Model files                                                              */
/* ------------------------------------------------------------------------ */

/*
 * Writes the model as a NumPy .npz archive (an uncompressed zip of .npy
 * files) that numpy.load opens without libebm:
 *
 *   format_version  int32 scalar, 1
 *   W               float32 (D, K), C order
 *   visible_bias    float32 (D,)
 *   hidden_bias     float32 (K,)
 *
 * The file is written to a temporary file in the same directory, flushed
 * with fsync and renamed over path, so path contains either the old or the
 * complete new file. See docs/file-formats.md.
 * Errors: EBM_ERR_NULL, EBM_ERR_NONFINITE (a parameter is NaN or
 * infinite, and no file is created), EBM_ERR_IO, EBM_ERR_LIMIT (W of 4 GiB
 * or more, which would need zip64 records that this writer does not
 * produce), EBM_ERR_NOMEM.
 */
EBM_API ebm_status ebm_rbm_save(const ebm_rbm *rbm, const char *path);

/*
 * Reads a model written by ebm_rbm_save, or by numpy.savez or
 * numpy.savez_compressed with the arrays W, visible_bias and hidden_bias.
 * The arrays may be float32 or float64, in either byte order and in C or
 * Fortran order; float64 values must be finite in float32.
 * format_version may be absent (read as 1) and must otherwise be an
 * integer scalar. Other arrays in the archive are ignored.
 *
 * The file is validated completely: zip structure, CRC-32 of every array
 * read, .npy headers, shapes consistent with each other, sizes within
 * EBM_MAX_UNITS and EBM_MAX_ELEMENTS, and finite values.
 *
 * Memory: the model, 4 (D K + D + K) bytes for the shapes that the .npy
 * headers declare, is the only allocation that grows with the declared
 * arrays. The arrays are converted into it in 64 KiB chunks, so a load
 * peaks at about one float32 copy of the parameters. It is allocated only
 * after every deflated parameter entry has been inflated and checked in
 * full without being stored (so those entries are inflated twice), and a
 * stored entry's data must lie within the file. A truncated or corrupt
 * deflate stream therefore fails before the model is allocated, whatever
 * size it declares. Other allocations are the central directory, each .npy
 * header (growing as its bytes arrive) and about 200 KiB of buffers.
 *
 * Errors: EBM_ERR_NULL, EBM_ERR_IO, EBM_ERR_FORMAT (also a format_version
 * that is not an integer scalar), EBM_ERR_TRUNCATED, EBM_ERR_VERSION,
 * EBM_ERR_LIMIT, EBM_ERR_SIZE (an empty visible layer; an empty hidden
 * layer is a valid model), EBM_ERR_MISMATCH (array shapes disagree),
 * EBM_ERR_NONFINITE, EBM_ERR_UNSUPPORTED (a parameter dtype other than
 * float32 and float64), EBM_ERR_NOMEM.
 */
EBM_API ebm_status ebm_rbm_load(const char *path, ebm_rbm **out);

/* ------------------------------------------------------------------------ */
/* General Boltzmann machines                                               */
/* ------------------------------------------------------------------------ */

/*
 * A Boltzmann machine with D visible and K hidden binary units and, each
 * optional, visible-hidden weights W (D x K), visible-visible couplings V
 * (D x D) and hidden-hidden couplings U (K x K), all row-major:
 *
 *   E(v, h) = -a.v - b.h - v'Wh - 1/2 v'Vv - 1/2 h'Uh
 *   p(v, h) = exp(-E(v, h) / T) / Z(T)
 *
 * V and U are symmetric with zero diagonals. A coupling block that the
 * model does not have is zero and is never stored; K may be 0 (the fully
 * visible BM, with V and no W). The local field of a unit is the energy
 * it removes by switching on: a_i + W[i, :].h + V[i, :].v for visible unit
 * i, and b_j + v.W[:, j] + U[j, :].h for hidden unit j. The Gibbs
 * conditional of a unit given all the others is sigmoid(field / T).
 *
 * A mask restricts V (or U) to the edges of a graph: V[i][j] may be
 * nonzero only where mask[i][j] is nonzero. Setters reject couplings
 * outside the mask, and training leaves them at zero.
 */
typedef struct ebm_bm ebm_bm;

/* Coupling blocks, or-ed together in ebm_bm_create. */
#define EBM_BM_VISIBLE_HIDDEN 1u  /* W */
#define EBM_BM_VISIBLE_VISIBLE 2u /* V */
#define EBM_BM_HIDDEN_HIDDEN 4u   /* U */

/*
 * Creates a BM with every parameter zero and no masks. Errors:
 * EBM_ERR_NULL, EBM_ERR_SIZE (D = 0), EBM_ERR_ARGUMENT (an unknown coupling
 * bit, or W or U requested with K = 0), EBM_ERR_LIMIT (a layer above
 * EBM_MAX_UNITS, or W, V or U above EBM_MAX_ELEMENTS), EBM_ERR_NOMEM.
 */
EBM_API ebm_status ebm_bm_create(size_t n_visible, size_t n_hidden,
                                 unsigned couplings, ebm_bm **out);
EBM_API void ebm_bm_destroy(ebm_bm *bm);
EBM_API ebm_status ebm_bm_clone(const ebm_bm *bm, ebm_bm **out);

/* The BM with the RBM's W, a and b and no lateral couplings. */
EBM_API ebm_status ebm_bm_from_rbm(const ebm_rbm *rbm, ebm_bm **out);

/* Sizes and coupling bits; any output may be NULL. */
EBM_API ebm_status ebm_bm_shape(const ebm_bm *bm, size_t *n_visible,
                                size_t *n_hidden, unsigned *couplings);

/* Read-only parameter arrays, NULL for a block the model does not have
 * (and for a NULL model). */
EBM_API const float *ebm_bm_weights(const ebm_bm *bm);
EBM_API const float *ebm_bm_visible_bias(const ebm_bm *bm);
EBM_API const float *ebm_bm_hidden_bias(const ebm_bm *bm);
EBM_API const float *ebm_bm_visible_couplings(const ebm_bm *bm);
EBM_API const float *ebm_bm_hidden_couplings(const ebm_bm *bm);

/*
 * Copy parameters in. Errors: EBM_ERR_NULL, EBM_ERR_ARGUMENT (a block the
 * model does not have), EBM_ERR_NONFINITE, and for V and U EBM_ERR_DOMAIN
 * (a matrix that is not symmetric, has a nonzero diagonal, or is nonzero
 * outside the mask). The model is unchanged on error.
 */
EBM_API ebm_status ebm_bm_set_weights(ebm_bm *bm, const float *weights);
EBM_API ebm_status ebm_bm_set_visible_bias(ebm_bm *bm, const float *bias);
EBM_API ebm_status ebm_bm_set_hidden_bias(ebm_bm *bm, const float *bias);
EBM_API ebm_status ebm_bm_set_visible_couplings(ebm_bm *bm,
                                                const float *couplings);
EBM_API ebm_status ebm_bm_set_hidden_couplings(ebm_bm *bm,
                                               const float *couplings);

/*
 * Restricts V (hidden = 0) or U (hidden = 1) to the graph of mask, an
 * n x n byte matrix, symmetric with a zero diagonal; NULL removes the
 * mask. Couplings outside the new mask are set to zero. Errors:
 * EBM_ERR_NULL, EBM_ERR_ARGUMENT (the model has no such block),
 * EBM_ERR_DOMAIN (mask not symmetric or diagonal nonzero), EBM_ERR_NOMEM.
 */
EBM_API ebm_status ebm_bm_set_mask(ebm_bm *bm, int hidden,
                                   const unsigned char *mask);

/* Sets the mask of V to the 4-neighbour lattice of rows x cols units
 * (unit r * cols + c, as the pixels of an image). Errors as
 * ebm_bm_set_mask, and EBM_ERR_MISMATCH if rows * cols != D. */
EBM_API ebm_status ebm_bm_set_lattice(ebm_bm *bm, size_t rows, size_t cols);

/* energy[r] = E(v_r, h_r) for `rows` rows of visible (rows x D) and hidden
 * (rows x K; may be NULL when K = 0) states in [0, 1], summed in double.
 * Errors: EBM_ERR_NULL, EBM_ERR_SIZE, EBM_ERR_OVERFLOW, EBM_ERR_NONFINITE,
 * EBM_ERR_DOMAIN. */
EBM_API ebm_status ebm_bm_energy(const ebm_bm *bm, const float *visible,
                                 const float *hidden, size_t rows,
                                 double *energy);

/* Schemes of sequential Gibbs sampling; see ebm_bm_gibbs. */
typedef enum ebm_bm_sampler {
    EBM_SAMPLER_AUTO = 0,   /* COLORED for a graph of at most 4 colours per
                             * layer, else BLOCKED */
    EBM_SAMPLER_SITE = 1,   /* one unit at a time: the reference */
    EBM_SAMPLER_BLOCKED = 2, /* blocks of units, fields from sgemm */
    EBM_SAMPLER_COLORED = 3  /* one colour class of the graph at a time */
} ebm_bm_sampler;

/*
 * Runs `sweeps` sweeps of sequential single-site Gibbs sampling at
 * temperature T on `chains` chains in place: visible (chains x D) and
 * hidden (chains x K; NULL when K = 0) hold binary states on entry and the
 * final states on return. A sweep resamples every unit once, each from
 * sigmoid(field / T) given the current values of all others.
 *
 * Order: SITE and BLOCKED visit visible units 0 .. D-1, then hidden units
 * 0 .. K-1. BLOCKED computes, for a block of up to 64 units, the field
 * from the values at the block's start with one sgemm per group of 50
 * chains,
 * then updates the block's units in order, adding the within-block
 * couplings of the units already changed: the same Markov chain as SITE.
 * COLORED visits the colour classes of a greedy colouring of the coupling
 * graph, visible classes first (a lattice has two, an RBM one per layer).
 * It updates a class at once, which is SITE in that order because no two
 * units of a class are coupled.
 *
 * Random numbers: sweep s uses stream rng->stream + s. Unit i of chain c
 * takes the uniform u of index c * (D + K) + i (visible units first),
 * whatever the scheme, and becomes 1 when log(u / (1 - u)) < field / T,
 * which is u < sigmoid(field / T) up to float rounding. So SITE and
 * BLOCKED make the same choices from the same rng, up to the float
 * rounding of a field.
 * rng->stream advances by sweeps.
 *
 * clamp (NULL, or D bytes): visible units with clamp[i] != 0 are not
 * resampled; clamping every visible unit samples h given v (the positive
 * phase).
 *
 * Errors: EBM_ERR_NULL, EBM_ERR_SIZE (chains 0), EBM_ERR_OVERFLOW,
 * EBM_ERR_ARGUMENT (sweeps 0, temperature not finite and > 0, an unknown
 * sampler, COLORED for a graph needing more than 64 colours in a layer),
 * EBM_ERR_NONFINITE, EBM_ERR_DOMAIN (a state other than 0 or 1),
 * EBM_ERR_NOMEM; the states are unchanged on error.
 */
EBM_API ebm_status ebm_bm_gibbs(const ebm_bm *bm, float *visible,
                                float *hidden, size_t chains,
                                unsigned sweeps, float temperature,
                                const unsigned char *clamp,
                                ebm_bm_sampler sampler, ebm_rng *rng);

/* Largest D + K that ebm_bm_log_partition_exact enumerates, and largest K
 * that ebm_bm_log_unnormalized sums out. */
#define EBM_BM_EXACT_MAX_UNITS 28

/*
 * Exact log Z(T) by enumerating all 2^(D + K) states in blocks, the
 * quadratic terms of each block from one sgemm, the sum a log-sum-exp in
 * double. Cost: 2^(D + K) (D + K)^2 multiply-adds; each further unit
 * doubles it. Errors: EBM_ERR_NULL, EBM_ERR_ARGUMENT (temperature),
 * EBM_ERR_LIMIT (D + K above EBM_BM_EXACT_MAX_UNITS), EBM_ERR_NOMEM.
 */
EBM_API ebm_status ebm_bm_log_partition_exact(const ebm_bm *bm,
                                              float temperature,
                                              double *log_z);

/*
 * out[r] = log sum_h exp(-E(v_r, h) / T) for `rows` visible rows (rows x
 * D, values in [0, 1]), summing the 2^K hidden states exactly, so that
 * log p(v_r) = out[r] - log Z(T); for K = 0 it is -E(v_r) / T. Cost: rows
 * 2^K K multiply-adds. Errors: EBM_ERR_NULL, EBM_ERR_SIZE,
 * EBM_ERR_OVERFLOW, EBM_ERR_NONFINITE, EBM_ERR_DOMAIN, EBM_ERR_ARGUMENT
 * (temperature), EBM_ERR_LIMIT (K above EBM_BM_EXACT_MAX_UNITS),
 * EBM_ERR_NOMEM.
 */
EBM_API ebm_status ebm_bm_log_unnormalized(const ebm_bm *bm,
                                           const float *visible, size_t rows,
                                           float temperature, double *out);

/*
 * hidden (rows x K) = the damped mean-field fixed point of the hidden units
 * given each visible row (rows x D, values in [0, 1]) at temperature T:
 * starting from mu = sigmoid((b + v W) / T), `iterations` times
 *
 *   mu <- damping mu + (1 - damping) sigmoid((b + v W + mu U) / T)
 *
 * for all hidden units at once. Without U the start is already the exact
 * P(h = 1 | v). Errors: EBM_ERR_NULL, EBM_ERR_SIZE, EBM_ERR_OVERFLOW,
 * EBM_ERR_NONFINITE, EBM_ERR_DOMAIN, EBM_ERR_ARGUMENT (K = 0, damping
 * outside [0, 1), temperature), EBM_ERR_NOMEM.
 */
EBM_API ebm_status ebm_bm_mean_field(const ebm_bm *bm, const float *visible,
                                     size_t rows, unsigned iterations,
                                     float damping, float temperature,
                                     float *hidden);

/*
 * gradient = the log-likelihood gradient at T = 1 from sampled statistics,
 * for every parameter block of bm (gradient must have bm's shape and
 * blocks): positive minus negative phase,
 *
 *   a: mean(X+) - mean(X-)        W: X+'H+ / n+ - X-'H- / n-
 *   b: mean(H+) - mean(H-)        V: X+'X+ / n+ - X-'X- / n-   (ssyrk)
 *                                 U: H+'H+ / n+ - H-'H- / n-   (ssyrk)
 *
 * with zero diagonals for V and U, and zero outside their masks. The rows
 * (n+ positive, n- negative; hidden NULL when K = 0) hold values in
 * [0, 1]: samples, or mean-field probabilities for H+. Errors:
 * EBM_ERR_NULL, EBM_ERR_SIZE, EBM_ERR_OVERFLOW, EBM_ERR_NONFINITE,
 * EBM_ERR_DOMAIN, EBM_ERR_MISMATCH (gradient's shape or blocks differ).
 */
EBM_API ebm_status ebm_bm_gradient(const ebm_bm *bm,
                                   const float *positive_visible,
                                   const float *positive_hidden,
                                   size_t n_positive,
                                   const float *negative_visible,
                                   const float *negative_hidden,
                                   size_t n_negative, ebm_bm *gradient);

/* Largest D + K for ebm_bm_exact_gradient. */
#define EBM_BM_EXACT_GRADIENT_MAX_UNITS 20

/*
 * gradient = the exact gradient of the mean log-likelihood of `rows`
 * binary visible rows at T = 1: the positive phase sums over the hidden
 * states of each row weighted by p(h | v), the negative phase over all
 * 2^(D + K) states, in double. The reference for sampled gradients, and a
 * way to train small models exactly. Cost: 2^(D + K) (D + K)^2 plus rows
 * 2^K (D + K)^2. Errors: as ebm_bm_gradient, and EBM_ERR_LIMIT (D + K above
 * EBM_BM_EXACT_GRADIENT_MAX_UNITS).
 */
EBM_API ebm_status ebm_bm_exact_gradient(const ebm_bm *bm,
                                         const float *visible, size_t rows,
                                         ebm_bm *gradient);

/* How the positive phase fills in the hidden units. */
typedef enum ebm_bm_positive {
    EBM_POSITIVE_MEAN_FIELD = 0, /* damped mean-field probabilities */
    EBM_POSITIVE_GIBBS = 1       /* Gibbs sweeps with the data clamped */
} ebm_bm_positive;

/* General-BM settings beyond ebm_train_config. Fill with
 * ebm_bm_options_init, then change fields. */
typedef struct ebm_bm_options {
    ebm_bm_positive positive; /* default EBM_POSITIVE_MEAN_FIELD */
    unsigned positive_steps;  /* mean-field iterations or Gibbs sweeps,
                               * >= 1 (default 10) */
    float damping;            /* mean-field damping, [0, 1) (default 0.5) */
    ebm_bm_sampler sampler;   /* negative-phase scheme (default AUTO) */
} ebm_bm_options;

/* Sets *options to the defaults listed above. Errors: EBM_ERR_NULL. */
EBM_API ebm_status ebm_bm_options_init(ebm_bm_options *options);

/* Optimiser state, persistent chains and workspace for training one BM
 * shape. */
typedef struct ebm_bm_trainer ebm_bm_trainer;

/*
 * Creates a trainer for bm's shape and blocks. From ebm_train_config it
 * takes the method, gibbs_steps (negative-phase sweeps per update),
 * batch_size, learning_rate, momentum, weight_decay (L2 on W, V and U) and
 * seed. CD-k starts the negative chains at the batch and the positive
 * phase's hidden states. PCD-k keeps `chains` chains, started at fair
 * random bits. Errors: EBM_ERR_NULL, EBM_ERR_SIZE, EBM_ERR_ARGUMENT,
 * EBM_ERR_OVERFLOW, EBM_ERR_NOMEM.
 */
EBM_API ebm_status ebm_bm_trainer_create(const ebm_bm *bm,
                                         const ebm_train_config *config,
                                         const ebm_bm_options *options,
                                         ebm_bm_trainer **out);
EBM_API void ebm_bm_trainer_destroy(ebm_bm_trainer *trainer);

/*
 * One update from `rows` binary rows (1 <= rows <= batch_size): positive
 * phase, negative phase, ebm_bm_gradient, then velocity = momentum
 * velocity + learning_rate (gradient - weight_decay parameter) and
 * parameter += velocity. Errors: EBM_ERR_NULL, EBM_ERR_SIZE,
 * EBM_ERR_MISMATCH (bm's shape or blocks differ from the trainer's),
 * EBM_ERR_NONFINITE, EBM_ERR_DOMAIN, and EBM_ERR_DIVERGED when the update
 * would make a parameter non-finite, in which case bm and the velocity are
 * unchanged.
 */
EBM_API ebm_status ebm_bm_trainer_step(ebm_bm_trainer *trainer, ebm_bm *bm,
                                       const float *batch, size_t rows);

/* Called after each epoch of ebm_bm_trainer_fit; nonzero stops training
 * (EBM_STOPPED). */
typedef int (*ebm_bm_epoch_callback)(const ebm_bm *bm, unsigned epoch,
                                     void *user_data);

/*
 * Trains on `rows` binary rows (rows x D) for `epochs` epochs, the rows
 * shuffled every epoch, the last short batch normalised by its size.
 * Errors: as ebm_bm_trainer_step, and EBM_ERR_ARGUMENT (epochs 0),
 * EBM_ERR_NOMEM; EBM_STOPPED if the callback stopped training.
 */
EBM_API ebm_status ebm_bm_trainer_fit(ebm_bm_trainer *trainer, ebm_bm *bm,
                                      const float *data, size_t rows,
                                      unsigned epochs,
                                      ebm_bm_epoch_callback callback,
                                      void *user_data);

/*
 * Saves bm as an .npz archive (written to a temporary file and renamed, as
 * ebm_rbm_save): format_version, visible_bias (D), hidden_bias (K), and
 * those of W (D x K), V (D x D), U (K x K) that the model has, float32;
 * a mask as V_mask or U_mask, float32 0 and 1 of V's or U's shape.
 * Errors: EBM_ERR_NULL, EBM_ERR_NONFINITE, EBM_ERR_IO, EBM_ERR_NOMEM.
 */
EBM_API ebm_status ebm_bm_save(const ebm_bm *bm, const char *path);

/*
 * Loads a model saved by ebm_bm_save, or an RBM file (a BM with W only),
 * validating the whole file first as ebm_rbm_load does. Errors: those of
 * ebm_rbm_load, and EBM_ERR_FORMAT also for a mask without its couplings.
 * EBM_ERR_DOMAIN: V or U not symmetric, with a nonzero diagonal or nonzero
 * outside its mask, or a mask that is not 0/1 and symmetric with a zero
 * diagonal.
 */
EBM_API ebm_status ebm_bm_load(const char *path, ebm_bm **out);

/*
 * Estimates log Z(T = 1) of a BM by annealed importance sampling over the
 * joint states (v, h), with the settings of ebm_ais_config (chains, betas
 * or schedule, base_data, seed, progress, log_weights). The base model has
 * independent units: visible biases a_A from base_data as for ebm_rbm_ais
 * (or 0), hidden biases 0, so log Z_A = sum_i softplus(a_A,i) + K log 2.
 * The intermediate models are -E_beta(s) = a_A.v + beta (-E(s) - a_A.v),
 * and the transition at each inverse temperature after the first is one
 * sweep of ebm_bm_gibbs (AUTO scheme). Cost per inverse temperature:
 * about two sweeps (the sweep and the energies of the chains). The result
 * means what it means for ebm_rbm_ais, and log_z tends to fall below
 * log Z. Random streams: 0 and 1 of config->seed for the base samples,
 * then one per sweep. Errors: as ebm_rbm_ais, and EBM_ERR_ARGUMENT for a
 * second inverse temperature below 1e-30.
 */
EBM_API ebm_status ebm_bm_ais(const ebm_bm *bm, const ebm_ais_config *config,
                              ebm_ais_result *result);

/*
 * out[r] = a lower bound on log sum_h exp(-E(v_r, h)) at T = 1 from the
 * mean-field probabilities mu of ebm_bm_mean_field (iterations, damping):
 *
 *   -E(v, 0) + (b + v W).mu + 1/2 mu'U mu + sum_j H(mu_j)
 *
 * with H the binary entropy, so that log p(v_r) >= out[r] - log Z. Exact
 * for K = 0 (-E(v)). Errors: EBM_ERR_NULL, EBM_ERR_SIZE, EBM_ERR_OVERFLOW,
 * EBM_ERR_NONFINITE, EBM_ERR_DOMAIN (rows not binary), EBM_ERR_ARGUMENT
 * (damping outside [0, 1)), EBM_ERR_NOMEM.
 */
EBM_API ebm_status ebm_bm_mean_field_bound(const ebm_bm *bm,
                                           const float *visible, size_t rows,
                                           unsigned iterations, float damping,
                                           double *out);

/*
 * The exact pseudo-log-likelihood of a fully visible BM (K = 0): for each
 * binary row, sum_i log p(v_i | v_-i) = sum_i (v_i f_i - softplus(f_i))
 * with f_i = a_i + V[i, :].v; per_row (may be NULL) receives the rows'
 * values and *mean their mean. Errors: EBM_ERR_NULL, EBM_ERR_SIZE,
 * EBM_ERR_OVERFLOW, EBM_ERR_NONFINITE, EBM_ERR_DOMAIN, EBM_ERR_UNSUPPORTED
 * (K > 0), EBM_ERR_NOMEM.
 */
EBM_API ebm_status ebm_bm_pseudo_loglik(const ebm_bm *bm,
                                        const float *visible, size_t rows,
                                        double *per_row, double *mean);

/* ------------------------------------------------------------------------ */
/* Gaussian-Bernoulli RBMs                                                  */
/* ------------------------------------------------------------------------ */

/*
 * An RBM with D real-valued (Gaussian) visible units and K binary hidden
 * units. Parameters: W (D x K, row-major), visible bias a (D), hidden bias
 * b (K) and per-unit standard deviations sigma (D), stored as log sigma so
 * that a learned sigma stays positive. With x_i = v_i / sigma_i^2,
 *
 *   E(v, h) = sum_i (v_i - a_i)^2 / (2 sigma_i^2) - b.h - x.W h
 *   p(v_i | h) = Normal(mean a_i + W[i, :].h, variance T sigma_i^2)
 *   P(h_j = 1 | v) = sigmoid((b_j + x.W[:, j]) / T)
 *   F(v) = sum_i (v_i - a_i)^2 / (2 sigma_i^2)
 *          - sum_j softplus(b_j + x.W[:, j])          (T = 1)
 *
 * For every finite sigma > 0 the energy is bounded below in v (a positive
 * quadratic for each h), so Z is finite: the functions that set sigma
 * reject values that are not finite and positive (EBM_ERR_DOMAIN), which is
 * the only way the energy could be unbounded below.
 */
typedef struct ebm_gbrbm ebm_gbrbm;

/* Creates a model with W = 0, a = 0, b = 0 and sigma = 1. Errors as
 * ebm_rbm_create. */
EBM_API ebm_status ebm_gbrbm_create(size_t n_visible, size_t n_hidden,
                                    ebm_gbrbm **out);
EBM_API void ebm_gbrbm_destroy(ebm_gbrbm *model);
EBM_API ebm_status ebm_gbrbm_clone(const ebm_gbrbm *model,
                                   ebm_gbrbm **out);
EBM_API ebm_status ebm_gbrbm_shape(const ebm_gbrbm *model,
                                   size_t *n_visible, size_t *n_hidden);

/* Read-only parameter arrays (NULL for a NULL model). */
EBM_API const float *ebm_gbrbm_weights(const ebm_gbrbm *model);
EBM_API const float *ebm_gbrbm_visible_bias(const ebm_gbrbm *model);
EBM_API const float *ebm_gbrbm_hidden_bias(const ebm_gbrbm *model);
EBM_API const float *ebm_gbrbm_log_sigma(const ebm_gbrbm *model);

/* Copy parameters in. Errors: EBM_ERR_NULL, EBM_ERR_NONFINITE, and for
 * sigma EBM_ERR_DOMAIN (a value not finite and > 0, or whose log is
 * outside [-20, 20]). The model is unchanged on error. */
EBM_API ebm_status ebm_gbrbm_set_weights(ebm_gbrbm *model,
                                         const float *weights);
EBM_API ebm_status ebm_gbrbm_set_visible_bias(ebm_gbrbm *model,
                                              const float *bias);
EBM_API ebm_status ebm_gbrbm_set_hidden_bias(ebm_gbrbm *model,
                                             const float *bias);
EBM_API ebm_status ebm_gbrbm_set_sigma(ebm_gbrbm *model,
                                       const float *sigma);

/* Bounds of log sigma, for setters and learning. */
#define EBM_GBRBM_LOG_SIGMA_MAX 20.0f

/*
 * Initialises for training on rows x D data: W ~ N(0, weight_stddev^2)
 * from stream EBM_STREAM_INITIALIZE of seed, b = 0, a = the column means,
 * sigma = the column standard deviations, each raised to at least a tenth
 * of their mean (all 1 when that is below 1e-6), because a near-constant
 * column's tiny sigma would scale its updates by 1 / sigma^2. Errors: EBM_ERR_NULL, EBM_ERR_SIZE, EBM_ERR_OVERFLOW,
 * EBM_ERR_NONFINITE, EBM_ERR_ARGUMENT (weight_stddev).
 */
EBM_API ebm_status ebm_gbrbm_initialize(ebm_gbrbm *model, const float *data,
                                        size_t rows, float weight_stddev,
                                        uint64_t seed);

/* prob (rows x K) = P(h = 1 | v) at temperature T for real rows v (rows x
 * D, finite). Errors: EBM_ERR_NULL, EBM_ERR_SIZE, EBM_ERR_OVERFLOW,
 * EBM_ERR_NONFINITE, EBM_ERR_ARGUMENT (temperature). */
EBM_API ebm_status ebm_gbrbm_hidden_given_visible(const ebm_gbrbm *model,
                                                  const float *visible,
                                                  size_t rows,
                                                  float temperature,
                                                  float *prob);

/* mean (rows x D) = a + W h for hidden rows in [0, 1]; if sample is not
 * NULL it receives mean + sqrt(T) sigma z, z standard normal from the next
 * stream of rng (Box-Muller on pairs of uniforms). Errors as the
 * conditionals of the binary RBM. */
EBM_API ebm_status ebm_gbrbm_visible_given_hidden(const ebm_gbrbm *model,
                                                  const float *hidden,
                                                  size_t rows,
                                                  float temperature,
                                                  ebm_rng *rng, float *mean,
                                                  float *sample);

/* free_energy[r] = F(v_r) at T = 1, in double. Errors as above. */
EBM_API ebm_status ebm_gbrbm_free_energy(const ebm_gbrbm *model,
                                         const float *visible, size_t rows,
                                         double *free_energy);

/* Mean over rows of sum_i (v_i - m_i)^2 with m = a + W P(h = 1 | v), the
 * mean-field reconstruction. Errors as above. */
EBM_API ebm_status ebm_gbrbm_reconstruction_error(const ebm_gbrbm *model,
                                                  const float *visible,
                                                  size_t rows,
                                                  double *error);

/*
 * Exact log Z(T) by enumerating the 2^K hidden states in blocks of sgemm
 * and integrating v in closed form:
 *
 *   log Z = sum_i (log(2 pi T) / 2 + log sigma_i)
 *           + log sum_h exp((b.h + sum_i (2 a_i c_i + c_i^2)
 *                                       / (2 sigma_i^2)) / T)
 *
 * with c = W h. Cost 2^K D multiply-adds. Errors: EBM_ERR_NULL,
 * EBM_ERR_ARGUMENT (temperature), EBM_ERR_LIMIT (K above
 * EBM_EXACT_MAX_UNITS), EBM_ERR_NOMEM.
 */
EBM_API ebm_status ebm_gbrbm_log_partition_exact(const ebm_gbrbm *model,
                                                 float temperature,
                                                 double *log_z);

/*
 * AIS estimate of log Z(T = 1), as ebm_rbm_ais. The base model is the
 * Gaussian part alone (W = 0, b = 0): v ~ Normal(a, sigma^2) and fair
 * hidden bits, log Z_A = sum_i (log(2 pi) / 2 + log sigma_i) + K log 2.
 * The intermediate models scale W and b by beta. config->base_data is
 * ignored. Errors: as ebm_rbm_ais.
 */
EBM_API ebm_status ebm_gbrbm_ais(const ebm_gbrbm *model,
                                 const ebm_ais_config *config,
                                 ebm_ais_result *result);

/* Mean log-likelihood of real rows: mean of -F(v) minus log_z. Errors as
 * ebm_gbrbm_free_energy, EBM_ERR_ARGUMENT if log_z is not finite. */
EBM_API ebm_status ebm_gbrbm_mean_loglik(const ebm_gbrbm *model,
                                         const float *visible, size_t rows,
                                         double log_z, double *mean);

/*
 * values (min(D, K) floats, descending) = the singular values of W, by
 * LAPACKE_sgesdd on a copy. Errors: EBM_ERR_NULL, EBM_ERR_NOMEM,
 * EBM_ERR_LAPACK (info != 0, its value in the detail message).
 */
EBM_API ebm_status ebm_gbrbm_singular_values(const ebm_gbrbm *model,
                                             float *values);

/* Gaussian-Bernoulli settings beyond ebm_train_config. Fill with
 * ebm_gbrbm_options_init, then change fields. */
typedef struct ebm_gbrbm_options {
    int learn_sigma;         /* nonzero: learn log sigma (default 0:
                                fixed) */
    float sigma_rate_factor; /* log sigma's learning rate over the
                                learning rate, >= 0 (default 0.1) */
} ebm_gbrbm_options;

/* Sets *options to the defaults listed above. Errors: EBM_ERR_NULL. */
EBM_API ebm_status ebm_gbrbm_options_init(ebm_gbrbm_options *options);

typedef struct ebm_gbrbm_trainer ebm_gbrbm_trainer;

/*
 * Creates a trainer for the model's shape: CD-k (chains start at the
 * batch) or PCD-k (chains start at samples of Normal(a, sigma^2)), each
 * step h ~ P(h | v) then v ~ Normal(a + W h, sigma^2); the statistics use
 * hidden probabilities. Momentum and weight decay (on W) as for the
 * binary RBM; log sigma, when learned, moves with learning_rate *
 * sigma_rate_factor and no decay. Errors: EBM_ERR_NULL, EBM_ERR_SIZE,
 * EBM_ERR_ARGUMENT, EBM_ERR_OVERFLOW, EBM_ERR_NOMEM.
 */
EBM_API ebm_status ebm_gbrbm_trainer_create(const ebm_gbrbm *model,
                                            const ebm_train_config *config,
                                            const ebm_gbrbm_options *options,
                                            ebm_gbrbm_trainer **out);
EBM_API void ebm_gbrbm_trainer_destroy(ebm_gbrbm_trainer *trainer);

/* One update from `rows` finite rows (1 <= rows <= batch_size). Errors:
 * EBM_ERR_NULL, EBM_ERR_SIZE, EBM_ERR_MISMATCH, EBM_ERR_NONFINITE,
 * EBM_ERR_DIVERGED (a parameter would become non-finite, or a log sigma
 * would leave +-EBM_GBRBM_LOG_SIGMA_MAX; the model and the velocity are
 * unchanged). */
EBM_API ebm_status ebm_gbrbm_trainer_step(ebm_gbrbm_trainer *trainer,
                                          ebm_gbrbm *model,
                                          const float *batch, size_t rows);

typedef int (*ebm_gbrbm_epoch_callback)(const ebm_gbrbm *model,
                                        unsigned epoch, void *user_data);

/* Trains for `epochs` epochs with the rows shuffled every epoch; the
 * callback (may be NULL) runs after each and stops training by returning
 * nonzero (EBM_STOPPED). Errors: as ebm_gbrbm_trainer_step,
 * EBM_ERR_ARGUMENT (epochs 0), EBM_ERR_NOMEM. */
EBM_API ebm_status ebm_gbrbm_trainer_fit(ebm_gbrbm_trainer *trainer,
                                         ebm_gbrbm *model, const float *data,
                                         size_t rows, unsigned epochs,
                                         ebm_gbrbm_epoch_callback callback,
                                         void *user_data);

/* ------------------------------------------------------------------------ */
/* Preprocessing of real-valued data                                        */
/* ------------------------------------------------------------------------ */

/* Transforms of ebm_whitening_fit. */
typedef enum ebm_whiten_mode {
    EBM_WHITEN_NONE = 0,     /* identity */
    EBM_WHITEN_STANDARD = 1, /* (x - mean) / sd per column; a constant
                                column (sd < 1e-6) gets scale 1 */
    EBM_WHITEN_PCA = 2,      /* (x - mean) U diag(s) */
    EBM_WHITEN_ZCA = 3       /* (x - mean) U diag(s) U' */
} ebm_whiten_mode;

/* A fitted transform y = (x - mean) M of rows of D values. */
typedef struct ebm_whitening ebm_whitening;

/*
 * Fits a transform to rows x cols data. PCA and ZCA take the covariance C
 * = (X - mean)'(X - mean) / rows (cblas_ssyrk) and its eigendecomposition
 * C = U diag(lambda) U' (LAPACKE_ssyevd), with s = (lambda + epsilon)^-1/2,
 * so the whitened covariance is U'CU diag(s)^2 = I when epsilon = 0; a
 * positive epsilon keeps directions of near-zero variance from being
 * amplified without bound. Errors: EBM_ERR_NULL, EBM_ERR_SIZE,
 * EBM_ERR_ARGUMENT (mode, epsilon), EBM_ERR_OVERFLOW, EBM_ERR_NONFINITE,
 * EBM_ERR_LIMIT, EBM_ERR_DOMAIN (epsilon 0 with a zero eigenvalue),
 * EBM_ERR_LAPACK (ssyevd info != 0, given in the message), EBM_ERR_NOMEM.
 */
EBM_API ebm_status ebm_whitening_fit(const float *data, size_t rows,
                                     size_t cols, ebm_whiten_mode mode,
                                     float epsilon, ebm_whitening **out);
EBM_API void ebm_whitening_destroy(ebm_whitening *whitening);

/* out = (in - mean) M for rows of cols values; out may equal in. */
EBM_API ebm_status ebm_whitening_apply(const ebm_whitening *whitening,
                                       const float *in, size_t rows,
                                       float *out);

/* out = mean + in M^-1: whitened rows back in the data's space. */
EBM_API ebm_status ebm_whitening_invert(const ebm_whitening *whitening,
                                        const float *in, size_t rows,
                                        float *out);

/* out = in M^-1 without the mean: directions, such as a model's filters,
 * in the data's space. */
EBM_API ebm_status ebm_whitening_map_directions(
    const ebm_whitening *whitening, const float *in, size_t rows,
    float *out);

/* The mode, the number of columns and log |det M|, the term that converts
 * a log-density of whitened rows into one of the original rows:
 * log p(x) = log p(y) + log |det M|. Any output may be NULL. */
EBM_API ebm_status ebm_whitening_info(const ebm_whitening *whitening,
                                      ebm_whiten_mode *mode, size_t *cols,
                                      double *log_det);

/*
 * Saves a Gaussian-Bernoulli RBM, and the whitening of its data if not
 * NULL, as an .npz archive: W, visible_bias, hidden_bias, log_sigma and
 * whiten_mode (1 value), whiten_mean (D), whiten_matrix and whiten_inverse
 * (D x D), whiten_log_det (1 value), float32. Errors: as ebm_rbm_save, and
 * EBM_ERR_MISMATCH if the whitening's width is not D.
 */
EBM_API ebm_status ebm_gbrbm_save(const ebm_gbrbm *model,
                                  const ebm_whitening *whitening,
                                  const char *path);

/*
 * Loads a file of ebm_gbrbm_save; *whitening (if not NULL) receives its
 * whitening or NULL. Errors: as ebm_rbm_load, EBM_ERR_FORMAT for a file
 * without log_sigma (a binary RBM) or with part of a whitening,
 * EBM_ERR_DOMAIN for a log sigma outside +-EBM_GBRBM_LOG_SIGMA_MAX or an
 * unknown whiten_mode.
 */
EBM_API ebm_status ebm_gbrbm_load(const char *path, ebm_gbrbm **model,
                                  ebm_whitening **whitening);

/*
 * Runs `steps` Gibbs steps (h given v, then v given h) of `chains` chains
 * at temperature T in place. state (chains x D, finite) contains the
 * starting visible values and receives the last samples. mean (if not
 * NULL) receives the last visible means a + W h, a clearer picture. Streams: two per step
 * from rng. Errors: EBM_ERR_NULL, EBM_ERR_SIZE, EBM_ERR_OVERFLOW,
 * EBM_ERR_NONFINITE, EBM_ERR_ARGUMENT (steps 0, temperature),
 * EBM_ERR_NOMEM.
 */
EBM_API ebm_status ebm_gbrbm_gibbs(const ebm_gbrbm *model, float *state,
                                   size_t chains, unsigned steps,
                                   float temperature, ebm_rng *rng,
                                   float *mean);

/* The kinds of model file that libebm writes. */
typedef enum ebm_model_kind {
    EBM_MODEL_RBM = 0,   /* W, visible_bias, hidden_bias: ebm_rbm_load */
    EBM_MODEL_BM = 1,    /* V, U or a mask present: ebm_bm_load */
    EBM_MODEL_GBRBM = 2  /* log_sigma present: ebm_gbrbm_load */
} ebm_model_kind;

/*
 * Tells from the entries of an .npz model file which loader reads it,
 * without reading the arrays (the loader then validates them). Errors:
 * EBM_ERR_NULL, EBM_ERR_IO, EBM_ERR_FORMAT (not a zip archive, or
 * log_sigma together with V or U), EBM_ERR_TRUNCATED, EBM_ERR_UNSUPPORTED,
 * EBM_ERR_NOMEM.
 */
EBM_API ebm_status ebm_model_file_kind(const char *path,
                                       ebm_model_kind *kind);

/* The mask of V (hidden = 0) or U (hidden = 1) as an n x n byte matrix,
 * or NULL when the block is unmasked or absent (and for a NULL model). */
EBM_API const unsigned char *ebm_bm_mask(const ebm_bm *bm, int hidden);

#ifdef __cplusplus
}
#endif

#endif /* EBM_H */
