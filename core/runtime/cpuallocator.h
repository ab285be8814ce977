#pragma once
// An allocator for LibTorch's large CPU tensors (256 KiB and more) that keeps the resident memory at
// the live tensors' peak. configureRuntime() installs it unless TUNEBENCH_MALLOC says heap (glibc's
// heap with freed memory kept, runtime.h, which fragments over the steps: BERT-base's resident
// memory ended 340–495 MiB above the live peak) or default (glibc's own settings);
// runtimeOptionsFromEnvironment() rejects any other value than those and blocks. Blocks are ranges of
// anonymous pages, sizes rounded up to an eighth of their power of two. Freed blocks are kept while
// a run goes on, joined with kept neighbours in the address space, and serve the next requests:
// the smallest that holds a request, whole or from its front in place; when every kept block is
// smaller, a fresh range serves it while all that is mapped stays within 10% above the highest the
// live blocks reached, else their pages are moved (mremap) into a fresh range and only what they do
// not cover is faulted. So what is mapped stays within 10% of the live peak however the shapes
// vary, and a training loop touches no page table after its first steps (on the VMs measured a page
// fault, or the first touch of a moved page, costs ~10 µs). Smaller allocations go to LibTorch's
// default allocator (malloc).
#include <cstddef>
#include <cstdint>

namespace tunebench {

struct CpuAllocatorStats
{
  bool installed = false;
  std::size_t liveBytes = 0;     // blocks handed out and not yet freed (their size classes)
  std::size_t peakLiveBytes = 0; // the highest liveBytes since the last resetPeak
  std::size_t keptBytes = 0;     // freed blocks kept for reuse
  std::uint64_t reused = 0;      // requests served whole by a kept block (at most an eighth larger)
  std::uint64_t carved = 0;      // ... by the front of a larger kept block
  std::uint64_t assembled = 0;   // ... by smaller kept blocks' pages moved into a fresh range
  std::uint64_t mapped = 0;      // ... by a fresh range alone (nothing kept)
  std::uint64_t movedBytes = 0;  // pages moved in assembling
};

// Makes LibTorch's CPU tensors come from this allocator (c10::SetCPUAllocator); configureRuntime()
// calls it unless TUNEBENCH_MALLOC is heap or default. Idempotent; returns whether it is installed.
bool installCpuAllocator();
CpuAllocatorStats cpuAllocatorStats();
void resetCpuAllocatorPeak();
// Unmaps every kept block (releaseFreeMemory() calls it after a run).
void releaseKeptBlocks();

} // namespace tunebench
