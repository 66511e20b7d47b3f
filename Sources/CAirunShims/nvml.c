// NVML, opened at run time with dlopen so airun needs no NVIDIA library to build or run.
// Only the few calls airun samples with; the types mirror nvml.h (stable since CUDA 11).
//
// The static release link warns "Using 'dlopen' in statically linked applications requires at
// runtime the shared libraries from the glibc version used for linking". That is glibc's general
// caveat, and true: so a static airun does not call dlopen unless AIRUN_NVML_STATIC=1 asks for it,
// and falls back to nvidia-smi. The Swift runtime's own libswiftCore.a references dlopen too, so
// the warning cannot be removed from here.
//
// Even when asked, a static airun first loads NVML in a throw-away child (`probe`): on a real H200
// machine whose glibc (2.39) was newer than the build's (2.36), the load died of SIGFPE and took
// airun down mid-run, leaving its child orphaned (bench/results/gpu-device-2026-12-04-1-crash.txt). A
// library named by AIRUN_NVML_LIBRARY is probed the same way, since it can be anything.
#define _GNU_SOURCE
#include "airun_shims.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

typedef int nvmlReturn_t;
typedef void *nvmlDevice_t;
typedef struct { unsigned int gpu, memory; } nvmlUtilization_t;
typedef struct { unsigned long long total, free, used; } nvmlMemory_t;
// v2 counts the driver's reserved memory apart, as nvidia-smi does; v1's `used` includes it
// (615 MiB on an idle H200, where nvidia-smi says 0): the two backends must agree.
typedef struct { unsigned int version; unsigned long long total, reserved, free, used; } nvmlMemory_v2_t;
#define NVML_MEMORY_V2 ((unsigned int)(sizeof(nvmlMemory_v2_t) | (2u << 24)))
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
static nvmlReturn_t (*p_memory_v2)(nvmlDevice_t, nvmlMemory_v2_t *);
static nvmlReturn_t (*p_power)(nvmlDevice_t, unsigned int *);
static nvmlReturn_t (*p_energy)(nvmlDevice_t, unsigned long long *);
static nvmlReturn_t (*p_temperature)(nvmlDevice_t, int, unsigned int *);
static nvmlReturn_t (*p_processes)(nvmlDevice_t, unsigned int *, nvmlProcessInfo_t *);
static nvmlReturn_t (*p_name)(nvmlDevice_t, char *, unsigned int);

// Weak: null in a fully static executable, where dlopen would load a second C library.
extern char _DYNAMIC[] __attribute__((weak));

/// dlopen and nvmlInit_v2 in this process; 0, or -1 when there is no usable NVML.
static int load(const char *path) {
    lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) return -1;
#define LOAD(var, name) *(void **)(&var) = dlsym(lib, name)
    LOAD(p_init, "nvmlInit_v2");
    LOAD(p_shutdown, "nvmlShutdown");
    LOAD(p_count, "nvmlDeviceGetCount_v2");
    LOAD(p_handle, "nvmlDeviceGetHandleByIndex_v2");
    LOAD(p_util, "nvmlDeviceGetUtilizationRates");
    LOAD(p_memory, "nvmlDeviceGetMemoryInfo");
    LOAD(p_memory_v2, "nvmlDeviceGetMemoryInfo_v2");
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

