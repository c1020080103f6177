/* General Boltzmann machines: creation, parameters, masks, colourings and
 * energies. */
#include <stdlib.h>
#include <string.h>

#include "bm_internal.h"
#include "rbm_internal.h"

static const char *const layer_name[2] = {"visible", "hidden"};
static const char *const lateral_name[2] = {"V", "U"};

size_t ebm_bm_param_count(const ebm_bm *bm)
{
    size_t d = bm->n_visible, k = bm->n_hidden, count = d + k;

    if (bm->couplings & EBM_BM_VISIBLE_HIDDEN)
        count += d * k;
    if (bm->couplings & EBM_BM_VISIBLE_VISIBLE)
        count += d * d;
    if (bm->couplings & EBM_BM_HIDDEN_HIDDEN)
        count += k * k;
    return count;
}

static size_t layer_size(const ebm_bm *bm, int layer)
{
    return layer == EBM_LAYER_VISIBLE ? bm->n_visible : bm->n_hidden;
}

static void graph_free(struct ebm_bm_graph *graph)
{
    free(graph->class_start);
    free(graph->order);
    free(graph->mask);
    free(graph->adj_start);
    free(graph->adj);
    memset(graph, 0, sizeof(*graph));
}

/*
 * Builds the graph of one layer. Without lateral couplings every unit is
 * in one class, and with unmasked couplings every unit is its own class.
 * With a mask, the classes are the greedy colouring of its neighbour
 * lists. The graph owns the mask from now on and frees it on failure.
 */
static ebm_status graph_build(struct ebm_bm_graph *graph, size_t n,
                              bool lateral, unsigned char *mask)
{
    size_t *color = NULL, *count = NULL, edges = 0;

    memset(graph, 0, sizeof(*graph));
    graph->mask = mask;
    graph->order = malloc(ebm_max_size(n, 1) * sizeof(size_t));
    graph->class_start = malloc((n + 2) * sizeof(size_t));
    if (mask != NULL) {
        for (size_t i = 0; i < n * n; i++)
            edges += mask[i] != 0;
        graph->adj_start = malloc((n + 1) * sizeof(size_t));
        graph->adj = malloc(ebm_max_size(edges, 1) * sizeof(size_t));
        color = malloc(ebm_max_size(n, 1) * sizeof(size_t));
        count = calloc(n + 1, sizeof(size_t));
    }
    if (graph->order == NULL || graph->class_start == NULL ||
        (mask != NULL && (graph->adj_start == NULL || graph->adj == NULL ||
                          color == NULL || count == NULL))) {
        free(color);
        free(count);
        graph_free(graph);
        return ebm_fail(EBM_ERR_NOMEM,
                        "cannot allocate the coupling graph of %zu units",
                        n);
    }

    if (mask == NULL) {
        /* One class of all units, or one class per unit. */
        graph->n_colors = n == 0 ? 0 : (lateral ? n : 1);
        for (size_t i = 0; i < n; i++)
            graph->order[i] = i;
        for (size_t c = 0; c <= graph->n_colors; c++)
            graph->class_start[c] = lateral ? c : (c == 0 ? 0 : n);
        return EBM_OK;
    }

    edges = 0;
    for (size_t i = 0; i < n; i++) {
        graph->adj_start[i] = edges;
        for (size_t j = 0; j < n; j++)
            if (mask[i * n + j])
                graph->adj[edges++] = j;
    }
    graph->adj_start[n] = edges;

    /* Greedy colouring in index order. `count` serves as the set of
     * colours taken by the lower-indexed neighbours of unit i. Entries are
     * marked with i + 1, so the set needs no clearing between units. */
    graph->n_colors = 0;
    for (size_t i = 0; i < n; i++) {
        size_t c = 0;

        for (size_t e = graph->adj_start[i]; e < graph->adj_start[i + 1];
             e++)
            if (graph->adj[e] < i)
                count[color[graph->adj[e]]] = i + 1;
        while (count[c] == i + 1)
            c++;
        color[i] = c;
        if (c + 1 > graph->n_colors)
            graph->n_colors = c + 1;
    }
    /* Counting sort of the units by colour. */
    memset(count, 0, (n + 1) * sizeof(size_t));
    for (size_t i = 0; i < n; i++)
        count[color[i] + 1]++;
    for (size_t c = 0; c < graph->n_colors; c++)
        count[c + 1] += count[c];
    memcpy(graph->class_start, count,
           (graph->n_colors + 1) * sizeof(size_t));
    for (size_t i = 0; i < n; i++)
        graph->order[count[color[i]]++] = i;
    free(color);
    free(count);
    return EBM_OK;
}

