// The CUDA kernels timed on a real device at the sizes `npm run bench` uses, with no Node involved
// (the GPU machines have nvcc and CMake but no Node). Beside each loss: the device's own limits
// measured in the same run (a triad bandwidth probe and a register-only FP32 FMA probe), the
// kernels' achieved GB/s or GFLOP/s against them, the whole call from host arrays to host arrays,
// and the CPU kernels on the same machine's cores. Each GPU loss is checked against the CPU loss.
//   cuda_bench [--json FILE] [--quick]   --quick: fewer repetitions, no N = 65536 case
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <tuple>
#include <vector>

#include "fusedloss/confusion.h"
#include "fusedloss/cuda_device.h"
#include "fusedloss/gpu.h"
#include "fusedloss/pairs.h"
#include "fusedloss/ranking.h"
#include "fusedloss/ranking_metrics.h"
#include "fusedloss/spherical.h"
#include "parallel.h"
#include "xorshift.h"

namespace {

// ---- device limits ------------------------------------------------------------------------

__global__ void triad_kernel(float4* a, const float4* b, const float4* c, float s, size_t n) {
  for (size_t i = blockIdx.x * size_t{blockDim.x} + threadIdx.x; i < n;
       i += size_t{gridDim.x} * blockDim.x) {
    const float4 x = b[i], y = c[i];
    a[i] = make_float4(x.x + s * y.x, x.y + s * y.y, x.z + s * y.z, x.w + s * y.w);
  }
}

// Eight independent multiply-add chains per thread keep every FP32 pipe busy; the result is
// stored only when it is impossible, so the compiler keeps the loop.
constexpr int kFmaChains = 8;
__global__ void fma_kernel(float* sink, int iters, float a, float b) {
  float v[kFmaChains];
  for (int k = 0; k < kFmaChains; k++) v[k] = threadIdx.x + k;
  for (int i = 0; i < iters; i++)
#pragma unroll
    for (int k = 0; k < kFmaChains; k++) v[k] = fmaf(v[k], a, b);
  float s = 0;
  for (int k = 0; k < kFmaChains; k++) s += v[k];
  if (s == -1.0f) sink[threadIdx.x] = s;
}

#define CHECK(call)                                                                            \
  do {                                                                                         \
    const cudaError_t e_ = (call);                                                             \
    if (e_ != cudaSuccess) {                                                                   \
      std::fprintf(stderr, "%s: %s\n", #call, cudaGetErrorString(e_));                         \
      std::exit(1);                                                                            \
    }                                                                                          \
  } while (0)

// Best of `reps` launches, in milliseconds, timed with events around each launch.
double best_ms(int reps, const std::function<void()>& launch) {
  cudaEvent_t t0, t1;
  CHECK(cudaEventCreate(&t0));
  CHECK(cudaEventCreate(&t1));
  launch();  // warm-up
  double best = 1e30;
  for (int r = 0; r < reps; r++) {
    CHECK(cudaEventRecord(t0));
    launch();
    CHECK(cudaEventRecord(t1));
    CHECK(cudaEventSynchronize(t1));
    float ms = 0;
    CHECK(cudaEventElapsedTime(&ms, t0, t1));
    best = std::min(best, double(ms));
  }
  CHECK(cudaGetLastError());
  CHECK(cudaEventDestroy(t0));
  CHECK(cudaEventDestroy(t1));
  return best;
}

// GB/s of a = b + s c over three float arrays of 2^28 entries (3 GiB), 12 bytes per element.
double triad_gbps(int sms) {
  const size_t n4 = size_t{1} << 26;  // float4s per array
  float4 *a, *b, *c;
  CHECK(cudaMalloc(&a, n4 * sizeof(float4)));
  CHECK(cudaMalloc(&b, n4 * sizeof(float4)));
  CHECK(cudaMalloc(&c, n4 * sizeof(float4)));
  CHECK(cudaMemset(b, 0, n4 * sizeof(float4)));
  CHECK(cudaMemset(c, 0, n4 * sizeof(float4)));
  const double ms = best_ms(20, [&] { triad_kernel<<<sms * 8, 512>>>(a, b, c, 1.5f, n4); });
  CHECK(cudaFree(a));
  CHECK(cudaFree(b));
  CHECK(cudaFree(c));
  return 3.0 * n4 * sizeof(float4) / (ms * 1e6);
}

// GFLOP/s of FP32 fused multiply-adds (2 flops each) with every SM full.
double fma_gflops(int sms) {
  float* sink;
  CHECK(cudaMalloc(&sink, 1024 * sizeof(float)));
  const int blocks = sms * 8, threads = 256, iters = 1 << 14;
  const double ms = best_ms(10, [&] { fma_kernel<<<blocks, threads>>>(sink, iters, 0.999f, 1e-3f); });
  CHECK(cudaFree(sink));
  return 2.0 * kFmaChains * double(iters) * blocks * threads / (ms * 1e6);
}

// What the copies of a whole call can reach: the link with pinned host memory (the ceiling),
// with pageable memory (what the driver's own staging gives), and a host memcpy on one thread
// (what staging user arrays through pinned buffers costs on the host). GB/s, best of 10.
struct Transfers {
  double pinned_in, pinned_out, pageable_in, pageable_out, host_copy;
};

Transfers transfer_probe() {
  const size_t bytes = size_t{64} << 20;
  std::vector<unsigned char> pageable(bytes, 1), other(bytes, 2);
  unsigned char *pinned, *dev;
  CHECK(cudaMallocHost(&pinned, bytes));
  CHECK(cudaMalloc(&dev, bytes));
  std::memset(pinned, 3, bytes);
  auto rate = [&](const std::function<void()>& copy) {
    return bytes / (best_ms(10, copy) * 1e6);
  };
  Transfers t;
  t.pinned_in = rate([&] { CHECK(cudaMemcpy(dev, pinned, bytes, cudaMemcpyHostToDevice)); });
  t.pinned_out = rate([&] { CHECK(cudaMemcpy(pinned, dev, bytes, cudaMemcpyDeviceToHost)); });
  t.pageable_in = rate([&] { CHECK(cudaMemcpy(dev, pageable.data(), bytes, cudaMemcpyHostToDevice)); });
  t.pageable_out = rate([&] { CHECK(cudaMemcpy(pageable.data(), dev, bytes, cudaMemcpyDeviceToHost)); });
  double host_ms = 1e30;  // CUDA events do not see host work: wall clock
  for (int r = 0; r < 10; r++) {
    const auto t0 = std::chrono::steady_clock::now();
    std::memcpy(other.data(), pageable.data(), bytes);
    host_ms = std::min(
        host_ms, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  t.host_copy = bytes / (host_ms * 1e6);
  CHECK(cudaFreeHost(pinned));
  CHECK(cudaFree(dev));
  return t;
}

// ---- the losses ---------------------------------------------------------------------------

std::vector<float> normals(size_t n, Rng& rng) {
  std::vector<float> v(n);
  for (float& x : v) x = static_cast<float>(rng.normal());
  return v;
}

// One loss at one size: the same call on the GPU and on the CPU, writing (loss, grad).
struct Case {
  std::string loss, size;
  double bytes = 0;  // compulsory traffic (inputs read once, gradient written once); 0: compute-bound
  double flops = 0;  // 6 N^2 D for the pairwise losses (one product forward, two backward)
  size_t grad_len = 0;
  std::function<fl::Status(bool gpu, double* loss, float* grad)> call;
  double pairs = 0;  // ordered pairs of items within lists, for RankNet and LambdaLoss
  double tol = 1e-4;  // GPU vs CPU, as `npm run bench`; looser for the pair losses' tf32 and bf16
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double relative(double a, double b) { return std::fabs(a - b) / std::max(std::fabs(b), 1e-30); }

struct Row {
  std::string loss, size;
  double kernel_ms, wall_ms, cpu_ms, rate, limit_pct, loss_diff, grad_diff;
  const char* unit;
};

Row time_case(const Case& c, int reps, double gbps_limit, double gflops_limit) {
  std::vector<float> g_gpu(c.grad_len), g_cpu(c.grad_len);
  double l_gpu = 0, l_cpu = 0;
  auto must = [&](const fl::Status& s) {
    if (!s.ok()) {
      std::fprintf(stderr, "%s %s: fault %d at %lld (%g) %s\n", c.loss.c_str(), c.size.c_str(),
                   int(s.fault), (long long)s.index, s.value, s.message.c_str());
      std::exit(1);
    }
  };
  auto wall = [](const std::function<void()>& f) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  };
  must(c.call(true, &l_gpu, g_gpu.data()));  // warm-up: device buffers, pinned staging
  std::vector<double> kernel, whole, cpu;
  for (int r = 0; r < reps; r++) {
    whole.push_back(wall([&] { must(c.call(true, &l_gpu, g_gpu.data())); }));
    kernel.push_back(fl::cuda::last_times().kernels_ms);
  }
  must(c.call(false, &l_cpu, g_cpu.data()));
  const int cpu_reps = c.flops > 1e12 ? 1 : std::max(3, reps / 4);  // seconds a call at N = 65536
  for (int r = 0; r < cpu_reps; r++)
    cpu.push_back(wall([&] { must(c.call(false, &l_cpu, g_cpu.data())); }));
  double gmax = 0, gdiff = 0;
  for (size_t i = 0; i < c.grad_len; i++) {
    gmax = std::max(gmax, double(std::fabs(g_cpu[i])));
    gdiff = std::max(gdiff, double(std::fabs(g_gpu[i] - g_cpu[i])));
  }
  Row row{c.loss, c.size, median(kernel), median(whole), median(cpu), 0, 0, relative(l_gpu, l_cpu),
          gmax > 0 ? gdiff / gmax : gdiff, ""};
  if (c.flops > 0) {
    row.rate = c.flops / (row.kernel_ms * 1e6), row.unit = "GFLOP/s";
    row.limit_pct = 100 * row.rate / gflops_limit;
  } else if (c.pairs > 0) {  // a handful of flops per pair around an exp and a log: no probe fits
    row.rate = c.pairs / (row.kernel_ms * 1e6), row.unit = "Gpairs/s";
    row.limit_pct = NAN;
  } else {
    row.rate = c.bytes / (row.kernel_ms * 1e6), row.unit = "GB/s";
    row.limit_pct = 100 * row.rate / gbps_limit;
  }
  return row;
}

// Inputs (and outputs besides the loss and gradient) live as long as the cases that point into
// them.
struct Inputs {
  std::vector<std::vector<float>> f32;
  std::vector<std::vector<int32_t>> i32;
  std::vector<std::vector<double>> f64;
  fl::RankMetricParams metrics;  // the ranking metrics a training loop logs beside a list loss
  const float* keep(std::vector<float> v) { return f32.emplace_back(std::move(v)).data(); }
  const int32_t* keep(std::vector<int32_t> v) { return i32.emplace_back(std::move(v)).data(); }
  double* out(size_t n) { return f64.emplace_back(n).data(); }
};

void anyloss_cases(std::vector<Case>& cases, Inputs& in, Rng& rng) {
  const int64_t n = 1000000;
  std::vector<float> y(n);
  for (float& v : y) v = rng.uniform() < 0.1 ? 1.f : 0.f;
  fl::ConfusionProblem bin;
  bin.scores = in.keep(normals(n, rng));
  bin.rows = n;
  bin.labels = in.keep(std::move(y));
  const int64_t rows = 65536;
  const int32_t classes = 10;
  std::vector<int32_t> t(rows);
  for (int32_t& v : t) v = rng.below(classes);
  fl::ConfusionProblem mc;
  mc.scores = in.keep(normals(rows * classes, rng));
  mc.rows = rows;
  mc.classes = classes;
  mc.labels = in.keep(std::move(t));
  mc.label_type = fl::LabelType::Int32;
  for (const auto& [pb, name, size] :
       {std::tuple{bin, "AnyLoss-F1 binary", "n=1e6"}, std::tuple{mc, "AnyLoss-F1 macro", "65536x10"}}) {
    Case c{name, size, double(pb.rows) * (8.0 * pb.classes + 4), 0, size_t(pb.rows * pb.classes), {}};
    c.call = [pb = pb](bool gpu, double* loss, float* grad) {
      const fl::MetricParams mp;  // F1
      const float amplifier = 73;  // the library's default
      return gpu ? fl::cuda::anyloss(pb, amplifier, fl::Average::Macro, mp, loss, grad)
                 : fl::anyloss_cpu(pb, amplifier, fl::Average::Macro, mp, loss, grad);
    };
    cases.push_back(std::move(c));
  }
}

void class_cases(std::vector<Case>& cases, Inputs& in, Rng& rng) {
  for (const auto& [rows, classes] : {std::pair{4096, 1000}, std::pair{256, 50000}}) {
    std::vector<int32_t> t(rows);
    for (int32_t& v : t) v = rng.below(classes);
    fl::ClassProblem pb;
    pb.logits = in.keep(normals(size_t(rows) * classes, rng));
    pb.rows = rows;
    pb.classes = classes;
    pb.targets = in.keep(std::move(t));
    const std::string size = std::to_string(rows) + "x" + std::to_string(classes);
    const double bytes = double(rows) * (8.0 * classes + 4);
    const size_t len = size_t(rows) * classes;
    cases.push_back({"softmax cross-entropy", size, bytes, 0, len,
                     [pb](bool gpu, double* loss, float* grad) {
                       const fl::LossOutputs out{loss, nullptr, grad};
                       return gpu ? fl::cuda::softmax_loss(pb, {}, {}, fl::Reduction::Mean, out)
                                  : fl::softmax_loss_cpu(pb, {}, {}, fl::Reduction::Mean, out);
                     }});
    cases.push_back({"Z-loss", size, bytes, 0, len, [pb](bool gpu, double* loss, float* grad) {
                       const fl::LossOutputs out{loss, nullptr, grad};
                       return gpu ? fl::cuda::spherical_loss(pb, {}, fl::Reduction::Mean, out)
                                  : fl::spherical_loss_cpu(pb, {}, fl::Reduction::Mean, out);
                     }});
  }
}

// Lists of distinct relevance (a random permutation per list), as `npm run bench` builds them.
// ListMLE, LambdaLoss and RankNet also run asked for metrics (options.metrics), computed in the
// loss's own pass, beside the loss alone: ListMLE's lists come sorted by relevance, LambdaLoss's
// by score, RankNet's by index (the metrics then count both ranks).
void ranking_cases(std::vector<Case>& cases, Inputs& in, Rng& rng) {
  using M = fl::RankMetric;
  for (const fl::RankMetricSpec& sp :
       {fl::RankMetricSpec{M::Ndcg, 10}, {M::Mrr, 0}, {M::Map, 0}, {M::Recall, 5}})
    in.metrics.specs[in.metrics.count++] = sp;
  const std::string with_metrics = " + ndcg@10, mrr, map, recall@5";
  using Run = fl::Status (*)(bool, const fl::RankingProblem&, double*, float*);
  for (const auto& [lists, n] : {std::pair{4096, 64}, std::pair{256, 1024}}) {
    std::vector<float> rel(size_t(lists) * n);
    std::vector<int32_t> perm(n);
    for (int l = 0; l < lists; l++) {
      for (int i = 0; i < n; i++) perm[i] = i;
      for (int i = n - 1; i > 0; i--) std::swap(perm[i], perm[rng.below(i + 1)]);
      for (int i = 0; i < n; i++) rel[size_t(l) * n + i] = float(perm[i]);
    }
    fl::RankingProblem pb;
    pb.scores = in.keep(normals(size_t(lists) * n, rng));
    pb.relevance = in.keep(std::move(rel));
    pb.lists = lists;
    pb.list_size = n;
    const std::string size = std::to_string(lists) + " lists x " + std::to_string(n);
    const double bytes = 12.0 * lists * n;
    const size_t len = size_t(lists) * n;
    // LambdaLoss's gains 2^r - 1 take relevance up to 64: graded labels 0 to 4 instead.
    fl::RankingProblem graded = pb;
    std::vector<float> grades(pb.relevance, pb.relevance + size_t(lists) * n);
    for (float& r : grades) r = std::floor(r * 5 / n);
    graded.relevance = in.keep(std::move(grades));
    const double pairs = double(lists) * n * n;
    const size_t per_list = size_t(lists) * in.metrics.count;  // metrics out
    // A loss on these lists, alone and (metrics) asked for the metrics.
    auto add = [&](const std::string& name, const fl::RankingProblem& lists_pb, double bytes_,
                   double pairs_, bool metrics, Run run) {
      fl::RankingProblem q = lists_pb;
      if (metrics) {
        q.metrics = &in.metrics;
        q.metrics_out = in.out(per_list);
      }
      cases.push_back({name + (metrics ? with_metrics : ""), size, bytes_, 0, len,
                       [q, run](bool gpu, double* loss, float* grad) { return run(gpu, q, loss, grad); }});
      cases.back().pairs = pairs_;
    };
    for (bool metrics : {false, true})
      add("ListMLE", pb, bytes, 0, metrics, [](bool gpu, const fl::RankingProblem& q, double* loss, float* grad) {
        return gpu ? fl::cuda::listmle(q, {}, loss, grad) : fl::listmle_cpu(q, {}, loss, grad);
      });
    add("RankList lse", pb, bytes, 0, false, [](bool gpu, const fl::RankingProblem& q, double* loss, float* grad) {
      return gpu ? fl::cuda::ranklist(q, {}, loss, grad) : fl::ranklist_cpu(q, {}, loss, grad);
    });
    for (bool metrics : {false, true})
      add("RankNet", pb, 0, pairs, metrics, [](bool gpu, const fl::RankingProblem& q, double* loss, float* grad) {
        const auto w = fl::PairWeighting::None;
        return gpu ? fl::cuda::ranknet(q, 1, w, loss, grad) : fl::ranknet_cpu(q, 1, w, loss, grad);
      });
    for (bool metrics : {false, true})
      add("LambdaLoss ndcgLoss2", graded, 0, pairs, metrics,
          [](bool gpu, const fl::RankingProblem& q, double* loss, float* grad) {
            fl::LambdaParams p;
            p.scheme = fl::LambdaScheme::NdcgLoss2;
            return gpu ? fl::cuda::lambdaloss(q, p, loss, grad) : fl::lambdaloss_cpu(q, p, loss, grad);
          });
  }
}

// 64 classes, L2-normalised inside the loss (the default).
void pair_cases(std::vector<Case>& cases, Inputs& in, Rng& rng, bool quick) {
  std::vector<std::pair<int, int>> sizes{{1024, 128}, {1024, 512}, {4096, 128}, {4096, 512},
                                         {32768, 256}};
  if (!quick) sizes.push_back({65536, 512});
  auto add = [&](const char* name, fl::PairLoss loss, int n, int dim,
                 fl::PairPrecision precision = fl::PairPrecision::Fp32) {
    std::vector<int32_t> y(n);
    for (int32_t& v : y) v = rng.below(64);
    fl::PairProblem pb;
    pb.x = in.keep(normals(size_t(n) * dim, rng));
    pb.labels = in.keep(std::move(y));
    pb.n = n;
    pb.dim = dim;
    fl::PairParams p;
    p.loss = loss;
    p.precision = precision;
    const std::string size = "N=" + std::to_string(n) + " D=" + std::to_string(dim);
    cases.push_back({name, size, 0, 6.0 * n * double(n) * dim, size_t(n) * dim,
                     [pb, p](bool gpu, double* l, float* grad) {
                       return gpu ? fl::cuda::pair_loss(pb, p, l, grad, nullptr)
                                  : fl::pair_loss_cpu(pb, p, l, grad, nullptr);
                     }});
  };
  for (const auto& [n, dim] : sizes) add("Multi-Similarity", fl::PairLoss::MultiSimilarity, n, dim);
  // The tensor-core precisions (options.precision), within the gradient tolerances of
  // test/pairs.precision.test.ts's PRECISION_TOL (1e-2 for tf32, 8e-2 for bf16).
  for (const auto& [name, precision, tol] :
       {std::tuple{"Multi-Similarity tf32", fl::PairPrecision::Tf32, 1e-2},
        std::tuple{"Multi-Similarity bf16", fl::PairPrecision::Bf16, 8e-2}})
    for (const auto& [n, dim] : sizes) {
      add(name, fl::PairLoss::MultiSimilarity, n, dim, precision);
      cases.back().tol = tol;
    }
  for (const auto& [name, loss] :
       {std::pair{"contrastive", fl::PairLoss::Contrastive},
        std::pair{"triplet batch-hard", fl::PairLoss::TripletBatchHard},
        std::pair{"circle", fl::PairLoss::Circle}, std::pair{"SupCon", fl::PairLoss::SupCon}})
    add(name, loss, 4096, 128);
}

}  // namespace

int main(int argc, char** argv) {
  const char* json = nullptr;
  bool quick = false;
  for (int i = 1; i < argc; i++) {
    if (!std::strcmp(argv[i], "--json") && i + 1 < argc) json = argv[++i];
    else if (!std::strcmp(argv[i], "--quick")) quick = true;
  }
  const fl::CudaStatus st = fl::cuda_discover();
  if (!st.available) {
    std::printf("cuda_bench: skipped, no usable CUDA device (%s)\n", st.reason.c_str());
    return 0;
  }
  const fl::CudaDevice& dev = st.devices[0];
  const double gbps = triad_gbps(dev.multiprocessors), gflops = fma_gflops(dev.multiprocessors);
  std::printf("%s (sm_%d%d, %d SMs); CPU path on %d threads\n", dev.name.c_str(), dev.major,
              dev.minor, dev.multiprocessors, fl::threads());
  std::printf("device limits, same run: triad %.0f GB/s, FP32 FMA %.0f GFLOP/s\n", gbps, gflops);
  const Transfers tr = transfer_probe();
  std::printf("copies (GB/s): pinned in %.1f, out %.1f; pageable in %.1f, out %.1f; host memcpy "
              "(1 thread) %.1f\n\n",
              tr.pinned_in, tr.pinned_out, tr.pageable_in, tr.pageable_out, tr.host_copy);

  Rng rng(20261122);
  Inputs in;
  std::vector<Case> cases;
  anyloss_cases(cases, in, rng);
  class_cases(cases, in, rng);
  ranking_cases(cases, in, rng);
  pair_cases(cases, in, rng, quick);

  fl::cuda::set_profiling(true);
  int failed = 0;  // GPU and CPU agree within the case's tol, or the figure is void
  std::vector<Row> rows;
  std::printf("| loss | size | kernels ms | rate | of limit | whole call ms | CPU ms | CPU / kernels | "
              "loss diff | grad diff |\n|---|---|---|---|---|---|---|---|---|---|\n");
  for (const Case& c : cases) {
    const int reps = quick ? 5 : (c.flops > 1e12 ? 5 : 25);
    const Row r = time_case(c, reps, gbps, gflops);
    char pct[16] = "-";
    if (!std::isnan(r.limit_pct)) std::snprintf(pct, sizeof pct, "%.0f%%", r.limit_pct);
    std::printf("| %s | %s | %.3f | %.0f %s | %s | %.2f | %.2f | %.0fx | %.1e | %.1e |\n",
                r.loss.c_str(), r.size.c_str(), r.kernel_ms, r.rate, r.unit, pct, r.wall_ms,
                r.cpu_ms, r.cpu_ms / r.kernel_ms, r.loss_diff, r.grad_diff);
    std::fflush(stdout);
    if (!(r.loss_diff <= c.tol && r.grad_diff <= c.tol)) failed++;
    rows.push_back(r);
  }
  std::printf(
      "\nkernels ms: the median over repetitions of the GPU time between the first kernel and the "
      "last (CUDA events); rate: compulsory bytes (inputs read once, gradient written once) or "
      "6 N^2 D flops over that time. whole call: host arrays in, host arrays out, as the addon "
      "calls it. diff: GPU vs CPU, loss relative, gradient relative to its largest entry.\n");

  if (json) {
    FILE* f = std::fopen(json, "w");
    if (!f) return 1;
    std::fprintf(f, "{\"device\": \"%s\", \"triadGBps\": %.1f, \"fmaGFLOPs\": %.1f, \"cpuThreads\": %d, \"rows\": [",
                 dev.name.c_str(), gbps, gflops, fl::threads());
    for (size_t i = 0; i < rows.size(); i++) {
      const Row& r = rows[i];
      std::fprintf(f,
                   "%s\n {\"loss\": \"%s\", \"size\": \"%s\", \"kernelMs\": %.4f, \"wallMs\": %.4f, "
                   "\"cpuMs\": %.4f, \"rate\": %.1f, \"unit\": \"%s\", \"ofLimitPct\": %s, "
                   "\"lossDiff\": %.2e, \"gradDiff\": %.2e}",
                   i ? "," : "", r.loss.c_str(), r.size.c_str(), r.kernel_ms, r.wall_ms, r.cpu_ms,
                   r.rate, r.unit, std::isnan(r.limit_pct) ? "null" : std::to_string(r.limit_pct).c_str(),
                   r.loss_diff, r.grad_diff);
    }
    std::fprintf(f, "\n]}\n");
    std::fclose(f);
  }
  if (failed) std::printf("cuda_bench: %d cases disagree with the CPU beyond their tolerance\n", failed);
  return failed ? 1 : 0;
}
