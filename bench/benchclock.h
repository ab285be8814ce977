#pragma once

// The benchmarks' one clock: a steady clock and seconds between two of its readings.
#include <chrono>

namespace tunebench::bench {

using Clock = std::chrono::steady_clock;

inline double secondsBetween(Clock::time_point from, Clock::time_point to)
{
  return std::chrono::duration<double>(to - from).count();
}

inline double since(Clock::time_point from) { return secondsBetween(from, Clock::now()); }

} // namespace tunebench::bench
