/*
 * CD-k and PCD-k training: sampling, the gradient and the public calls.
 * The update itself is in rbm_update.c.
 *
 * An update is computed entirely in the trainer's buffers and committed at
 * the end, so that a failure leaves the model, the velocities, the chains
 * and the random stream untouched. The chains are written to a second
 * buffer, and the stream position is kept in a local variable until the
 * update has succeeded.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parallel.h"
#include "rbm_trainer.h"
#include "rng.h"

/* Sizes of the trainer's buffers, in floats, and of its per-chunk arrays. */
struct trainer_layout {
    size_t visible, hidden, hidden_state, chains, gradient;
    size_t floats; /* all of the above, gradient and velocity counted */
    size_t chunks;
    size_t bytes;  /* the whole allocation */
};

/* Number of persistent chains that the config requests: 0 for CD. */
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

/* Rounds a count of floats up to a whole number of 64-byte lines. */
static size_t padded(size_t floats)
{
    return (floats + 15) / 16 * 16;
}

static ebm_status plan_layout(const ebm_rbm *rbm,
                              const ebm_train_config *config,
                              struct trainer_layout *layout)
{
    size_t d = rbm->n_visible, k = rbm->n_hidden;
    size_t b = config->batch_size, c = resolved_chains(config);
    size_t n = ebm_max_size(b, c);
    size_t total = 0;
    ebm_status status = EBM_OK;

    *layout = (struct trainer_layout){0};
    if (status == EBM_OK)
        status = add_buffer(b + n, d + 1, &layout->visible, &total);
    if (status == EBM_OK)
        status = add_buffer(b + n, k + 1, &layout->hidden, &total);
    if (status == EBM_OK)
        status = add_buffer(n, k, &layout->hidden_state, &total);
    if (status == EBM_OK)
        status = add_buffer(2 * c, k, &layout->chains, &total);
    if (status == EBM_OK)
        status = add_buffer(d + 1, k + 1, &layout->gradient, &total);
    if (status == EBM_OK)
        total += layout->gradient; /* the velocity */
    if (status == EBM_OK && total > EBM_MAX_ELEMENTS)
        status = ebm_fail(EBM_ERR_LIMIT,
                          "trainer needs %zu floats; the limit is %zu", total,
                          EBM_MAX_ELEMENTS);
    if (status != EBM_OK)
        return status;

    layout->floats = total;
    layout->chunks = (d + 1 + ebm_update_rows_per_chunk(k) - 1) /
                     ebm_update_rows_per_chunk(k);
    /* Six float buffers, each padded to a 64-byte line, then two float
     * arrays and one byte array of one entry per chunk. */
    layout->bytes = (total + 6 * 16 + 2 * padded(layout->chunks)) *
                        sizeof(float) +
                    layout->chunks;
    return EBM_OK;
}

static ebm_status check_create_args(const ebm_rbm *rbm,
                                    const ebm_train_config *config,
                                    struct trainer_layout *layout)
{
    ebm_status status = ebm_check_pointer(rbm, "rbm");

    if (status == EBM_OK)
        status = ebm_check_pointer(config, "config");
    if (status == EBM_OK)
        status = ebm_check_train_config(config);
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
    *bytes = layout.bytes + sizeof(ebm_rbm_trainer);
    return EBM_OK;
}

/* Hands out consecutive pieces of one allocation, each 64-byte aligned. */
static float *take_buffer(float **cursor, size_t count)
{
    float *start = *cursor;

    *cursor += padded(count);
    return count > 0 ? start : NULL;
}

/* Sets the last column of the stacked visible matrix to 1; nothing else
 * writes there. */
static void set_visible_ones(ebm_rbm_trainer *trainer, size_t rows)
{
    size_t d = trainer->n_visible;

    for (size_t r = 0; r < rows; r++)
        trainer->visible[r * (d + 1) + d] = 1.0f;
}

