/* placeholder while the VC profile is written */
#include "vc.h"
