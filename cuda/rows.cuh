// Rows of a rows x classes problem, each reduced by a team of threads: a group of up to 32 lanes
// (several rows per warp) for short rows, a whole block for long ones. A row op is written once
// against the team's interface (lane, width, sum, max, min, sync, shared) and runs in either
// shape. A launch may give each team its own slice of dynamic shared memory.
#pragma once

#include <cfloat>
#include <climits>

#include "reduce.cuh"
#include "runtime.cuh"

namespace fl {
namespace FL_GPU_NS {

constexpr int kRowThreads = 256;
constexpr int32_t kBlockRowMin = 1024;  // classes from which a row gets a whole block

// The threads that reduce one row: `lane` and `width` stride over its entries; `shared` is the
// team's slice of dynamic shared memory (null when the launch gave none). sync() is the team's
// barrier: every lane of a warp runs the same row loop, so a group syncs the whole warp.
struct GroupTeam {
  int lane, width;
  unsigned char* shared = nullptr;
  __device__ double sum(double v) const { return group_sum(v, width); }
  __device__ float max(float v) const { return group_max(v, width); }
  __device__ int min(int v) const { return group_reduce(v, width, MinOp{}); }
  __device__ void sync() const { __syncwarp(); }
};

struct BlockTeam {
  int lane, width;
  double* sums;  // shared scratch of block_all, 33 entries each
  float* maxes;
  int* mins;
  unsigned char* shared = nullptr;
  __device__ double sum(double v) const { return block_all(v, sums, SumOp{}, 0.0); }
  __device__ float max(float v) const { return block_all(v, maxes, MaxOp{}, -FLT_MAX); }
  __device__ int min(int v) const { return block_all(v, mins, MinOp{}, INT_MAX); }
  __device__ void sync() const { __syncthreads(); }
};

// Runs op(team, row, active) for every row. In a warp every lane must reach the same shuffles,
// so a group past the last row repeats the last row with active = false: it writes nothing.
// `team_shared` bytes of dynamic shared memory per group (a multiple of 16).
template <class RowOp>
__global__ void __launch_bounds__(kRowThreads)
    rows_by_groups(RowOp op, int64_t rows, int width, int team_shared) {
  FL_DYNAMIC_SHARED(unsigned char, shared);
  const int tid = threadIdx.x;
  const int64_t per_block = kRowThreads / width;
  unsigned char* mine = team_shared > 0 ? shared + (tid / width) * team_shared : nullptr;
  for (int64_t base = blockIdx.x * per_block; base < rows; base += gridDim.x * per_block) {
    const int64_t r = base + tid / width;
    op(GroupTeam{tid % width, width, mine}, r < rows ? r : rows - 1, r < rows);
  }
}

template <class RowOp>
__global__ void __launch_bounds__(kRowThreads)
    rows_by_blocks(RowOp op, int64_t rows, int team_shared) {
  __shared__ double sums[33];
  __shared__ float maxes[33];
  __shared__ int mins[33];
  FL_DYNAMIC_SHARED(unsigned char, shared);
  const BlockTeam team{static_cast<int>(threadIdx.x),     kRowThreads, sums, maxes, mins,
                       team_shared > 0 ? shared : nullptr};
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) op(team, r, true);
}

// Runs op over every row: a lane group per row for rows shorter than `block_min`, a block per row
// for longer ones, each team with `team_shared(width)` bytes of dynamic shared memory (width: the
// team's lanes; a multiple of 16 bytes).
template <class RowOp, class TeamShared>
Status launch_teams(Session& s, const RowOp& op, int64_t rows, int32_t length, int32_t block_min,
                    TeamShared team_shared) {
  if (length >= block_min) {
    const int bytes = team_shared(kRowThreads);
    FL_LAUNCH(grid_for(rows, 1), kRowThreads, bytes, s.stream(), rows_by_blocks<RowOp>)
    (op, rows, bytes);
  } else {
    const int width = row_group_width(length);
    const int bytes = team_shared(width);
    FL_LAUNCH(grid_for(rows, kRowThreads / width), kRowThreads, bytes * (kRowThreads / width),
              s.stream(), rows_by_groups<RowOp>)
    (op, rows, width, bytes);
  }
  FL_CUDA_LAUNCHED("row kernel");
  return Status{};
}

// Runs op over every row: a lane group per row for rows of fewer than kBlockRowMin classes, a
// block per row for longer ones.
template <class RowOp>
Status launch_rows(Session& s, const RowOp& op, int64_t rows, int32_t classes) {
  return launch_teams(s, op, rows, classes, kBlockRowMin, [](int) { return 0; });
}

}  // namespace FL_GPU_NS
}  // namespace fl
