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

char *mapFresh(std::size_t size)
{
  void *p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) // not TORCH_CHECK: that embeds the source file's path in the binary
    throw Error("tunebench's CPU allocator: not enough memory for " + std::to_string(size) + " bytes");
  return static_cast<char *>(p);
}

// A stretch of pages inside one kernel mapping (mremap moves a range only within one): each fresh
// mapping and each range moved gets its own number.
struct Run
{
  std::size_t length = 0;
  std::uint64_t mapping = 0;
};

// An address range of pages, made of runs in address order.
struct Block
{
  char *addr = nullptr;
  std::size_t size = 0;
  std::vector<Run> runs;

  // Splits off the first `bytes` (a run that straddles the cut becomes two).
  Block takeFront(std::size_t bytes)
  {
    Block front{addr, bytes, {}};
    std::size_t done = 0, i = 0;
    while (done + runs[i].length <= bytes) {
      front.runs.push_back(runs[i]);
      done += runs[i++].length;
      if (done == bytes)
        break;
    }
    if (done < bytes) {
      front.runs.push_back({bytes - done, runs[i].mapping});
      runs[i].length -= bytes - done;
    }
    runs.erase(runs.begin(), runs.begin() + static_cast<std::ptrdiff_t>(i));
    addr += bytes;
    size -= bytes;
    return front;
  }

  // Joins the block that starts where this one ends (runs of one mapping become one again).
  void append(Block &&next)
  {
    auto first = next.runs.begin();
    if (runs.back().mapping == first->mapping)
      runs.back().length += (first++)->length;
    runs.insert(runs.end(), first, next.runs.end());
    size += next.size;
  }
};

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
    Block block = take(sizeClass(n));
    char *p = block.addr;
    std::lock_guard<std::mutex> lock(m_mutex);
    m_stats.liveBytes += block.size;
    m_stats.peakLiveBytes = std::max(m_stats.peakLiveBytes, m_stats.liveBytes);
    m_highWater = std::max(m_highWater, m_stats.liveBytes);
    m_live.emplace(p, std::move(block));
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
    std::map<char *, Block> kept;
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      kept.swap(m_byAddress);
      m_bySize.clear();
      m_stats.keptBytes = 0;
      m_highWater = m_stats.liveBytes;
    }
    for (const auto &[addr, block] : kept)
      munmap(addr, block.size);
  }

private:
  using BySize = std::multimap<std::size_t, char *>;

  // Takes the kept block at `addr` out of both indexes.
  Block unkeep(char *addr) const
  {
    auto node = m_byAddress.extract(addr);
    auto [first, last] = m_bySize.equal_range(node.mapped().size);
    m_bySize.erase(std::find_if(first, last, [&](const auto &entry) { return entry.second == addr; }));
    m_stats.keptBytes -= node.mapped().size;
    return std::move(node.mapped());
  }

  // Keeps a block, first among its size (the block freed last is taken first, its pages still
  // cached); `join` merges it with the kept blocks on either side of it in the address space.
  void keep(Block block, bool join) const
  {
    if (join) {
      if (const auto next = m_byAddress.find(block.addr + block.size); next != m_byAddress.end())
        block.append(unkeep(next->first));
      if (auto after = m_byAddress.lower_bound(block.addr); after != m_byAddress.begin()) {
        if (const auto before = std::prev(after); before->first + before->second.size == block.addr) {
          Block merged = unkeep(before->first);
          merged.append(std::move(block));
          block = std::move(merged);
        }
      }
    }
    m_stats.keptBytes += block.size;
    m_bySize.emplace_hint(m_bySize.lower_bound(block.size), block.size, block.addr);
    m_byAddress.emplace(block.addr, std::move(block));
  }

  // The front `bytes` of a kept block just taken out; the rest is kept again, unjoined (its
  // neighbours are the front and no kept block).
  Block carve(Block block, std::size_t bytes) const
  {
    Block front = block.takeFront(bytes);
    keep(std::move(block), /*join=*/false);
    return front;
  }

  Block take(std::size_t size) const;

  static void release(void *p)
  {
    BlockAllocator &self = instance();
    std::unique_lock<std::mutex> lock(self.m_mutex);
    const auto found = self.m_live.find(p);
    if (found == self.m_live.end()) { // a small block, given back through raw_deallocate
      lock.unlock();
      c10::free_cpu(p);
      return;
    }
    Block block = std::move(found->second);
    self.m_live.erase(found);
    self.m_stats.liveBytes -= block.size;
    self.keep(std::move(block), /*join=*/true);
  }

  c10::Allocator *m_base = nullptr;
  bool m_installed = false;
  mutable std::mutex m_mutex;
  mutable BySize m_bySize;                     // kept blocks' addresses by their size
  mutable std::map<char *, Block> m_byAddress; // kept blocks
  mutable std::unordered_map<void *, Block> m_live;
  mutable std::size_t m_highWater = 0;
  mutable std::uint64_t m_mappings = 0; // numbers given to runs
  mutable CpuAllocatorStats m_stats;
};

