// Linked into Linux prebuilds only (FUSEDLOSS_GLIBC_FLOOR): holds every glibc symbol the addon
// imports to a version that glibc 2.28 (the floor of Node 20's own binaries) has, although the
// addon is linked against the build machine's newer glibc, whose headers and libc.so hand out
// the newest version of each symbol. scripts/check-glibc.mjs verifies the result.
//
// - Functions that newer glibcs gave a new version (libpthread's, libdl's and librt's moved into
//   libc in 2.34; exp, log, pow, exp2 got faster wrappers in 2.29): the linker's --wrap=NAME
//   sends every call, including those from the static libstdc++ and CUDA runtime, to
//   __wrap_NAME below, which jumps to NAME at its first version (same function, older symbol;
//   the old libm entries differ only in how they report errors, and the kernels never ask). On
//   glibc < 2.34 these live in libpthread, libdl and librt, which the addon also names as needed.
// - Symbols newer than the floor that libstdc++.a references: defined here, hidden, so its
//   objects bind to these instead of to libc.so.
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/random.h>

// Each architecture's first glibc version, the one every function listed here has (dlmopen
// came later on x86-64).
#if defined(__x86_64__)
#define FL_GLIBC_BASE "GLIBC_2.2.5"
#define FL_GLIBC_DLMOPEN "GLIBC_2.3.4"
#define FL_TAIL_CALL(target) "jmp " target "@PLT"
#elif defined(__aarch64__)
#define FL_GLIBC_BASE "GLIBC_2.17"
#define FL_GLIBC_DLMOPEN "GLIBC_2.17"
#define FL_TAIL_CALL(target) "b " target
#else
#error "glibc floor: add this architecture's first glibc symbol version and its tail call"
#endif

// A tail call: the arguments stay in their registers, so one stub serves any signature.
#define FL_OLD_VERSION_AT(name, version)                                                  \
  __asm__(".symver fl_old_" #name ", " #name "@" version                                  \
          "\n.pushsection .text\n.globl __wrap_" #name "\n.hidden __wrap_" #name          \
          "\n.type __wrap_" #name ", %function\n__wrap_" #name                            \
          ":\n" FL_TAIL_CALL("fl_old_" #name) "\n.size __wrap_" #name ", .-__wrap_" #name \
                                              "\n.popsection");
#define FL_OLD_VERSION(name) FL_OLD_VERSION_AT(name, FL_GLIBC_BASE)

// CMakeLists.txt reads this list (one FL_OLD_VERSION... at the start of a line each) for --wrap.
// libpthread's, moved into libc in 2.34 (the CUDA runtime uses most of them):
FL_OLD_VERSION(pthread_create)
FL_OLD_VERSION(pthread_join)
FL_OLD_VERSION(pthread_detach)
FL_OLD_VERSION(pthread_kill)
FL_OLD_VERSION(pthread_once)
FL_OLD_VERSION(pthread_key_create)
FL_OLD_VERSION(__pthread_key_create)
FL_OLD_VERSION(pthread_key_delete)
FL_OLD_VERSION(pthread_getspecific)
FL_OLD_VERSION(pthread_setspecific)
FL_OLD_VERSION(pthread_mutex_trylock)
FL_OLD_VERSION(pthread_mutexattr_init)
FL_OLD_VERSION(pthread_mutexattr_destroy)
FL_OLD_VERSION(pthread_mutexattr_settype)
FL_OLD_VERSION(pthread_mutexattr_setpshared)
FL_OLD_VERSION(pthread_condattr_setpshared)
FL_OLD_VERSION(pthread_rwlock_init)
FL_OLD_VERSION(pthread_rwlock_destroy)
FL_OLD_VERSION(pthread_rwlock_rdlock)
FL_OLD_VERSION(pthread_rwlock_tryrdlock)
FL_OLD_VERSION(pthread_rwlock_timedrdlock)
FL_OLD_VERSION(pthread_rwlock_wrlock)
FL_OLD_VERSION(pthread_rwlock_trywrlock)
FL_OLD_VERSION(pthread_rwlock_timedwrlock)
FL_OLD_VERSION(pthread_rwlock_unlock)
FL_OLD_VERSION(pthread_rwlockattr_init)
FL_OLD_VERSION(pthread_rwlockattr_destroy)
FL_OLD_VERSION(pthread_rwlockattr_setpshared)
FL_OLD_VERSION(pthread_spin_init)
FL_OLD_VERSION(pthread_spin_destroy)
FL_OLD_VERSION(pthread_spin_lock)
FL_OLD_VERSION(pthread_spin_trylock)
FL_OLD_VERSION(pthread_spin_unlock)
FL_OLD_VERSION(sem_init)
FL_OLD_VERSION(sem_destroy)
FL_OLD_VERSION(sem_wait)
FL_OLD_VERSION(sem_trywait)
FL_OLD_VERSION(sem_timedwait)
FL_OLD_VERSION(sem_post)
// libdl's and librt's, moved into libc in 2.34 (the CUDA runtime's):
FL_OLD_VERSION(dlopen)
FL_OLD_VERSION(dlclose)
FL_OLD_VERSION(dlsym)
FL_OLD_VERSION(dlvsym)
FL_OLD_VERSION(dlerror)
FL_OLD_VERSION_AT(dlmopen, FL_GLIBC_DLMOPEN)
FL_OLD_VERSION(shm_open)
FL_OLD_VERSION(shm_unlink)
// libm's, with new versions in 2.29:
FL_OLD_VERSION(exp)
FL_OLD_VERSION(exp2)
FL_OLD_VERSION(log)
FL_OLD_VERSION(log2)
FL_OLD_VERSION(pow)

extern "C" {

// glibc 2.32: libstdc++ skips atomic reference counting when this says the process has one
// thread. 0 ("maybe several") keeps the atomics, which is always correct.
__attribute__((visibility("hidden"))) char __libc_single_threaded = 0;

// glibc 2.36: std::random_device's default source (linked in, never used by the kernels).
__attribute__((visibility("hidden"))) uint32_t arc4random(void) noexcept {
  uint32_t v;
  for (;;) {
    const ssize_t n = getrandom(&v, sizeof v, 0);
    if (n == static_cast<ssize_t>(sizeof v)) return v;
    if (n < 0 && errno != EINTR) abort();
  }
}
}
