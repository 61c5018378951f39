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
void init_proxy(Napi::Env env, Napi::Object exports);
// Raises glibc's mmap and trim thresholds once per process (malloc_tuning.cc); false where it did
// not (opted out, set by the user, or not glibc).
bool tune_malloc();
}  // namespace fl::napi
