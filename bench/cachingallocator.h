#pragma once
// An experiment for the memory benchmark (bench_trainstep --allocator caching), not used by
// tunebench itself: a CPU allocator for LibTorch that keeps freed blocks of 256 KiB and more by
// size class (sizes rounded up to an eighth of their power of two) and hands them out again, so a
// step that allocates what the step before allocated reuses the same blocks instead of glibc's heap
// fitting each new block wherever it finds room (which fragments the heap over the steps). Smaller
// allocations go to LibTorch's default allocator.
#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>

#include <bit>
#include <cstddef>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace tunebench::bench {

class CachingCpuAllocator final : public c10::Allocator
{
public:
  static CachingCpuAllocator &instance()
  {
    static auto *allocator = new CachingCpuAllocator; // never destroyed: tensors may outlive main()
    return *allocator;
  }

  // LibTorch's CPU tensors allocated from here on come from this allocator.
  void install()
  {
    m_base = c10::GetDefaultCPUAllocator();
    c10::SetCPUAllocator(this, /*priority=*/1);
  }

  c10::DataPtr allocate(std::size_t n) const override
  {
    if (n < kSmallest)
      return m_base->allocate(n);
    const std::size_t size = sizeClass(n);
    void *p = nullptr;
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      auto &list = m_free[size];
      if (!list.empty()) {
        p = list.back();
        list.pop_back();
        m_cachedBytes -= size;
      }
    }
    if (!p)
      p = c10::alloc_cpu(size);
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      m_sizes[p] = size;
    }
    return {p, p, &release, c10::Device(c10::DeviceType::CPU)};
  }

  c10::DeleterFnPtr raw_deleter() const override { return &release; }

  std::size_t cachedBytes() const
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_cachedBytes;
  }

private:
  static constexpr std::size_t kSmallest = 256 * 1024;

  static std::size_t sizeClass(std::size_t n)
  {
    const std::size_t step = std::bit_floor(n) / 8;
    return (n + step - 1) / step * step;
  }

  static void release(void *p)
  {
    CachingCpuAllocator &self = instance();
    std::lock_guard<std::mutex> lock(self.m_mutex);
    const auto found = self.m_sizes.find(p);
    if (found == self.m_sizes.end()) { // a small block (raw_deallocate of the default's)
      c10::free_cpu(p);
      return;
    }
    const std::size_t size = found->second;
    self.m_sizes.erase(found);
    self.m_free[size].push_back(p);
    self.m_cachedBytes += size;
  }

  c10::Allocator *m_base = nullptr;
  mutable std::mutex m_mutex;
  mutable std::unordered_map<std::size_t, std::vector<void *>> m_free;
  mutable std::unordered_map<void *, std::size_t> m_sizes;
  mutable std::size_t m_cachedBytes = 0;
};

} // namespace tunebench::bench
