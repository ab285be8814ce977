#include "core/runtime/cpuallocator.h"

#include "core/util/error.h"

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <iterator>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
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
  if (p == MAP_FAILED) // not TORCH_CHECK: that embeds the source file's path in the binary
    throw Error("tunebench's CPU allocator: not enough memory for " + std::to_string(size) + " bytes");
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
    const auto [p, size] = take(sizeClass(n));
    std::lock_guard<std::mutex> lock(m_mutex);
    m_live.emplace(p, size);
    m_stats.liveBytes += size;
    m_stats.peakLiveBytes = std::max(m_stats.peakLiveBytes, m_stats.liveBytes);
    m_highWater = std::max(m_highWater, m_stats.liveBytes);
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
      m_highWater = m_stats.liveBytes;
    }
    for (const auto &[size, blocks] : kept)
      for (void *p : blocks)
        munmap(p, size);
  }

private:
  void *pop(std::map<std::size_t, std::vector<void *>>::iterator kept) const
  {
    void *p = kept->second.back();
    kept->second.pop_back();
    m_stats.keptBytes -= kept->first;
    if (kept->second.empty())
      m_kept.erase(kept);
    return p;
  }

  // The block for a request of a size class, and the block's size: a kept block of the class or up
  // to half as large again, whole (what it wastes stays resident, not faulted again), else as below.
  std::pair<void *, std::size_t> take(std::size_t size) const
  {
    std::unique_lock<std::mutex> lock(m_mutex);
    if (m_kept.empty()) {
      ++m_stats.mapped;
      lock.unlock();
      return {mapFresh(size), size};
    }
    auto above = m_kept.lower_bound(size);
    if (above != m_kept.end() && above->first <= size + size / 2) {
      size = above->first;
      void *p = pop(above);
      ++m_stats.reused;
      return {p, size};
    }
    // Else the cheapest in pages faulted now or later: a fresh mapping costs its size (and is
    // allowed only while everything mapped stays within 5% above the live blocks' high-water mark),
    // shrinking a larger kept block the pages it gives back, growing a smaller one its growth.
    const std::size_t mapped = m_stats.liveBytes + m_stats.keptBytes + size;
    const bool freshAllowed = mapped <= m_highWater + m_highWater / 20;
    const std::size_t none = ~std::size_t(0);
    const std::size_t shrinkCost = above != m_kept.end() ? above->first - size : none;
    const std::size_t growCost = above != m_kept.begin() ? size - std::prev(above)->first : none;
    if (freshAllowed && size <= shrinkCost && size <= growCost) {
      ++m_stats.mapped;
      lock.unlock();
      return {mapFresh(size), size};
    }
    auto chosen = shrinkCost <= growCost ? above : std::prev(above);
    const std::size_t had = chosen->first;
    void *p = pop(chosen);
    ++m_stats.resized;
    // A block that grows while others stay kept would take the mapped total past the bound: the
    // smallest kept blocks (the cheapest to fault in again) are given back first.
    std::vector<std::pair<void *, std::size_t>> surplus;
    for (std::size_t givenBack = 0;
         had < size && !m_kept.empty() && mapped - had > m_highWater + m_highWater / 20 + givenBack;) {
      const std::size_t bytes = m_kept.begin()->first;
      surplus.emplace_back(pop(m_kept.begin()), bytes);
      givenBack += bytes;
    }
    lock.unlock();
    for (const auto &[block, bytes] : surplus)
      munmap(block, bytes);
    void *moved = mremap(p, had, size, had > size ? 0 : MREMAP_MAYMOVE);
    if (moved != MAP_FAILED)
      return {moved, size};
    munmap(p, had);
    return {mapFresh(size), size};
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
  mutable std::size_t m_highWater =
      0; // the most bytes live at once since the kept blocks were last given back
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
