// The warp-level matrix API (nvcuda::wmma, CUDA C++ Programming Guide, "Warp Matrix Functions")
// and the bf16/tf32 conversions, for the simulator. Included by cuda_sim.h; kernels name it as
// with <mma.h>: nvcuda::wmma inside fl::sim resolves to fl::sim::nvcuda::wmma.
//
// What is modelled:
// - Shapes: m16n16k8 with precision::tf32 inputs and m16n16k16 with __nv_bfloat16 inputs, float
//   accumulators (the sm_80 ones the pair kernels use). Others fail a static_assert.
// - load_matrix_sync, store_matrix_sync and mma_sync are warp collectives: all 32 lanes must
//   arrive (a lane that skips one is reported, as for a shuffle), with the same pointer, ldm and
//   layout. The pointer must be 256-bit aligned (the guide) and every row or column must start
//   aligned to the fragment's size in bytes (PTX ISA, wmma, "Address Alignment"): ldm a multiple
//   of 16 bytes for tf32 and bf16 inputs, of 32 for float accumulators, stricter than the
//   guide's 16 bytes for all. fill_fragment is per lane, as in CUDA.
// - The fragment layout is the simulator's own (the guide leaves the element-to-lane mapping
//   unspecified): element e of lane l is the element with row-major index e * 32 + l of the
//   fragment's matrix. Code that relies on the hardware's mapping gets wrong results here.
// - Input rounding. __float_to_tf32 is cvt.rna.tf32.f32 (PTX ISA, cvt: round to nearest, ties
//   away from zero, 10 mantissa bits kept); as compiled for sm_8x it adds 0x1000 to the bits of
//   a finite input and clears the low 13 bits (SASS shown in enp1s0.github.io/blog/cuda/2023/01/
//   08/tf32-rna.html), which this copies: Inf and NaN are only masked, so a NaN whose payload
//   lies in the low 13 bits alone becomes Inf. A tf32 fragment holds whatever float was loaded
//   (the guide asks for __float_to_tf32 on its elements); mma reads only the top 19 bits of
//   each, i.e. truncates unconverted inputs (PTX ISA, wgmma: ".tf32 will truncate lower 13 bits
//   of the 32-bit input data before multiplication"; PyTorch's TF32 note: "only the first 10
//   bits of the input mantissa are read"). __float2bfloat16 rounds to nearest even, NaN gives
//   the canonical 0x7fff (as cuda_bf16.hpp's reference path).
// - Accumulation. NVIDIA does not specify the order or rounding inside mma. Here each output
//   element starts from C and adds the products in k order with one float FMA each. Products of
//   tf32 (11-bit) or bf16 (8-bit) significands are exact in float, so this is a float sum in
//   k order, each addition rounded to nearest. Real tensor cores sum in blocks and may truncate
//   (Fasi et al., "Numerical behavior of NVIDIA tensor cores", PeerJ CS 2021), so device results
//   can differ in the last bits; error figures from here are indicative of the input rounding,
//   which dominates.
#pragma once

#include <cstdio>

namespace fl {
namespace sim {

// CUDA's bf16 storage type (cuda_bf16.h); converts from and to float as CUDA's does.
struct __align__(2) __nv_bfloat16 {
  __nv_bfloat16() = default;
  __nv_bfloat16(float f);  // round to nearest even
  operator float() const;

