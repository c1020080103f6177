/*
 * The SGD update with momentum and weight decay, all or nothing.
 *
 * A failed update must leave the parameters exactly as they were, and
 * (p + v) - v does not give p back in floating point, so an update that
 * might produce a non-finite parameter is done in two passes: the new
 * velocities are written over the gradient and checked, and only then added
 * to the parameters (the checked path). When bounds on the parameters, the
 * velocities and the gradient prove that no value can overflow, one pass
 * updates everything in place (the fast path). Both paths compute every
 * value with the same operations, so they give the same bits.
 */
#include <stdint.h>
#include <string.h>

#include "kernel.h"
#include "parallel.h"
#include "rbm_trainer.h"

/* Gradient elements are differences of means of products of values in
 * [0, 1], so |g| <= 1; 4 also covers float rounding of sums of up to 2^25
 * terms. Only valid when the sampling passes saw no infinity, see
 * update_cannot_overflow. */
#define GRADIENT_BOUND 4.0

/* Values below this stay far from FLT_MAX (3.4e38) whatever is added. */
#define SAFE_MAGNITUDE 1e30

size_t ebm_update_rows_per_chunk(size_t n_hidden)
{
    size_t rows = 16384 / (n_hidden + 1);

    return rows > 0 ? rows : 1;
}

/*
 * True if no value of the next update can overflow. Pre-activations are
 * sums of at most max(D, K) + 1 terms, each at most max_abs in magnitude
 * (the inputs lie in [0, 1]), so below SAFE_MAGNITUDE no infinity can occur
 * in the sampling passes, every probability is finite, and the gradient
 * respects GRADIENT_BOUND. Then the new parameters are bounded by the sum
 * below.
 */
static bool update_cannot_overflow(const ebm_rbm_trainer *trainer,
                                   const ebm_rbm *rbm)
{
    const ebm_train_config *config = &trainer->config;
    double params = rbm->max_abs;
    double widest = (double)ebm_max_size(rbm->n_visible, rbm->n_hidden) + 1;
    double step = config->momentum * (double)trainer->velocity_max +
                  config->learning_rate *
                      (GRADIENT_BOUND + config->weight_decay * params);

    return widest * params < SAFE_MAGNITUDE &&
           params + step < SAFE_MAGNITUDE;
}

struct update_job {
    ebm_rbm *rbm;
    ebm_rbm_trainer *trainer;
    size_t rows_per_chunk;
};

/* The parameters of row i of the gradient layout: W[i, :] and a_i for
 * i < D, b for i = D (which has no element in column K). */
static float *row_params(ebm_rbm *rbm, size_t i)
{
    return i < rbm->n_visible ? rbm->weights + i * rbm->n_hidden
                              : rbm->hidden_bias;
}

static float row_decay(const ebm_rbm_trainer *trainer, const ebm_rbm *rbm,
                       size_t i)
{
    return i < rbm->n_visible ? trainer->config.weight_decay : 0.0f;
}

/* The bits of |x|. For finite floats they order like the magnitudes, and
 * an integer maximum vectorises where a float maximum does not. */
static inline uint32_t magnitude_bits(float x)
{
    uint32_t bits;

    memcpy(&bits, &x, sizeof(bits));
    return bits & 0x7fffffffu;
}

static inline float bits_to_float(uint32_t bits)
{
    float x;

    memcpy(&x, &bits, sizeof(x));
    return x;
}

static inline float velocity_step(const ebm_train_config *config,
                                  float velocity, float gradient,
                                  float param, float decay)
{
    return config->momentum * velocity +
           config->learning_rate * (gradient - decay * param);
}

/* Fast path on `count` elements: velocity and parameters in place. Raises
 * maxima[0] and [1] to the magnitude bits of the largest new parameter and
 * new velocity. */
EBM_KERNEL
static void update_span_in_place(const ebm_train_config *config,
                                 float *param, float *velocity,
                                 const float *gradient, size_t count,
                                 float decay, uint32_t maxima[2])
{
    uint32_t param_max = maxima[0], velocity_max = maxima[1];

    for (size_t j = 0; j < count; j++) {
        float step =
            velocity_step(config, velocity[j], gradient[j], param[j], decay);
        float updated = param[j] + step;
        uint32_t param_bits = magnitude_bits(updated);
        uint32_t step_bits = magnitude_bits(step);

        velocity[j] = step;
        param[j] = updated;
        param_max = param_bits > param_max ? param_bits : param_max;
        velocity_max = step_bits > velocity_max ? step_bits : velocity_max;
    }
    maxima[0] = param_max;
    maxima[1] = velocity_max;
}

static void update_rows_in_place(void *context, size_t begin, size_t end)
{
    const struct update_job *job = context;
    ebm_rbm *rbm = job->rbm;
    ebm_rbm_trainer *trainer = job->trainer;
    size_t k = rbm->n_hidden, stride = k + 1;
    uint32_t maxima[2] = {0, 0};

    for (size_t i = begin; i < end; i++) {
        float *velocity = trainer->velocity + i * stride;
        const float *gradient = trainer->gradient + i * stride;

        update_span_in_place(&trainer->config, row_params(rbm, i), velocity,
                             gradient, k, row_decay(trainer, rbm, i),
                             maxima);
        /* Column K of the first D rows: the visible bias. */
        if (i < rbm->n_visible)
            update_span_in_place(&trainer->config, rbm->visible_bias + i,
                                 velocity + k, gradient + k, 1, 0.0f,
                                 maxima);
    }
    trainer->chunk_param_max[begin / job->rows_per_chunk] =
        bits_to_float(maxima[0]);
    trainer->chunk_velocity_max[begin / job->rows_per_chunk] =
        bits_to_float(maxima[1]);
}

