#pragma once

#include <torch/nn/module.h>

#include <memory>
#include <string>

namespace tunebench {

// Registers `child` under a dotted path ("attention.self.query"), creating plain container modules
// on the way, so that parameter names are exactly a checkpoint's keys.
template <typename ModuleHolder>
ModuleHolder registerAt(torch::nn::Module &root, const std::string &path, ModuleHolder child)
{
  torch::nn::Module *parent = &root;
  std::size_t start = 0;
  for (std::size_t dot = path.find('.'); dot != std::string::npos; dot = path.find('.', start)) {
    const std::string name = path.substr(start, dot - start);
    std::shared_ptr<torch::nn::Module> next;
    for (const auto &item : parent->named_children())
      if (item.key() == name)
        next = item.value();
    if (!next)
      next = parent->register_module(name, std::make_shared<torch::nn::Module>());
    parent = next.get();
    start = dot + 1;
  }
  return parent->register_module(path.substr(start), child);
}

} // namespace tunebench
