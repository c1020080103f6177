/*
 * CD-k and PCD-k training with SGD, momentum and weight decay.
 *
 * An update is computed entirely in the trainer's buffers and committed at
 * the end, so that a failure leaves the model, the velocities, the chains
 * and the random stream untouched: the new velocities are written over the
 * gradient buffer, checked, added to the parameters, and the two buffers
 * then swap roles.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernel.h"
#include "parallel.h"
#include "rbm_internal.h"
#include "rng.h"

struct ebm_rbm_trainer {
    size_t n_visible, n_hidden;
    ebm_train_config config; /* chains resolved: 0 for CD */
    ebm_rng rng;
    bool chains_ready;

    float *batch;        /* B x D rows gathered by fit */
    float *hidden_pos;   /* B x K, P(h | batch) */
    float *hidden_state; /* N x K hidden samples driving the chain */
    float *visible_neg;  /* N x D negative-phase visible samples */
    float *hidden_neg;   /* N x K, P(h | visible_neg) */
    float *chains;       /* C x K persistent hidden samples (PCD) */
    float *chains_next;  /* C x K the chains after the pending update */
    float *gradient;     /* W, a, b gradients, laid out as the model */
    float *velocity;     /* W, a, b velocities */
    unsigned char *chunk_flags; /* per chunk of the update: non-finite */
    float *memory;       /* the one allocation behind every buffer */
};

/* Parameters per chunk of the parallel update. */
#define UPDATE_GRAIN ((size_t)16384)

static size_t update_chunks(size_t params)
{
    return (params + UPDATE_GRAIN - 1) / UPDATE_GRAIN;
}

/* Sizes of the trainer's buffers, in floats. */
struct trainer_layout {
    size_t batch, hidden_pos, hidden_state, visible_neg, hidden_neg;
    size_t chains, params, total;
};

static ebm_status validate_config(const ebm_train_config *config)
{
    if (config->method != EBM_CD && config->method != EBM_PCD)
        return ebm_fail(EBM_ERR_ARGUMENT,
                        "method is %d; expected EBM_CD or EBM_PCD",
                        (int)config->method);
    if (config->gibbs_steps == 0)
        return ebm_fail(EBM_ERR_ARGUMENT,
                        "gibbs_steps is 0; expected at least 1");
    if (config->batch_size == 0)
        return ebm_fail(EBM_ERR_SIZE, "batch_size is 0");
    if (config->batch_size > EBM_MAX_UNITS ||
        config->chains > EBM_MAX_UNITS)
        return ebm_fail(EBM_ERR_LIMIT,
                        "batch_size %zu or chains %zu exceeds %zu rows",
                        config->batch_size, config->chains, EBM_MAX_UNITS);
    if (!(isfinite(config->learning_rate) && config->learning_rate > 0.0f))
        return ebm_fail(EBM_ERR_ARGUMENT,
                        "learning_rate is %g; expected a finite value > 0",
                        (double)config->learning_rate);
    if (!(config->momentum >= 0.0f && config->momentum < 1.0f))
        return ebm_fail(EBM_ERR_ARGUMENT,
                        "momentum is %g; expected a value in [0, 1)",
                        (double)config->momentum);
    if (!(isfinite(config->weight_decay) && config->weight_decay >= 0.0f))
        return ebm_fail(EBM_ERR_ARGUMENT,
                        "weight_decay is %g; expected a finite value >= 0",
                        (double)config->weight_decay);
    return EBM_OK;
}

/* Number of persistent chains the config asks for: 0 for CD. */
static size_t resolved_chains(const ebm_train_config *config)
{
    if (config->method != EBM_PCD)
        return 0;
    return config->chains != 0 ? config->chains : config->batch_size;
}

