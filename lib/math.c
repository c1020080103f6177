/* Public scalar versions of the vectorised functions of vmath.h. */
#include <math.h>

#include "core.h"
#include "vmath.h"

/* NaN is returned before any ordered comparison, which could raise the
 * invalid flag. */

float ebm_sigmoid(float x)
{
    if (isnan(x))
        return x;
    return ebm_vsigmoid(x);
}

float ebm_softplus(float x)
{
    if (isnan(x))
        return x;
    return ebm_vsoftplus(x);
}

float ebm_log_sigmoid(float x)
{
    if (isnan(x))
        return x;
    return -ebm_vsoftplus(-x);
}
