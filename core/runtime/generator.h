#pragma once

#include <ATen/core/Generator.h>

#include <cstdint>

namespace tunebench {

// Each run draws its random numbers (initialisation, dropout masks) from a generator of its own,
// never from LibTorch's process-wide one, so that a run trained beside others (the GUI's quick
// checks and evaluations in other threads, a plan's next child) draws exactly what it draws alone.
//
// The generator random draws on this thread use: the one a GeneratorScope set here, else
// LibTorch's default CPU generator (code outside any run).
at::Generator currentGenerator();

// A new CPU generator seeded like torch::manual_seed(seed) seeds the default one (the same
// sequence).
at::Generator seededGenerator(std::uint64_t seed);

// Makes `generator` this thread's current generator until the scope ends (scopes nest).
class GeneratorScope
{
public:
  explicit GeneratorScope(at::Generator generator);
  ~GeneratorScope();
  GeneratorScope(const GeneratorScope &) = delete;
  GeneratorScope &operator=(const GeneratorScope &) = delete;

private:
  at::Generator m_previous;
};

} // namespace tunebench