/// Loads NVML in a forked child and makes every call a sample makes there; 0 when the child
/// finished, -1 when it found no usable NVML, -3 with `*crash_signal` when it died (a hang past
/// 10 s counts as SIGALRM). The child runs C only (no Swift runtime, whose locks another thread
/// may have held at the fork), says nothing on airun's terminal, and dies of its signal rather
/// than running the Swift runtime's crash handlers.
static int probe(const char *path, int *crash_signal) {
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        static const int fatal[] = {SIGFPE, SIGSEGV, SIGBUS, SIGILL, SIGABRT, SIGTRAP, SIGSYS, SIGALRM};
        for (unsigned i = 0; i < sizeof fatal / sizeof fatal[0]; i++) signal(fatal[i], SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null >= 0) { dup2(null, 1); dup2(null, 2); }
        alarm(10);
        if (load(path) != 0) _exit(1);
        struct airun_gpu_reading r;
        unsigned int pids[64];
        double used[64];
        int n = airun_nvml_device_count();
        for (int i = 0; i < n && i < 64; i++) {
            airun_nvml_read((unsigned)i, &r);
            airun_nvml_energy((unsigned)i);
            airun_nvml_processes((unsigned)i, pids, used, 64);
        }
        if (p_shutdown) p_shutdown();
        _exit(0);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return -1;
    }
    if (WIFSIGNALED(status)) {
        *crash_signal = WTERMSIG(status);
        return -3;
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int airun_nvml_open(int *crash_signal) {
    // The probe's verdict holds for the whole run: later attempts neither probe nor crash again.
    static int verdict = 1, verdict_signal;
    *crash_signal = 0;
    if (lib) return 0;
    if (!_DYNAMIC && !getenv("AIRUN_NVML_STATIC")) return -2;
    const char *named = getenv("AIRUN_NVML_LIBRARY");
    const char *path = named && *named ? named : "libnvidia-ml.so.1";
    if (verdict == 1 && (!_DYNAMIC || path == named)) verdict = probe(path, &verdict_signal);
    if (verdict < 0) {
        *crash_signal = verdict_signal;
        return verdict;
    }
    return load(path);
}

// The opening on its own thread: 0 not started, 1 under way, 2 done (then `opened` and
// `opened_signal` hold its result: written before `opening` turns 2, read after).
static int opening, opened, opened_signal, opened_event = -1;

static void *open_thread(void *unused) {
    (void)unused;
    opened = airun_nvml_open(&opened_signal);
    __atomic_store_n(&opening, 2, __ATOMIC_RELEASE);
    uint64_t one = 1;
    while (write(opened_event, &one, sizeof one) < 0 && errno == EINTR) {}
    return NULL;
}

int airun_nvml_open_start(void) {
    int state = __atomic_load_n(&opening, __ATOMIC_ACQUIRE);
    if (state == 2) return -1;
    if (state == 1) return opened_event;
    // A static airun that will not load NVML answers at once: no thread for that.
    if (!_DYNAMIC && !getenv("AIRUN_NVML_STATIC")) {
        opened = -2;
        __atomic_store_n(&opening, 2, __ATOMIC_RELEASE);
        return -1;
    }
    opened_event = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    pthread_attr_t attr;
    pthread_t thread;
    int made = -1;
    if (opened_event >= 0 && pthread_attr_init(&attr) == 0) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        __atomic_store_n(&opening, 1, __ATOMIC_RELEASE);
        made = pthread_create(&thread, &attr, open_thread, NULL);
        pthread_attr_destroy(&attr);
    }
    if (made == 0) return opened_event;
    // No thread: opened here, as before.
    opened = airun_nvml_open(&opened_signal);
    __atomic_store_n(&opening, 2, __ATOMIC_RELEASE);
    return -1;
}

int airun_nvml_opened(int *crash_signal) {
    if (__atomic_load_n(&opening, __ATOMIC_ACQUIRE) != 2) return 1;
    *crash_signal = opened_signal;
    return opened;
}

int airun_nvml_opening_underway(void) { return __atomic_load_n(&opening, __ATOMIC_ACQUIRE) == 1; }

int airun_nvml_device_count(void) {
    unsigned int n = 0;
    if (!lib || p_count(&n) != 0) return -1;
    return (int)n;
}

int airun_nvml_read(unsigned int index, struct airun_gpu_reading *out) {
    nvmlDevice_t d;
    out->utilization = out->memory_used_mb = out->memory_total_mb = out->power_w = out->temperature_c = -1;
    out->name[0] = 0;
    if (!lib || p_handle(index, &d) != 0) return -1;
    nvmlUtilization_t u;
    if (p_util && p_util(d, &u) == 0) out->utilization = u.gpu;
    nvmlMemory_v2_t m2 = {.version = NVML_MEMORY_V2};
    nvmlMemory_t m;
    if (p_memory_v2 && p_memory_v2(d, &m2) == 0) {
        out->memory_used_mb = (double)m2.used / 1048576.0;
        out->memory_total_mb = (double)m2.total / 1048576.0;
    } else if (p_memory && p_memory(d, &m) == 0) {
        out->memory_used_mb = (double)m.used / 1048576.0;
        out->memory_total_mb = (double)m.total / 1048576.0;
    }
    unsigned int mw;
    if (p_power && p_power(d, &mw) == 0) out->power_w = mw / 1000.0;
    unsigned int t;
    if (p_temperature && p_temperature(d, 0, &t) == 0) out->temperature_c = t;
    if (p_name) p_name(d, out->name, sizeof out->name);
    return 0;
}

double airun_nvml_energy(unsigned int index) {
    nvmlDevice_t d;
    unsigned long long mj;
    if (!lib || !p_energy || p_handle(index, &d) != 0 || p_energy(d, &mj) != 0) return -1;
    return mj / 1000.0;
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
