#define _GNU_SOURCE
#include "airun_shims.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static void child_fail(int errfd, int err) {
    // Only async-signal-safe calls from here to _exit.
    ssize_t ignored = write(errfd, &err, sizeof err);
    (void)ignored;
    _exit(127);
}

/// The kernel's own sigaction layout (x86-64 and arm64), for the signals glibc refuses to touch.
struct kernel_sigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)(void);
    unsigned long mask;
};

static int move_fd(int from, int to) {
    if (from < 0) return 0;
    if (from == to) {
        // dup2 onto itself keeps FD_CLOEXEC; clear it by hand.
        int flags = fcntl(to, F_GETFD);
        if (flags < 0) return -1;
        return fcntl(to, F_SETFD, flags & ~FD_CLOEXEC);
    }
    return dup2(from, to) < 0 ? -1 : 0;
}

int airun_spawn(const char *path, char *const argv[], char *const envp[],
                const struct airun_spawn_config *config, pid_t *pid_out) {
    int errpipe[2];
    if (pipe2(errpipe, O_CLOEXEC) != 0) return errno;
    pid_t parent = getpid();
    // vfork: the child borrows our memory until execve, so nothing is copied and the parent takes
    // no copy-on-write faults afterwards (measured: fork cost ~0.5 ms per run here). Everything
    // the child does below is a plain system call on its own stack frame.
    pid_t pid = vfork();
    if (pid < 0) {
        int err = errno;
        close(errpipe[0]);
        close(errpipe[1]);
        return err;
    }
    if (pid == 0) {
        int errfd = errpipe[1];
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        struct sigaction ign;
        memset(&ign, 0, sizeof ign);
        ign.sa_handler = SIG_IGN;
        // exec itself puts caught signals back to their default and keeps ignored ones: only the
        // dispositions the caller changed need setting (each call here is time airun waits).
        for (int s = 1; s < NSIG; s++) {
            if (s == SIGKILL || s == SIGSTOP) continue;
            if (!config->reset_all && (s >= 64 || !(config->reset_mask & (1ULL << s)))) continue;
            // What airun's starter ignored (nohup's SIGHUP), the child ignores too, as it would
            // have without airun in between.
            int ignored = s < 64 && (config->ignore_mask & (1ULL << s));
            if (sigaction(s, ignored ? &ign : &dfl, NULL) != 0) {
                // glibc reserves 32 and 33 for itself and rejects them, but a disposition of
                // SIG_IGN set there by whoever started airun would survive exec: reset it directly.
                struct kernel_sigaction k = {0};
                syscall(SYS_rt_sigaction, s, &k, NULL, sizeof(unsigned long));
            }
        }
        if (config->group_mode == AIRUN_GROUP_NEW) {
            if (setpgid(0, 0) != 0) child_fail(errfd, errno);
        }
        // errfd may sit on 0..2 only if airun was started with those closed; move it up first.
        if (errfd <= 2) {
            int high = fcntl(errfd, F_DUPFD_CLOEXEC, 3);
            if (high < 0) _exit(127);
            errfd = high;
        }
        if (move_fd(config->stdin_fd, 0) != 0) child_fail(errfd, errno);
        if (move_fd(config->stdout_fd, 1) != 0) child_fail(errfd, errno);
        if (move_fd(config->stderr_fd, 2) != 0) child_fail(errfd, errno);
        for (int fd = 0; fd <= 2; fd++) {
            if (config->close_mask & (1 << fd)) close(fd);
        }
        if (config->parent_death_signal > 0) {
            if (prctl(PR_SET_PDEATHSIG, config->parent_death_signal) != 0) child_fail(errfd, errno);
            // airun may have died between fork and prctl: then no signal will ever come.
            if (getppid() != parent) _exit(128 + config->parent_death_signal);
        }
        // Every inherited fd above 2 is closed at exec; the error pipe survives until then.
        if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
            if (errfd > 3) syscall(SYS_close_range, 3U, (unsigned)errfd - 1, 0U);
            syscall(SYS_close_range, (unsigned)errfd + 1, ~0U, 0U);
        }
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execve(path, argv, envp);
        child_fail(errfd, errno);
    }
    close(errpipe[1]);
    int child_errno = 0;
    ssize_t n;
    do {
        n = read(errpipe[0], &child_errno, sizeof child_errno);
    } while (n < 0 && errno == EINTR);
    close(errpipe[0]);
    if (n == (ssize_t)sizeof child_errno) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        return child_errno ? child_errno : ECHILD;
    }
    *pid_out = pid;
    return 0;
}

int airun_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

int airun_signalfd(const sigset_t *mask) { return signalfd(-1, mask, SFD_CLOEXEC | SFD_NONBLOCK); }

int airun_signalfd_read(int fd, int *signo, int *code, int *sender_pid) {
    struct signalfd_siginfo info;
    ssize_t n;
    do {
        n = read(fd, &info, sizeof info);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return (errno == EAGAIN) ? 0 : -1;
    if (n != (ssize_t)sizeof info) return 0;
    *signo = (int)info.ssi_signo;
    *code = info.ssi_code;
    *sender_pid = (int)info.ssi_pid;
    return 1;
}

int airun_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int airun_set_pipe_size(int fd, int bytes) { return fcntl(fd, F_SETPIPE_SZ, bytes); }

int airun_openpty(int *master, int *slave) {
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0) return -1;
    char name[128];
    if (grantpt(m) != 0 || unlockpt(m) != 0 || ptsname_r(m, name, sizeof name) != 0) {
        int err = errno;
        close(m);
        errno = err;
        return -1;
    }
    int s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s < 0) {
        int err = errno;
        close(m);
        errno = err;
        return -1;
    }
    *master = m;
    *slave = s;
    return 0;
}

