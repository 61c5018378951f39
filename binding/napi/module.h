// One init function per family; module.cc calls each.
#pragma once

#include <napi.h>

namespace fl::napi {
void init_confusion(Napi::Env env, Napi::Object exports);
void init_spherical(Napi::Env env, Napi::Object exports);
void init_ranking(Napi::Env env, Napi::Object exports);
void init_pairs(Napi::Env env, Napi::Object exports);
void init_spherical_head(Napi::Env env, Napi::Object exports);
void init_linear_ce(Napi::Env env, Napi::Object exports);
}  // namespace fl::napi
