// Project macros that let one kernel source build with nvcc and with the CPU simulator
// (cuda/sim, FL_SIM defined). Kernel sources wrap their code in
//   namespace fl { namespace FL_GPU_NS { ... } }
// so the real kernels live in fl::cuda and the simulated ones in fl::sim, side by side in one
// binary.
#pragma once

#if defined(FL_SIM)

#if !defined(FL_SIM_HEADER)
#error "FL_SIM builds force-include cuda/sim/cuda_sim.h (-include); see cuda/sim/sim.cmake"
#endif

#define FL_GPU_NS sim

// FL_LAUNCH(grid, block, shared_bytes, stream, kernel)(args...). The kernel comes last so that
// template ids with commas need no parentheses. The simulator gets the kernel's name for error
// messages and a generic lambda, so template arguments deduce from the call as with <<<>>>.
#define FL_LAUNCH(grid, block, shared_bytes, stream, ...)                           \
  ::fl::sim::detail::make_launcher(#__VA_ARGS__, grid, block, shared_bytes, stream, \
                                   [&](const auto&... fl_args_) { __VA_ARGS__(fl_args_...); })

// Declares `T* name` pointing at the block's dynamic shared memory (poisoned with 0xFF bytes at
// each block start in the simulator).
#define FL_DYNAMIC_SHARED(T, name) \
  T* name = reinterpret_cast<T*>(::fl::sim::detail::current.dynamic_shared)

#else

#define FL_GPU_NS cuda

#define FL_LAUNCH(grid, block, shared_bytes, stream, ...) \
  __VA_ARGS__<<<grid, block, shared_bytes, stream>>>

#define FL_DYNAMIC_SHARED(T, name)                                    \
  extern __shared__ __align__(16) unsigned char fl_dynamic_shared_[]; \
  T* name = reinterpret_cast<T*>(fl_dynamic_shared_)

#endif