/* Checked path, first pass: new velocities over the gradient, and whether
 * any parameter plus its new velocity is NaN or infinite. */
EBM_KERNEL
static uint32_t velocity_span(const ebm_train_config *config,
                              const float *param, const float *velocity,
                              float *gradient, size_t count, float decay)
{
    uint32_t nonfinite = 0;

    for (size_t j = 0; j < count; j++) {
        float step =
            velocity_step(config, velocity[j], gradient[j], param[j], decay);
        float updated = param[j] + step;
        uint32_t bits;

        memcpy(&bits, &updated, sizeof(bits));
        nonfinite |= (bits & 0x7f800000u) == 0x7f800000u;
        gradient[j] = step;
    }
    return nonfinite;
}

static void velocity_rows(void *context, size_t begin, size_t end)
{
    const struct update_job *job = context;
    ebm_rbm *rbm = job->rbm;
    ebm_rbm_trainer *trainer = job->trainer;
    size_t k = rbm->n_hidden, stride = k + 1;
    uint32_t nonfinite = 0;

    for (size_t i = begin; i < end; i++) {
        const float *velocity = trainer->velocity + i * stride;
        float *gradient = trainer->gradient + i * stride;

        nonfinite |= velocity_span(&trainer->config, row_params(rbm, i),
                                   velocity, gradient, k,
                                   row_decay(trainer, rbm, i));
        if (i < rbm->n_visible)
            nonfinite |= velocity_span(&trainer->config,
                                       rbm->visible_bias + i, velocity + k,
                                       gradient + k, 1, 0.0f);
    }
    trainer->chunk_nonfinite[begin / job->rows_per_chunk] = nonfinite != 0;
}

/* Checked path, second pass: parameters += new velocity. */
EBM_KERNEL
static void add_span(float *param, const float *step, size_t count,
                     uint32_t maxima[2])
{
    uint32_t param_max = maxima[0], velocity_max = maxima[1];

    for (size_t j = 0; j < count; j++) {
        float updated = param[j] + step[j];
        uint32_t param_bits = magnitude_bits(updated);
        uint32_t step_bits = magnitude_bits(step[j]);

        param[j] = updated;
        param_max = param_bits > param_max ? param_bits : param_max;
        velocity_max = step_bits > velocity_max ? step_bits : velocity_max;
    }
    maxima[0] = param_max;
    maxima[1] = velocity_max;
}

static void add_rows(void *context, size_t begin, size_t end)
{
    const struct update_job *job = context;
    ebm_rbm *rbm = job->rbm;
    ebm_rbm_trainer *trainer = job->trainer;
    size_t k = rbm->n_hidden, stride = k + 1;
    uint32_t maxima[2] = {0, 0};

    for (size_t i = begin; i < end; i++) {
        const float *step = trainer->gradient + i * stride;

        add_span(row_params(rbm, i), step, k, maxima);
        if (i < rbm->n_visible)
            add_span(rbm->visible_bias + i, step + k, 1, maxima);
    }
    trainer->chunk_param_max[begin / job->rows_per_chunk] =
        bits_to_float(maxima[0]);
    trainer->chunk_velocity_max[begin / job->rows_per_chunk] =
        bits_to_float(maxima[1]);
}

/* Combines the per-chunk maxima into the model's and the trainer's
 * bounds. */
static void collect_maxima(ebm_rbm_trainer *trainer, ebm_rbm *rbm,
                           size_t chunks)
{
    float param_max = 0.0f, velocity_max = 0.0f;

    for (size_t c = 0; c < chunks; c++) {
        if (trainer->chunk_param_max[c] > param_max)
            param_max = trainer->chunk_param_max[c];
        if (trainer->chunk_velocity_max[c] > velocity_max)
            velocity_max = trainer->chunk_velocity_max[c];
    }
    rbm->max_abs = param_max;
    trainer->velocity_max = velocity_max;
}

ebm_status ebm_trainer_apply_update(ebm_rbm_trainer *trainer, ebm_rbm *rbm)
{
    size_t rows = rbm->n_visible + 1;
    struct update_job job = {
        .rbm = rbm,
        .trainer = trainer,
        .rows_per_chunk = ebm_update_rows_per_chunk(rbm->n_hidden),
    };
    size_t chunks = (rows + job.rows_per_chunk - 1) / job.rows_per_chunk;
    float *old_velocity;

    if (update_cannot_overflow(trainer, rbm)) {
        ebm_parallel_for(rows, job.rows_per_chunk, update_rows_in_place,
                         &job);
        collect_maxima(trainer, rbm, chunks);
        return EBM_OK;
    }

    ebm_parallel_for(rows, job.rows_per_chunk, velocity_rows, &job);
    for (size_t c = 0; c < chunks; c++)
        if (trainer->chunk_nonfinite[c])
            return ebm_fail(
                EBM_ERR_DIVERGED,
                "the update would make a parameter in rows %zu to %zu of "
                "W (row %zu meaning the hidden bias) non-finite; the "
                "parameters are unchanged; lower the learning rate (now %g)",
                c * job.rows_per_chunk,
                ebm_min_size((c + 1) * job.rows_per_chunk, rows) - 1,
                rbm->n_visible, (double)trainer->config.learning_rate);

    ebm_parallel_for(rows, job.rows_per_chunk, add_rows, &job);
    collect_maxima(trainer, rbm, chunks);
    old_velocity = trainer->velocity;
    trainer->velocity = trainer->gradient;
    trainer->gradient = old_velocity;
    return EBM_OK;
}
