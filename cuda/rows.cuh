// Rows of a rows x classes problem, each reduced by a team of threads: a group of up to 32 lanes
// (several rows per warp) for short rows, a whole block for long ones. A row op is written once
// against the team's interface (lane, width, sum, max, min) and runs in either shape.
#pragma once

#include <cfloat>
#include <climits>

#include "reduce.cuh"
#include "runtime.cuh"

namespace fl {
namespace FL_GPU_NS {

constexpr int kRowThreads = 256;
constexpr int32_t kBlockRowMin = 1024;  // classes from which a row gets a whole block

// The threads that reduce one row: `lane` and `width` stride over its entries.
struct GroupTeam {
  int lane, width;
  __device__ double sum(double v) const { return group_sum(v, width); }
  __device__ float max(float v) const { return group_max(v, width); }
  __device__ int min(int v) const { return group_reduce(v, width, MinOp{}); }
};

struct BlockTeam {
  int lane, width;
  double* sums;  // shared scratch of block_all, 33 entries each
  float* maxes;
  int* mins;
  __device__ double sum(double v) const { return block_all(v, sums, SumOp{}, 0.0); }
  __device__ float max(float v) const { return block_all(v, maxes, MaxOp{}, -FLT_MAX); }
  __device__ int min(int v) const { return block_all(v, mins, MinOp{}, INT_MAX); }
};

// Runs op(team, row, active) for every row. In a warp every lane must reach the same shuffles,
// so a group past the last row repeats the last row with active = false: it writes nothing.
template <class RowOp>
__global__ void __launch_bounds__(kRowThreads) rows_by_groups(RowOp op, int64_t rows, int width) {
  const int tid = threadIdx.x;
  const int64_t per_block = kRowThreads / width;
  for (int64_t base = blockIdx.x * per_block; base < rows; base += gridDim.x * per_block) {
    const int64_t r = base + tid / width;
    op(GroupTeam{tid % width, width}, r < rows ? r : rows - 1, r < rows);
  }
}

template <class RowOp>
__global__ void __launch_bounds__(kRowThreads) rows_by_blocks(RowOp op, int64_t rows) {
  __shared__ double sums[33];
  __shared__ float maxes[33];
  __shared__ int mins[33];
  const BlockTeam team{static_cast<int>(threadIdx.x), kRowThreads, sums, maxes, mins};
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) op(team, r, true);
}

// Runs op over every row: a lane group per row for rows of fewer than kBlockRowMin classes, a
// block per row for longer ones.
template <class RowOp>
Status launch_rows(Session& s, const RowOp& op, int64_t rows, int32_t classes) {
  if (classes >= kBlockRowMin) {
    FL_LAUNCH(grid_for(rows, 1), kRowThreads, 0, s.stream(), rows_by_blocks<RowOp>)(op, rows);
  } else {
    const int width = row_group_width(classes);
    FL_LAUNCH(grid_for(rows, kRowThreads / width), kRowThreads, 0, s.stream(),
              rows_by_groups<RowOp>)
    (op, rows, width);
  }
  FL_CUDA_LAUNCHED("row kernel");
  return Status{};
}

}  // namespace FL_GPU_NS
}  // namespace fl
