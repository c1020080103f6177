/*
 * Image options shared by ebm sample and ebm filters.
 */
#include "picture.h"

#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Returns floor(sqrt(n)), exact for any size_t. */
static size_t integer_sqrt(size_t n)
{
    size_t root = (size_t)sqrt((double)n);

    while (root > 0 && root > n / root) {
        root--;
    }
    while ((root + 1) <= n / (root + 1)) {
        root++;
    }
    return root;
}

/* Parses the digits from text up to `end` as a side of 1 to
 * PICTURE_MAX_SIDE pixels. */
static bool parse_side(const char *text, const char *end, size_t *side)
{
    size_t value = 0;

    if (text == end) {
        return false;
    }
    for (; text < end; text++) {
        if (!isdigit((unsigned char)*text)) {
            return false;
        }
        value = 10 * value + (size_t)(*text - '0');
        if (value > PICTURE_MAX_SIDE) {
            return false;
        }
    }
    *side = value;
    return value > 0;
}

static int parse_image_option(const char *command, const char *text,
                              image_shape *shape)
{
    const char *cross = strchr(text, 'x');

    if (cross == NULL
        || !parse_side(text, cross, &shape->width)
        || !parse_side(cross + 1, cross + strlen(cross), &shape->height)) {
        fprintf(stderr, "ebm %s: invalid value '%s' for --image: expected "
                "WIDTHxHEIGHT in pixels, each from 1 to %zu, such as "
                "28x28\n", command, text, PICTURE_MAX_SIDE);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

int picture_parse_shape(const char *command, const char *text,
                        size_t visible, image_shape *shape)
{
    size_t side = integer_sqrt(visible);

    if (text == NULL) {
        if (side * side == visible && side <= PICTURE_MAX_SIDE) {
            shape->width = side;
            shape->height = side;
            return CLI_EXIT_OK;
        }
        fprintf(stderr, "ebm %s: the model's %zu visible units do not make "
                "a square image; give its shape with --image WIDTHxHEIGHT\n",
                command, visible);
        return CLI_EXIT_USAGE;
    }
    if (parse_image_option(command, text, shape) != CLI_EXIT_OK) {
        return CLI_EXIT_USAGE;
    }
    if (shape->width * shape->height != visible) {
        fprintf(stderr, "ebm %s: --image %s has %zu pixels, but the model "
                "has %zu visible units\n", command, text,
                shape->width * shape->height, visible);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

size_t picture_default_columns(size_t count)
{
    size_t root = integer_sqrt(count);

    return root * root == count ? root : root + 1;
}

int picture_check_count(const char *command, size_t count,
                        image_shape shape)
{
    /* Both sides are at most 2^15, so the product fits in 64 bits. */
    uint64_t cell = (uint64_t)(shape.width + 1) * (shape.height + 1);

    if (count <= PICTURE_MAX_PIXELS / cell) {
        return CLI_EXIT_OK;
    }
    fprintf(stderr, "ebm %s: %zu images of %zu x %zu pixels do not fit in "
            "one picture of at most %zu pixels; lower --count\n", command,
            count, shape.width, shape.height, PICTURE_MAX_PIXELS);
    return CLI_EXIT_USAGE;
}