static ebm_status check_shape(size_t d, size_t k, unsigned couplings)
{
    if (d == 0)
        return ebm_fail(EBM_ERR_SIZE,
                        "model shape %zu x %zu: the visible layer needs at "
                        "least one unit",
                        d, k);
    if (couplings & ~(EBM_BM_VISIBLE_HIDDEN | EBM_BM_VISIBLE_VISIBLE |
                      EBM_BM_HIDDEN_HIDDEN))
        return ebm_fail(EBM_ERR_ARGUMENT,
                        "couplings is %#x; expected EBM_BM_VISIBLE_HIDDEN, "
                        "EBM_BM_VISIBLE_VISIBLE and EBM_BM_HIDDEN_HIDDEN "
                        "or-ed together",
                        couplings);
    if (k == 0 &&
        (couplings & (EBM_BM_VISIBLE_HIDDEN | EBM_BM_HIDDEN_HIDDEN)))
        return ebm_fail(EBM_ERR_ARGUMENT,
                        "a model without hidden units has no W or U; "
                        "couplings is %#x",
                        couplings);
    if (d > EBM_MAX_UNITS || k > EBM_MAX_UNITS)
        return ebm_fail(EBM_ERR_LIMIT,
                        "model shape %zu x %zu: a layer may have at most "
                        "%zu units",
                        d, k, EBM_MAX_UNITS);
    if (((couplings & EBM_BM_VISIBLE_HIDDEN) && d * k > EBM_MAX_ELEMENTS) ||
        ((couplings & EBM_BM_VISIBLE_VISIBLE) && d * d > EBM_MAX_ELEMENTS) ||
        ((couplings & EBM_BM_HIDDEN_HIDDEN) && k * k > EBM_MAX_ELEMENTS))
        return ebm_fail(EBM_ERR_LIMIT,
                        "model shape %zu x %zu: a coupling matrix may have "
                        "at most %zu elements",
                        d, k, EBM_MAX_ELEMENTS);
    return EBM_OK;
}

ebm_status ebm_bm_create(size_t n_visible, size_t n_hidden,
                         unsigned couplings, ebm_bm **out)
{
    ebm_bm *bm;
    float *next;
    ebm_status status = ebm_check_pointer(out, "out");

    if (status == EBM_OK)
        status = check_shape(n_visible, n_hidden, couplings);
    if (status != EBM_OK)
        return status;
    bm = calloc(1, sizeof(*bm));
    if (bm == NULL)
        return ebm_fail(EBM_ERR_NOMEM, "cannot allocate the model");
    bm->n_visible = n_visible;
    bm->n_hidden = n_hidden;
    bm->couplings = couplings;
    bm->params = ebm_alloc_floats(ebm_bm_param_count(bm));
    if (bm->params == NULL) {
        size_t count = ebm_bm_param_count(bm);

        free(bm);
        return ebm_fail(EBM_ERR_NOMEM,
                        "cannot allocate %zu parameters for a %zu x %zu "
                        "model",
                        count, n_visible, n_hidden);
    }
    memset(bm->params, 0, ebm_bm_param_count(bm) * sizeof(float));
    next = bm->params;
    bm->visible_bias = next;
    next += n_visible;
    bm->hidden_bias = next;
    next += n_hidden;
    if (couplings & EBM_BM_VISIBLE_HIDDEN) {
        bm->weights = next;
        next += n_visible * n_hidden;
    }
    if (couplings & EBM_BM_VISIBLE_VISIBLE) {
        bm->visible_couplings = next;
        next += n_visible * n_visible;
    }
    if (couplings & EBM_BM_HIDDEN_HIDDEN)
        bm->hidden_couplings = next;

    for (int layer = 0; layer < 2; layer++) {
        status = graph_build(&bm->graph[layer], layer_size(bm, layer),
                             ebm_bm_lateral(bm, layer) != NULL, NULL);
        if (status != EBM_OK) {
            ebm_bm_destroy(bm);
            return status;
        }
    }
    *out = bm;
    return EBM_OK;
}

void ebm_bm_destroy(ebm_bm *bm)
{
    if (bm == NULL)
        return;
    graph_free(&bm->graph[0]);
    graph_free(&bm->graph[1]);
    ebm_free_floats(bm->params);
    free(bm);
}

