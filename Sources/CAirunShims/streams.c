// Whether two of airun's descriptors are one destination, so the child gets one channel for both.
#define _GNU_SOURCE
#include "airun_shims.h"

#include <linux/kcmp.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

// For two descriptors of one regular file: whether they share the file offset (one open file
// description, `2>&1`) or not (`>f 2>f`), by moving one and watching the other. -1: cannot tell.
static int share_offset(int a, int b) {
    off_t pa = lseek(a, 0, SEEK_CUR), pb = lseek(b, 0, SEEK_CUR);
    if (pa < 0 || pb < 0) return -1;
    if (pa != pb) return 0;
    if (lseek(a, pa + 1, SEEK_SET) < 0) return -1;
    off_t moved = lseek(b, 0, SEEK_CUR);
    lseek(a, pa, SEEK_SET);
    return moved == pa + 1;
}

int airun_same_destination(int a, int b) {
    struct stat sa, sb;
    if (fstat(a, &sa) != 0 || fstat(b, &sb) != 0) return 0;
    if (sa.st_dev != sb.st_dev || sa.st_ino != sb.st_ino || sa.st_rdev != sb.st_rdev) return 0;
    // The same terminal, however often it was opened: both streams land on one screen.
    if (S_ISCHR(sa.st_mode) && isatty(a) && isatty(b)) return 1;
    // The kernel's own answer: one open file description (kcmp may be missing or forbidden).
    pid_t self = getpid();
    long same = syscall(SYS_kcmp, self, self, KCMP_FILE, a, b);
    if (same >= 0) return same == 0;
    if (S_ISREG(sa.st_mode)) return share_offset(a, b) == 1;
    // A pipe, socket or FIFO inode written through both: one reader sees both streams in turn.
    return 1;
}