  unsigned short bits_;
};

namespace detail {

inline std::uint32_t float_bits(float x) {
  return static_cast<std::uint32_t>(to_bits(x));
}
inline float bits_float(std::uint32_t b) {
  return from_bits<float>(b);
}

// cvt.rna.tf32.f32 as the SASS does it (see the top of this file).
inline float tf32_rna(float x) {
  std::uint32_t b = float_bits(x);
  if ((b & 0x7f800000u) != 0x7f800000u) b += 0x1000u;  // half an ulp of the kept bits, in magnitude
  return bits_float(b & 0xffffe000u);
}

// What the tensor core reads of a tf32 operand: the top 19 bits.
inline float tf32_truncate(float x) {
  return bits_float(float_bits(x) & 0xffffe000u);
}

inline unsigned short bf16_rn(float x) {
  std::uint32_t b = float_bits(x);
  if ((b & 0x7fffffffu) > 0x7f800000u) return 0x7fff;
  b += 0x7fffu + (b >> 16 & 1u);  // just under half an ulp, plus one for ties to an odd ulp
  return static_cast<unsigned short>(b >> 16);
}

}  // namespace detail

inline __nv_bfloat16 __ushort_as_bfloat16(unsigned short bits) {
  __nv_bfloat16 h;
  h.bits_ = bits;
  return h;
}
inline unsigned short __bfloat16_as_ushort(__nv_bfloat16 h) {
  return h.bits_;
}
inline __nv_bfloat16 __float2bfloat16(float x) {
  return __ushort_as_bfloat16(detail::bf16_rn(x));
}
inline __nv_bfloat16 __float2bfloat16_rn(float x) {
  return __float2bfloat16(x);
}
inline float __bfloat162float(__nv_bfloat16 h) {
  return detail::bits_float(static_cast<std::uint32_t>(h.bits_) << 16);
}
inline __nv_bfloat16::__nv_bfloat16(float f) : bits_(detail::bf16_rn(f)) {}
inline __nv_bfloat16::operator float() const {
  return __bfloat162float(*this);
}

namespace nvcuda {
namespace wmma {

struct row_major;
struct col_major;
struct matrix_a;
struct matrix_b;
struct accumulator;
namespace precision {
struct tf32;
}
enum layout_t { mem_row_major, mem_col_major };

inline float __float_to_tf32(float in) {
  return detail::tf32_rna(in);
}

namespace fl_sim {

template <class Use, int m, int n, int k>
struct Shape;
template <int m, int n, int k>
struct Shape<matrix_a, m, n, k> {
  static constexpr int rows = m, cols = k;
};
template <int m, int n, int k>
struct Shape<matrix_b, m, n, k> {
  static constexpr int rows = k, cols = n;
};
template <int m, int n, int k>
struct Shape<accumulator, m, n, k> {
  static constexpr int rows = m, cols = n;
};

template <class T>
struct Storage {
  using type = T;
};
template <>
struct Storage<precision::tf32> {
  using type = float;
};

template <int m, int n, int k, class T>
constexpr bool kInputShape = (m == 16 && n == 16 && k == 8 && std::is_same_v<T, precision::tf32>) ||
                             (m == 16 && n == 16 && k == 16 && std::is_same_v<T, __nv_bfloat16>);

}  // namespace fl_sim

template <class Use, int m, int n, int k, class T, class Layout = void>
class fragment {
  static constexpr bool kAccumulator = std::is_same_v<Use, accumulator>;
  static_assert(kAccumulator || std::is_same_v<Use, matrix_a> || std::is_same_v<Use, matrix_b>,
                "wmma::fragment: Use is matrix_a, matrix_b or accumulator");
  static_assert(!kAccumulator || (std::is_same_v<T, float> && std::is_void_v<Layout> && m == 16 &&
                                  n == 16 && (k == 8 || k == 16)),
                "cuda-sim wmma: accumulators are float, m16n16k8 or m16n16k16, without layout");
  static_assert(kAccumulator || fl_sim::kInputShape<m, n, k, T>,
                "cuda-sim wmma: inputs are precision::tf32 m16n16k8 or __nv_bfloat16 m16n16k16");
  static_assert(kAccumulator || std::is_same_v<Layout, row_major> ||
                    std::is_same_v<Layout, col_major>,
                "wmma::fragment: matrix_a and matrix_b take row_major or col_major");
  using MatrixShape = fl_sim::Shape<Use, m, n, k>;