/* Adds rows x cols floats to *total, failing on overflow. */
static ebm_status add_buffer(size_t rows, size_t cols, size_t *size,
                             size_t *total)
{
    ebm_status status = ebm_mul_size(rows, cols, size, "trainer buffer");

    if (status != EBM_OK)
        return status;
    if (*size > SIZE_MAX / sizeof(float) - *total)
        return ebm_fail(EBM_ERR_OVERFLOW, "trainer memory overflows size_t");
    *total += *size;
    return EBM_OK;
}

static ebm_status plan_layout(const ebm_rbm *rbm,
                              const ebm_train_config *config,
                              struct trainer_layout *layout)
{
    size_t d = rbm->n_visible, k = rbm->n_hidden;
    size_t b = config->batch_size, c = resolved_chains(config);
    size_t n = ebm_max_size(b, c);
    ebm_status status = EBM_OK;

    *layout = (struct trainer_layout){0};
    layout->params = ebm_rbm_param_count(rbm);
    layout->total = 2 * layout->params;
    if (status == EBM_OK)
        status = add_buffer(b, d, &layout->batch, &layout->total);
    if (status == EBM_OK)
        status = add_buffer(b, k, &layout->hidden_pos, &layout->total);
    if (status == EBM_OK)
        status = add_buffer(n, k, &layout->hidden_state, &layout->total);
    if (status == EBM_OK)
        status = add_buffer(n, d, &layout->visible_neg, &layout->total);
    if (status == EBM_OK)
        status = add_buffer(n, k, &layout->hidden_neg, &layout->total);
    if (status == EBM_OK)
        status = add_buffer(2 * c, k, &layout->chains, &layout->total);
    if (status == EBM_OK && layout->total > EBM_MAX_ELEMENTS)
        status = ebm_fail(EBM_ERR_LIMIT,
                          "trainer needs %zu floats; the limit is %zu",
                          layout->total, EBM_MAX_ELEMENTS);
    return status;
}

static ebm_status check_create_args(const ebm_rbm *rbm,
                                    const ebm_train_config *config,
                                    struct trainer_layout *layout)
{
    ebm_status status = ebm_check_pointer(rbm, "rbm");

    if (status == EBM_OK)
        status = ebm_check_pointer(config, "config");
    if (status == EBM_OK)
        status = validate_config(config);
    if (status == EBM_OK)
        status = plan_layout(rbm, config, layout);
    return status;
}

ebm_status ebm_train_config_init(ebm_train_config *config)
{
    if (config == NULL)
        return ebm_fail(EBM_ERR_NULL, "config is NULL");
    *config = (ebm_train_config){
        .method = EBM_CD,
        .gibbs_steps = 1,
        .batch_size = 100,
        .chains = 0,
        .learning_rate = 0.05f,
        .momentum = 0.5f,
        .weight_decay = 0.0001f,
        .seed = 1,
    };
    return EBM_OK;
}

ebm_status ebm_rbm_trainer_memory(const ebm_rbm *rbm,
                                  const ebm_train_config *config,
                                  size_t *bytes)
{
    struct trainer_layout layout;
    ebm_status status = ebm_check_pointer(bytes, "bytes");

    if (status == EBM_OK)
        status = check_create_args(rbm, config, &layout);
    if (status != EBM_OK)
        return status;
    /* The buffers with their alignment padding, the chunk flags and the
     * struct itself, exactly as ebm_rbm_trainer_create allocates them. */
    *bytes = (layout.total + 8 * 16) * sizeof(float) +
             update_chunks(layout.params) + sizeof(ebm_rbm_trainer);
    return EBM_OK;
}

/* Hands out consecutive pieces of one allocation, each 64-byte aligned. */
static float *take_buffer(float **cursor, size_t count)
{
    float *start = *cursor;

    *cursor += (count + 15) / 16 * 16;
    return count > 0 ? start : NULL;
}

