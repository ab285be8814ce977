#pragma once

#include <torch/nn/module.h>

#include <algorithm>
#include <memory>
#include <string>

namespace tunebench {

// The module at a dotted path under root ("cls.predictions"), created as plain container modules
// where missing.
inline std::shared_ptr<torch::nn::Module> moduleAt(torch::nn::Module &root, const std::string &path)
{
  std::shared_ptr<torch::nn::Module> current;
  torch::nn::Module *parent = &root;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t dot = std::min(path.find('.', start), path.size());
    const std::string name = path.substr(start, dot - start);
    std::shared_ptr<torch::nn::Module> next;
    for (const auto &item : parent->named_children())
      if (item.key() == name)
        next = item.value();
    if (!next)
      next = parent->register_module(name, std::make_shared<torch::nn::Module>());
    current = next;
    parent = next.get();
    start = dot + 1;
  }
  return current;
}

// Registers `child` under a dotted path ("attention.self.query"), creating plain container modules
// on the way, so that parameter names are exactly a checkpoint's keys.
template <typename ModuleHolder>
ModuleHolder registerAt(torch::nn::Module &root, const std::string &path, ModuleHolder child)
{
  const std::size_t dot = path.rfind('.');
  if (dot == std::string::npos)
    return root.register_module(path, child);
  return moduleAt(root, path.substr(0, dot))->register_module(path.substr(dot + 1), child);
}

} // namespace tunebench
