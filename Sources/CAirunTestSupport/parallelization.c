// How many test cases Swift Testing runs at once, set before its entry point reads it.
//
// Why: Swift Testing starts every test case at once unless told a width, and a test's time limit
// starts when the test case starts. airun's tests run processes, terminals and servers; 240 of them
// started together on a 2-core machine share the CPU so thinly that tests of milliseconds exceed
// one-minute limits. Swift Testing's own serializer holds a test case back *before* its time limit
// starts, so with a width the limit measures the test's own work. Its only knob that plain
// `swift test` honours is this environment variable, read once when the runner is configured, after
// constructors like this one have run. A width the user set is kept.
#include "CAirunTestSupport.h"
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const char *const variable = "SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH";

int airun_test_parallelization_width(void) {
    const char *value = getenv(variable);
    return value ? atoi(value) : 0;
}

__attribute__((constructor)) static void airun_test_set_parallelization_width(void) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1) cores = 1;
    char width[24];
    snprintf(width, sizeof width, "%ld", cores * 2);
    setenv(variable, width, 0);
}