ebm_status ebm_rbm_trainer_create(const ebm_rbm *rbm,
                                  const ebm_train_config *config,
                                  ebm_rbm_trainer **out)
{
    struct trainer_layout layout;
    ebm_rbm_trainer *trainer;
    float *memory, *cursor;
    size_t d, k, c;
    ebm_status status = ebm_check_pointer(out, "out");

    if (status == EBM_OK)
        status = check_create_args(rbm, config, &layout);
    if (status != EBM_OK)
        return status;
    d = rbm->n_visible;
    k = rbm->n_hidden;
    c = resolved_chains(config);

    trainer = calloc(1, sizeof(*trainer));
    /* 8 buffers, each rounded up to 16 floats. */
    memory = ebm_alloc_floats(layout.total + 8 * 16);
    if (trainer != NULL)
        trainer->chunk_flags = calloc(update_chunks(layout.params), 1);
    if (trainer == NULL || memory == NULL || trainer->chunk_flags == NULL) {
        if (trainer != NULL)
            free(trainer->chunk_flags);
        free(trainer);
        ebm_free_floats(memory);
        return ebm_fail(EBM_ERR_NOMEM,
                        "cannot allocate %zu bytes of trainer memory",
                        layout.total * sizeof(float));
    }
    memset(memory, 0, (layout.total + 8 * 16) * sizeof(float));
    cursor = memory;
    trainer->memory = memory;
    trainer->gradient = take_buffer(&cursor, layout.params);
    trainer->velocity = take_buffer(&cursor, layout.params);
    trainer->batch = take_buffer(&cursor, layout.batch);
    trainer->hidden_pos = take_buffer(&cursor, layout.hidden_pos);
    trainer->hidden_state = take_buffer(&cursor, layout.hidden_state);
    trainer->visible_neg = take_buffer(&cursor, layout.visible_neg);
    trainer->hidden_neg = take_buffer(&cursor, layout.hidden_neg);
    trainer->chains = take_buffer(&cursor, layout.chains);
    trainer->chains_next = c > 0 ? trainer->chains + c * k : NULL;

    trainer->n_visible = d;
    trainer->n_hidden = k;
    trainer->config = *config;
    trainer->config.chains = c;
    ebm_rng_init(&trainer->rng, config->seed);
    *out = trainer;
    return EBM_OK;
}

void ebm_rbm_trainer_destroy(ebm_rbm_trainer *trainer)
{
    if (trainer == NULL)
        return;
    ebm_free_floats(trainer->memory);
    free(trainer->chunk_flags);
    free(trainer);
}

ebm_status ebm_rbm_trainer_reset(ebm_rbm_trainer *trainer)
{
    size_t params;

    if (trainer == NULL)
        return ebm_fail(EBM_ERR_NULL, "trainer is NULL");
    params = trainer->n_visible * trainer->n_hidden + trainer->n_visible +
             trainer->n_hidden;
    memset(trainer->velocity, 0, params * sizeof(float));
    trainer->chains_ready = false;
    return EBM_OK;
}

/* ------------------------------------------------------------------------ */
/* The gradient of one batch                                                */
/* ------------------------------------------------------------------------ */

/* One sampling layer of the chain: prob = P(. | input), sample drawn from
 * the next stream (or none when sample is NULL). */
static void chain_layer(const ebm_rbm *rbm, bool to_visible,
                        const float *input, size_t rows, float *prob,
                        float *sample, uint64_t seed, uint64_t *stream)
{
    struct ebm_layer_args args = {
        .rbm = rbm,
        .to_visible = to_visible,
        .input = input,
        .rows = rows,
        .temperature = 1.0f,
        .prob = prob,
        .sample = sample,
        .seed = seed,
        .stream = *stream,
    };

    ebm_rbm_layer(&args);
    if (sample != NULL)
        (*stream)++;
}

/* Copies rows r mod n of batch into the first `chains` rows of target. */
static void cycle_rows(const float *batch, size_t n, size_t cols,
                       size_t chains, float *target)
{
    for (size_t r = 0; r < chains; r++)
        memcpy(target + r * cols, batch + (r % n) * cols,
               cols * sizeof(float));
}