ebm_status ebm_rbm_trainer_create(const ebm_rbm *rbm,
                                  const ebm_train_config *config,
                                  ebm_rbm_trainer **out)
{
    struct trainer_layout layout;
    ebm_rbm_trainer *trainer;
    float *memory, *cursor;
    size_t k, c;
    ebm_status status = ebm_check_pointer(out, "out");

    if (status == EBM_OK)
        status = check_create_args(rbm, config, &layout);
    if (status != EBM_OK)
        return status;
    k = rbm->n_hidden;
    c = resolved_chains(config);

    trainer = calloc(1, sizeof(*trainer));
    memory = ebm_alloc_floats(layout.bytes / sizeof(float) + 1);
    if (trainer == NULL || memory == NULL) {
        free(trainer);
        ebm_free_floats(memory);
        return ebm_fail(EBM_ERR_NOMEM,
                        "cannot allocate %zu bytes of trainer memory",
                        layout.bytes);
    }
    memset(memory, 0, layout.bytes);
    cursor = memory;
    trainer->memory = memory;
    trainer->visible = take_buffer(&cursor, layout.visible);
    trainer->hidden = take_buffer(&cursor, layout.hidden);
    trainer->hidden_state = take_buffer(&cursor, layout.hidden_state);
    trainer->chains = take_buffer(&cursor, layout.chains);
    trainer->chains_next = c > 0 ? trainer->chains + c * k : NULL;
    trainer->gradient = take_buffer(&cursor, layout.gradient);
    trainer->velocity = take_buffer(&cursor, layout.gradient);
    trainer->chunk_param_max = take_buffer(&cursor, layout.chunks);
    trainer->chunk_velocity_max = take_buffer(&cursor, layout.chunks);
    trainer->chunk_nonfinite = (unsigned char *)cursor;

    trainer->n_visible = rbm->n_visible;
    trainer->n_hidden = k;
    trainer->config = *config;
    trainer->config.chains = c;
    ebm_rng_init(&trainer->rng, config->seed);
    set_visible_ones(trainer, layout.visible / (rbm->n_visible + 1));
    *out = trainer;
    return EBM_OK;
}

void ebm_rbm_trainer_destroy(ebm_rbm_trainer *trainer)
{
    if (trainer == NULL)
        return;
    ebm_free_floats(trainer->memory);
    free(trainer);
}

ebm_status ebm_rbm_trainer_reset(ebm_rbm_trainer *trainer)
{
    if (trainer == NULL)
        return ebm_fail(EBM_ERR_NULL, "trainer is NULL");
    memset(trainer->velocity, 0,
           (trainer->n_visible + 1) * (trainer->n_hidden + 1) *
               sizeof(float));
    trainer->velocity_max = 0.0f;
    trainer->chains_ready = false;
    return EBM_OK;
}

/* ------------------------------------------------------------------------ */
/* The gradient of one batch                                                */
/* ------------------------------------------------------------------------ */

/* A sampling layer of the chain: P(. | input) into prob (multiplied by
 * prob_scale), and, if sample is not NULL, a sample drawn from the next
 * stream. */
struct chain_io {
    const float *input;
    size_t input_stride;
    float *prob;
    size_t prob_stride;
    float prob_scale;
    float *sample;
    size_t sample_stride;
};

static void chain_layer(const ebm_rbm *rbm, bool to_visible, size_t rows,
                        const struct chain_io *io, uint64_t seed,
                        uint64_t *stream)
{
    struct ebm_layer_args args = {
        .rbm = rbm,
        .to_visible = to_visible,
        .input = io->input,
        .input_stride = io->input_stride,
        .rows = rows,
        .temperature = 1.0f,
        .prob = io->prob,
        .prob_stride = io->prob_stride,
        .prob_scale = io->prob_scale,
        .sample = io->sample,
        .sample_stride = io->sample_stride,
        .seed = seed,
        .stream = *stream,
    };

    ebm_rbm_layer(&args);
    if (io->sample != NULL)
        (*stream)++;
}

/* Rows of data copied into the stacked visible matrix: row r comes from
 * data row order[r], or from row r when order is NULL. */
struct gather_job {
    const float *data;
    const size_t *order;
    size_t cols;
    float *target;
    size_t target_stride;
};

static void gather_range(void *context, size_t begin, size_t end)
{
    const struct gather_job *job = context;

    for (size_t r = begin; r < end; r++) {
        size_t source = job->order != NULL ? job->order[r] : r;

        memcpy(job->target + r * job->target_stride,
               job->data + source * job->cols, job->cols * sizeof(float));
    }
}

/* Copies `rows` rows into the first rows of the stacked visible matrix, on
 * the worker threads. */
static void gather_rows(ebm_rbm_trainer *trainer, const float *data,
                        const size_t *order, size_t rows)
{
    struct gather_job job = {data, order, trainer->n_visible,
                             trainer->visible, trainer->n_visible + 1};

    ebm_parallel_for(rows, 16, gather_range, &job);
}

