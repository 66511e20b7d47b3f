// Thin wrappers over the libc and Linux calls that Swift's Glibc module hides behind __USE_GNU or
// cannot call (variadic ioctl/fcntl/prctl/syscall). No policy lives here; AirunSystem wraps each
// of these once more with errno handling.
#ifndef AIRUN_SHIMS_H
#define AIRUN_SHIMS_H

#include <signal.h>
#include <sys/types.h>
#include <termios.h>

/// How the child is placed relative to airun's process group and terminal.
enum airun_group_mode {
    AIRUN_GROUP_INHERIT = 0,   ///< stay in airun's group (foreground on a terminal)
    AIRUN_GROUP_NEW = 1,       ///< setpgid(0, 0): its own group, signalled as -pid
};

struct airun_spawn_config {
    int stdin_fd;          ///< dup2'd onto 0, or -1 to inherit airun's
    int stdout_fd;         ///< dup2'd onto 1, or -1
    int stderr_fd;         ///< dup2'd onto 2, or -1
    int group_mode;        ///< enum airun_group_mode
    int parent_death_signal; ///< PR_SET_PDEATHSIG in the child; 0 for none
    int close_mask;        ///< bit N set: close fd N (0..2) in the child, as airun's starter had it
    unsigned long long ignore_mask; ///< bit N set: signal N stays ignored in the child (nohup's SIGHUP)
    unsigned long long reset_mask;  ///< bit N set: signal N's disposition is set in the child (see below)
    int reset_all;         ///< nonzero: every signal's disposition is set, whatever `reset_mask` says
};

/// vfork + execve with everything a supervised child needs set between the two, using only
/// async-signal-safe calls: the default disposition for each signal in `reset_mask` (or every
/// signal, with `reset_all`), ignored for those in `ignore_mask`, the configured process group, the three standard fds (closing those in
/// `close_mask`), PR_SET_PDEATHSIG (checked against a parent that died
/// already), every other fd closed at exec, an empty signal mask. An exec failure is reported
/// through a close-on-exec pipe, so the result is synchronous like posix_spawn's.
/// Returns 0 and the pid, or the errno of the failing step (the child is then reaped).
int airun_spawn(const char *path, char *const argv[], char *const envp[],
                const struct airun_spawn_config *config, pid_t *pid_out);

int airun_pidfd_open(pid_t pid);
/// getrandom(2) with no flags: up to `length` random bytes, or -1 and errno.
long airun_getrandom(void *buffer, unsigned long length);
int airun_signalfd(const sigset_t *mask);
/// Reads one signalfd_siginfo; returns 1 and fills the fields, 0 when none is pending, -1 on error.
int airun_signalfd_read(int fd, int *signo, int *code, int *sender_pid);
int airun_pipe_cloexec(int fds[2]);
/// 1 when descriptors `a` and `b` are one destination: one open file description (`2>&1`), or the
/// same terminal; 0 otherwise (`>f 2>f`, two pipes).
int airun_same_destination(int a, int b);
int airun_set_pipe_size(int fd, int bytes);
/// Opens a pseudo-terminal pair with both ends close-on-exec, the slave not our controlling tty.
int airun_openpty(int *master, int *slave);
/// Copies the window size of terminal `from` to terminal `to`; -1 when `from` has none.
int airun_copy_winsize(int from, int to);
/// Turns off output post-processing (OPOST) on a pty, so the child's bytes reach airun exactly as
/// written and the real terminal alone translates them, as it would without airun.
int airun_output_passthrough(int fd);
/// What the status line needs to know about the terminal on `fd` before drawing on it.
struct airun_terminal_state {
    int foreground;     ///< airun's process group is the terminal's foreground group
    int cooked;         ///< canonical input with echo, output post-processing with ONLCR
    int pending_input;  ///< bytes typed ahead and not yet read (FIONREAD)
    int columns;        ///< window width, 0 when unknown
};
/// Fills `out`; -1 when `fd` is not a terminal.
int airun_terminal_state(int fd, struct airun_terminal_state *out);
/// Stops airun with `signo` (SIGTSTP, SIGTTIN, SIGTTOU or SIGSTOP) as its default action would,
/// although airun keeps that signal blocked; returns once airun is continued.
void airun_stop_self(int signo);
/// Consumes a "stopped" state change of child `pid` (waitid WSTOPPED|WNOHANG): the stopping signal,
/// or 0 when it has not stopped. Never reaps.
int airun_child_stopped(pid_t pid);
/// The signals among `among` (bit N for signal N, 1..63) whose disposition is SIG_IGN right now.
unsigned long long airun_ignored_signals(unsigned long long among);
/// Forks a process that copies each `sources[i]` to `destinations[i]` until every source reaches
/// end of file (or its destination fails), then exits; it closes every other descriptor, ignores
/// SIGINT, SIGQUIT and SIGHUP, and is never waited for. Returns its pid, or -1.
pid_t airun_start_relay(const int *sources, const int *destinations, int count);
/// Sets `signo` to its default action, unblocks it and raises it on this process, with core
/// dumps disabled so a re-raised SIGSEGV/SIGABRT does not leave a core of airun's own.
void airun_reraise(int signo);
/// RUSAGE fields from wait4 in plain integers.
struct airun_wait_result {
    int status;
    long long user_usec;
    long long system_usec;
    long long max_rss_kb;
};
/// wait4(pid, ..., 0) with EINTR retried. Returns the pid or -1 with errno.
pid_t airun_wait4(pid_t pid, struct airun_wait_result *result);