struct column_means {
    const float *matrix;
    size_t rows, cols;
    float scale;
    float *out;
    bool subtract;
};

/* out[c] (+)= scale * sum_r matrix[r, c] for a range of columns; the sum
 * runs over the rows in order, so chunking by columns keeps it exact. */
static void column_means_range(void *context, size_t begin, size_t end)
{
    const struct column_means *job = context;

    for (size_t c = begin; c < end; c++) {
        float sum = 0.0f;

        for (size_t r = 0; r < job->rows; r++)
            sum += job->matrix[r * job->cols + c];
        if (job->subtract)
            job->out[c] -= job->scale * sum;
        else
            job->out[c] = job->scale * sum;
    }
}

static void column_means(const float *matrix, size_t rows, size_t cols,
                         float scale, float *out, bool subtract)
{
    struct column_means job = {matrix, rows, cols, scale, out, subtract};

    ebm_parallel_for(cols, 256, column_means_range, &job);
}

/*
 * Runs the Gibbs chain and writes the gradient into trainer->gradient.
 * Uses streams from *stream on and leaves the new chains in chains_next.
 * Nothing else in the trainer or the model changes.
 */
static void compute_gradient(ebm_rbm_trainer *trainer, const ebm_rbm *rbm,
                             const float *batch, size_t n, uint64_t *stream)
{
    size_t d = rbm->n_visible, k = rbm->n_hidden;
    const ebm_train_config *config = &trainer->config;
    uint64_t seed = trainer->rng.seed;
    bool persistent = config->method == EBM_PCD;
    size_t m = persistent ? config->chains : n;
    const float *state = trainer->hidden_state;
    float *grad_w = trainer->gradient;
    float *grad_a = grad_w + d * k;
    float *grad_b = grad_a + d;

    /* Positive phase; for CD the chain starts from a sample of it. */
    chain_layer(rbm, false, batch, n, trainer->hidden_pos,
                persistent ? NULL : trainer->hidden_state, seed, stream);
    if (persistent && !trainer->chains_ready) {
        cycle_rows(batch, n, d, m, trainer->visible_neg);
        chain_layer(rbm, false, trainer->visible_neg, m, trainer->hidden_neg,
                    trainer->hidden_state, seed, stream);
    } else if (persistent) {
        state = trainer->chains;
    }

    /* Negative phase: k steps h -> v -> h. */
    for (unsigned step = 1; step <= config->gibbs_steps; step++) {
        bool last = step == config->gibbs_steps;
        float *next_state = NULL;

        chain_layer(rbm, true, state, m, trainer->visible_neg,
                    trainer->visible_neg, seed, stream);
        if (persistent)
            next_state = last ? trainer->chains_next : trainer->hidden_state;
        else if (!last)
            next_state = trainer->hidden_state;
        chain_layer(rbm, false, trainer->visible_neg, m, trainer->hidden_neg,
                    next_state, seed, stream);
        state = trainer->hidden_state;
    }

    /* grad_w = X'H+ / n - V'H- / m: two products into the same output. */
    ebm_gemm(true, false, d, k, n, 1.0f / (float)n, batch, d,
             trainer->hidden_pos, k, 0.0f, grad_w, k, NULL, NULL);
    ebm_gemm(true, false, d, k, m, -1.0f / (float)m, trainer->visible_neg, d,
             trainer->hidden_neg, k, 1.0f, grad_w, k, NULL, NULL);
    column_means(batch, n, d, 1.0f / (float)n, grad_a, false);
    column_means(trainer->visible_neg, m, d, 1.0f / (float)m, grad_a, true);
    column_means(trainer->hidden_pos, n, k, 1.0f / (float)n, grad_b, false);
    column_means(trainer->hidden_neg, m, k, 1.0f / (float)m, grad_b, true);
}