// The block for a request of a size class. Kept blocks are never given back while a run goes on:
// the smallest kept block that holds the request serves it, whole if it is at most an eighth
// larger, else from its front in place (the rest stays kept, and joins the front again when that is
// freed). When none holds it, a fresh range serves it while all that is mapped stays within 10%
// above the highest the live blocks reached (room for a loop's layout to settle: BERT-base steps
// need no page-table change after their second step with 10%, moved an 89 MiB block a step with
// 5%), else the kept blocks' pages, the largest blocks first, are moved (mremap) into a fresh range
// of the request's size, whose pages are faulted only where they did not reach. So what is mapped
// stays within 10% of the live peak.
Block BlockAllocator::take(std::size_t size) const
{
  std::unique_lock<std::mutex> lock(m_mutex);
  if (const auto fits = m_bySize.lower_bound(size); fits != m_bySize.end()) {
    Block block = unkeep(fits->second);
    if (block.size - size <= std::max(size / 8, kPage)) {
      ++m_stats.reused;
      return block;
    }
    ++m_stats.carved;
    return carve(std::move(block), size);
  }
  if (m_bySize.empty() || m_stats.liveBytes + m_stats.keptBytes + size <= m_highWater + m_highWater / 10) {
    ++m_stats.mapped;
    const std::uint64_t fresh = m_mappings++;
    lock.unlock();
    return Block{mapFresh(size), size, {{size, fresh}}};
  }
  ++m_stats.assembled;
  std::vector<Block> donors; // what goes into the fresh range, in order
  for (std::size_t filled = 0; filled < size && !m_bySize.empty();) {
    Block donor = unkeep(std::prev(m_bySize.end())->second);
    if (donor.size > size - filled)
      donor = carve(std::move(donor), size - filled);
    filled += donor.size;
    donors.push_back(std::move(donor));
  }
  const std::uint64_t fresh = m_mappings++; // the fresh range's number; each run moved gets its own
  std::uint64_t next = m_mappings;
  for (const Block &donor : donors)
    m_mappings += donor.runs.size();
  lock.unlock();
  Block block{mapFresh(size), size, {}};
  std::size_t offset = 0, moved = 0;
  for (const Block &donor : donors) {
    char *from = donor.addr;
    for (const Run &run : donor.runs) {
      // A run that cannot move is given back; its place in the fresh range stays fresh.
      const bool ok = mremap(from, run.length, run.length, MREMAP_MAYMOVE | MREMAP_FIXED,
                             block.addr + offset) != MAP_FAILED;
      if (!ok)
        munmap(from, run.length);
      block.runs.push_back({run.length, ok ? next++ : fresh});
      moved += ok ? run.length : 0;
      from += run.length;
      offset += run.length;
    }
  }
  if (offset < size)
    block.runs.push_back({size - offset, fresh});
  lock.lock();
  m_stats.movedBytes += moved;
  return block;
}

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
