#pragma once
// An allocator for LibTorch's large CPU tensors (256 KiB and more) that keeps the resident memory at
// the live tensors' peak, chosen with TUNEBENCH_MALLOC=blocks (configureRuntime() installs it then;
// tunebench's default is glibc's heap with freed memory kept, runtime.h, which fragments over the
// steps: BERT-base's resident memory ended 340–495 MiB above the live peak). Each block is its own
// anonymous mapping, rounded up to an eighth of its power of two; freed blocks are kept and serve
// the next request of their class, or of a class up to a third smaller, whole. A request that finds
// none takes the cheapest way in pages faulted now or later: a fresh mapping (only while all that is
// mapped stays within 5% above the high-water mark of live blocks), or a kept block resized with
// mremap — a larger one shrinks, giving its tail back; a smaller one grows, keeping its pages. No
// block is ever a hole, so however the batches' shapes vary the resident memory stays near the
// highest the live blocks reached; a loop of fixed shapes settles into reusing its blocks.
// Smaller allocations go to LibTorch's default allocator (malloc).
#include <cstddef>
#include <cstdint>

namespace tunebench {

struct CpuAllocatorStats
{
  bool installed = false;
  std::size_t liveBytes = 0;     // blocks handed out and not yet freed (their size classes)
  std::size_t peakLiveBytes = 0; // the highest liveBytes since the last resetPeak
  std::size_t keptBytes = 0;     // freed blocks kept for reuse
  std::uint64_t reused = 0;      // requests served whole by a kept block of their class or up to 1.5× it
  std::uint64_t resized = 0;     // ... by a kept block of another size, remapped
  std::uint64_t mapped = 0;      // ... by a fresh mapping
};

// Makes LibTorch's CPU tensors come from this allocator (c10::SetCPUAllocator); configureRuntime()
// calls it when TUNEBENCH_MALLOC=blocks. Idempotent; returns whether the allocator is installed.
bool installCpuAllocator();
CpuAllocatorStats cpuAllocatorStats();
void resetCpuAllocatorPeak();
// Unmaps every kept block (releaseFreeMemory() calls it after a run).
void releaseKeptBlocks();

} // namespace tunebench