ebm_status ebm_bm_clone(const ebm_bm *bm, ebm_bm **out)
{
    ebm_bm *copy;
    ebm_status status = ebm_check_pointer(bm, "bm");

    if (status == EBM_OK)
        status = ebm_check_pointer(out, "out");
    if (status == EBM_OK)
        status = ebm_bm_create(bm->n_visible, bm->n_hidden, bm->couplings,
                               &copy);
    if (status != EBM_OK)
        return status;
    memcpy(copy->params, bm->params,
           ebm_bm_param_count(bm) * sizeof(float));
    for (int layer = 0; layer < 2 && status == EBM_OK; layer++)
        if (bm->graph[layer].mask != NULL)
            status = ebm_bm_set_mask(copy, layer, bm->graph[layer].mask);
    if (status != EBM_OK) {
        ebm_bm_destroy(copy);
        return status;
    }
    *out = copy;
    return EBM_OK;
}

ebm_status ebm_bm_from_rbm(const ebm_rbm *rbm, ebm_bm **out)
{
    ebm_bm *bm;
    size_t d, k;
    ebm_status status = ebm_check_pointer(rbm, "rbm");

    if (status == EBM_OK)
        status = ebm_check_pointer(out, "out");
    if (status != EBM_OK)
        return status;
    d = rbm->n_visible;
    k = rbm->n_hidden;
    status = ebm_bm_create(d, k, k > 0 ? EBM_BM_VISIBLE_HIDDEN : 0, &bm);
    if (status != EBM_OK)
        return status;
    memcpy(bm->visible_bias, rbm->visible_bias, d * sizeof(float));
    memcpy(bm->hidden_bias, rbm->hidden_bias, k * sizeof(float));
    if (k > 0)
        memcpy(bm->weights, rbm->weights, d * k * sizeof(float));
    *out = bm;
    return EBM_OK;
}

ebm_status ebm_bm_shape(const ebm_bm *bm, size_t *n_visible,
                        size_t *n_hidden, unsigned *couplings)
{
    ebm_status status = ebm_check_pointer(bm, "bm");

    if (status != EBM_OK)
        return status;
    if (n_visible != NULL)
        *n_visible = bm->n_visible;
    if (n_hidden != NULL)
        *n_hidden = bm->n_hidden;
    if (couplings != NULL)
        *couplings = bm->couplings;
    return EBM_OK;
}

const float *ebm_bm_weights(const ebm_bm *bm)
{
    return bm != NULL ? bm->weights : NULL;
}

const float *ebm_bm_visible_bias(const ebm_bm *bm)
{
    return bm != NULL ? bm->visible_bias : NULL;
}

const float *ebm_bm_hidden_bias(const ebm_bm *bm)
{
    return bm != NULL ? bm->hidden_bias : NULL;
}

const float *ebm_bm_visible_couplings(const ebm_bm *bm)
{
    return bm != NULL ? bm->visible_couplings : NULL;
}

const float *ebm_bm_hidden_couplings(const ebm_bm *bm)
{
    return bm != NULL ? bm->hidden_couplings : NULL;
}

const unsigned char *ebm_bm_mask(const ebm_bm *bm, int hidden)
{
    if (bm == NULL)
        return NULL;
    return bm->graph[hidden ? EBM_LAYER_HIDDEN : EBM_LAYER_VISIBLE].mask;
}

/* Copies rows x cols finite values into target, which is NULL when the
 * model lacks the block called `name`. */
static ebm_status set_array(ebm_bm *bm, float *target, const float *source,
                            size_t rows, size_t cols, const char *name)
{
    ebm_status status = ebm_check_pointer(bm, "bm");

    if (status == EBM_OK)
        status = ebm_check_pointer(source, name);
    if (status != EBM_OK)
        return status;
    if (target == NULL)
        return ebm_fail(EBM_ERR_ARGUMENT,
                        "the model has no %s; create it with that coupling "
                        "block",
                        name);
    status = ebm_check_finite(source, rows, cols, name);
    if (status != EBM_OK)
        return status;
    memcpy(target, source, rows * cols * sizeof(float));
    return EBM_OK;
}

ebm_status ebm_bm_set_weights(ebm_bm *bm, const float *weights)
{
    if (bm == NULL)
        return ebm_fail(EBM_ERR_NULL, "bm is NULL");
    return set_array(bm, bm->weights, weights, bm->n_visible, bm->n_hidden,
                     "weights W");
}

