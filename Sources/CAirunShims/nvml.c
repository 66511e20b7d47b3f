// NVML, opened at run time with dlopen so airun needs no NVIDIA library to build or run.
// Only the few calls airun samples with; the types mirror nvml.h (stable since CUDA 11).
//
// The static release link warns "Using 'dlopen' in statically linked applications requires at
// runtime the shared libraries from the glibc version used for linking". That is glibc's general
// caveat, and true: so a static airun does not call dlopen unless AIRUN_NVML_STATIC=1 says the
// machine's glibc matches (docs/records.md, Resources), and falls back to nvidia-smi. The Swift
// runtime's own libswiftCore.a references dlopen too, so the warning cannot be removed from here.
#define _GNU_SOURCE
#include "airun_shims.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

typedef int nvmlReturn_t;
typedef void *nvmlDevice_t;
typedef struct { unsigned int gpu, memory; } nvmlUtilization_t;
typedef struct { unsigned long long total, free, used; } nvmlMemory_t;
typedef struct {
    unsigned int pid;
    unsigned long long usedGpuMemory;
    unsigned int gpuInstanceId, computeInstanceId;
} nvmlProcessInfo_t;  // _v2 and _v3 share this layout

static void *lib;
static nvmlReturn_t (*p_init)(void);
static nvmlReturn_t (*p_shutdown)(void);
static nvmlReturn_t (*p_count)(unsigned int *);
static nvmlReturn_t (*p_handle)(unsigned int, nvmlDevice_t *);
static nvmlReturn_t (*p_util)(nvmlDevice_t, nvmlUtilization_t *);
static nvmlReturn_t (*p_memory)(nvmlDevice_t, nvmlMemory_t *);
static nvmlReturn_t (*p_power)(nvmlDevice_t, unsigned int *);
static nvmlReturn_t (*p_energy)(nvmlDevice_t, unsigned long long *);
static nvmlReturn_t (*p_temperature)(nvmlDevice_t, int, unsigned int *);
static nvmlReturn_t (*p_processes)(nvmlDevice_t, unsigned int *, nvmlProcessInfo_t *);
static nvmlReturn_t (*p_name)(nvmlDevice_t, char *, unsigned int);

// Weak: null in a fully static executable, where dlopen would load a second C library.
extern char _DYNAMIC[] __attribute__((weak));

int airun_nvml_open(void) {
    if (lib) return 0;
    if (!_DYNAMIC && !getenv("AIRUN_NVML_STATIC")) return -2;
    const char *path = getenv("AIRUN_NVML_LIBRARY");
    lib = dlopen(path && *path ? path : "libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return -1;
#define LOAD(var, name) *(void **)(&var) = dlsym(lib, name)
    LOAD(p_init, "nvmlInit_v2");
    LOAD(p_shutdown, "nvmlShutdown");
    LOAD(p_count, "nvmlDeviceGetCount_v2");
    LOAD(p_handle, "nvmlDeviceGetHandleByIndex_v2");
    LOAD(p_util, "nvmlDeviceGetUtilizationRates");
    LOAD(p_memory, "nvmlDeviceGetMemoryInfo");
    LOAD(p_power, "nvmlDeviceGetPowerUsage");
    LOAD(p_energy, "nvmlDeviceGetTotalEnergyConsumption");
    LOAD(p_temperature, "nvmlDeviceGetTemperature");
    LOAD(p_processes, "nvmlDeviceGetComputeRunningProcesses_v3");
    if (!p_processes) LOAD(p_processes, "nvmlDeviceGetComputeRunningProcesses_v2");
    LOAD(p_name, "nvmlDeviceGetName");
#undef LOAD
    if (!p_init || !p_count || !p_handle || p_init() != 0) {
        dlclose(lib);
        lib = NULL;
        return -1;
    }
    return 0;
}

int airun_nvml_device_count(void) {
    unsigned int n = 0;
    if (!lib || p_count(&n) != 0) return -1;
    return (int)n;
}

int airun_nvml_read(unsigned int index, struct airun_gpu_reading *out) {
    nvmlDevice_t d;
    out->utilization = out->memory_used_mb = out->memory_total_mb = out->power_w = out->energy_j = out->temperature_c = -1;
    out->name[0] = 0;
    if (!lib || p_handle(index, &d) != 0) return -1;
    nvmlUtilization_t u;
    if (p_util && p_util(d, &u) == 0) out->utilization = u.gpu;
    nvmlMemory_t m;
    if (p_memory && p_memory(d, &m) == 0) {
        out->memory_used_mb = (double)m.used / 1048576.0;
        out->memory_total_mb = (double)m.total / 1048576.0;
    }
    unsigned int mw;
    if (p_power && p_power(d, &mw) == 0) out->power_w = mw / 1000.0;
    unsigned long long mj;
    if (p_energy && p_energy(d, &mj) == 0) out->energy_j = mj / 1000.0;
    unsigned int t;
    if (p_temperature && p_temperature(d, 0, &t) == 0) out->temperature_c = t;
    if (p_name) p_name(d, out->name, sizeof out->name);
    return 0;
}

int airun_nvml_processes(unsigned int index, unsigned int *pids, double *used_mb, unsigned int capacity) {
    nvmlDevice_t d;
    if (!lib || !p_processes || p_handle(index, &d) != 0) return -1;
    nvmlProcessInfo_t infos[64];
    unsigned int n = 64;
    if (p_processes(d, &n, infos) != 0) return -1;
    if (n > capacity) n = capacity;
    for (unsigned int i = 0; i < n; i++) {
        pids[i] = infos[i].pid;
        used_mb[i] = (double)infos[i].usedGpuMemory / 1048576.0;
    }
    return (int)n;
}
