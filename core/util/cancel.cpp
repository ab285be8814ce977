#include "core/util/cancel.h"

namespace tunebench {

namespace {
thread_local const StopScope *t_scope = nullptr; // the innermost; each holds the one around it
}

StopScope::StopScope(const std::atomic<bool> *flag)
  : m_flag(flag)
  , m_outer(t_scope)
{
  t_scope = this;
}

StopScope::~StopScope()
{
  t_scope = m_outer;
}

bool stopRequested()
{
  for (const StopScope *s = t_scope; s; s = s->m_outer)
    if (s->m_flag && s->m_flag->load(std::memory_order_relaxed))
      return true;
  return false;
}

void throwIfStopped()
{
  if (stopRequested())
    throw Stopped();
}

} // namespace tunebench