ebm_status ebm_bm_set_visible_bias(ebm_bm *bm, const float *bias)
{
    if (bm == NULL)
        return ebm_fail(EBM_ERR_NULL, "bm is NULL");
    return set_array(bm, bm->visible_bias, bias, 1, bm->n_visible,
                     "visible bias");
}

ebm_status ebm_bm_set_hidden_bias(ebm_bm *bm, const float *bias)
{
    if (bm == NULL)
        return ebm_fail(EBM_ERR_NULL, "bm is NULL");
    if (bm->n_hidden == 0)
        return ebm_check_pointer(bias, "hidden bias");
    return set_array(bm, bm->hidden_bias, bias, 1, bm->n_hidden,
                     "hidden bias");
}

/* Fails unless couplings (n x n) is symmetric, zero on the diagonal and
 * zero wherever mask (if any) is zero. */
ebm_status ebm_bm_check_lateral(const float *couplings, size_t n,
                                const unsigned char *mask, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (couplings[i * n + i] != 0.0f)
            return ebm_fail(EBM_ERR_DOMAIN,
                            "%s[%zu][%zu] is %g; the diagonal must be zero",
                            name, i, i, (double)couplings[i * n + i]);
        for (size_t j = i + 1; j < n; j++) {
            float x = couplings[i * n + j];

            if (x != couplings[j * n + i])
                return ebm_fail(EBM_ERR_DOMAIN,
                                "%s[%zu][%zu] is %g but %s[%zu][%zu] is "
                                "%g; the couplings must be symmetric",
                                name, i, j, (double)x, name, j, i,
                                (double)couplings[j * n + i]);
            if (mask != NULL && mask[i * n + j] == 0 && x != 0.0f)
                return ebm_fail(EBM_ERR_DOMAIN,
                                "%s[%zu][%zu] is %g outside the mask; "
                                "masked couplings must be zero",
                                name, i, j, (double)x);
        }
    }
    return EBM_OK;
}

static ebm_status set_lateral(ebm_bm *bm, int layer, const float *source)
{
    size_t n;
    float *target;
    const char *name;
    ebm_status status;

    if (bm == NULL)
        return ebm_fail(EBM_ERR_NULL, "bm is NULL");
    n = layer_size(bm, layer);
    target = (float *)ebm_bm_lateral(bm, layer);
    name = lateral_name[layer];
    status = ebm_check_pointer(source, name);
    if (status != EBM_OK)
        return status;
    if (target == NULL)
        return ebm_fail(EBM_ERR_ARGUMENT,
                        "the model has no %s couplings %s; create it with "
                        "that coupling block",
                        layer_name[layer], name);
    status = ebm_check_finite(source, n, n, name);
    if (status == EBM_OK)
        status = ebm_bm_check_lateral(source, n, bm->graph[layer].mask, name);
    if (status != EBM_OK)
        return status;
    memcpy(target, source, n * n * sizeof(float));
    return EBM_OK;
}

ebm_status ebm_bm_set_visible_couplings(ebm_bm *bm, const float *couplings)
{
    return set_lateral(bm, EBM_LAYER_VISIBLE, couplings);
}

ebm_status ebm_bm_set_hidden_couplings(ebm_bm *bm, const float *couplings)
{
    return set_lateral(bm, EBM_LAYER_HIDDEN, couplings);
}

ebm_status ebm_bm_set_mask(ebm_bm *bm, int hidden, const unsigned char *mask)
{
    int layer = hidden ? EBM_LAYER_HIDDEN : EBM_LAYER_VISIBLE;
    struct ebm_bm_graph graph;
    unsigned char *copy = NULL;
    float *couplings;
    size_t n;
    ebm_status status;

    if (bm == NULL)
        return ebm_fail(EBM_ERR_NULL, "bm is NULL");
    n = layer_size(bm, layer);
    couplings = (float *)ebm_bm_lateral(bm, layer);
    if (couplings == NULL)
        return ebm_fail(EBM_ERR_ARGUMENT,
                        "the model has no %s couplings %s to mask",
                        layer_name[layer], lateral_name[layer]);
    if (mask != NULL) {
        for (size_t i = 0; i < n; i++) {
            if (mask[i * n + i] != 0)
                return ebm_fail(EBM_ERR_DOMAIN,
                                "mask[%zu][%zu] is nonzero; the diagonal "
                                "must be zero",
                                i, i);
            for (size_t j = i + 1; j < n; j++)
                if ((mask[i * n + j] != 0) != (mask[j * n + i] != 0))
                    return ebm_fail(EBM_ERR_DOMAIN,
                                    "mask[%zu][%zu] and mask[%zu][%zu] "
                                    "differ; the mask must be symmetric",
                                    i, j, j, i);
        }
        copy = malloc(ebm_max_size(n * n, 1));
        if (copy == NULL)
            return ebm_fail(EBM_ERR_NOMEM, "cannot allocate a %zu x %zu "
                                           "mask",
                            n, n);
        for (size_t i = 0; i < n * n; i++)
            copy[i] = mask[i] != 0;
    }
    status = graph_build(&graph, n, true, copy);
    if (status != EBM_OK)
        return status;
    graph_free(&bm->graph[layer]);
    bm->graph[layer] = graph;
    if (copy != NULL)
        for (size_t i = 0; i < n * n; i++)
            if (copy[i] == 0)
                couplings[i] = 0.0f;
    return EBM_OK;
}