/// One GPU's figures from NVML; -1 where NVML does not report one.
struct airun_gpu_reading {
    double utilization;
    double memory_used_mb;
    double memory_total_mb;
    double power_w;
    double temperature_c;
    char name[96];
};

/// dlopen("libnvidia-ml.so.1") (or $AIRUN_NVML_LIBRARY) and nvmlInit_v2. 0 on success, -1 when
/// there is no usable NVML, -2 in a fully static executable (set AIRUN_NVML_STATIC=1 to try anyway),
/// -3 when loading it in a throw-away child first killed that child (`*crash_signal` says with what):
/// done in a static airun and for a library named by $AIRUN_NVML_LIBRARY.
int airun_nvml_open(int *crash_signal);
/// Starts `airun_nvml_open` on a thread of its own, once a run: nvmlInit takes ~12 ms on an H200,
/// the probe's child up to its 10 s alarm, and a broken driver can hang nvmlInit for good, none of
/// which may stall the poll loop that passes the command's output through. Returns an eventfd
/// that becomes readable when the opening is done (it stays readable), or -1 when it is already
/// done (or no thread could be made, and it was done here): then `airun_nvml_opened` answers.
int airun_nvml_open_start(void);
/// The opening's result, as `airun_nvml_open` returns it; 1 while it is still under way.
int airun_nvml_opened(int *crash_signal);
/// Whether that thread is still at it: then the process must end with _exit, not exit, whose
/// library destructors (libnvidia-ml's among them) would run while the thread is inside the library.
int airun_nvml_opening_underway(void);
int airun_nvml_device_count(void);
int airun_nvml_read(unsigned int index, struct airun_gpu_reading *out);
/// NVML's total energy counter of GPU `index` since the driver loaded, in joules; -1 when unknown.
/// - Important: about 4 ms of CPU a call on an H200 (the other reads take 2-10 µs): read it at an
///   attempt's start and end, never at each sample (bench/results/nvml-costs-2026-12-04.txt).
double airun_nvml_energy(unsigned int index);
/// The processes using GPU `index`: up to `capacity` pids and their GPU memory in MiB; the count or -1.
int airun_nvml_processes(unsigned int index, unsigned int *pids, double *used_mb, unsigned int capacity);

#include <sys/socket.h>

#define AIRUN_MAX_ADDRESSES 8
struct airun_address {
    struct sockaddr_storage storage;
    socklen_t length;
};
/// Resolves `host` (a name or a numeric address) for TCP `port`, waiting at most `timeout_ms`:
/// a name is looked up in a detached thread, so a slow resolver cannot hold airun past its
/// deadline. Returns the number of addresses written (at most `capacity`), -1 when the name
/// does not resolve, -2 on timeout.
int airun_resolve(const char *host, int port, int timeout_ms, struct airun_address *out, int capacity);
/// A non-blocking, close-on-exec socket connecting to `address`: the fd (with `*in_progress`
/// set while the connect completes), or -1 with errno.
int airun_tcp_connect(const struct airun_address *address, int *in_progress);
/// The pending error of a socket (SO_ERROR): 0 once a non-blocking connect succeeded.
int airun_socket_error(int fd);
/// send(2) with MSG_NOSIGNAL: a peer that went away is an error, never a SIGPIPE.
long airun_send(int fd, const void *bytes, unsigned long count);

#endif
