#pragma once
// An allocator for LibTorch's large CPU tensors (256 KiB and more) that trades speed for memory,
// chosen with TUNEBENCH_MALLOC=blocks (configureRuntime() installs it then; tunebench's default is
// glibc's heap with freed memory kept, runtime.h). Each block is its own anonymous mapping, rounded
// up to an eighth of its power of two, and freed blocks are kept for the next request of their size
// class. A request that finds none takes the kept block nearest in size and resizes its mapping
// (mremap: a larger one shrinks, giving its tail back; a smaller one grows, keeping its pages), and
// maps fresh memory only when nothing is kept — so no block is ever a hole: the resident memory stays
// at the highest the live blocks reached, whatever shapes the batches have. glibc's heap instead
// fragments over the steps (BERT-base: 340–495 MiB above the live peak). The price is page faults
// wherever a resize grows a block: none once a loop of fixed shapes has settled (LoRA, prefix
// tuning), about a hundred resizes a step in full fine-tuning, whose gradients (dropped before each
// step) and activations trade blocks of different sizes (bench/memory.sh measures both).
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
  std::uint64_t reused = 0;      // requests served by a kept block of their class
  std::uint64_t resized = 0;     // ... by a kept block of another class, remapped
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