ebm_status ebm_bm_set_lattice(ebm_bm *bm, size_t rows, size_t cols)
{
    unsigned char *mask;
    size_t n;
    ebm_status status;

    if (bm == NULL)
        return ebm_fail(EBM_ERR_NULL, "bm is NULL");
    n = bm->n_visible;
    if (rows == 0 || cols == 0 || rows > n || cols > n ||
        rows * cols != n)
        return ebm_fail(EBM_ERR_MISMATCH,
                        "a %zu x %zu lattice does not have the model's %zu "
                        "visible units",
                        rows, cols, n);
    if (bm->visible_couplings == NULL)
        return ebm_fail(EBM_ERR_ARGUMENT,
                        "the model has no visible couplings V to mask");
    mask = calloc(n * n, 1);
    if (mask == NULL)
        return ebm_fail(EBM_ERR_NOMEM, "cannot allocate a %zu x %zu mask",
                        n, n);
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) {
            size_t i = r * cols + c;

            if (c + 1 < cols)
                mask[i * n + i + 1] = mask[(i + 1) * n + i] = 1;
            if (r + 1 < rows)
                mask[i * n + i + cols] = mask[(i + cols) * n + i] = 1;
        }
    status = ebm_bm_set_mask(bm, 0, mask);
    free(mask);
    return status;
}

/* -(a.v + b.h + v'Wh + 1/2 v'Vv + 1/2 h'Uh) for one state, in double. */
static double state_energy(const ebm_bm *bm, const float *v, const float *h)
{
    size_t d = bm->n_visible, k = bm->n_hidden;
    double linear = 0.0, quadratic = 0.0;

    for (size_t i = 0; i < d; i++)
        linear += (double)bm->visible_bias[i] * v[i];
    for (size_t j = 0; j < k; j++)
        linear += (double)bm->hidden_bias[j] * h[j];
    for (size_t i = 0; i < d; i++) {
        double row = 0.0;

        if (v[i] == 0.0f)
            continue;
        if (bm->weights != NULL)
            for (size_t j = 0; j < k; j++)
                row += (double)bm->weights[i * k + j] * h[j];
        if (bm->visible_couplings != NULL)
            for (size_t j = 0; j < d; j++)
                row += 0.5 * (double)bm->visible_couplings[i * d + j] * v[j];
        quadratic += row * v[i];
    }
    if (bm->hidden_couplings != NULL)
        for (size_t i = 0; i < k; i++) {
            double row = 0.0;

            for (size_t j = 0; j < k; j++)
                row += 0.5 * (double)bm->hidden_couplings[i * k + j] * h[j];
            quadratic += row * h[i];
        }
    return -(linear + quadratic);
}

ebm_status ebm_bm_energy(const ebm_bm *bm, const float *visible,
                         const float *hidden, size_t rows, double *energy)
{
    ebm_status status = ebm_check_pointer(bm, "bm");

    if (status == EBM_OK)
        status = ebm_check_pointer(energy, "energy");
    if (status == EBM_OK)
        status = ebm_check_batch(visible, rows, bm->n_visible, "visible");
    if (status == EBM_OK && bm->n_hidden > 0)
        status = ebm_check_batch(hidden, rows, bm->n_hidden, "hidden");
    if (status != EBM_OK)
        return status;
    for (size_t r = 0; r < rows; r++)
        energy[r] = state_energy(bm, visible + r * bm->n_visible,
                                 bm->n_hidden > 0
                                     ? hidden + r * bm->n_hidden
                                     : NULL);
    return EBM_OK;
}
