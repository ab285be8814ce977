#pragma once

#include "core/models/gpt2.h"
#include "core/models/linear.h"

#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace tunebench {

// A linear map a strategy can attach output hooks to: tunebench::Linear (weight [out, in]) or GPT-2's
// Conv1D (weight [in, out], "transposed").
struct Hookable
{
  torch::nn::Module *module = nullptr;
  torch::Tensor weight;
  torch::Tensor bias;
  int in = 0;
  int out = 0;
  bool transposed = false;
  const std::vector<std::shared_ptr<OutputHook>> *hooks = nullptr;
  std::function<void(std::shared_ptr<OutputHook>)> add;
};

inline std::optional<Hookable> hookable(const std::shared_ptr<torch::nn::Module> &m)
{
  if (auto *l = m->as<LinearImpl>())
    return Hookable{l, l->weight, l->bias, l->inFeatures(), l->outFeatures(), false, &l->hooks(),
                    [l](std::shared_ptr<OutputHook> h) { l->addHook(std::move(h)); }};
  if (auto *c = m->as<Conv1DImpl>())
    return Hookable{c, c->weight, c->bias, c->inFeatures(), c->outFeatures(), true, &c->hooks(),
                    [c](std::shared_ptr<OutputHook> h) { c->addHook(std::move(h)); }};
  return std::nullopt;
}

} // namespace tunebench
