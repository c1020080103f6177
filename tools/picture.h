/*
 * Image options shared by ebm sample and ebm filters: --image WxH, the
 * default image shape and the default grid width.
 */
#ifndef EBM_PICTURE_H
#define EBM_PICTURE_H

#include <stddef.h>

/* Largest image side, and largest picture, that ebm_png_write_grid
 * accepts. */
#define PICTURE_MAX_SIDE ((size_t)1 << 15)
#define PICTURE_MAX_PIXELS ((size_t)1 << 28)

/* Shape in pixels of the image that a visible vector shows. */
typedef struct image_shape {
    size_t width;
    size_t height;
} image_shape;

/*
 * Sets *shape from the value of --image, "WIDTHxHEIGHT" such as "28x28",
 * whose product must equal `visible`. When text is NULL (no --image), the
 * shape is a square of side sqrt(visible) if visible is a perfect square,
 * and a usage error otherwise. Prints its own message.
 */
int picture_parse_shape(const char *command, const char *text,
                        size_t visible, image_shape *shape);

/* Returns ceil(sqrt(count)), the grid width that makes a grid of count
 * images about square. */
size_t picture_default_columns(size_t count);

/* Rejects `count` images of this shape that would exceed
 * PICTURE_MAX_PIXELS in any grid, counting one border pixel per image
 * row and column, before any work is done. */
int picture_check_count(const char *command, size_t count,
                        image_shape shape);

#endif /* EBM_PICTURE_H */
