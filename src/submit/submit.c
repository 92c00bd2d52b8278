/* submit: see submit.h. (Being built: this is the interface's first cut.) */
#include "submit/submit.h"