 public:
  using element_type = T;
  using storage_element_type = typename fl_sim::Storage<T>::type;
  enum {
    num_elements = MatrixShape::rows * MatrixShape::cols / 32,
    num_storage_elements = num_elements
  };
  storage_element_type x[num_elements];
};

template <class Use, int m, int n, int k, class T, class Layout>
void fill_fragment(fragment<Use, m, n, k, T, Layout>& f,
                   const typename fragment<Use, m, n, k, T, Layout>::storage_element_type& v) {
  for (auto& e : f.x) e = v;
}

namespace fl_sim {

// The rows and columns of a fragment's matrix.
template <class Frag>
struct Dims;
template <class Use, int m, int n, int k, class T, class Layout>
struct Dims<fragment<Use, m, n, k, T, Layout>> : Shape<Use, m, n, k> {};
template <class Frag>
struct Dims<const Frag> : Dims<Frag> {};

// The element of the fragment's matrix that element e of `lane` holds.
template <class Frag>
unsigned row_of(int e, unsigned lane) {
  return (static_cast<unsigned>(e) * 32 + lane) / Dims<Frag>::cols;
}
template <class Frag>
unsigned col_of(int e, unsigned lane) {
  return (static_cast<unsigned>(e) * 32 + lane) % Dims<Frag>::cols;
}

// One lane's arguments to a load or store of fragment Frag from or to memory of Elem (Frag is
// const for a store, Elem for a load).
template <class Frag, class Elem>
struct Transfer {
  Frag* frag;
  Elem* p;
  unsigned ldm;
  bool col_major;
};

// The pointer, ldm and layout are the same on every lane (the collective is always the full
// warp) and valid for wmma.
template <class Frag, class Elem>
bool check_transfer(void* const* args, char* why, std::size_t why_size) {
  const auto& first = *static_cast<const Transfer<Frag, Elem>*>(args[0]);
  for (unsigned j = 1; j < 32; ++j) {
    const auto& t = *static_cast<const Transfer<Frag, Elem>*>(args[j]);
    if (t.p != first.p || t.ldm != first.ldm || t.col_major != first.col_major) {
      std::snprintf(why, why_size,
                    "lane %u passes (%p, ldm %u, %s) but lane 0 passes (%p, ldm %u, %s): the "
                    "arguments must be the same on every lane",
                    j, static_cast<const void*>(t.p), t.ldm, t.col_major ? "col" : "row",
                    static_cast<const void*>(first.p), first.ldm, first.col_major ? "col" : "row");
      return false;
    }
  }
  if (reinterpret_cast<std::uintptr_t>(first.p) % 32 != 0) {
    std::snprintf(why, why_size, "pointer %p is not 256-bit aligned",
                  static_cast<const void*>(first.p));
    return false;
  }
  // Per lane these fragments hold as many bytes as the hardware's registers do (4 .b32 for tf32
  // and bf16 inputs, 8 .f32 for accumulators).
  constexpr std::size_t kFragmentBytes = sizeof(std::remove_const_t<Frag>::x);
  if (first.ldm * sizeof(Elem) % kFragmentBytes != 0) {
    std::snprintf(why, why_size,
                  "ldm %u (%zu bytes) is not a multiple of the fragment's %zu bytes, so rows or "
                  "columns start misaligned",
                  first.ldm, first.ldm * sizeof(Elem), kFragmentBytes);
    return false;
  }
  return true;
}

// Moves every lane's fragment elements from memory (a load) or to it (a store, Frag const).
template <class Frag, class Elem>
bool run_transfer(void* const* args, unsigned, char* why, std::size_t why_size) {
  if (!check_transfer<Frag, Elem>(args, why, why_size)) return false;
  for (unsigned j = 0; j < 32; ++j) {
    const auto& t = *static_cast<const Transfer<Frag, Elem>*>(args[j]);
    for (int e = 0; e < Frag::num_elements; ++e) {
      const unsigned r = row_of<Frag>(e, j), c = col_of<Frag>(e, j);
      Elem& m = t.p[t.col_major ? c * t.ldm + r : r * t.ldm + c];
      if constexpr (std::is_const_v<Frag>) {
        m = t.frag->x[e];
      } else {
        t.frag->x[e] = m;
      }
    }
  }
  return true;
}

template <class Frag, class Elem>
void transfer(const char* name, ::fl::sim::detail::Collective run, Frag* frag, Elem* p,
              unsigned ldm, bool col_major, const char* file, int line) {
  Transfer<Frag, Elem> args{frag, p, ldm, col_major};
  ::fl::sim::detail::warp_collective(name, run, 0xffffffffu, &args, file, line);
}

// The value the tensor core multiplies.
inline float operand(float tf32_storage) {
  return ::fl::sim::detail::tf32_truncate(tf32_storage);
}
inline float operand(__nv_bfloat16 v) {
  return __bfloat162float(v);
}

template <class Acc, class A, class B>
struct MmaArgs {
  Acc* d;
  const A* a;
  const B* b;
  const Acc* c;
};

// Gathers the warp's A, B and C, then D = A B + C element by element, products added in k order
// with float FMAs (see the top of this file), scattered back into every lane's d.
template <class Acc, class A, class B>
bool run_mma(void* const* args, unsigned, char*, std::size_t) {
  constexpr int M = Dims<Acc>::rows, N = Dims<Acc>::cols, K = Dims<A>::cols;
  float a[M][K], b[K][N], c[M][N];
  for (unsigned j = 0; j < 32; ++j) {
    const auto& t = *static_cast<const MmaArgs<Acc, A, B>*>(args[j]);
    for (int e = 0; e < A::num_elements; ++e) {
      a[row_of<A>(e, j)][col_of<A>(e, j)] = operand(t.a->x[e]);
    }
    for (int e = 0; e < B::num_elements; ++e) {
      b[row_of<B>(e, j)][col_of<B>(e, j)] = operand(t.b->x[e]);
    }
    for (int e = 0; e < Acc::num_elements; ++e) c[row_of<Acc>(e, j)][col_of<Acc>(e, j)] = t.c->x[e];
  }
  for (int i = 0; i < M; ++i) {
    for (int n = 0; n < N; ++n) {
      for (int k = 0; k < K; ++k) c[i][n] = std::fma(a[i][k], b[k][n], c[i][n]);
    }
  }
  for (unsigned j = 0; j < 32; ++j) {
    const auto& t = *static_cast<const MmaArgs<Acc, A, B>*>(args[j]);
    for (int e = 0; e < Acc::num_elements; ++e) t.d->x[e] = c[row_of<Acc>(e, j)][col_of<Acc>(e, j)];
  }
  return true;
}

}  // namespace fl_sim

template <class Use, int m, int n, int k, class T, class Layout>
void load_matrix_sync(fragment<Use, m, n, k, T, Layout>& a,
                      const typename fragment<Use, m, n, k, T, Layout>::storage_element_type* p,
                      unsigned ldm, const char* file = __builtin_FILE(),
                      int line = __builtin_LINE()) {
  static_assert(!std::is_same_v<Use, accumulator>,
                "wmma::load_matrix_sync: an accumulator load takes a layout_t");
  using Frag = fragment<Use, m, n, k, T, Layout>;
  using Elem = const typename Frag::storage_element_type;
  fl_sim::transfer("wmma::load_matrix_sync", &fl_sim::run_transfer<Frag, Elem>, &a, p, ldm,
                   std::is_same_v<Layout, col_major>, file, line);
}

template <int m, int n, int k>
void load_matrix_sync(fragment<accumulator, m, n, k, float>& a, const float* p, unsigned ldm,
                      layout_t layout, const char* file = __builtin_FILE(),
                      int line = __builtin_LINE()) {
  using Frag = fragment<accumulator, m, n, k, float>;
  fl_sim::transfer("wmma::load_matrix_sync", &fl_sim::run_transfer<Frag, const float>, &a, p, ldm,
                   layout == mem_col_major, file, line);
}

template <int m, int n, int k>
void store_matrix_sync(float* p, const fragment<accumulator, m, n, k, float>& a, unsigned ldm,
                       layout_t layout, const char* file = __builtin_FILE(),
                       int line = __builtin_LINE()) {
  using Frag = const fragment<accumulator, m, n, k, float>;
  fl_sim::transfer("wmma::store_matrix_sync", &fl_sim::run_transfer<Frag, float>, &a, p, ldm,
                   layout == mem_col_major, file, line);
}

template <int m, int n, int k, class T, class LayoutA, class LayoutB>
void mma_sync(fragment<accumulator, m, n, k, float>& d,
              const fragment<matrix_a, m, n, k, T, LayoutA>& a,
              const fragment<matrix_b, m, n, k, T, LayoutB>& b,
              const fragment<accumulator, m, n, k, float>& c, const char* file = __builtin_FILE(),
              int line = __builtin_LINE()) {
  using Acc = fragment<accumulator, m, n, k, float>;
  using A = fragment<matrix_a, m, n, k, T, LayoutA>;
  using B = fragment<matrix_b, m, n, k, T, LayoutB>;
  fl_sim::MmaArgs<Acc, A, B> args{&d, &a, &b, &c};
  ::fl::sim::detail::warp_collective("wmma::mma_sync", &fl_sim::run_mma<Acc, A, B>, 0xffffffffu,
                                     &args, file, line);
}

}  // namespace wmma
}  // namespace nvcuda
}  // namespace sim
}  // namespace fl
