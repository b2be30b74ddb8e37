// Process sources (rtc_spawn.h): fork + execve with only async-signal-safe calls in between, the
// parent-death signal, and the wait-status macros. The PATH lookup and all policy are in Swift.
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "rtc_spawn.h"

extern char **environ;

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

// Child only: reports errno to the parent through the close-on-exec pipe and exits.
static void child_fail(int report_fd, int err) {
  ssize_t r;
  do { r = write(report_fd, &err, sizeof err); } while (r < 0 && errno == EINTR);
  (void)r;
  _exit(127);
}

int rtc_spawn(const char *const *paths, int npaths, char *const *argv, int *stdout_fd, int *error, int *stage) {
  *stdout_fd = -1;
  *error = 0;
  *stage = 0;
  int out[2], report[2];
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0) { *error = errno; return -1; }
  if (pipe2(out, O_CLOEXEC) != 0) { *error = errno; close(devnull); return -1; }
  if (pipe2(report, O_CLOEXEC) != 0) {
    *error = errno;
    close(devnull); close(out[0]); close(out[1]);
    return -1;
  }
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    *error = errno;
    close(devnull); close(out[0]); close(out[1]); close(report[0]); close(report[1]);
    return -1;
  }
  if (pid == 0) {
    // ---- the child: async-signal-safe calls only, up to execve ----
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    // rtcam ignores SIGPIPE, and ignored signals stay ignored across exec
    for (int s = 1; s < 32; s++) {
      if (s != SIGKILL && s != SIGSTOP) sigaction(s, &sa, NULL);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    setpgid(0, 0);
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) child_fail(report[1], errno);
    if (getppid() != parent) _exit(127);  // rtcam died before the death signal was armed
    // dup2 onto the same number keeps close-on-exec: clear it instead (rtcam started without fd 0/1)
    if (devnull == 0) { if (fcntl(0, F_SETFD, 0) < 0) child_fail(report[1], errno); }
    else if (dup2(devnull, 0) < 0) child_fail(report[1], errno);
    if (out[1] == 1) { if (fcntl(1, F_SETFD, 0) < 0) child_fail(report[1], errno); }
    else if (dup2(out[1], 1) < 0) child_fail(report[1], errno);
    // every other descriptor closes on exec (close_range needs Linux 5.11; else one by one)
    long r = -1;
#ifdef SYS_close_range
    r = syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC);
#endif
    if (r != 0) {
      for (int fd = 3; fd < 4096; fd++) fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    int err = ENOENT;
    for (int i = 0; i < npaths; i++) {
      execve(paths[i], argv, environ);
      // as execvp does: go on after "not here", remember "here but not runnable"
      if (errno == EACCES) err = EACCES;
      else if (errno != ENOENT && errno != ENOTDIR) { err = errno; break; }
    }
    child_fail(report[1], err);
  }
  // ---- the parent ----
  setpgid(pid, pid);  // as the child does, so a signal to the group right away cannot miss it
  close(devnull);
  close(out[1]);
  close(report[1]);
  int child_errno = 0;
  ssize_t n;
  // Returns at the child's execve (the pipe closes) or its report: only the calls above come first.
  do { n = read(report[0], &child_errno, sizeof child_errno); } while (n < 0 && errno == EINTR);
  close(report[0]);
  if (n == (ssize_t)sizeof child_errno) {
    int status;
    rtc_waitpid(pid, &status, 0);  // it has called _exit already
    close(out[0]);
    *error = child_errno;
    *stage = 1;
    return -1;
  }
  int fl = fcntl(out[0], F_GETFL, 0);
  if (fl >= 0) fcntl(out[0], F_SETFL, fl | O_NONBLOCK);
  *stdout_fd = out[0];
  return pid;
}

int rtc_waitpid(int pid, int *status, int nohang) {
  int r;
  do { r = waitpid(pid, status, nohang ? WNOHANG : 0); } while (r < 0 && errno == EINTR);
  return r;
}

int rtc_wait_exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }
int rtc_wait_signal(int status) { return WIFSIGNALED(status) ? WTERMSIG(status) : 0; }
int rtc_kill_group(int pgid, int sig) { return kill(-pgid, sig); }
