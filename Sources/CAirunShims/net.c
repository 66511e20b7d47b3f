// Name resolution with a deadline and non-blocking TCP connects for the exporters' HTTP client.
#define _GNU_SOURCE
#include "airun_shims.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

struct resolve_job {
    char *host;
    char port[8];
    int event_fd;
    int refs;
    int status;
    int count;
    struct airun_address addresses[AIRUN_MAX_ADDRESSES];
};

// The job is shared by the caller and the thread; whoever lets go last frees it, so a caller
// that gave up waiting leaves the thread nothing dangling to write to.
static void release_job(struct resolve_job *job) {
    if (__atomic_sub_fetch(&job->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        close(job->event_fd);
        free(job->host);
        free(job);
    }
}

static void *resolve_thread(void *arg) {
    struct resolve_job *job = arg;
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_family = AF_UNSPEC;
    struct addrinfo *result = NULL;
    int rc = getaddrinfo(job->host, job->port, &hints, &result);
    int n = 0;
    if (rc == 0) {
        for (struct addrinfo *a = result; a && n < AIRUN_MAX_ADDRESSES; a = a->ai_next) {
            if (a->ai_addrlen > sizeof(struct sockaddr_storage)) continue;
            memcpy(&job->addresses[n].storage, a->ai_addr, a->ai_addrlen);
            job->addresses[n].length = a->ai_addrlen;
            n++;
        }
        freeaddrinfo(result);
    }
    job->status = rc;
    job->count = n;
    uint64_t one = 1;
    ssize_t ignored = write(job->event_fd, &one, sizeof one);
    (void)ignored;
    release_job(job);
    return NULL;
}

static int numeric_address(const char *host, int port, struct airun_address *out) {
    struct sockaddr_in *v4 = (struct sockaddr_in *)&out->storage;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->storage;
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        out->length = sizeof *v4;
        return 1;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        out->length = sizeof *v6;
        return 1;
    }
    return 0;
}

int airun_resolve(const char *host, int port, int timeout_ms, struct airun_address *out, int capacity) {
    if (capacity <= 0) return -1;
    if (numeric_address(host, port, out)) return 1;
    struct resolve_job *job = calloc(1, sizeof *job);
    if (!job) return -1;
    job->host = strdup(host);
    snprintf(job->port, sizeof job->port, "%d", port);
    job->event_fd = eventfd(0, EFD_CLOEXEC);
    job->refs = 2;
    if (!job->host || job->event_fd < 0) {
        if (job->event_fd >= 0) close(job->event_fd);
        free(job->host);
        free(job);
        return -1;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t thread;
    int rc = pthread_create(&thread, &attr, resolve_thread, job);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        job->refs = 1;
        release_job(job);
        return -1;
    }
    struct pollfd p = {.fd = job->event_fd, .events = POLLIN};
    int ready;
    do { ready = poll(&p, 1, timeout_ms); } while (ready < 0 && errno == EINTR);
    int n = -2;  // timed out
    if (ready == 1) {
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        n = job->status == 0 ? job->count : -1;
        if (n > capacity) n = capacity;
        if (n > 0) memcpy(out, job->addresses, (size_t)n * sizeof *out);
    }
    release_job(job);
    return n;
}

int airun_tcp_connect(const struct airun_address *address, int *in_progress) {
    int fd = socket(address->storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    *in_progress = 0;
    int rc;
    do { rc = connect(fd, (const struct sockaddr *)&address->storage, address->length); } while (rc < 0 && errno == EINTR);
    if (rc == 0) return fd;
    if (errno == EINPROGRESS) {
        *in_progress = 1;
        return fd;
    }
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

int airun_socket_error(int fd) {
    int error = 0;
    socklen_t length = sizeof error;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) < 0) return errno;
    return error;
}

long airun_send(int fd, const void *bytes, unsigned long count) {
    return (long)send(fd, bytes, count, MSG_NOSIGNAL);
}