/* Sets the last column of the stacked hidden matrix: 1/n for the n batch
 * rows, -1/m for the m negative rows. */
static void set_hidden_weights(ebm_rbm_trainer *trainer, size_t n, size_t m)
{
    size_t k = trainer->n_hidden;

    for (size_t r = 0; r < n + m; r++)
        trainer->hidden[r * (k + 1) + k] =
            r < n ? 1.0f / (float)n : -1.0f / (float)m;
}

/* The stacked matrices and streams of one update. */
struct update_plan {
    ebm_rbm_trainer *trainer;
    const ebm_rbm *rbm;
    size_t n;      /* batch rows */
    size_t m;      /* negative-phase rows */
    uint64_t seed;
    uint64_t *stream;
    float *visible_neg;
    float *hidden_neg;
};

/* CD-k: H+ and a sample of it, then k steps h -> v -> h from that sample. */
static void run_cd_chain(const struct update_plan *u)
{
    ebm_rbm_trainer *trainer = u->trainer;
    size_t d = u->rbm->n_visible, k = u->rbm->n_hidden;
    unsigned steps = trainer->config.gibbs_steps;
    struct chain_io up = {
        .input = trainer->visible,
        .input_stride = d + 1,
        .prob = trainer->hidden,
        .prob_stride = k + 1,
        .prob_scale = 1.0f / (float)u->n,
        .sample = trainer->hidden_state,
        .sample_stride = k,
    };
    struct chain_io down = {
        .input = trainer->hidden_state,
        .input_stride = k,
        .prob = u->visible_neg,
        .prob_stride = d + 1,
        .prob_scale = 1.0f,
        .sample = u->visible_neg,
        .sample_stride = d + 1,
    };

    chain_layer(u->rbm, false, u->n, &up, u->seed, u->stream);
    /* The probabilities of the last step enter the gradient divided by
     * -m. */
    up.input = u->visible_neg;
    up.prob = u->hidden_neg;
    up.prob_scale = -1.0f / (float)u->m;
    for (unsigned step = 1; step <= steps; step++) {
        chain_layer(u->rbm, true, u->m, &down, u->seed, u->stream);
        up.sample = step == steps ? NULL : trainer->hidden_state;
        chain_layer(u->rbm, false, u->m, &up, u->seed, u->stream);
    }
}

/* The last up-step of PCD: one sgemm over the stacked batch and negative
 * visible rows, so that W is packed once for both. Rows below n get
 * P(h | X) / n; the others get -P(h | V) / m and are sampled into the next
 * chains, with uniform indices counted from the first negative row. */
struct stacked_up {
    const ebm_rbm *rbm;
    float *hidden;
    size_t n, m;
    float *next_chains;
    uint64_t seed, stream;
};

static void stacked_up_block(void *context, size_t row_begin, size_t row_end,
                             size_t col_begin, size_t col_end)
{
    const struct stacked_up *job = context;
    size_t k = job->rbm->n_hidden;
    const float *bias = job->rbm->hidden_bias + col_begin;
    size_t width = col_end - col_begin;

    for (size_t r = row_begin; r < row_end; r++) {
        float *prob = job->hidden + r * (k + 1) + col_begin;

        if (r < job->n) {
            ebm_sigmoid_row(prob, bias, width, 1.0f, 1.0f / (float)job->n);
        } else {
            size_t chain = r - job->n;

            ebm_sigmoid_sample_row(prob, bias, width, 1.0f,
                                   -1.0f / (float)job->m, job->seed,
                                   job->stream, chain * k + col_begin,
                                   job->next_chains + chain * k + col_begin);
        }
    }
}

/* PCD-k: k steps h -> v -> h from the persistent chains (initialised from
 * the batch on the first update); the last up-step also computes H+. */
