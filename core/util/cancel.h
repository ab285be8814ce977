#pragma once

#include "core/util/error.h"

#include <atomic>

namespace tunebench {

// Stopping long work (data preparation, model loading, evaluation) part-way: a run sets its stop
// flag as this thread's for the scope (StopScope), and the loops of that work call
// throwIfStopped() between their items (rows, batches, tensors); with the flag up it throws
// Stopped, which the run catches. Scopes nest: a flag of any enclosing scope stops the work (a
// GUI job's flag stops the run it started). Outside any scope nothing is ever stopped.
class Stopped : public Error
{
public:
  Stopped()
    : Error("stopped")
  {}
};

class StopScope
{
public:
  explicit StopScope(const std::atomic<bool> *flag);
  ~StopScope();
  StopScope(const StopScope &) = delete;
  StopScope &operator=(const StopScope &) = delete;

private:
  friend bool stopRequested();
  const std::atomic<bool> *m_flag;
  const StopScope *m_outer;
};

// Whether this thread's work was asked to stop.
bool stopRequested();
// Throws Stopped when it was.
void throwIfStopped();

} // namespace tunebench
