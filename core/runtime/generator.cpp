#include "core/runtime/generator.h"

#include <ATen/CPUGeneratorImpl.h>

namespace tunebench {

namespace {
thread_local at::Generator t_current; // undefined: none set on this thread
}

at::Generator currentGenerator()
{
  return t_current.defined() ? t_current : at::detail::getDefaultCPUGenerator();
}

at::Generator seededGenerator(std::uint64_t seed)
{
  return at::detail::createCPUGenerator(seed);
}

GeneratorScope::GeneratorScope(at::Generator generator)
  : m_previous(t_current)
{
  t_current = std::move(generator);
}

GeneratorScope::~GeneratorScope()
{
  t_current = std::move(m_previous);
}

} // namespace tunebench

// --- runtime.kernels (core/runtime/kernels.h) ------------------------------------------------
#include "core/runtime/kernels.h"

namespace tunebench {

namespace {
thread_local bool t_aten = false;
}

bool atenKernels()
{
  return t_aten;
}

bool choosesAtenKernels(const std::string &kernels, bool cpu)
{
  return kernels == "aten" || (kernels == "auto" && !cpu);
}

KernelScope::KernelScope(bool aten)
  : m_previous(t_aten)
{
  t_aten = aten;
}

KernelScope::~KernelScope()
{
  t_aten = m_previous;
}

} // namespace tunebench
