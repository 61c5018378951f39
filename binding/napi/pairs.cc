// N-API glue of the pairwise family: convert, check, call the core, nothing else.
// pairLoss(embeddings, labels, reference|null, referenceLabels|null, out, referenceOut|null,
// rowLoss|null (per-anchor losses, reduction 'none'), given|null (given pairs: a1, p, a2, n packed
// in one Int32Array, formulas E.8), params{dim, loss, normalize, alpha, beta, base, epsilon,
// semantics, posMargin, negMargin, margin, softMargin, m, gamma, temperature, baseTemperature,
// mining, supConAllAnchors, precision, givenPositives, givenNegatives, device}, async) -> loss
#include "fusedloss/pairs.h"

#include <memory>
#include <string>

#include "args.h"
#include "module.h"

namespace fl::napi {
namespace {

// Rows of `dim` floats at info[i] and one label per row at info[i + 1].
PairProblem rows_arg(const Napi::CallbackInfo& info, size_t i, const char* name,
                     const char* labels_name, int32_t dim, std::vector<Napi::Value>& keep) {
  const ArrayArg<float> x = float32_arg(info, i, name);
  const ArrayArg<int32_t> y = int32_arg(info, i + 1, labels_name);
  require_length(info.Env(), name, x.length, y.length * static_cast<size_t>(dim),
                 std::to_string(y.length) + " labels x dim " + std::to_string(dim));
  keep.push_back(x.value);
  keep.push_back(y.value);
  PairProblem p;
  p.x = x.data;
  p.labels = y.data;
  p.n = static_cast<int64_t>(y.length);
  return p;
}

PairParams pair_params(const Napi::Object& o) {
  PairParams p;
  p.loss = enum_field(o, "loss", PairLoss::OrthogonalProjection);
  p.alpha = number_field(o, "alpha", kPositive);
  p.beta = number_field(o, "beta", kPositive);
  p.base = number_field(o, "base", kSigned);
  p.epsilon = number_field(o, "epsilon", kNonNegative);
  p.semantics = enum_field(o, "semantics", MsSemantics::Pml);
  p.ms_mining = bool_field(o, "mining");
  p.supcon_all_anchors = bool_field(o, "supConAllAnchors");
  p.pos_margin = number_field(o, "posMargin", kNonNegative);
  p.neg_margin = number_field(o, "negMargin", kNonNegative);
  p.margin = number_field(o, "margin", kNonNegative);
  p.soft_margin = bool_field(o, "softMargin");
  p.m = number_field(o, "m", kNonNegative);
  p.gamma = number_field(o, "gamma", kNonNegative);
  p.temperature = number_field(o, "temperature", kPositive);
  p.base_temperature = number_field(o, "baseTemperature", kPositive);
  p.precision = enum_field(o, "precision", PairPrecision::Bf16);
  return p;
}

// The given pairs at info[i] (null: none), a1, p, a2, n packed; every index a row of the batch.
std::shared_ptr<GivenPairs> given_arg(const Napi::CallbackInfo& info, size_t i,
                                      const Napi::Object& params, const PairProblem& pb,
                                      PairLoss loss, std::vector<Napi::Value>& keep) {
  if (info[i].IsNull() || info[i].IsUndefined()) return nullptr;
  Napi::Env env = info.Env();
  if (pb.ref || (loss != PairLoss::MultiSimilarity && loss != PairLoss::Contrastive &&
                 loss != PairLoss::TripletBatchHard && loss != PairLoss::Circle))
    throw_range_error(env, "ERR_FUSEDLOSS_INVALID_ARG_VALUE",
                      "given pairs are taken by multiSimilarity, contrastive, tripletBatchHard "
                      "and circleLoss, without options.reference");
  const ArrayArg<int32_t> idx = int32_arg(info, i, "given");
  auto g = std::make_shared<GivenPairs>();
  g->positives = static_cast<int64_t>(number_field(params, "givenPositives", kTupleCount));
  g->negatives = static_cast<int64_t>(number_field(params, "givenNegatives", kTupleCount));
  require_length(env, "given", idx.length, static_cast<size_t>(2 * g->size()),
                 "two indices per pair");
  for (size_t k = 0; k < idx.length; ++k)
    if (idx.data[k] < 0 || idx.data[k] >= pb.n)
      throw_range_error(env, "ERR_FUSEDLOSS_INVALID_ARG_VALUE",
                        "given pair index " + std::to_string(idx.data[k]) +
                            " is not a row of the batch of " + std::to_string(pb.n));
  if (loss == PairLoss::TripletBatchHard && g->positives != g->negatives)
    throw_range_error(env, "ERR_FUSEDLOSS_LENGTH_MISMATCH",
                      "given triplets need as many negatives as positives");
  g->a1 = idx.data;
  g->p = g->a1 + g->positives;
  g->a2 = g->p + g->positives;
  g->n = g->a2 + g->negatives;
  keep.push_back(idx.value);
  return g;
}

Napi::Value PairLossFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Napi::Object params = object_arg(info, 8, "params");
  const int32_t dim = int_field(params, "dim", kDimension);
  std::vector<Napi::Value> keep;
  PairProblem pb = rows_arg(info, 0, "embeddings", "labels", dim, keep);
  pb.dim = dim;
  pb.normalize = bool_field(params, "normalize");
  float* grad = grad_out_arg(info, 4, pb.x, static_cast<size_t>(pb.n) * dim, keep);
  float* ref_grad = nullptr;
  const PairParams p = pair_params(params);
  if (!info[2].IsNull() && !info[2].IsUndefined()) {
    if (p.loss != PairLoss::MultiSimilarity)
      throw_range_error(env, "ERR_FUSEDLOSS_INVALID_ARG_VALUE",
                        "options.reference is only supported by multiSimilarity");
    const PairProblem r =
        rows_arg(info, 2, "options.reference", "options.referenceLabels", dim, keep);
    pb.ref = r.x;
    pb.ref_labels = r.labels;
    pb.m = r.n;
    ref_grad = grad_out_arg(info, 5, pb.ref, static_cast<size_t>(pb.m) * dim, keep);
  }
  if (!info[6].IsNull() && !info[6].IsUndefined()) {
    if (p.loss == PairLoss::OrthogonalProjection)
      throw_range_error(env, "ERR_FUSEDLOSS_INVALID_ARG_VALUE",
                        "orthogonalProjection has no per-anchor losses (reduction 'none')");
    const ArrayArg<float> row_loss = float32_arg(info, 6, "rowLoss");
    require_length(env, "rowLoss", row_loss.length, static_cast<size_t>(pb.n), "one loss per row");
    keep.push_back(row_loss.value);
    pb.row_loss = row_loss.data;
  }
  // Shared with the job, which may outlive this call (async).
  const std::shared_ptr<GivenPairs> given = given_arg(info, 7, params, pb, p.loss, keep);
  const Device dev = device_field(params);
  auto loss = std::make_shared<double>(0);
  return run(
      env, async_arg(info, 9), keep,
      [=] {
        PairProblem job = pb;
        job.given = given.get();
        return FL_CALL(dev, pair_loss(job, p, loss.get(), grad, ref_grad));
      },
      [=](Napi::Env env) { return number_result(env, *loss); });
}

}  // namespace

void init_pairs(Napi::Env env, Napi::Object exports) {
  export_fn<PairLossFn>(env, exports, "pairLoss");
}

}  // namespace fl::napi