static void run_pcd_chain(const struct update_plan *u)
{
    ebm_rbm_trainer *trainer = u->trainer;
    size_t d = u->rbm->n_visible, k = u->rbm->n_hidden;
    unsigned steps = trainer->config.gibbs_steps;
    struct chain_io up = {
        .input = u->visible_neg,
        .input_stride = d + 1,
        .prob = u->hidden_neg,
        .prob_stride = k + 1,
        .prob_scale = 1.0f,
        .sample = trainer->hidden_state,
        .sample_stride = k,
    };
    struct chain_io down = {
        .input = trainer->chains,
        .input_stride = k,
        .prob = u->visible_neg,
        .prob_stride = d + 1,
        .prob_scale = 1.0f,
        .sample = u->visible_neg,
        .sample_stride = d + 1,
    };
    struct stacked_up last = {
        .rbm = u->rbm,
        .hidden = trainer->hidden,
        .n = u->n,
        .m = u->m,
        .next_chains = trainer->chains_next,
        .seed = u->seed,
    };

    if (!trainer->chains_ready) {
        for (size_t r = 0; r < u->m; r++)
            memcpy(u->visible_neg + r * (d + 1),
                   trainer->visible + (r % u->n) * (d + 1),
                   d * sizeof(float));
        chain_layer(u->rbm, false, u->m, &up, u->seed, u->stream);
        down.input = trainer->hidden_state;
    }
    for (unsigned step = 1; step <= steps; step++) {
        chain_layer(u->rbm, true, u->m, &down, u->seed, u->stream);
        if (step < steps) {
            chain_layer(u->rbm, false, u->m, &up, u->seed, u->stream);
            down.input = trainer->hidden_state;
        }
    }
    last.stream = (*u->stream)++;
    ebm_gemm(false, false, u->n + u->m, k, d, 1.0f, trainer->visible, d + 1,
             u->rbm->weights, k, 0.0f, trainer->hidden, k + 1,
             stacked_up_block, &last);
}

/*
 * Runs the Gibbs chain and writes the gradient into trainer->gradient. The
 * batch must already be in the first n rows of trainer->visible. Uses
 * streams from *stream on and leaves the new chains in chains_next.
 * Nothing else in the trainer or the model changes.
 */
static void compute_gradient(ebm_rbm_trainer *trainer, const ebm_rbm *rbm,
                             size_t n, uint64_t *stream)
{
    size_t d = rbm->n_visible, k = rbm->n_hidden;
    bool persistent = trainer->config.method == EBM_PCD;
    size_t m = persistent ? trainer->config.chains : n;
    struct update_plan plan = {
        .trainer = trainer,
        .rbm = rbm,
        .n = n,
        .m = m,
        .seed = trainer->rng.seed,
        .stream = stream,
        .visible_neg = trainer->visible + n * (d + 1),
        .hidden_neg = trainer->hidden + n * (k + 1),
    };

    if (persistent)
        run_pcd_chain(&plan);
    else
        run_cd_chain(&plan);

    /* [X; V]' [H+ / n, 1/n; -H- / m, -1/m] gives grad W, a and b at once. */
    set_hidden_weights(trainer, n, m);
    ebm_gemm(true, false, d + 1, k + 1, n + m, 1.0f, trainer->visible, d + 1,
             trainer->hidden, k + 1, 0.0f, trainer->gradient, k + 1, NULL,
             NULL);
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
    gather_rows(trainer, batch, NULL, rows);
    compute_gradient(trainer, rbm, rows, &stream);
    commit_chains(trainer, stream);
    for (size_t i = 0; i < d; i++) {
        memcpy(grad_w + i * k, trainer->gradient + i * (k + 1),
               k * sizeof(float));
        grad_a[i] = trainer->gradient[i * (k + 1) + k];
    }
    memcpy(grad_b, trainer->gradient + d * (k + 1), k * sizeof(float));
    return EBM_OK;
}

/* An update on the batch in the first n rows of trainer->visible, whose
 * arguments were checked. */
static ebm_status step_checked(ebm_rbm_trainer *trainer, ebm_rbm *rbm,
                               size_t rows)
{
    uint64_t stream = trainer->rng.stream;
    ebm_status status;

    compute_gradient(trainer, rbm, rows, &stream);
    status = ebm_trainer_apply_update(trainer, rbm);
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
    gather_rows(trainer, batch, NULL, rows);
    return step_checked(trainer, rbm, rows);
}

void ebm_shuffle_rows(size_t *order, size_t rows, uint64_t seed,
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
    size_t batch_size = trainer->config.batch_size;

    ebm_shuffle_rows(order, rows, trainer->rng.seed, trainer->rng.stream++);
    for (size_t begin = 0; begin < rows; begin += batch_size) {
        size_t n = ebm_min_size(batch_size, rows - begin);
        ebm_status status;

        gather_rows(trainer, data, order + begin, n);
        status = step_checked(trainer, rbm, n);
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
