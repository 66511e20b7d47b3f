// A stand-in for libnvidia-ml.so.1 for tests: one "NVIDIA H200" with the figures of the H200
// capture under load (98 % busy, 25677 of 143771 MiB, 690.05 W), an energy counter that grows at
// that power, and one compute process: the pid in $FAKE_NVML_PIDFILE holding 25668 MiB.
// FAKE_NVML_CRASH=init or =processes dies of SIGFPE there, as the real library did when a static
// airun loaded it on a machine with another glibc (=hang: of SIGALRM at init, as airun's probe
// alarm ends a hang). Each nvmlInit_v2 appends "init" to $FAKE_NVML_INITLOG when it is set, and
// each energy read "energy". Like the real driver, v1 of the memory query counts 615 MiB of
// reserved memory as used and v2 does not; FAKE_NVML_MEMORY_V2=fail makes v2 fail, as on drivers
// without it. FAKE_NVML_INIT_WAIT=PATH makes nvmlInit_v2 wait until that file exists (at most
// two minutes), as a driver that is slow to answer, or hung, does. FAKE_NVML_HANG=second makes the
// init after one already logged in $FAKE_NVML_INITLOG (airun's own, after its probe's) hold the
// driver's lock and never return; unloading the library waits for that lock, as a real driver's
// cleanup would.
//   cc -shared -fPIC -o libfake-nvml.so Tests/tools/fake-nvml.c
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct { unsigned int gpu, memory; } nvmlUtilization_t;
typedef struct { unsigned long long total, free, used; } nvmlMemory_t;
typedef struct { unsigned int pid; unsigned long long usedGpuMemory; unsigned int gi, ci; } nvmlProcessInfo_t;
static int device;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void crash_at(const char *where) {
    const char *mode = getenv("FAKE_NVML_CRASH");
    if (mode && strcmp(mode, where) == 0) raise(SIGFPE);
    // What airun's 10 s alarm does to a probe that hangs, without the wait.
    if (mode && strcmp(mode, "hang") == 0 && strcmp(where, "init") == 0) raise(SIGALRM);
}

static void note(const char *what) {
    const char *log = getenv("FAKE_NVML_INITLOG");
    FILE *f = log ? fopen(log, "a") : NULL;
    if (f) { fprintf(f, "%s\n", what); fclose(f); }
}

static pthread_mutex_t driver = PTHREAD_MUTEX_INITIALIZER;

__attribute__((destructor)) static void unload(void) {
    pthread_mutex_lock(&driver);
    pthread_mutex_unlock(&driver);
}

// Whether $FAKE_NVML_INITLOG already holds an "init" line.
static int initialised_before(void) {
    const char *log = getenv("FAKE_NVML_INITLOG");
    FILE *f = log ? fopen(log, "r") : NULL;
    char line[32];
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f)) found = strcmp(line, "init\n") == 0;
    if (f) fclose(f);
    return found;
}

int nvmlInit_v2(void) {
    const char *hang = getenv("FAKE_NVML_HANG");
    if (hang && strcmp(hang, "second") == 0 && initialised_before()) {
        pthread_mutex_lock(&driver);
        for (;;) pause();
    }
    note("init");
    crash_at("init");
    const char *wait = getenv("FAKE_NVML_INIT_WAIT");
    for (int i = 0; wait && access(wait, F_OK) != 0 && i < 12000; i++) usleep(10000);
    return 0;
}
int nvmlShutdown(void) { return 0; }
int nvmlDeviceGetCount_v2(unsigned int *n) { *n = 1; return 0; }
int nvmlDeviceGetHandleByIndex_v2(unsigned int i, void **d) { if (i != 0) return 2; *d = &device; return 0; }
int nvmlDeviceGetUtilizationRates(void *d, nvmlUtilization_t *u) { u->gpu = 98; u->memory = 23; return 0; }
int nvmlDeviceGetMemoryInfo(void *d, nvmlMemory_t *m) {
    m->total = 143771ULL << 20; m->used = (25677ULL + 615) << 20; m->free = m->total - m->used; return 0;
}
typedef struct { unsigned int version; unsigned long long total, reserved, free, used; } nvmlMemory_v2_t;
int nvmlDeviceGetMemoryInfo_v2(void *d, nvmlMemory_v2_t *m) {
    const char *mode = getenv("FAKE_NVML_MEMORY_V2");
    if (mode && strcmp(mode, "fail") == 0) return 13;  // NVML_ERROR_FUNCTION_NOT_FOUND
    if (m->version != (unsigned)(sizeof *m | (2u << 24))) return 25;  // NVML_ERROR_ARGUMENT_VERSION_MISMATCH
    m->total = 143771ULL << 20; m->reserved = 615ULL << 20; m->used = 25677ULL << 20;
    m->free = m->total - m->reserved - m->used;
    return 0;
}
int nvmlDeviceGetPowerUsage(void *d, unsigned int *mw) { *mw = 690050; return 0; }
int nvmlDeviceGetTotalEnergyConsumption(void *d, unsigned long long *mj) {
    note("energy");
    *mj = (unsigned long long)(now() * 690.05 * 1000.0); return 0;
}
int nvmlDeviceGetTemperature(void *d, int sensor, unsigned int *t) { *t = 45; return 0; }
int nvmlDeviceGetName(void *d, char *name, unsigned int n) { snprintf(name, n, "NVIDIA H200"); return 0; }
int nvmlDeviceGetComputeRunningProcesses_v3(void *d, unsigned int *count, nvmlProcessInfo_t *infos) {
    crash_at("processes");
    unsigned int pid = 659;
    const char *file = getenv("FAKE_NVML_PIDFILE");
    FILE *f = file ? fopen(file, "r") : NULL;
    if (f) { if (fscanf(f, "%u", &pid) != 1) pid = 659; fclose(f); }
    if (*count < 1) { *count = 1; return 7; }
    *count = 1;
    memset(infos, 0, sizeof *infos);
    infos[0].pid = pid;
    infos[0].usedGpuMemory = 25668ULL << 20;
    return 0;
}