/* Makes the pending chains current and consumes the streams used. */
static void commit_chains(ebm_rbm_trainer *trainer, uint64_t stream)
{
    if (trainer->config.method == EBM_PCD) {
        float *old = trainer->chains;

        trainer->chains = trainer->chains_next;
        trainer->chains_next = old;
        trainer->chains_ready = true;
    }
    trainer->rng.stream = stream;
}

/* ------------------------------------------------------------------------ */
/* The update                                                               */
/* ------------------------------------------------------------------------ */

struct update_job {
    float *params;
    float *gradient; /* in: gradient; out: new velocity */
    const float *velocity;
    size_t decayed; /* elements of W, the first of params, get decay */
    float learning_rate, momentum, weight_decay;
    unsigned char *chunk_bad; /* one flag per chunk */
};

/* New velocity into the gradient buffer, and a flag for the chunk if any
 * parameter plus its new velocity is not finite. */
EBM_KERNEL
static void update_velocity(void *context, size_t begin, size_t end)
{
    const struct update_job *job = context;
    uint32_t bad = 0;

    for (size_t i = begin; i < end; i++) {
        float decay = i < job->decayed ? job->weight_decay : 0.0f;
        float step = job->momentum * job->velocity[i] +
                     job->learning_rate *
                         (job->gradient[i] - decay * job->params[i]);
        float updated = job->params[i] + step;
        uint32_t bits;

        memcpy(&bits, &updated, sizeof(bits));
        bad |= (bits & 0x7f800000u) == 0x7f800000u;
        job->gradient[i] = step;
    }
    job->chunk_bad[begin / UPDATE_GRAIN] = bad != 0;
}

EBM_KERNEL
static void apply_velocity(void *context, size_t begin, size_t end)
{
    const struct update_job *job = context;

    for (size_t i = begin; i < end; i++)
        job->params[i] += job->gradient[i];
}

/* Applies the update of trainer->gradient to rbm, or fails with
 * EBM_ERR_DIVERGED and changes nothing but the gradient buffer. */
static ebm_status apply_update(ebm_rbm_trainer *trainer, ebm_rbm *rbm)
{
    size_t count = ebm_rbm_param_count(rbm);
    size_t chunks = update_chunks(count);
    unsigned char *chunk_bad = trainer->chunk_flags;
    struct update_job job = {
        .params = rbm->params,
        .gradient = trainer->gradient,
        .velocity = trainer->velocity,
        .decayed = rbm->n_visible * rbm->n_hidden,
        .learning_rate = trainer->config.learning_rate,
        .momentum = trainer->config.momentum,
        .weight_decay = trainer->config.weight_decay,
        .chunk_bad = chunk_bad,
    };
    size_t first_bad = chunks;
    float *old_velocity;

    ebm_parallel_for(count, UPDATE_GRAIN, update_velocity, &job);
    for (size_t c = 0; c < chunks; c++)
        if (chunk_bad[c]) {
            first_bad = c;
            break;
        }
    if (first_bad < chunks)
        return ebm_fail(EBM_ERR_DIVERGED,
                        "the update would make a parameter non-finite "
                        "(near parameter %zu); parameters unchanged, lower "
                        "the learning rate (now %g)",
                        first_bad * UPDATE_GRAIN,
                        (double)trainer->config.learning_rate);

    ebm_parallel_for(count, UPDATE_GRAIN, apply_velocity, &job);
    old_velocity = trainer->velocity;
    trainer->velocity = trainer->gradient;
    trainer->gradient = old_velocity;
    return EBM_OK;
}

/* ------------------------------------------------------------------------ */
/* Public training calls                                                    */
/* ------------------------------------------------------------------------ */

/* Checks of everything an update on a batch needs except the batch's
 * values, which fit validates once for the whole data set. */
