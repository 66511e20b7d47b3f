// The test runner's process-wide settings, made before Swift Testing reads them: see
// parallelization.c. Nothing to call; linking the target is enough.
#pragma once
int airun_test_parallelization_width(void);
