#include "core/runtime/cpuallocator.h"

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#include <c10/util/Exception.h>

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <iterator>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace tunebench {

namespace {

constexpr std::size_t kSmallest = 256 * 1024;
constexpr std::size_t kPage = 4096;

// Requests within an eighth of a power of two share a class (at most 12.5% more address space; only
// the pages a tensor touches become resident).
std::size_t sizeClass(std::size_t n)
{
  const std::size_t step = std::max(kPage, std::bit_floor(n) / 8);
  return (n + step - 1) / step * step;
}

void *mapFresh(std::size_t size)
{
  void *p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  TORCH_CHECK(p != MAP_FAILED, "tunebench's CPU allocator: not enough memory for ", size, " bytes");
  return p;
}

class BlockAllocator final : public c10::Allocator
{
public:
  static BlockAllocator &instance()
  {
    static auto *allocator = new BlockAllocator; // never destroyed: tensors may outlive main()
    return *allocator;
  }

  bool install()
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    if (!m_installed) {
      m_base = c10::GetDefaultCPUAllocator();
      c10::SetCPUAllocator(this, /*priority=*/1);
      m_installed = true;
    }
    return true;
  }

  c10::DataPtr allocate(std::size_t n) const override
  {
    if (n < kSmallest)
      return m_base->allocate(n);
    const std::size_t size = sizeClass(n);
    void *p = take(size);
    std::lock_guard<std::mutex> lock(m_mutex);
    m_live.emplace(p, size);
    m_stats.liveBytes += size;
    m_stats.peakLiveBytes = std::max(m_stats.peakLiveBytes, m_stats.liveBytes);
    return {p, p, &release, c10::Device(c10::DeviceType::CPU)};
  }

  c10::DeleterFnPtr raw_deleter() const override { return &release; }

  CpuAllocatorStats stats() const
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    CpuAllocatorStats s = m_stats;
    s.installed = m_installed;
    return s;
  }

  void resetPeak()
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_stats.peakLiveBytes = m_stats.liveBytes;
  }

  void releaseKept()
  {
    std::map<std::size_t, std::vector<void *>> kept;
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      kept.swap(m_kept);
      m_stats.keptBytes = 0;
    }
    for (const auto &[size, blocks] : kept)
      for (void *p : blocks)
        munmap(p, size);
  }

private:
  // A kept block of the class, else the kept block nearest in size remapped to it, else a fresh
  // mapping.
  void *take(std::size_t size) const
  {
    std::unique_lock<std::mutex> lock(m_mutex);
    if (m_kept.empty()) {
      ++m_stats.mapped;
      lock.unlock();
      return mapFresh(size);
    }
    auto above = m_kept.lower_bound(size);
    auto chosen = above;
    if (above == m_kept.end() || (above->first != size && above != m_kept.begin() &&
                                  size - std::prev(above)->first < above->first - size))
      chosen = std::prev(above);
    const std::size_t had = chosen->first;
    void *p = chosen->second.back();
    chosen->second.pop_back();
    if (chosen->second.empty())
      m_kept.erase(chosen);
    m_stats.keptBytes -= had;
    if (had == size) {
      ++m_stats.reused;
      return p;
    }
    ++m_stats.resized;
    lock.unlock();
    void *moved = mremap(p, had, size, had > size ? 0 : MREMAP_MAYMOVE);
    if (moved != MAP_FAILED)
      return moved;
    munmap(p, had);
    return mapFresh(size);
  }

  static void release(void *p)
  {
    BlockAllocator &self = instance();
    std::lock_guard<std::mutex> lock(self.m_mutex);
    const auto found = self.m_live.find(p);
    if (found == self.m_live.end()) { // a small block, given back through raw_deallocate
      c10::free_cpu(p);
      return;
    }
    const std::size_t size = found->second;
    self.m_live.erase(found);
    self.m_stats.liveBytes -= size;
    self.m_kept[size].push_back(p);
    self.m_stats.keptBytes += size;
  }

  c10::Allocator *m_base = nullptr;
  bool m_installed = false;
  mutable std::mutex m_mutex;
  mutable std::map<std::size_t, std::vector<void *>> m_kept; // by size class
  mutable std::unordered_map<void *, std::size_t> m_live;
  mutable CpuAllocatorStats m_stats;
};

} // namespace

bool installCpuAllocator()
{
  return BlockAllocator::instance().install();
}
CpuAllocatorStats cpuAllocatorStats()
{
  return BlockAllocator::instance().stats();
}
void resetCpuAllocatorPeak()
{
  BlockAllocator::instance().resetPeak();
}
void releaseKeptBlocks()
{
  BlockAllocator::instance().releaseKept();
}

} // namespace tunebench