static ebm_status check_step_args(const ebm_rbm_trainer *trainer,
                                  const ebm_rbm *rbm, const float *batch,
                                  size_t rows)
{
    ebm_status status = ebm_check_pointer(trainer, "trainer");

    if (status == EBM_OK)
        status = ebm_check_pointer(rbm, "rbm");
    if (status == EBM_OK)
        status = ebm_check_pointer(batch, "batch");
    if (status != EBM_OK)
        return status;
    if (rbm->n_visible != trainer->n_visible ||
        rbm->n_hidden != trainer->n_hidden)
        return ebm_fail(EBM_ERR_MISMATCH,
                        "model is %zu x %zu but the trainer was created for "
                        "%zu x %zu",
                        rbm->n_visible, rbm->n_hidden, trainer->n_visible,
                        trainer->n_hidden);
    if (rows == 0 || rows > trainer->config.batch_size)
        return ebm_fail(EBM_ERR_SIZE,
                        "batch has %zu rows; expected 1 to batch_size = %zu",
                        rows, trainer->config.batch_size);
    return EBM_OK;
}

static ebm_status check_batch_values(const ebm_rbm_trainer *trainer,
                                     const float *batch, size_t rows)
{
    size_t count;
    ebm_status status =
        ebm_mul_size(rows, trainer->n_visible, &count, "batch");

    if (status != EBM_OK)
        return status;
    return ebm_check_unit_interval(batch, rows, trainer->n_visible, "batch");
}

ebm_status ebm_rbm_trainer_gradient(ebm_rbm_trainer *trainer,
                                    const ebm_rbm *rbm, const float *batch,
                                    size_t rows, float *grad_w, float *grad_a,
                                    float *grad_b)
{
    size_t d, k;
    uint64_t stream;
    ebm_status status = check_step_args(trainer, rbm, batch, rows);

    if (status == EBM_OK)
        status = ebm_check_pointer(grad_w, "grad_w");
    if (status == EBM_OK)
        status = ebm_check_pointer(grad_a, "grad_a");
    if (status == EBM_OK)
        status = ebm_check_pointer(grad_b, "grad_b");
    if (status == EBM_OK)
        status = check_batch_values(trainer, batch, rows);
    if (status != EBM_OK)
        return status;

    d = rbm->n_visible;
    k = rbm->n_hidden;
    stream = trainer->rng.stream;
    compute_gradient(trainer, rbm, batch, rows, &stream);
    commit_chains(trainer, stream);
    memcpy(grad_w, trainer->gradient, d * k * sizeof(float));
    memcpy(grad_a, trainer->gradient + d * k, d * sizeof(float));
    memcpy(grad_b, trainer->gradient + d * k + d, k * sizeof(float));
    return EBM_OK;
}

/* An update on a batch whose arguments were checked. */
static ebm_status step_checked(ebm_rbm_trainer *trainer, ebm_rbm *rbm,
                               const float *batch, size_t rows)
{
    uint64_t stream = trainer->rng.stream;
    ebm_status status;

    compute_gradient(trainer, rbm, batch, rows, &stream);
    status = apply_update(trainer, rbm);
    if (status == EBM_OK)
        commit_chains(trainer, stream);
    return status;
}

ebm_status ebm_rbm_trainer_step(ebm_rbm_trainer *trainer, ebm_rbm *rbm,
                                const float *batch, size_t rows)
{
    ebm_status status = check_step_args(trainer, rbm, batch, rows);

    if (status == EBM_OK)
        status = check_batch_values(trainer, batch, rows);
    if (status != EBM_OK)
        return status;
    return step_checked(trainer, rbm, batch, rows);
}

/* Fisher-Yates shuffle of order[0 .. rows) from one stream: position i
 * (from the top) swaps with word (rows - 1 - i) mod (i + 1). */
static void shuffle_rows(size_t *order, size_t rows, uint64_t seed,
                         uint64_t stream)
{
    uint32_t words[256];

    for (size_t i = 0; i < rows; i++)
        order[i] = i;
    for (size_t done = 0; done + 1 < rows; done += 256) {
        size_t take = ebm_min_size(256, rows - 1 - done);

        ebm_rng_fill_words(seed, stream, done, take, words);
        for (size_t w = 0; w < take; w++) {
            size_t i = rows - 1 - (done + w);
            size_t j = (size_t)(words[w] % (uint64_t)(i + 1));
            size_t held = order[i];

            order[i] = order[j];
            order[j] = held;
        }
    }
}