int airun_copy_winsize(int from, int to) {
    struct winsize ws;
    if (ioctl(from, TIOCGWINSZ, &ws) != 0) return -1;
    return ioctl(to, TIOCSWINSZ, &ws);
}

int airun_output_passthrough(int fd) {
    struct termios t;
    if (tcgetattr(fd, &t) != 0) return -1;
    t.c_oflag &= ~(tcflag_t)OPOST;
    return tcsetattr(fd, TCSANOW, &t);
}

int airun_terminal_state(int fd, struct airun_terminal_state *out) {
    struct termios t;
    if (tcgetattr(fd, &t) != 0) return -1;
    out->foreground = tcgetpgrp(fd) == getpgrp();
    out->cooked = (t.c_lflag & ICANON) && (t.c_lflag & ECHO) && (t.c_oflag & OPOST) && (t.c_oflag & ONLCR);
    int pending = 0;
    out->pending_input = ioctl(fd, FIONREAD, &pending) == 0 ? pending : 0;
    struct winsize ws;
    out->columns = ioctl(fd, TIOCGWINSZ, &ws) == 0 ? ws.ws_col : 0;
    return 0;
}

void airun_stop_self(int signo) {
    if (signo == SIGSTOP) {
        raise(SIGSTOP);
        return;
    }
    // airun keeps the job-control signals blocked (they arrive through its signalfd) and never
    // installs a handler for them: raise one while blocked, then unblock it so it is delivered
    // with its default action, stopping us here; re-block once we are continued.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signo);
    signal(signo, SIG_DFL);
    raise(signo);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    sigprocmask(SIG_BLOCK, &set, NULL);
}

int airun_child_stopped(pid_t pid) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    if (waitid(P_PID, (id_t)pid, &info, WSTOPPED | WNOHANG) != 0) return 0;
    if (info.si_pid != pid || info.si_code != CLD_STOPPED) return 0;
    return info.si_status;
}

void airun_reraise(int signo) {
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
    signal(signo, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signo);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(signo);
}

pid_t airun_wait4(pid_t pid, struct airun_wait_result *result) {
    struct rusage usage;
    int status = 0;
    pid_t r;
    do {
        r = wait4(pid, &status, 0, &usage);
    } while (r < 0 && errno == EINTR);
    if (r < 0) return -1;
    result->status = status;
    result->user_usec = (long long)usage.ru_utime.tv_sec * 1000000LL + usage.ru_utime.tv_usec;
    result->system_usec = (long long)usage.ru_stime.tv_sec * 1000000LL + usage.ru_stime.tv_usec;
    result->max_rss_kb = usage.ru_maxrss;
    return r;
}

unsigned long long airun_ignored_signals(unsigned long long among) {
    unsigned long long mask = 0;
    for (int s = 1; s < 64 && s < NSIG; s++) {
        if (!(among & (1ULL << s))) continue;
        struct sigaction old;
        if (sigaction(s, NULL, &old) == 0 && old.sa_handler == SIG_IGN) mask |= 1ULL << s;
    }
    return mask;
}

pid_t airun_start_relay(const int *sources, const int *destinations, int count) {
    if (count <= 0 || count > 8) return -1;
    pid_t pid = fork();
    if (pid != 0) return pid;
    // The relay: plain system calls only, then _exit.
    int src[8], dst[8];
    for (int k = 0; k < count; k++) { src[k] = sources[k]; dst[k] = destinations[k]; }
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_DFL);  // a reader that goes away ends the relay, as it ends a writer
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int fd = 0; fd < 1024; fd++) {
        int keep = 0;
        for (int k = 0; k < count; k++) keep |= (fd == src[k] || fd == dst[k]);
        if (!keep) close(fd);
    }
    for (int k = 0; k < count; k++) {
        int flags = fcntl(src[k], F_GETFL);
        if (flags >= 0) fcntl(src[k], F_SETFL, flags & ~O_NONBLOCK);
    }
    static char buffer[65536];
    int open_count = count;
    while (open_count > 0) {
        struct pollfd fds[8];
        for (int k = 0; k < count; k++) { fds[k].fd = src[k]; fds[k].events = POLLIN; fds[k].revents = 0; }
        if (poll(fds, (nfds_t)count, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int k = 0; k < count; k++) {
            if (src[k] < 0 || fds[k].revents == 0) continue;
            ssize_t n = read(src[k], buffer, sizeof buffer);
            if (n < 0 && errno == EINTR) continue;
            int done = n <= 0;
            for (ssize_t off = 0; !done && off < n;) {
                ssize_t w = write(dst[k], buffer + off, (size_t)(n - off));
                if (w < 0 && errno == EINTR) continue;
                if (w <= 0) { done = 1; break; }
                off += w;
            }
            if (done) {
                close(src[k]);
                src[k] = -1;
                open_count--;
            }
        }
    }
    _exit(0);
}

long airun_getrandom(void *buffer, unsigned long length) { return (long)getrandom(buffer, length, 0); }