static double seconds_now(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + 1e-9 * (double)now.tv_nsec;
}

static ebm_status check_fit_args(const ebm_rbm_trainer *trainer,
                                 const ebm_rbm *rbm, const float *data,
                                 size_t rows, unsigned epochs)
{
    ebm_status status = ebm_check_pointer(trainer, "trainer");

    if (status == EBM_OK)
        status = ebm_check_pointer(rbm, "rbm");
    if (status != EBM_OK)
        return status;
    if (epochs == 0)
        return ebm_fail(EBM_ERR_SIZE, "epochs is 0");
    status = check_step_args(trainer, rbm, data != NULL ? data : (void *)1,
                             1);
    if (status == EBM_OK)
        status = ebm_check_batch(data, rows, rbm->n_visible, "data");
    return status;
}

/* One epoch: a new order, then every batch. */
static ebm_status run_epoch(ebm_rbm_trainer *trainer, ebm_rbm *rbm,
                            const float *data, size_t rows, size_t *order,
                            size_t *updates)
{
    size_t d = rbm->n_visible, batch_size = trainer->config.batch_size;

    shuffle_rows(order, rows, trainer->rng.seed, trainer->rng.stream++);
    for (size_t begin = 0; begin < rows; begin += batch_size) {
        size_t n = ebm_min_size(batch_size, rows - begin);
        ebm_status status;

        for (size_t r = 0; r < n; r++)
            memcpy(trainer->batch + r * d, data + order[begin + r] * d,
                   d * sizeof(float));
        status = step_checked(trainer, rbm, trainer->batch, n);
        if (status != EBM_OK)
            return status;
        (*updates)++;
    }
    return EBM_OK;
}

ebm_status ebm_rbm_trainer_fit(ebm_rbm_trainer *trainer, ebm_rbm *rbm,
                               const float *data, size_t rows,
                               unsigned epochs, ebm_epoch_callback callback,
                               void *user_data)
{
    size_t *order, updates = 0;
    ebm_status status = check_fit_args(trainer, rbm, data, rows, epochs);

    if (status != EBM_OK)
        return status;
    order = malloc(rows * sizeof(*order));
    if (order == NULL)
        return ebm_fail(EBM_ERR_NOMEM, "cannot allocate %zu row indices",
                        rows);

    for (unsigned epoch = 1; epoch <= epochs; epoch++) {
        double start = seconds_now();
        ebm_epoch_report report;

        status = run_epoch(trainer, rbm, data, rows, order, &updates);
        if (status != EBM_OK)
            break;
        report = (ebm_epoch_report){
            .epoch = epoch,
            .epochs = epochs,
            .updates = updates,
            .rows = rows,
            .seconds = seconds_now() - start,
        };
        if (callback != NULL && callback(rbm, &report, user_data) != 0) {
            status = EBM_STOPPED;
            break;
        }
    }
    free(order);
    return status;
}

ebm_status ebm_rbm_fit(ebm_rbm *rbm, const ebm_train_config *config,
                       const float *data, size_t rows, unsigned epochs,
                       ebm_epoch_callback callback, void *user_data)
{
    ebm_train_config adjusted;
    ebm_rbm_trainer *trainer;
    ebm_status status = ebm_check_pointer(config, "config");

    if (status != EBM_OK)
        return status;
    adjusted = *config;
    if (rows > 0 && adjusted.batch_size > rows)
        adjusted.batch_size = rows;
    status = ebm_rbm_trainer_create(rbm, &adjusted, &trainer);
    if (status != EBM_OK)
        return status;
    status = ebm_rbm_trainer_fit(trainer, rbm, data, rows, epochs, callback,
                                 user_data);
    ebm_rbm_trainer_destroy(trainer);
    return status;
}
